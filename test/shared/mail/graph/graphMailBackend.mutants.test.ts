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
  type GraphMailBackend,
} from '../../../../shared/mail/graph/graphMailBackend.js';
import { ProfileMother } from '../../../mothers/profileMother.js';
import { folderNameIn, sandboxGraphBackend } from '../../../support/graphBackend.js';
import { pemSecrets, rejection, rewritingClient } from '../../../support/identity.js';

const tenantId = '6a1f0c2e-58b4-4d0c-9a51-0f3c6a7d2b10';
const clientId = '0b8f7a3c-2d4e-4f61-8a9b-1c2d3e4f5a6b';
const appCert = createAppCertificate('clawback-graph-backend-mutants');
const central = 'quarantine@contoso.com';
const user = 'grace@contoso.com';
const sender = 'attacker@evil.example';
const receivedAt = '2026-11-30T08:00:00.000Z';
const sentCount = 55;

describe('GraphMailBackend (graphMailBackend.ts) against the sandbox tenant', () => {
  let tenant: SandboxTenant;
  let identityHttpClient: HttpClient;
  let sequence = 0;
  let mark = 0;
  let logs: string[] = [];

  const backendFor = (overrides: Partial<GraphProfile> = {}, withLog = true): GraphMailBackend =>
    sandboxGraphBackend(
      tenant,
      { tenantId, clientId, pemBundle: appCert.pemBundle, identityHttpClient },
      overrides,
      withLog ? { log: (line: string) => void (line.includes('using certificate') || logs.push(line)) } : {},
    );

  const folderNameOf = (mailbox: string, folderId: string) => folderNameIn(tenant, mailbox, folderId);
  const folders = (mailbox: string, internetMessageId: string) =>
    tenant
      .mailbox(mailbox)
      .messages.filter((m) => m.internetMessageId === internetMessageId)
      .map((m) => folderNameOf(mailbox, m.folderId))
      .sort();
  const begin = () => {
    mark = tenant.requests.length;
  };
  const since = () => tenant.requests.slice(mark);
  const searches = () => since().filter((r) => r.operation === 'search');
  const deliver = (copies: number, mailbox = user, subject?: string) => {
    sequence += 1;
    const internetMessageId = `<backend-mutant-${sequence}@evil.example>`;
    for (let i = 0; i < copies; i += 1)
      tenant.addMessage(mailbox, {
        internetMessageId,
        subject: subject ?? `Lure ${sequence}`,
        from: sender,
        receivedDateTime: receivedAt,
        folder: 'inbox',
      });
    return internetMessageId;
  };
  const operationIn = (error: { message: string; detail?: string | undefined }) =>
    `${error.message} ${error.detail ?? ''}`;

  beforeAll(async () => {
    tenant = await startSandboxTenant({
      apps: [{ tenantId, clientId, certificatePem: appCert.certPem }],
      mailboxes: [
        { address: user },
        { address: 'heidi@contoso.com' },
        { address: 'ivan@contoso.com' },
        { address: central },
      ],
      groups: [
        {
          address: 'team@contoso.com',
          displayName: 'Team',
          members: ['heidi@contoso.com', 'ivan@contoso.com'],
        },
      ],
      // Long enough that requests sent together really overlap in the sandbox.
      latencyMs: 5,
    });
    identityHttpClient = rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost);
  });
  afterAll(() => tenant.close());
  beforeEach(() => {
    tenant.clearScripts();
    logs = [];
  });

  it('is the graph kind of backend', () => {
    expect(backendFor().kind).toBe('graph');
  });

  describe('findMessages', () => {
    it('does not fall back when the message id finds copies, whatever the profile allows', async () => {
      const id = deliver(1);
      begin();
      const result = await backendFor({ fallbackSearch: true }).findMessages(user, {
        internetMessageId: id,
        sender,
        subject: `Lure ${sequence}`,
        receivedAt,
      });
      expect(result.usedFallback).toBe(false);
      expect(result.items).toHaveLength(1);
      expect(searches()).toHaveLength(1);
      expect(logs).toEqual([]);
    });

    it('does not fall back when the profile does not allow it', async () => {
      const subject = `Unmatched ${sequence}`;
      deliver(1, user, subject);
      begin();
      const result = await backendFor({ fallbackSearch: false }).findMessages(user, {
        internetMessageId: '<never-delivered-1@evil.example>',
        sender,
        subject,
        receivedAt,
      });
      expect(result).toEqual({ items: [], usedFallback: false });
      expect(searches()).toHaveLength(1);
    });

    it('does not fall back without sender, subject and time', async () => {
      begin();
      const result = await backendFor({ fallbackSearch: true }).findMessages(user, {
        internetMessageId: '<never-delivered-2@evil.example>',
      });
      expect(result).toEqual({ items: [], usedFallback: false });
      expect(searches()).toHaveLength(1);
    });

    it('falls back by sender, subject and time when the id finds nothing, and logs what it found', async () => {
      const subject = `Renamed ${sequence}`;
      const id = deliver(2, user, subject);
      begin();
      const result = await backendFor({ fallbackSearch: true }).findMessages(user, {
        internetMessageId: '<never-delivered-3@evil.example>',
        sender,
        subject,
        receivedAt,
      });
      expect(result.usedFallback).toBe(true);
      expect(result.items.map((i) => i.internetMessageId)).toEqual([id, id]);
      expect(searches()).toHaveLength(2);
      expect(logs).toEqual([`graph sandbox: ${user}: found 2 copies by sender, subject and time`]);
    });

    it('goes straight to the fallback when the message id is unusable', async () => {
      const subject = `No id ${sequence}`;
      deliver(1, user, subject);
      begin();
      const result = await backendFor({ fallbackSearch: true }, false).findMessages(user, {
        internetMessageId: '  ',
        sender,
        subject,
        receivedAt,
      });
      expect(result.usedFallback).toBe(true);
      expect(result.items).toHaveLength(1);
      expect(searches()).toHaveLength(1);
    });

    it('searches nothing for an unusable message id when the profile does not allow the fallback', async () => {
      const subject = `Unusable ${sequence}`;
      deliver(1, user, subject);
      begin();
      const result = await backendFor({ fallbackSearch: false }).findMessages(user, {
        internetMessageId: ' ',
        sender,
        subject,
        receivedAt,
      });
      expect(result).toEqual({ items: [], usedFallback: false });
      expect(searches()).toEqual([]);
    });

    it('reports a fallback that finds nothing without logging', async () => {
      begin();
      const result = await backendFor({ fallbackSearch: true }).findMessages(user, {
        internetMessageId: '<never-delivered-4@evil.example>',
        sender,
        subject: 'Nothing like this was ever sent',
        receivedAt,
      });
      expect(result).toEqual({ items: [], usedFallback: true });
      expect(searches()).toHaveLength(2);
      expect(logs).toEqual([]);
    });
  });

  describe('findDerivedMessages', () => {
    it('reads Sent Items page after page and finds every forward', async () => {
      sequence += 1;
      const original = `<derived-original-${sequence}@evil.example>`;
      for (let i = 0; i < sentCount; i += 1)
        tenant.addMessage(user, {
          internetMessageId: `<fwd-${sequence}-${i}@contoso.com>`,
          subject: `FW: Lure ${i}`,
          folder: 'sentitems',
          toRecipients: ['friend@fabrikam.example'],
          internetMessageHeaders: [{ name: 'References', value: original }],
        });
      begin();
      const derived = await backendFor().findDerivedMessages(user, {
        internetMessageId: original,
        limit: 1000,
      });
      expect(derived).toHaveLength(sentCount);
      expect(derived[0]).toMatchObject({ recipients: ['friend@fabrikam.example'], matchedBy: 'references' });
      const pages = since().filter((r) => r.path.includes('/mailFolders/sentitems/messages'));
      expect(pages).toHaveLength(2);
      expect(pages.map((r) => r.status)).toEqual([200, 200]);
    });

    it('names the Sent Items search in a refusal', async () => {
      tenant.script({
        match: { method: 'GET', mailbox: user, pathIncludes: '/sentitems/' },
        respond: { status: 403 },
      });
      const error = await rejection(
        backendFor().findDerivedMessages(user, { internetMessageId: '<x@evil.example>', limit: 5 }),
      );
      expect(error.code).toBe('PermissionError');
      expect(operationIn(error)).toContain('during forward search (');
    });
  });

  it('names the connection test in a refusal', async () => {
    tenant.script({
      match: { method: 'GET', mailbox: user, pathIncludes: '/msgfolderroot' },
      respond: { status: 403 },
    });
    const error = await rejection(backendFor().testConnection(user));
    expect(error.code).toBe('PermissionError');
    expect(operationIn(error)).toContain('during connection test (');
  });

  it('refuses restore through applyAction, saying where it goes, before any request', async () => {
    const id = deliver(1);
    const backend = backendFor();
    const [item] = (await backend.findMessages(user, { internetMessageId: id })).items;
    begin();
    const error = await rejection(
      backend.applyAction(user, item ?? { id: 'x', internetMessageId: id, folderId: 'y' }, 'restore'),
    );
    expect(error.code).toBe('ConfigurationError');
    expect(error.message).toBe(
      'Restore puts copies back from what their remediation recorded; it goes through restoreMessage, not applyAction.',
    );
    expect(since()).toEqual([]);
    expect(folders(user, id)).toEqual(['inbox']);
  });

  it('answers the connection test with the root folder', async () => {
    const root = tenant.mailbox(user).folders.find((f) => f.wellKnownName === 'msgfolderroot');
    expect(await backendFor().testConnection(user)).toEqual({
      rootFolderId: root?.id,
      rootFolderName: root?.displayName,
    });
  });

  describe('applyAction', () => {
    const itemOf = async (backend: GraphMailBackend, id: string) => {
      const [item] = (await backend.findMessages(user, { internetMessageId: id })).items;
      if (item === undefined) throw new Error(`no copy of ${id}`);
      begin();
      return item;
    };
    const inboxLabel = () =>
      `Inbox (${tenant.mailbox(user).folders.find((f) => f.wellKnownName === 'inbox')?.id})`;
    const slowFolderLookup = () =>
      tenant.script({
        match: { method: 'GET', mailbox: user, pathIncludes: '/mailFolders/' },
        times: 1,
        respond: { delayMs: 150 },
      });

    it('labels the folder once its lookup is answered, even when the action is done first', async () => {
      const id = deliver(1);
      const backend = backendFor();
      const item = await itemOf(backend, id);
      slowFolderLookup();
      expect(await backend.applyAction(user, item, 'softDelete')).toMatchObject({
        status: 'succeeded',
        originalFolder: inboxLabel(),
      });
      expect(folders(user, id)).toEqual(['recoverableitemsdeletions']);
    });

    it('fails with the action error, after the folder lookup is answered', async () => {
      const id = deliver(1);
      const backend = backendFor();
      const item = await itemOf(backend, id);
      slowFolderLookup();
      tenant.script({ match: { method: 'DELETE', mailbox: user }, times: 1, respond: { status: 403 } });
      const error = await rejection(backend.applyAction(user, item, 'softDelete'));
      expect(error.code).toBe('PermissionError');
      expect(operationIn(error)).toContain('during delete (');
      expect(since().filter((r) => r.path.includes('/mailFolders/'))).toHaveLength(1);
      expect(folders(user, id)).toEqual(['inbox']);
    });
  });

  describe('applyActions', () => {
    const items = async (backend: GraphMailBackend, id: string, mailbox = user) =>
      (await backend.findMessages(mailbox, { internetMessageId: id })).items;

    it('quarantines copies into the central mailbox one after another, importing one copy', async () => {
      const id = deliver(4, 'heidi@contoso.com');
      const backend = backendFor({ quarantineTarget: 'mailbox', quarantineMailbox: central });
      const found = await items(backend, id, 'heidi@contoso.com');
      begin();
      const outcomes = await backend.applyActions('heidi@contoso.com', found, 'quarantine');
      expect(outcomes.map((o) => o.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
      expect(since().filter((r) => r.operation === 'import')).toHaveLength(1);
      expect(folders(central, id)).toEqual(['heidi@contoso.com']);
      expect(folders('heidi@contoso.com', id)).toEqual(Array(4).fill('recoverableitemsdeletions'));
    });

    it('deletes copies side by side, also when the profile quarantines into a mailbox', async () => {
      const id = deliver(8, 'ivan@contoso.com');
      const backend = backendFor({ quarantineTarget: 'mailbox', quarantineMailbox: central });
      const found = await items(backend, id, 'ivan@contoso.com');
      tenant.resetCounters();
      const outcomes = await backend.applyActions('ivan@contoso.com', found, 'softDelete');
      expect(outcomes.every((o) => o.status === 'succeeded')).toBe(true);
      expect(tenant.maxConcurrency('ivan@contoso.com')).toBeGreaterThan(2);
      expect(folders('ivan@contoso.com', id)).toEqual(Array(8).fill('recoverableitemsdeletions'));
    });

    it('quarantines copies into the hidden folder side by side', async () => {
      const id = deliver(8, 'ivan@contoso.com');
      const backend = backendFor();
      const found = await items(backend, id, 'ivan@contoso.com');
      tenant.resetCounters();
      const outcomes = await backend.applyActions('ivan@contoso.com', found, 'quarantine');
      expect(outcomes.every((o) => o.status === 'succeeded')).toBe(true);
      expect(tenant.maxConcurrency('ivan@contoso.com')).toBeGreaterThan(2);
      expect(folders('ivan@contoso.com', id)).toEqual(Array(8).fill('Clawback Quarantine'));
    });

    it('forwards copies one after another', async () => {
      const id = deliver(6, 'ivan@contoso.com');
      const backend = createGraphMailBackend(
        ProfileMother.sandboxGraph({ tenantId, clientId }, ProfileMother.sandboxEndpoints(tenant)),
        {
          secrets: pemSecrets(appCert.pemBundle),
          identityHttpClient,
          timeoutSeconds: 15,
          maxAttempts: 1,
          forwardTo: 'soc@contoso.com',
        },
      );
      const found = await items(backend, id, 'ivan@contoso.com');
      tenant.resetCounters();
      await backend.applyActions('ivan@contoso.com', found, 'forward');
      expect(tenant.maxConcurrency('ivan@contoso.com')).toBeLessThanOrEqual(2);
      expect(tenant.forwards.filter((f) => f.internetMessageId === id)).toHaveLength(6);
    });
  });

  describe('expandRecipient', () => {
    it('trims and lower-cases the address, looks it up once, and logs the expansion', async () => {
      begin();
      expect(await backendFor().expandRecipient('  Team@Contoso.com ')).toEqual({
        kind: 'group',
        displayName: 'Team',
        members: expect.arrayContaining(['heidi@contoso.com', 'ivan@contoso.com']) as unknown,
      });
      const lookups = since().filter((r) => r.path.startsWith('/v1.0/users/'));
      expect(lookups.map((r) => [r.path, r.status])).toEqual([
        ['/v1.0/users/team@contoso.com?$select=id', 404],
      ]);
      const expansion = since().filter((r) => r.path.includes('/transitiveMembers/'));
      expect(expansion).toHaveLength(1);
      expect(expansion[0]?.path).toContain(
        '/transitiveMembers/microsoft.graph.user?$select=mail,userPrincipalName&$top=999&$count=true',
      );
      expect(logs).toEqual(['graph sandbox: group team@contoso.com (Team) expanded to 2 member mailboxes']);
    });

    it('fails on a refused user lookup instead of looking for a group', async () => {
      tenant.script({
        match: { method: 'GET', pathIncludes: '/users/team@contoso.com' },
        respond: { status: 403 },
      });
      begin();
      const error = await rejection(backendFor().expandRecipient('team@contoso.com'));
      expect(error.code).toBe('PermissionError');
      expect(operationIn(error)).toContain('during recipient lookup (');
      expect(since().filter((r) => r.path.includes('/groups'))).toEqual([]);
    });

    it('names the group lookup in a refusal', async () => {
      tenant.script({ match: { method: 'GET', pathIncludes: '/groups?' }, respond: { status: 403 } });
      const error = await rejection(backendFor().expandRecipient('team@contoso.com'));
      expect(operationIn(error)).toContain('during group lookup (');
    });

    it('names the expansion in a refusal', async () => {
      tenant.script({
        match: { method: 'GET', pathIncludes: '/transitiveMembers/' },
        respond: { status: 403 },
      });
      const error = await rejection(backendFor().expandRecipient('team@contoso.com'));
      expect(operationIn(error)).toContain('during group expansion (');
    });

    it('counts an address whose group lookup lists nothing as a mailbox', async () => {
      tenant.script({
        match: { method: 'GET', pathIncludes: '/groups?' },
        respond: { status: 200, body: {} },
      });
      expect(await backendFor().expandRecipient('team@contoso.com')).toEqual({ kind: 'mailbox' });
      expect(logs).toEqual([]);
    });

    it('skips members without a mail address, counts them, and names no display name the group lacks', async () => {
      tenant.script({
        match: { method: 'GET', pathIncludes: '/groups?' },
        respond: { status: 200, body: { value: [{ id: 'group-without-name' }] } },
      });
      tenant.script({
        match: { method: 'GET', pathIncludes: '/groups/group-without-name/transitiveMembers/' },
        respond: {
          status: 200,
          body: {
            value: [
              { mail: ' Heidi@Contoso.com ' },
              { mail: null, userPrincipalName: 'svc@contoso.com' },
              { userPrincipalName: 'room@contoso.com' },
              { mail: 'heidi@contoso.com' },
              { mail: '  ' },
            ],
          },
        },
      });
      expect(await backendFor().expandRecipient('team@contoso.com')).toEqual({
        kind: 'group',
        displayName: undefined,
        members: ['heidi@contoso.com'],
      });
      expect(logs).toEqual([
        'graph sandbox: group team@contoso.com expanded to 1 member mailboxes; 3 members without a mail address were skipped',
      ]);
    });

    it('names the expansion in a refusal of a later page', async () => {
      tenant.script({
        match: { method: 'GET', pathIncludes: '/groups?' },
        times: 1,
        respond: { status: 200, body: { value: [{ id: 'group-paged', displayName: 'Paged' }] } },
      });
      tenant.script({
        match: {
          method: 'GET',
          pathIncludes: '/groups/group-paged/transitiveMembers/microsoft.graph.user?$select',
        },
        times: 1,
        respond: {
          status: 200,
          body: {
            value: [{ mail: 'heidi@contoso.com' }],
            '@odata.nextLink': `${tenant.graphEndpoint}/v1.0/groups/group-paged/transitiveMembers/microsoft.graph.user?$skiptoken=page-two`,
          },
        },
      });
      tenant.script({
        match: { method: 'GET', pathIncludes: 'page-two' },
        times: 1,
        respond: { status: 403 },
      });
      begin();
      const error = await rejection(backendFor().expandRecipient('team@contoso.com'));
      expect(operationIn(error)).toContain('during group expansion (');
      expect(since().filter((r) => r.path.includes('page-two'))).toHaveLength(1);
    });

    it('expands without a log', async () => {
      expect(await backendFor({}, false).expandRecipient('team@contoso.com')).toMatchObject({
        kind: 'group',
      });
    });
  });
});
