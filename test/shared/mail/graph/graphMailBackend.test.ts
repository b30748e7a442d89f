import type { HttpClient } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../../../local/sandbox/index.js';
import type { GraphProfile } from '../../../../shared/config/document.js';
import {
  createGraphMailBackend,
  type GraphMailBackendDeps,
} from '../../../../shared/mail/graph/graphMailBackend.js';
import type { MailBackend } from '../../../../shared/ports/mail.js';
import { MailboxMother } from '../../../mothers/mailboxMother.js';
import { ProfileMother } from '../../../mothers/profileMother.js';
import { pemSecrets, rejection, rewritingClient } from '../../../support/identity.js';
import { folderNamesOf } from '../../../support/sandboxMail.js';

const tenantId = '6a1f0c2e-58b4-4d0c-9a51-0f3c6a7d2b10';
const tenantDomain = 'contoso.onmicrosoft.com';
const clientId = '0b8f7a3c-2d4e-4f61-8a9b-1c2d3e4f5a6b';
const deniedClientId = '9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a';
const appCert = createAppCertificate('clawback-graph-test');
const strangerCert = createAppCertificate('not-registered-anywhere');

const awkwardIds = [
  '<CAF+abc/def==@mail.example.com>',
  "<o'brien.x@example.com>",
  '<100%real&true@example.com>',
  '<grüße.日本@例え.jp>',
];

