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
import { rejection, rewritingClient } from '../../../support/identity.js';
import { type RecordingGraph, startRecordingGraph } from './recordingGraph.js';

const tenantId = '3f6b1d2a-9c4e-4a7b-8d10-5e2f7a9c0b41';
const clientId = '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b';
const appCert = createAppCertificate('clawback-graph-derived-items');
const original = '<orig@evil.example>';
const payload = Buffer.from('MZ not really a dropper');
const payloadHash = createHash('sha256').update(payload).digest('hex');

/** A message carrying `file` as a base64 part: what Graph's `$value` of an item attachment gives. */
function mimeCarrying(file: Buffer, messageId = '<inner@contoso.com>'): string {
  return [
    'From: carol@contoso.com',
    'Subject: Quarterly bonus',
    `Message-ID: ${messageId}`,
    'Content-Type: multipart/mixed; boundary="part"',
    '',
    '--part',
    'Content-Type: text/plain',
    '',
    'See attached.',
    '--part',
    'Content-Type: application/octet-stream; name="bonus.xlsm"',
    'Content-Transfer-Encoding: base64',
    '',
    file.toString('base64'),
    '--part--',
    '',
  ].join('\r\n');
}

/** `inner` forwarded as attachment: a message whose part is `message/rfc822`. */
function mimeForwarding(inner: string): string {
  return [
    'Message-ID: <fw-of-fw@contoso.com>',
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    '--outer',
    'Content-Type: text/plain',
    '',
    'FYI',
    '--outer',
    'Content-Type: message/rfc822',
    '',
    inner,
    '--outer--',
    '',
  ].join('\r\n');
}

const item = (mime: string, name = 'Quarterly bonus') => ({ name, mime });
const benign = (i: number) => item(mimeCarrying(Buffer.from(`benign ${i}`)), `benign ${i}`);

