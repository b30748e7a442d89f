import type { HttpClient } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../../../local/sandbox/index.js';
import type { GraphProfile } from '../../../../shared/config/document.js';
import type { GraphMailBackend } from '../../../../shared/mail/graph/graphMailBackend.js';
import type { FindCriteria } from '../../../../shared/ports/mail.js';
import { sandboxGraphBackend } from '../../../support/graphBackend.js';
import { rejection, rewritingClient } from '../../../support/identity.js';

const tenantId = '6a1f0c2e-58b4-4d0c-9a51-0f3c6a7d2b10';
const clientId = '0b8f7a3c-2d4e-4f61-8a9b-1c2d3e4f5a6b';
const appCert = createAppCertificate('clawback-graph-search-mutants');
const user = 'ines@contoso.com';
const sender = 'attacker@evil.example';
const receivedAt = '2026-11-30T09:00:00.000Z';
const recoverablePath = '/mailFolders/recoverableitemsdeletions/messages';

describe('search (search.ts) against the sandbox tenant', () => {
  let tenant: SandboxTenant;
  let identityHttpClient: HttpClient;
  let sequence = 0;
  let mark = 0;

  const backendFor = (overrides: Partial<GraphProfile> = {}): GraphMailBackend =>
    sandboxGraphBackend(
      tenant,
      { tenantId, clientId, pemBundle: appCert.pemBundle, identityHttpClient },
      overrides,
    );
  const since = () => tenant.requests.slice(mark);
  const searches = () => since().filter((r) => r.operation === 'search');
  /** The internetMessageId each search asked for (its `$filter`), in order. */
  const searchedIds = () =>
    searches().map((r) => /internetMessageId eq '(.*?)'(?:&|$)/.exec(r.path)?.[1] ?? r.path);
  const folderId = (wellKnownName: string) =>
    tenant.mailbox(user).folders.find((f) => f.wellKnownName === wellKnownName)?.id;
  const deliver = (internetMessageId: string, folder = 'inbox', subject = `Lure ${(sequence += 1)}`) => {
    tenant.addMessage(user, {
      internetMessageId,
      subject,
      from: sender,
      receivedDateTime: receivedAt,
      folder,
    });
    return subject;
  };
  const find = (criteria: FindCriteria, overrides: Partial<GraphProfile> = {}) => {
    mark = tenant.requests.length;
    return backendFor(overrides).findMessages(user, criteria);
  };

  beforeAll(async () => {
    tenant = await startSandboxTenant({
      apps: [{ tenantId, clientId, certificatePem: appCert.certPem }],
      mailboxes: [{ address: user }],
    });
    identityHttpClient = rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost);
  });
  afterAll(() => tenant.close());
  beforeEach(() => tenant.clearScripts());

  describe('scopes', () => {
    it('searches one scope with a plain GET, not a batch of one', async () => {
      deliver('<plain-get@evil.example>');
      const { items } = await find({ internetMessageId: '<plain-get@evil.example>' });
      expect(items).toHaveLength(1);
      expect(since().map((r) => [r.method, r.operation, r.batched ?? false])).toEqual([
        ['GET', 'search', false],
      ]);
    });

    it('names Recoverable Items as the folder of a copy found there, and no other copy', async () => {
      deliver('<two-scopes@evil.example>', 'inbox');
      deliver('<two-scopes@evil.example>', 'recoverableitemsdeletions');
      const { items } = await find(
        { internetMessageId: '<two-scopes@evil.example>' },
        { searchRecoverableItems: true },
      );
      expect(items.map((i) => [i.folderId, i.folderName])).toEqual([
        [folderId('inbox'), undefined],
        [folderId('recoverableitemsdeletions'), 'recoverableitemsdeletions'],
      ]);
      expect(
        since()
          .map((r) => r.operation)
          .sort(),
      ).toEqual(['batch', 'search', 'search']);
    });

    it('reports a copy both scopes return once, as found outside Recoverable Items', async () => {
      deliver('<both-scopes@evil.example>', 'inbox');
      const inbox = tenant
        .mailbox(user)
        .messages.find((m) => m.internetMessageId === '<both-scopes@evil.example>');
      tenant.script({
        match: { pathIncludes: recoverablePath, inBatch: true },
        respond: {
          status: 200,
          body: {
            value: [
              {
                id: inbox?.id,
                internetMessageId: '<both-scopes@evil.example>',
                parentFolderId: folderId('recoverableitemsdeletions'),
                isRead: true,
                receivedDateTime: receivedAt,
              },
            ],
          },
        },
      });
      const { items } = await find(
        { internetMessageId: '<both-scopes@evil.example>' },
        { searchRecoverableItems: true },
      );
      expect(items).toEqual([
        {
          id: inbox?.id,
          internetMessageId: '<both-scopes@evil.example>',
          folderId: folderId('inbox'),
          folderName: undefined,
          isRead: false,
          deliveredAt: receivedAt,
        },
      ]);
    });

    it('answers a copy Graph returns without an internetMessageId with an empty one', async () => {
      tenant.script({
        match: { pathIncludes: '/messages?', inBatch: false },
        times: 1,
        respond: {
          status: 200,
          body: {
            value: [{ id: 'no-header', parentFolderId: 'f1', isRead: false, receivedDateTime: receivedAt }],
          },
        },
      });
      const { items } = await find({ internetMessageId: '<no-header@evil.example>' });
      expect(items).toEqual([
        {
          id: 'no-header',
          internetMessageId: '',
          folderId: 'f1',
          folderName: undefined,
          isRead: false,
          deliveredAt: receivedAt,
        },
      ]);
      expect(searches()).toHaveLength(1);
    });
  });

  describe('refusals', () => {
    const denied = {
      status: 403,
      body: { error: { code: 'ErrorAccessDenied', message: 'Access is denied.' } },
    };

    it('names the message search when Graph refuses the single search', async () => {
      tenant.script({ match: { pathIncludes: '/messages?' }, times: 1, respond: denied });
      const error = await rejection(find({ internetMessageId: '<refused-single@evil.example>' }));
      expect(error.code).toBe('PermissionError');
      expect(`${error.message} ${error.detail ?? ''}`).toMatch(/during message search/);
      expect(searches().map((r) => r.status)).toEqual([403]);
    });

    it('fails, naming the message search, when Graph refuses the Recoverable Items search in the batch', async () => {
      deliver('<refused-batch@evil.example>');
      tenant.script({ match: { pathIncludes: recoverablePath, inBatch: true }, respond: denied });
      const error = await rejection(
        find({ internetMessageId: '<refused-batch@evil.example>' }, { searchRecoverableItems: true }),
      );
      expect(error.code).toBe('PermissionError');
      expect(`${error.message} ${error.detail ?? ''}`).toMatch(/during message search/);
      expect(
        searches()
          .map((r) => r.status)
          .sort(),
      ).toEqual([200, 403]);
    });

    it('names the message search when Graph refuses a later page', async () => {
      const next = `${tenant.graphEndpoint}/v1.0/users/${user}/messages?$skiptoken=refused-page`;
      tenant.script({
        match: { pathIncludes: "internetMessageId eq '<paged@evil.example>'" },
        times: 1,
        respond: { status: 200, body: { value: [], '@odata.nextLink': next } },
      });
      tenant.script({ match: { pathIncludes: 'skiptoken=refused-page' }, respond: denied });
      const error = await rejection(find({ internetMessageId: '<paged@evil.example>' }));
      expect(error.code).toBe('PermissionError');
      expect(`${error.message} ${error.detail ?? ''}`).toMatch(/during message search/);
      expect(since().map((r) => r.status)).toEqual([200, 403]);
    });
  });

  describe('the message id searched by', () => {
    it.each([
      ['surrounded by spaces', '  <padded@evil.example>  ', '<padded@evil.example>'],
      ['without angle brackets', 'bare@evil.example', '<bare@evil.example>'],
      ['without its closing bracket', '<open@evil.example', '<open@evil.example>'],
      ['without its opening bracket', 'close@evil.example>', '<close@evil.example>'],
      ['with a < inside', 'in<side@evil.example', '<in<side@evil.example>'],
      ['with a > inside', 'in>side@evil.example', '<in>side@evil.example>'],
    ])('is the stored form of an id %s', async (_case, given, stored) => {
      deliver(stored);
      const { items } = await find({ internetMessageId: given });
      expect(items.map((i) => i.internetMessageId)).toEqual([stored]);
      expect(searchedIds()).toEqual([stored]);
    });

    it('searches nothing for an id with a line break', async () => {
      deliver('<line@evil.example>');
      const { items } = await find({ internetMessageId: '<line@evil.example>\r\nBcc: x@y' });
      expect(items).toEqual([]);
      expect(since()).toEqual([]);
    });
  });

  describe('the fallback by sender, subject and time', () => {
    it.each<[string, Partial<FindCriteria>]>([
      ['no sender', { sender: undefined }],
      ['no subject', { subject: undefined }],
      ['no time', { receivedAt: undefined }],
      ['an unreadable time', { receivedAt: 'yesterday-ish' }],
    ])('is not searched with %s', async (_case, missing) => {
      const subject = deliver(`<fallback-${(sequence += 1)}@evil.example>`);
      const result = await find(
        { internetMessageId: '<never-delivered@evil.example>', sender, subject, receivedAt, ...missing },
        { fallbackSearch: true },
      );
      expect(result).toEqual({ items: [], usedFallback: false });
      expect(searchedIds()).toEqual(['<never-delivered@evil.example>']);
    });

    it('is the only search for a row without any message id', async () => {
      const subject = deliver(`<fallback-${(sequence += 1)}@evil.example>`);
      // A row read back from storage may lack the id the type promises; usableMessageId takes undefined.
      const noId = { sender, subject, receivedAt } as Partial<FindCriteria> as FindCriteria;
      const result = await find(noId, { fallbackSearch: true });
      expect(result.usedFallback).toBe(true);
      expect(result.items).toHaveLength(1);
      expect(searches()).toHaveLength(1);
      expect(searches()[0]?.path).toContain(`subject eq '${subject}'`);
    });

    it('is searched with sender, subject and time, and finds the copy', async () => {
      const subject = deliver(`<fallback-${(sequence += 1)}@evil.example>`);
      const result = await find(
        { internetMessageId: '<never-delivered@evil.example>', sender, subject, receivedAt },
        { fallbackSearch: true },
      );
      expect(result.usedFallback).toBe(true);
      expect(result.items).toHaveLength(1);
      expect(searches()).toHaveLength(2);
    });
  });
});