describe('GraphMailBackend against the sandbox tenant', () => {
  let tenant: SandboxTenant;
  let identityHttpClient: HttpClient;

  const profileFor = (overrides: Partial<GraphProfile> = {}): GraphProfile =>
    ProfileMother.sandboxGraph({ tenantId, clientId }, ProfileMother.sandboxEndpoints(tenant), overrides);
  const backendFor = (
    overrides: Partial<GraphProfile> = {},
    deps: Partial<GraphMailBackendDeps> = {},
  ): MailBackend =>
    createGraphMailBackend(profileFor(overrides), {
      secrets: pemSecrets(appCert.pemBundle),
      identityHttpClient,
      timeoutSeconds: 15,
      maxAttempts: 3,
      ...deps,
    });

  const foldersOf = (mailbox: string, internetMessageId: string): string[] =>
    folderNamesOf(tenant, mailbox, internetMessageId);

  const folderId = (mailbox: string, wellKnownName: string): string | undefined =>
    tenant.mailbox(mailbox).folders.find((f) => f.wellKnownName === wellKnownName)?.id;

  beforeAll(async () => {
    tenant = await startSandboxTenant({
      apps: [
        { tenantId, tenantDomain, clientId, certificatePem: appCert.certPem },
        {
          tenantId,
          tenantDomain,
          clientId: deniedClientId,
          certificatePem: appCert.certPem,
          permissions: ['User.Read.All'],
        },
      ],
      mailboxes: [
        {
          address: 'alice@contoso.com',
          messages: [
            { internetMessageId: '<dup@evil.example>', subject: 'Invoice', folder: 'inbox' },
            { internetMessageId: '<dup@evil.example>', subject: 'Invoice', folder: 'Rules' },
            { internetMessageId: '<in-junk@evil.example>', subject: 'Junked', folder: 'junkemail' },
            ...awkwardIds.map((id) => ({ internetMessageId: id, subject: 'Awkward' })),
          ],
        },
        MailboxMother.sandbox('bob@contoso.com', '<campaign@evil.example>', {
          copies: 230,
          message: { subject: 'Prize' },
        }),
        { address: 'carol@contoso.com' },
        { address: 'onprem@contoso.com', kind: 'notEnabledForRest' },
        ...Array.from({ length: 6 }, (_, i) =>
          MailboxMother.sandbox(`user${i}@contoso.com`, '<wide@evil.example>', {
            message: { subject: 'Wide' },
          }),
        ),
        {
          address: 'busy@contoso.com',
          messages: [{ internetMessageId: '<busy@evil.example>', subject: 'Busy' }],
        },
      ],
      // Graph may serve fewer items than $top asks; the backend must follow the links either way.
      maxPageSize: 100,
    });
    identityHttpClient = rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost);
  });
  afterAll(() => tenant.close());
  beforeEach(() => tenant.clearScripts());

  const seed = (mailbox: string, internetMessageId: string, folders: string[]) => {
    for (const folder of folders)
      tenant.addMessage(mailbox, { internetMessageId, subject: 'Seeded', folder });
  };

  it('finds every copy of a message in a mailbox', async () => {
    const { items, usedFallback } = await backendFor().findMessages('alice@contoso.com', {
      internetMessageId: '<dup@evil.example>',
    });
    expect(usedFallback).toBe(false);
    expect(items).toHaveLength(2);
    expect(new Set(items.map((i) => i.id)).size).toBe(2);
    expect(items.every((i) => i.internetMessageId === '<dup@evil.example>')).toBe(true);
  });

  it.each(awkwardIds)('finds a message whose id is %s', async (id) => {
    const { items } = await backendFor().findMessages('alice@contoso.com', { internetMessageId: id });
    expect(items.map((i) => i.internetMessageId)).toEqual([id]);
  });

  it('follows @odata.nextLink until every copy is found', async () => {
    const { items } = await backendFor().findMessages('bob@contoso.com', {
      internetMessageId: '<campaign@evil.example>',
    });
    expect(items).toHaveLength(230);
    const searches = tenant.requests.filter(
      (r) => r.mailbox === 'bob@contoso.com' && r.method === 'GET' && r.path.includes('/messages?'),
    );
    expect(searches.length).toBeGreaterThanOrEqual(3);
  });

  it('tests the connection by reading the mailbox root folder', async () => {
    const root = tenant.mailbox('alice@contoso.com').folders.find((f) => f.wellKnownName === 'msgfolderroot');
    expect(await backendFor().testConnection?.('alice@contoso.com')).toMatchObject({
      rootFolderId: root?.id,
    });
    await expect(backendFor().testConnection?.('nobody@contoso.com')).rejects.toMatchObject({
      code: 'InvalidMailbox',
    });
  });

  it('finds nothing for a message that was never delivered', async () => {
    expect(
      await backendFor().findMessages('alice@contoso.com', { internetMessageId: '<never@evil.example>' }),
    ).toEqual({ items: [], usedFallback: false });
  });

  it('softDelete moves every copy to Recoverable Items', async () => {
    seed('carol@contoso.com', '<soft@evil.example>', ['inbox', 'Rules']);
    const backend = backendFor();
    const { items } = await backend.findMessages('carol@contoso.com', {
      internetMessageId: '<soft@evil.example>',
    });
    const outcomes = await Promise.all(
      items.map((item) => backend.applyAction('carol@contoso.com', item, 'softDelete')),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['succeeded', 'succeeded']);
    expect(outcomes.map((o) => o.originalFolder)).toContain(
      `Inbox (${folderId('carol@contoso.com', 'inbox')})`,
    );
    expect(foldersOf('carol@contoso.com', '<soft@evil.example>')).toEqual([
      'recoverableitemsdeletions',
      'recoverableitemsdeletions',
    ]);
  });

  it('hardDelete purges every copy', async () => {
    seed('carol@contoso.com', '<hard@evil.example>', ['inbox', 'junkemail']);
    const backend = backendFor();
    const { items } = await backend.findMessages('carol@contoso.com', {
      internetMessageId: '<hard@evil.example>',
    });
    for (const item of items)
      expect((await backend.applyAction('carol@contoso.com', item, 'hardDelete')).status).toBe('succeeded');
    expect(foldersOf('carol@contoso.com', '<hard@evil.example>')).toEqual([
      'recoverableitemspurges',
      'recoverableitemspurges',
    ]);
    expect(
      (await backend.findMessages('carol@contoso.com', { internetMessageId: '<hard@evil.example>' })).items,
    ).toEqual([]);
  });

  it('moveToDeletedItems moves every copy and records where each came from', async () => {
    seed('carol@contoso.com', '<deleted@evil.example>', ['inbox', 'Projects']);
    const backend = backendFor();
    const { items } = await backend.findMessages('carol@contoso.com', {
      internetMessageId: '<deleted@evil.example>',
    });
    const outcomes = await Promise.all(
      items.map((item) => backend.applyAction('carol@contoso.com', item, 'moveToDeletedItems')),
    );
    expect(outcomes.every((o) => o.status === 'succeeded')).toBe(true);
    const projects = tenant.mailbox('carol@contoso.com').folders.find((f) => f.displayName === 'Projects');
    expect(outcomes.map((o) => o.originalFolder).sort()).toEqual([
      `Inbox (${folderId('carol@contoso.com', 'inbox')})`,
      `Projects (${projects?.id})`,
    ]);
    expect(items.map((i) => i.folderName).sort()).toEqual(['Inbox', 'Projects']);
    expect(foldersOf('carol@contoso.com', '<deleted@evil.example>')).toEqual([
      'deleteditems',
      'deleteditems',
    ]);
  });

  it('moveToJunk moves the copy to Junk Email', async () => {
    seed('carol@contoso.com', '<junk@evil.example>', ['inbox']);
    const backend = backendFor();
    const [item] = (
      await backend.findMessages('carol@contoso.com', { internetMessageId: '<junk@evil.example>' })
    ).items;
    expect(await backend.applyAction('carol@contoso.com', item!, 'moveToJunk')).toMatchObject({
      status: 'succeeded',
      originalFolder: `Inbox (${folderId('carol@contoso.com', 'inbox')})`,
    });
    expect(foldersOf('carol@contoso.com', '<junk@evil.example>')).toEqual(['junkemail']);
  });

  it('none finds the copy and leaves it where it is', async () => {
    seed('carol@contoso.com', '<look@evil.example>', ['inbox']);
    const backend = backendFor();
    const [item] = (
      await backend.findMessages('carol@contoso.com', { internetMessageId: '<look@evil.example>' })
    ).items;
    expect(await backend.applyAction('carol@contoso.com', item!, 'none')).toEqual({
      status: 'succeeded',
      originalFolder: `Inbox (${folderId('carol@contoso.com', 'inbox')})`,
      detail: 'found; no action',
    });
    expect(foldersOf('carol@contoso.com', '<look@evil.example>')).toEqual(['inbox']);
  });

  it('reports a copy already in the destination folder as alreadyRemediated', async () => {
    const backend = backendFor();
    const [item] = (
      await backend.findMessages('alice@contoso.com', { internetMessageId: '<in-junk@evil.example>' })
    ).items;
    expect(await backend.applyAction('alice@contoso.com', item!, 'moveToJunk')).toMatchObject({
      status: 'alreadyRemediated',
      originalFolder: 'junkemail',
    });
    expect(foldersOf('alice@contoso.com', '<in-junk@evil.example>')).toEqual(['junkemail']);
  });

  it('reports a copy someone else removed in the meantime as alreadyRemediated', async () => {
    seed('carol@contoso.com', '<raced@evil.example>', ['inbox']);
    const backend = backendFor();
    const [item] = (
      await backend.findMessages('carol@contoso.com', { internetMessageId: '<raced@evil.example>' })
    ).items;
    await backend.applyAction('carol@contoso.com', item!, 'hardDelete');
    expect((await backend.applyAction('carol@contoso.com', item!, 'moveToDeletedItems')).status).toBe(
      'alreadyRemediated',
    );
    expect((await backend.applyAction('carol@contoso.com', item!, 'softDelete')).status).toBe(
      'alreadyRemediated',
    );
  });

  it('searches Recoverable Items when the profile asks for it', async () => {
    seed('carol@contoso.com', '<dumpster@evil.example>', ['recoverableitemsdeletions']);
    const plain = await backendFor().findMessages('carol@contoso.com', {
      internetMessageId: '<dumpster@evil.example>',
    });
    const deep = await backendFor({ searchRecoverableItems: true }).findMessages('carol@contoso.com', {
      internetMessageId: '<dumpster@evil.example>',
    });
    expect(plain.items).toHaveLength(0);
    expect(deep.items.map((i) => i.folderName)).toEqual(['recoverableitemsdeletions']);
  });

  it('falls back to sender, subject and time when the id finds nothing and the profile allows it', async () => {
    tenant.addMessage('carol@contoso.com', {
      internetMessageId: '<rewritten-by-gateway@contoso.com>',
      subject: "Your 'parcel' is waiting",
      from: 'eve@evil.example',
      receivedDateTime: '2026-03-10T08:00:00Z',
    });
    const criteria = {
      internetMessageId: '<original@evil.example>',
      sender: 'eve@evil.example',
      subject: "Your 'parcel' is waiting",
      receivedAt: '2026-03-10T09:30:00Z',
    };
    expect(await backendFor().findMessages('carol@contoso.com', criteria)).toEqual({
      items: [],
      usedFallback: false,
    });
    const found = await backendFor({ fallbackSearch: true }).findMessages('carol@contoso.com', criteria);
    expect(found.usedFallback).toBe(true);
    expect(found.items.map((i) => i.internetMessageId)).toEqual(['<rewritten-by-gateway@contoso.com>']);
  });

  it('forwards to the configured address only', async () => {
    seed('carol@contoso.com', '<fwd@evil.example>', ['inbox']);
    const backend = backendFor({}, { forwardTo: 'soc@contoso.com' });
    const [item] = (
      await backend.findMessages('carol@contoso.com', { internetMessageId: '<fwd@evil.example>' })
    ).items;
    expect(await backend.applyAction('carol@contoso.com', item!, 'forward')).toMatchObject({
      status: 'succeeded',
      detail: 'forwarded to soc@contoso.com',
    });
    expect(
      tenant.forwards.filter((f) => f.internetMessageId === '<fwd@evil.example>').map((f) => f.to),
    ).toEqual([['soc@contoso.com']]);
    expect(foldersOf('carol@contoso.com', '<fwd@evil.example>')).toEqual(['inbox']);
  });

  it('forwardAndDelete forwards, then moves the original to Recoverable Items', async () => {
    seed('carol@contoso.com', '<fwd-del@evil.example>', ['inbox']);
    const backend = backendFor({}, { forwardTo: 'soc@contoso.com' });
    const [item] = (
      await backend.findMessages('carol@contoso.com', { internetMessageId: '<fwd-del@evil.example>' })
    ).items;
    expect((await backend.applyAction('carol@contoso.com', item!, 'forwardAndDelete')).status).toBe(
      'succeeded',
    );
    expect(tenant.forwards.filter((f) => f.internetMessageId === '<fwd-del@evil.example>')).toHaveLength(1);
    expect(foldersOf('carol@contoso.com', '<fwd-del@evil.example>')).toEqual(['recoverableitemsdeletions']);
  });

  it('refuses to forward when no forward address is configured', async () => {
    const backend = backendFor();
    const [item] = (
      await backend.findMessages('alice@contoso.com', { internetMessageId: '<dup@evil.example>' })
    ).items;
    await expect(backend.applyAction('alice@contoso.com', item!, 'forward')).rejects.toMatchObject({
      code: 'ConfigurationError',
    });
  });

  it('sends restore to restoreMessage, which knows what the remediation recorded', async () => {
    const backend = backendFor();
    const [item] = (
      await backend.findMessages('alice@contoso.com', { internetMessageId: '<dup@evil.example>' })
    ).items;
    const error = await rejection(backend.applyAction('alice@contoso.com', item!, 'restore'));
    expect(error).toMatchObject({
      code: 'ConfigurationError',
      message: expect.stringMatching(/restoreMessage/) as unknown,
    });
    expect(foldersOf('alice@contoso.com', '<dup@evil.example>')).toEqual(['Rules', 'inbox']);
  });

  it('spends one token request on many mailboxes', async () => {
    const freshClient = rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost);
    const before = tenant.tokenRequests;
    const backend = backendFor({}, { identityHttpClient: freshClient });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        backend.findMessages(`user${i}@contoso.com`, { internetMessageId: '<wide@evil.example>' }),
      ),
    );
    expect(results.map((r) => r.items.length)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(tenant.tokenRequests - before).toBe(1);
  });

  it('never has more than 4 requests in flight for one mailbox', async () => {
    tenant.script({ match: { mailbox: 'busy@contoso.com' }, respond: { delayMs: 25 } });
    const backend = backendFor();
    await Promise.all(
      Array.from({ length: 24 }, () =>
        backend.findMessages('busy@contoso.com', { internetMessageId: '<busy@evil.example>' }),
      ),
    );
    expect(tenant.maxConcurrency('busy@contoso.com')).toBeLessThanOrEqual(4);
    expect(tenant.maxConcurrency('busy@contoso.com')).toBeGreaterThan(1);
  });

  it('retries a throttled request and succeeds', async () => {
    tenant.script({
      match: { mailbox: 'alice@contoso.com', pathIncludes: '/messages' },
      times: 2,
      respond: { status: 429 },
    });
    const { items } = await backendFor().findMessages('alice@contoso.com', {
      internetMessageId: '<dup@evil.example>',
    });
    expect(items).toHaveLength(2);
  });

  it('searches a mailbox with one request and looks up no folder before an action needs it', async () => {
    const before = tenant.requests.length;
    const backend = backendFor();
    await backend.findMessages('user0@contoso.com', { internetMessageId: '<wide@evil.example>' });
    expect(tenant.requests.slice(before).map((r) => r.operation)).toEqual(['search']);
  });

  it('retries throttled batch items on their own, after their Retry-After', async () => {
    tenant.script({
      match: { pathIncludes: '/users/user1@contoso.com/messages?', inBatch: true },
      times: 2,
      respond: { status: 429, headers: { 'Retry-After': new Date(Date.now() - 5000).toUTCString() } },
    });
    const before = tenant.requests.length;
    const { items } = await backendFor({ searchRecoverableItems: true }).findMessages('user1@contoso.com', {
      internetMessageId: '<wide@evil.example>',
    });
    expect(items).toHaveLength(1);
    const batched = tenant.requests.slice(before).filter((r) => r.batched);
    expect(
      batched.filter((r) => r.path.includes('/user1@contoso.com/messages?')).map((r) => r.status),
    ).toEqual([429, 429, 200]);
    expect(
      batched.filter((r) => r.path.includes('/mailFolders/recoverableitemsdeletions/')).map((r) => r.status),
    ).toEqual([200]);
  });

  it('gives up as Throttled, retryable, once the attempts are spent', async () => {
    tenant.script({
      match: { mailbox: 'alice@contoso.com', pathIncludes: '/messages' },
      respond: { status: 429, headers: { 'Retry-After': '0' } },
    });
    const before = tenant.requests.length;
    const error = await rejection(
      backendFor({}, { maxAttempts: 2 }).findMessages('alice@contoso.com', {
        internetMessageId: '<dup@evil.example>',
      }),
    );
    expect(error).toMatchObject({ code: 'Throttled', retryable: true });
    const searches = tenant.requests.slice(before).filter((r) => r.path.includes('/messages?'));
    expect(searches.map((r) => r.status)).toEqual([429, 429]);
  });

  describe('failures carry the SPEC reason and an actionable detail', () => {
    it('unknown tenant', async () => {
      const error = await rejection(
        backendFor({ tenantId: 'nosuch.onmicrosoft.com' }).findMessages('alice@contoso.com', {
          internetMessageId: '<dup@evil.example>',
        }),
      );
      expect(error.code).toBe('AuthenticationError');
      expect(error.detail).toMatch(
        /Tenant 'nosuch\.onmicrosoft\.com' was not found.*check tenantId and cloud/,
      );
    });

    it('unknown application', async () => {
      const error = await rejection(
        backendFor({ clientId: '12345678-1234-4234-8234-123456789012' }).findMessages('alice@contoso.com', {
          internetMessageId: '<dup@evil.example>',
        }),
      );
      expect(error.code).toBe('AuthenticationError');
      expect(error.detail).toMatch(
        /Application 12345678-1234-4234-8234-123456789012 is not registered in tenant/,
      );
    });

    it('certificate not registered on the app', async () => {
      const backend = createGraphMailBackend(profileFor(), {
        secrets: pemSecrets(strangerCert.pemBundle),
        identityHttpClient,
        timeoutSeconds: 15,
        maxAttempts: 3,
      });
      const error = await rejection(
        backend.findMessages('alice@contoso.com', { internetMessageId: '<dup@evil.example>' }),
      );
      expect(error.code).toBe('AuthenticationError');
      expect(error.detail).toMatch(/is not registered on the app registration .*Certificates & secrets/);
    });

    it('unknown mailbox', async () => {
      const error = await rejection(
        backendFor().findMessages('nobody@contoso.com', { internetMessageId: '<dup@evil.example>' }),
      );
      expect(error).toMatchObject({ code: 'InvalidMailbox', retryable: false });
      expect(error.detail).toMatch(/nobody@contoso\.com does not exist/);
    });

    it('mailbox not enabled for REST', async () => {
      const error = await rejection(
        backendFor().findMessages('onprem@contoso.com', { internetMessageId: '<dup@evil.example>' }),
      );
      expect(error.code).toBe('MailboxInaccessible');
    });

    it('access denied', async () => {
      const error = await rejection(
        backendFor({ clientId: deniedClientId }).findMessages('alice@contoso.com', {
          internetMessageId: '<dup@evil.example>',
        }),
      );
      expect(error.code).toBe('PermissionError');
      expect(error.detail).toMatch(/Mail\.ReadWrite application permission/);
    });

    it('Graph unreachable', async () => {
      const error = await rejection(
        backendFor({ graphEndpoint: 'http://127.0.0.1:1/graph' }).findMessages('alice@contoso.com', {
          internetMessageId: '<dup@evil.example>',
        }),
      );
      expect(error).toMatchObject({ code: 'ConnectionError', retryable: true });
    });

    it('Graph too slow', async () => {
      tenant.script({ match: { mailbox: 'alice@contoso.com' }, times: 1, respond: { delayMs: 2000 } });
      const error = await rejection(
        backendFor({}, { timeoutSeconds: 1 }).findMessages('alice@contoso.com', {
          internetMessageId: '<dup@evil.example>',
        }),
      );
      expect(error).toMatchObject({
        code: 'ConnectionError',
        retryable: true,
        message: expect.stringMatching(/did not answer within 1 s/) as unknown,
      });
    });
  });
});