describe('findDerivedMessages on Graph: forwards as attachment (itemAttachment $value)', () => {
  let tenant: SandboxTenant;
  let front: RecordingGraph;
  let identityHttpClient: HttpClient;
  let sequence = 0;
  const mailboxes = Array.from({ length: 12 }, (_, i) => `items${i}@contoso.com`);
  const freshMailbox = () => mailboxes[sequence++]!;

  /** Straight to the sandbox, or through the recording front that keeps each URL as it was sent. */
  const find = (mailbox: string, search: Partial<DerivedSearch> = {}, via: 'sandbox' | 'front' = 'sandbox') =>
    sandboxGraphBackend(
      tenant,
      { tenantId, clientId, pemBundle: appCert.pemBundle, identityHttpClient },
      via === 'front' ? { graphEndpoint: front.graphEndpoint } : {},
      { maxAttempts: 1 },
    ).findDerivedMessages(mailbox, { internetMessageId: original, limit: 100, ...search });

  const sent = (
    mailbox: string,
    id: string,
    attachments: { files?: Buffer[]; items?: { name: string; mime: string }[]; at?: string },
  ) =>
    tenant.addMessage(mailbox, {
      internetMessageId: id,
      subject: 'FW: Quarterly bonus',
      folder: 'sentitems',
      receivedDateTime: attachments.at ?? '2026-03-10T10:00:00Z',
      toRecipients: ['bob@contoso.com'],
      ...(attachments.files
        ? {
            attachments: attachments.files.map((b, i) => ({
              name: `file${i}.bin`,
              contentBase64: b.toString('base64'),
            })),
          }
        : {}),
      ...(attachments.items ? { itemAttachments: attachments.items } : {}),
    });

  /** What the sandbox saw of this mailbox's attachments since `before`: `list <message>` or `mime <message>`. */
  const attachmentReads = (mailbox: string, before: number) => {
    const names = new Map(tenant.mailbox(mailbox).messages.map((m) => [m.id, m.internetMessageId]));
    return tenant.requests
      .slice(before)
      .filter((r) => r.mailbox === mailbox && r.path.includes('/attachments'))
      .map((r) => {
        const id = /\/messages\/([^/]+)\/attachments/.exec(r.path)?.[1] ?? '';
        const kind =
          r.operation === 'attachmentMime' ? 'mime' : r.operation === 'attachments' ? 'list' : r.operation;
        return `${kind} ${names.get(id) ?? id}`;
      });
  };

  beforeAll(async () => {
    tenant = await startSandboxTenant({
      apps: [{ tenantId, clientId, certificatePem: appCert.certPem }],
      mailboxes: mailboxes.map((address) => ({ address })),
    });
    identityHttpClient = rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost);
    front = await startRecordingGraph(tenant.baseUrl);
  });
  afterAll(async () => {
    await front.close();
    await tenant.close();
  });
  beforeEach(() => {
    tenant.clearScripts();
    front.clear();
  });

  it('finds a message whose only attachment is an attached message carrying the file (hash in any case)', async () => {
    const mailbox = freshMailbox();
    sent(mailbox, '<fw-as-att@contoso.com>', { items: [item(mimeCarrying(payload))] });
    const before = tenant.requests.length;

    const found = await find(mailbox, { sha256: payloadHash.toUpperCase() });

    expect(found).toEqual([
      {
        internetMessageId: '<fw-as-att@contoso.com>',
        sentAt: '2026-03-10T10:00:00Z',
        recipients: ['bob@contoso.com'],
        matchedBy: 'attachment',
      },
    ]);
    expect(attachmentReads(mailbox, before)).toEqual([
      'list <fw-as-att@contoso.com>',
      'mime <fw-as-att@contoso.com>',
    ]);
  });

  it('asks for the MIME with a GET of …/attachments/{id}/$value, both ids as Graph gave them, percent-encoded', async () => {
    const mailbox = freshMailbox();
    const messageId = 'AAMkAGI2+fw/as=att=';
    tenant.addMessage(mailbox, {
      id: messageId,
      internetMessageId: '<encoded@contoso.com>',
      folder: 'sentitems',
      itemAttachments: [item(mimeCarrying(payload))],
    });
    const before = tenant.requests.length;

    const found = await find(mailbox, { sha256: payloadHash }, 'front');

    expect(found.map((m) => m.internetMessageId)).toEqual(['<encoded@contoso.com>']);
    const attachmentId = /\/attachments\/([^/]+)\/\$value$/.exec(
      tenant.requests.slice(before).find((r) => r.operation === 'attachmentMime')!.path,
    )![1]!;
    expect(attachmentId).toMatch(/-item0$/);
    const attachments = `/messages/${encodeURIComponent(messageId)}/attachments`;
    expect(
      front.seen
        .filter((r) => r.url.includes('/attachments'))
        .map((r) => [r.method, r.url.slice(r.url.indexOf('/messages/'))]),
    ).toEqual([
      ['GET', attachments],
      ['GET', `${attachments}/${encodeURIComponent(attachmentId)}/$value`],
    ]);
  });

  it('does not find a message whose attached message carries another file, though it reads it (and only it)', async () => {
    const mailbox = freshMailbox();
    sent(mailbox, '<other@contoso.com>', { files: [Buffer.from('notes')], items: [benign(1)] });
    const before = tenant.requests.length;
    expect(await find(mailbox, { sha256: payloadHash })).toEqual([]);
    expect(attachmentReads(mailbox, before)).toEqual([
      'list <other@contoso.com>',
      'mime <other@contoso.com>',
    ]);
  });

  it('still matches a file attachment, without reading the attached messages of that message', async () => {
    const mailbox = freshMailbox();
    sent(mailbox, '<file-and-item@contoso.com>', {
      files: [Buffer.from('notes'), payload],
      items: [benign(1), item(mimeCarrying(payload))],
    });
    const before = tenant.requests.length;
    const found = await find(mailbox, { sha256: payloadHash });
    expect(found.map((m) => [m.internetMessageId, m.matchedBy])).toEqual([
      ['<file-and-item@contoso.com>', 'attachment'],
    ]);
    expect(attachmentReads(mailbox, before)).toEqual(['list <file-and-item@contoso.com>']);
  });

  it('reads a message’s attached messages in order and stops at the first that carries the file', async () => {
    const mailbox = freshMailbox();
    sent(mailbox, '<third-item@contoso.com>', {
      items: [benign(1), benign(2), item(mimeCarrying(payload)), benign(4)],
    });
    const before = tenant.requests.length;
    expect((await find(mailbox, { sha256: payloadHash })).map((m) => m.matchedBy)).toEqual(['attachment']);
    expect(attachmentReads(mailbox, before)).toEqual([
      'list <third-item@contoso.com>',
      'mime <third-item@contoso.com>',
      'mime <third-item@contoso.com>',
      'mime <third-item@contoso.com>',
    ]);
  });

  it('finds the file in a forward of a forward as attachment (an attached message inside the attached message)', async () => {
    const mailbox = freshMailbox();
    sent(mailbox, '<fw-of-fw@contoso.com>', {
      items: [item(mimeForwarding(mimeCarrying(payload, '<fw-1@contoso.com>')))],
    });
    const found = await find(mailbox, { sha256: payloadHash });
    expect(found.map((m) => [m.internetMessageId, m.matchedBy])).toEqual([
      ['<fw-of-fw@contoso.com>', 'attachment'],
    ]);
  });

  it('makes at most 20 attachment reads per search, lists and $value reads together', async () => {
    const mailbox = freshMailbox();
    // Newest first: four messages of five benign attached messages each, then one carrying the file.
    for (let i = 0; i < 4; i += 1)
      sent(mailbox, `<benign${i}@contoso.com>`, {
        items: [0, 1, 2, 3, 4].map((j) => benign(10 * i + j)),
        at: `2026-03-10T1${9 - i}:00:00Z`,
      });
    sent(mailbox, '<late@contoso.com>', { items: [item(mimeCarrying(payload))], at: '2026-03-10T08:00:00Z' });
    const before = tenant.requests.length;

    expect(await find(mailbox, { sha256: payloadHash })).toEqual([]);

    const reads = attachmentReads(mailbox, before);
    expect(reads).toHaveLength(20);
    // 1 + 5, 1 + 5, 1 + 5, then the fourth message's list and one of its five: the budget is spent.
    expect(reads.filter((r) => r.startsWith('list'))).toEqual(
      [0, 1, 2, 3].map((i) => `list <benign${i}@contoso.com>`),
    );
    expect(reads.filter((r) => r === 'mime <benign3@contoso.com>')).toHaveLength(1);
    expect(reads.some((r) => r.includes('<late@contoso.com>'))).toBe(false);
  });

  it('uses the last read of the budget on an attached message, and reads no list it could not open', async () => {
    const mailbox = freshMailbox();
    // 1 + 18 reads, then one left: the next message's list, none for its attached message.
    sent(mailbox, '<many@contoso.com>', {
      items: Array.from({ length: 18 }, (_, j) => benign(j)),
      at: '2026-03-10T12:00:00Z',
    });
    sent(mailbox, '<carrier@contoso.com>', {
      items: [item(mimeCarrying(payload))],
      at: '2026-03-10T11:00:00Z',
    });
    sent(mailbox, '<after@contoso.com>', { files: [payload], at: '2026-03-10T10:00:00Z' });
    const before = tenant.requests.length;
    expect(await find(mailbox, { sha256: payloadHash })).toEqual([]);
    const reads = attachmentReads(mailbox, before);
    expect(reads).toHaveLength(20);
    expect(reads.slice(-1)).toEqual(['list <carrier@contoso.com>']);
  });

  it('fails the search when a $value read fails, as it fails when an attachment list cannot be read', async () => {
    const mailbox = freshMailbox();
    sent(mailbox, '<fw-as-att@contoso.com>', { items: [item(mimeCarrying(payload))] });
    sent(mailbox, '<refers@contoso.com>', { at: '2026-03-10T11:00:00Z' });

    tenant.script({ match: { mailbox, pathIncludes: '/$value' }, respond: { status: 404 } });
    const valueFailure = await rejection(find(mailbox, { sha256: payloadHash }));
    tenant.clearScripts();
    tenant.script({ match: { mailbox, pathIncludes: '/attachments' }, respond: { status: 404 } });
    const listFailure = await rejection(find(mailbox, { sha256: payloadHash }));

    expect(valueFailure.code).toBe('MessageNotFound');
    expect(valueFailure.code).toBe(listFailure.code);
    expect(valueFailure.retryable).toBe(listFailure.retryable);
  });

  it('names the forward search as the step that failed when a $value read is refused', async () => {
    const mailbox = freshMailbox();
    sent(mailbox, '<fw-as-att@contoso.com>', { items: [item(mimeCarrying(payload))] });
    tenant.script({ match: { mailbox, pathIncludes: '/$value' }, respond: { status: 403 } });
    const refused = await rejection(find(mailbox, { sha256: payloadHash }));
    tenant.clearScripts();
    expect(refused.message).toContain(`Access to mailbox ${mailbox} was denied during forward search (403`);
  });
});
