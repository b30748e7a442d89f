import { createHash } from 'node:crypto';

import type { HttpClient } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../../../local/sandbox/index.js';
import type { DerivedSearch } from '../../../../shared/ports/mail.js';
import { sandboxGraphBackend } from '../../../support/graphBackend.js';
import { rewritingClient } from '../../../support/identity.js';

const tenantId = '6a1f0c2e-58b4-4d0c-9a51-0f3c6a7d2b10';
const clientId = '0b8f7a3c-2d4e-4f61-8a9b-1c2d3e4f5a6b';
const appCert = createAppCertificate('clawback-graph-derived-mutants');
const original = '<orig@evil.example>';
const payload = Buffer.from('malicious payload');
const payloadHash = createHash('sha256').update(payload).digest('hex');

describe('findDerivedMessages (derived.ts) against the sandbox tenant', () => {
  let tenant: SandboxTenant;
  let identityHttpClient: HttpClient;
  let sequence = 0;

  const backend = () =>
    sandboxGraphBackend(
      tenant,
      { tenantId, clientId, pemBundle: appCert.pemBundle, identityHttpClient },
      {},
      { maxAttempts: 3 },
    );

  /** A fresh mailbox name per test: each test seeds its own Sent Items. */
  const mailboxes = Array.from({ length: 20 }, (_, i) => `sender${i}@contoso.com`);
  const freshMailbox = () => mailboxes[sequence++]!;

  const sent = (
    mailbox: string,
    id: string,
    extra: {
      headers?: { name: string; value: string }[];
      to?: string[];
      cc?: string[];
      bcc?: string[];
      at?: string;
      attachments?: Buffer[];
    } = {},
  ) =>
    tenant.addMessage(mailbox, {
      internetMessageId: id,
      subject: 'Re: lure',
      folder: 'sentitems',
      receivedDateTime: extra.at ?? '2026-03-10T10:00:00Z',
      toRecipients: extra.to ?? ['bob@contoso.com'],
      ...(extra.cc ? { ccRecipients: extra.cc } : {}),
      ...(extra.bcc ? { bccRecipients: extra.bcc } : {}),
      ...(extra.headers ? { internetMessageHeaders: extra.headers } : {}),
      ...(extra.attachments
        ? {
            attachments: extra.attachments.map((b, i) => ({
              name: `file${i}.bin`,
              contentBase64: b.toString('base64'),
            })),
          }
        : {}),
    });

  const requestsOf = (mailbox: string, before: number) =>
    tenant.requests.slice(before).filter((r) => r.mailbox === mailbox);
  const listings = (mailbox: string, before: number) =>
    requestsOf(mailbox, before).filter((r) => r.path.includes('/messages?') || r.path.includes('$skip'));
  const attachmentReads = (mailbox: string, before: number) =>
    requestsOf(mailbox, before).filter((r) => r.path.includes('/attachments'));

  const find = (mailbox: string, search: Partial<DerivedSearch> = {}) =>
    backend().findDerivedMessages(mailbox, { internetMessageId: original, limit: 100, ...search });

  beforeAll(async () => {
    tenant = await startSandboxTenant({
      apps: [{ tenantId, clientId, certificatePem: appCert.certPem }],
      mailboxes: mailboxes.map((address) => ({ address })),
    });
    identityHttpClient = rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost);
  });
  afterAll(() => tenant.close());
  beforeEach(() => tenant.clearScripts());

  it('matches References and In-Reply-To whatever their case, lists recipients lower case, skips the rest', async () => {
    const mailbox = freshMailbox();
    sent(mailbox, '<fw1@contoso.com>', {
      headers: [{ name: 'REFERENCES', value: `<a@x> ${original}` }],
      to: ['Bob@Contoso.COM', 'undisclosed-recipients'],
      at: '2026-03-10T10:00:00Z',
    });
    sent(mailbox, '<re1@contoso.com>', {
      headers: [{ name: 'in-reply-to', value: original }],
      at: '2026-03-10T09:59:00Z',
    });
    // Another header carrying the id, and References naming another message: neither is derived.
    sent(mailbox, '<x1@contoso.com>', { headers: [{ name: 'X-Original', value: original }] });
    sent(mailbox, '<x2@contoso.com>', { headers: [{ name: 'References', value: '<other@x>' }] });
    // The original itself (sent by the mailbox) is not its own forward.
    sent(mailbox, original, { headers: [{ name: 'References', value: original }] });
    const before = tenant.requests.length;
    const found = await find(mailbox, { sha256: payloadHash });
    expect(found).toEqual([
      {
        internetMessageId: '<fw1@contoso.com>',
        sentAt: '2026-03-10T10:00:00Z',
        recipients: ['bob@contoso.com'],
        matchedBy: 'references',
      },
      {
        internetMessageId: '<re1@contoso.com>',
        sentAt: '2026-03-10T09:59:00Z',
        recipients: ['bob@contoso.com'],
        matchedBy: 'references',
      },
    ]);
    const [listing, ...rest] = listings(mailbox, before);
    expect(rest).toEqual([]);
    expect(listing!.path).toContain(
      '/mailFolders/sentitems/messages?$select=id,internetMessageId,sentDateTime,hasAttachments,toRecipients,ccRecipients,bccRecipients,internetMessageHeaders&$top=50',
    );
    expect(listing!.path).not.toContain('$filter');
    // None of them has attachments: no attachment list is read.
    expect(attachmentReads(mailbox, before)).toEqual([]);
  });

  it('lists every recipient of a forward, To, Cc and Bcc, lower case, in that order', async () => {
    const mailbox = freshMailbox();
    sent(mailbox, '<fw-cc@contoso.com>', {
      headers: [{ name: 'References', value: original }],
      to: ['Bob@Contoso.com'],
      cc: ['Carol@Contoso.com'],
      bcc: ['Dave@Fabrikam.example', 'Erin@Fabrikam.example'],
    });
    // Sent only to Cc and Bcc: the To line is empty, the message is still derived with its recipients.
    sent(mailbox, '<fw-bcc@contoso.com>', {
      headers: [{ name: 'In-Reply-To', value: original }],
      to: [],
      cc: [],
      bcc: ['frank@fabrikam.example'],
      at: '2026-03-10T09:00:00Z',
    });
    const found = await find(mailbox);
    expect(found.map((m) => [m.internetMessageId, m.recipients])).toEqual([
      [
        '<fw-cc@contoso.com>',
        ['bob@contoso.com', 'carol@contoso.com', 'dave@fabrikam.example', 'erin@fabrikam.example'],
      ],
      ['<fw-bcc@contoso.com>', ['frank@fabrikam.example']],
    ]);
  });

  it('reads only messages sent since the copy arrived', async () => {
    const mailbox = freshMailbox();
    const refs = [{ name: 'References', value: original }];
    sent(mailbox, '<old@contoso.com>', { headers: refs, at: '2026-03-09T08:00:00Z' });
    sent(mailbox, '<new@contoso.com>', { headers: refs, at: '2026-03-10T12:00:00Z' });
    const before = tenant.requests.length;
    const found = await find(mailbox, { deliveredAt: '2026-03-10T09:30:00+00:00' });
    expect(found.map((m) => m.internetMessageId)).toEqual(['<new@contoso.com>']);
    expect(listings(mailbox, before)[0]!.path).toContain('&$filter=sentDateTime ge 2026-03-10T09:30:00.000Z');
    // Without a delivery time every sent message counts.
    expect((await find(mailbox)).map((m) => m.internetMessageId).sort()).toEqual([
      '<new@contoso.com>',
      '<old@contoso.com>',
    ]);
  });

  it('matches by attachment hash (any case) only messages that carry that file and no reference', async () => {
    const mailbox = freshMailbox();
    sent(mailbox, '<carrier@contoso.com>', {
      attachments: [Buffer.from('benign'), payload],
      at: '2026-03-10T12:00:00Z',
    });
    sent(mailbox, '<other-file@contoso.com>', { attachments: [Buffer.from('benign')] });
    sent(mailbox, '<plain@contoso.com>');
    // Matched by reference already: its attachments are not read.
    sent(mailbox, '<fw@contoso.com>', {
      headers: [{ name: 'References', value: original }],
      attachments: [payload],
    });
    const before = tenant.requests.length;
    const found = await find(mailbox, { sha256: payloadHash.toUpperCase() });
    expect(found.map((m) => [m.internetMessageId, m.matchedBy])).toEqual([
      ['<carrier@contoso.com>', 'attachment'],
      ['<fw@contoso.com>', 'references'],
    ]);
    const reads = attachmentReads(mailbox, before);
    expect(reads).toHaveLength(2);
    const ids = tenant
      .mailbox(mailbox)
      .messages.filter((m) =>
        ['<carrier@contoso.com>', '<other-file@contoso.com>'].includes(m.internetMessageId),
      )
      .map((m) => m.id);
    expect(reads.map((r) => r.path).sort()).toEqual(
      ids.map((id) => `/v1.0/users/${mailbox}/messages/${id}/attachments`).sort(),
    );
  });

  it('reads no attachment when the verdict names no hash', async () => {
    const mailbox = freshMailbox();
    sent(mailbox, '<carrier@contoso.com>', { attachments: [payload] });
    const before = tenant.requests.length;
    expect(await find(mailbox)).toEqual([]);
    expect(attachmentReads(mailbox, before)).toEqual([]);
  });

  it('reads at most 20 attachment lists per search', async () => {
    const mailbox = freshMailbox();
    for (let i = 0; i < 25; i += 1)
      sent(mailbox, `<att${i}@contoso.com>`, { attachments: [Buffer.from(`benign ${i}`)] });
    const before = tenant.requests.length;
    expect(await find(mailbox, { sha256: payloadHash })).toEqual([]);
    expect(attachmentReads(mailbox, before)).toHaveLength(20);
  });

  it('stops at the limit, without reading further pages', async () => {
    const mailbox = freshMailbox();
    for (let i = 0; i < 60; i += 1)
      sent(mailbox, `<fw${i}@contoso.com>`, { headers: [{ name: 'References', value: original }] });
    const before = tenant.requests.length;
    const found = await find(mailbox, { limit: 3 });
    expect(found).toHaveLength(3);
    expect(listings(mailbox, before)).toHaveLength(1);
    // Without a limit in reach it follows the next link to the second page.
    const before2 = tenant.requests.length;
    expect(await find(mailbox, { limit: 1000 })).toHaveLength(60);
    expect(listings(mailbox, before2)).toHaveLength(2);
  });

  it('reads at most 250 sent messages', async () => {
    const mailbox = freshMailbox();
    for (let i = 0; i < 320; i += 1)
      sent(mailbox, `<unrelated${i}@contoso.com>`, { at: '2026-03-11T10:00:00Z' });
    // Listed last (oldest): beyond the 250 messages read.
    sent(mailbox, '<late@contoso.com>', { headers: [{ name: 'References', value: original }] });
    const before = tenant.requests.length;
    expect(await find(mailbox)).toEqual([]);
    expect(listings(mailbox, before)).toHaveLength(5);
  });
});
