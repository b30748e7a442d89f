import type { HttpClient } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../../../local/sandbox/index.js';
import type { GraphProfile } from '../../../../shared/config/document.js';
import { pendingFolder, perCopyActions, withFolderLabel } from '../../../../shared/mail/graph/actions.js';
import type { GraphMailBackend } from '../../../../shared/mail/graph/graphMailBackend.js';
import type { MailItem } from '../../../../shared/ports/mail.js';
import { folderNameIn, sandboxGraphBackend } from '../../../support/graphBackend.js';
import { rejection, rewritingClient } from '../../../support/identity.js';

const tenantId = '6a1f0c2e-58b4-4d0c-9a51-0f3c6a7d2b10';
const clientId = '0b8f7a3c-2d4e-4f61-8a9b-1c2d3e4f5a6b';
const appCert = createAppCertificate('clawback-graph-actions-mutants');
const central = 'quarantine@contoso.com';
const user = 'carol@contoso.com';

describe('pendingFolder and withFolderLabel', () => {
  it('stands for the folder with a value no folder label can have', () => {
    expect(pendingFolder).toBe('\u0000folder');
  });

  it('fills in the label only where the outcome holds the placeholder', () => {
    expect(
      withFolderLabel({ status: 'succeeded', originalFolder: pendingFolder, detail: 'd' }, 'Inbox'),
    ).toEqual({
      status: 'succeeded',
      originalFolder: 'Inbox',
      detail: 'd',
    });
    const recorded = { status: 'alreadyRemediated' as const, originalFolder: 'junkemail', detail: 'd' };
    expect(withFolderLabel(recorded, 'Inbox')).toBe(recorded);
    const empty = { status: 'succeeded' as const, originalFolder: '', detail: 'd' };
    expect(withFolderLabel(empty, 'Inbox')).toBe(empty);
  });

  it('lists the actions whose copies do not depend on each other', () => {
    expect([...perCopyActions].sort()).toEqual([
      'hardDelete',
      'moveToDeletedItems',
      'moveToJunk',
      'none',
      'quarantine',
      'softDelete',
    ]);
  });
});

describe('act (actions.ts) against the sandbox tenant', () => {
  let tenant: SandboxTenant;
  let identityHttpClient: HttpClient;
  let sequence = 0;
  let mark = 0;

  const backendFor = (overrides: Partial<GraphProfile> = {}, forwardTo?: string): GraphMailBackend =>
    sandboxGraphBackend(
      tenant,
      { tenantId, clientId, pemBundle: appCert.pemBundle, identityHttpClient },
      overrides,
      { maxAttempts: 2, ...(forwardTo === undefined ? {} : { forwardTo }) },
    );

  const folderNameOf = (mailbox: string, folderId: string) => folderNameIn(tenant, mailbox, folderId);
  const folders = (mailbox: string, internetMessageId: string) =>
    tenant
      .mailbox(mailbox)
      .messages.filter((m) => m.internetMessageId === internetMessageId)
      .map((m) => folderNameOf(mailbox, m.folderId))
      .sort();
  const inboxLabel = () =>
    `Inbox (${tenant.mailbox(user).folders.find((f) => f.wellKnownName === 'inbox')?.id})`;

  const deliver = (folder: string, mailbox = user) => {
    sequence += 1;
    const internetMessageId = `<action-mutant-${sequence}@evil.example>`;
    tenant.addMessage(mailbox, { internetMessageId, subject: `Lure ${sequence}`, folder });
    return internetMessageId;
  };
  const found = async (backend: GraphMailBackend, id: string, mailbox = user): Promise<MailItem> => {
    const [item] = (await backend.findMessages(mailbox, { internetMessageId: id })).items;
    if (item === undefined) throw new Error(`no copy of ${id}`);
    mark = tenant.requests.length;
    return item;
  };
  const since = () => tenant.requests.slice(mark);
  const writes = () => since().filter((r) => r.method !== 'GET');

  beforeAll(async () => {
    tenant = await startSandboxTenant({
      apps: [{ tenantId, clientId, certificatePem: appCert.certPem }],
      mailboxes: [{ address: user }, { address: 'dave@contoso.com' }, { address: central }],
    });
    identityHttpClient = rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost);
  });
  afterAll(() => tenant.close());
  beforeEach(() => tenant.clearScripts());

  it('none leaves the copy where it is and sends nothing but the folder lookup', async () => {
    const id = deliver('inbox');
    const backend = backendFor();
    const item = await found(backend, id);
    expect(await backend.applyAction(user, item, 'none')).toEqual({
      status: 'succeeded',
      originalFolder: inboxLabel(),
      detail: 'found; no action',
    });
    expect(writes()).toEqual([]);
    expect(folders(user, id)).toEqual(['inbox']);
  });

  it('softDelete deletes the copy with one DELETE and says where it went', async () => {
    const id = deliver('inbox');
    const backend = backendFor();
    const item = await found(backend, id);
    expect(await backend.applyAction(user, item, 'softDelete')).toEqual({
      status: 'succeeded',
      originalFolder: inboxLabel(),
      quarantineLocation: undefined,
      detail: 'deleted (Recoverable Items)',
    });
    expect(writes().map((r) => [r.method, r.path.endsWith(`/messages/${item.id}`)])).toEqual([
      ['DELETE', true],
    ]);
    expect(folders(user, id)).toEqual(['recoverableitemsdeletions']);
  });

  it('softDelete leaves a copy already in Recoverable Items alone', async () => {
    const id = deliver('recoverableitemsdeletions');
    const backend = backendFor({ searchRecoverableItems: true });
    const item = await found(backend, id);
    expect(item.folderName).toBe('recoverableitemsdeletions');
    expect(await backend.applyAction(user, item, 'softDelete')).toEqual({
      status: 'alreadyRemediated',
      originalFolder: 'recoverableitemsdeletions',
      detail: 'already in Recoverable Items',
    });
    expect(writes()).toEqual([]);
    expect(folders(user, id)).toEqual(['recoverableitemsdeletions']);
  });

  it('hardDelete purges the copy with one permanentDelete', async () => {
    const id = deliver('inbox');
    const backend = backendFor();
    const item = await found(backend, id);
    expect(await backend.applyAction(user, item, 'hardDelete')).toEqual({
      status: 'succeeded',
      originalFolder: inboxLabel(),
      quarantineLocation: undefined,
      detail: 'permanently deleted',
    });
    expect(writes().map((r) => [r.method, r.path.endsWith(`/messages/${item.id}/permanentDelete`)])).toEqual([
      ['POST', true],
    ]);
    expect(folders(user, id)).toEqual(['recoverableitemspurges']);
  });

  it.each([
    ['moveToDeletedItems', 'deleteditems'],
    ['moveToJunk', 'junkemail'],
  ] as const)('%s moves the copy with one move to %s', async (action, destination) => {
    const id = deliver('inbox');
    const backend = backendFor();
    const item = await found(backend, id);
    expect(await backend.applyAction(user, item, action)).toEqual({
      status: 'succeeded',
      originalFolder: inboxLabel(),
      quarantineLocation: undefined,
      detail: `moved to ${destination}`,
    });
    expect(writes().map((r) => [r.method, r.path.endsWith(`/messages/${item.id}/move`)])).toEqual([
      ['POST', true],
    ]);
    expect(
      since()
        .filter((r) => r.method === 'GET')
        .map((r) => r.path),
    ).toContainEqual(expect.stringContaining(`/mailFolders/${destination}?`));
    expect(folders(user, id)).toEqual([destination]);
  });

  it.each([
    ['moveToDeletedItems', 'deleteditems'],
    ['moveToJunk', 'junkemail'],
  ] as const)('%s leaves a copy already in %s alone', async (action, destination) => {
    const id = deliver(destination);
    const backend = backendFor();
    const item = await found(backend, id);
    expect(await backend.applyAction(user, item, action)).toEqual({
      status: 'alreadyRemediated',
      originalFolder: destination,
      detail: `already in ${destination}`,
    });
    expect(writes()).toEqual([]);
    expect(folders(user, id)).toEqual([destination]);
  });

  it('forward sends a copy and leaves the original; forwardAndDelete also deletes it', async () => {
    const kept = deliver('inbox');
    const removed = deliver('inbox');
    const backend = backendFor({}, 'soc@contoso.com');
    expect((await backend.applyAction(user, await found(backend, kept), 'forward')).status).toBe('succeeded');
    expect(writes().filter((r) => r.method === 'DELETE')).toEqual([]);
    expect((await backend.applyAction(user, await found(backend, removed), 'forwardAndDelete')).status).toBe(
      'succeeded',
    );
    expect(writes().filter((r) => r.method === 'DELETE')).toHaveLength(1);
    expect(folders(user, kept)).toEqual(['inbox']);
    expect(folders(user, removed)).toEqual(['recoverableitemsdeletions']);
    expect(tenant.forwards.filter((f) => [kept, removed].includes(f.internetMessageId))).toHaveLength(2);
  });

  it('quarantine goes to the hidden folder unless the profile names a quarantine mailbox', async () => {
    const local = deliver('inbox');
    const backend = backendFor();
    expect(await backend.applyAction(user, await found(backend, local), 'quarantine')).toMatchObject({
      status: 'succeeded',
      quarantineLocation: 'folder:Clawback Quarantine',
    });
    expect(folders(user, local)).toEqual(['Clawback Quarantine']);
    expect(since().filter((r) => r.mailbox === central)).toEqual([]);
  });

  it('quarantine into the central mailbox works with options that carry no effect marker', async () => {
    const id = deliver('inbox', 'dave@contoso.com');
    const backend = backendFor({ quarantineTarget: 'mailbox', quarantineMailbox: central });
    const item = await found(backend, id, 'dave@contoso.com');
    expect(await backend.applyAction('dave@contoso.com', item, 'quarantine', {})).toMatchObject({
      status: 'succeeded',
      quarantineLocation: `mailbox:${central}/Clawback Quarantine/dave@contoso.com`,
    });
    expect(folders(central, id)).toEqual(['dave@contoso.com']);
    expect(folders('dave@contoso.com', id)).toEqual(['recoverableitemsdeletions']);
  });

  it('quarantine into the central mailbox works without options', async () => {
    const id = deliver('inbox', 'dave@contoso.com');
    const backend = backendFor({ quarantineTarget: 'mailbox', quarantineMailbox: central });
    const item = await found(backend, id, 'dave@contoso.com');
    expect((await backend.applyAction('dave@contoso.com', item, 'quarantine')).status).toBe('succeeded');
    expect(folders(central, id)).toEqual(['dave@contoso.com']);
  });

  it('quarantine into the central mailbox keys its copy by the effect marker', async () => {
    const id = deliver('inbox', 'dave@contoso.com');
    const backend = backendFor({ quarantineTarget: 'mailbox', quarantineMailbox: central });
    const item = await found(backend, id, 'dave@contoso.com');
    const outcome = await backend.applyAction('dave@contoso.com', item, 'quarantine', {
      effect: { key: 'row-1', recovering: false },
    });
    expect(outcome.status).toBe('succeeded');
    expect(folders(central, id)).toEqual(['dave@contoso.com']);
  });

  it('reports a copy that vanished before the action as alreadyRemediated', async () => {
    const id = deliver('inbox');
    const backend = backendFor();
    const item = await found(backend, id);
    tenant.script({ match: { method: 'DELETE', mailbox: user }, respond: { status: 404 } });
    expect(await backend.applyAction(user, item, 'softDelete')).toEqual({
      status: 'alreadyRemediated',
      originalFolder: inboxLabel(),
      detail: 'the message was already gone from the mailbox',
    });
    expect(folders(user, id)).toEqual(['inbox']);
  });
  it.each([
    ['softDelete', 'DELETE', 'delete'],
    ['hardDelete', 'POST', 'permanent delete'],
    ['moveToJunk', 'POST', 'move'],
  ] as const)('%s names its request in a refusal', async (action, method, operation) => {
    const id = deliver('inbox');
    const backend = backendFor();
    const item = await found(backend, id);
    tenant.script({ match: { method, mailbox: user, pathIncludes: item.id }, respond: { status: 403 } });
    const error = await rejection(backend.applyAction(user, item, action));
    expect(error.code).toBe('PermissionError');
    expect(`${error.message} ${error.detail ?? ''}`).toContain(`during ${operation} (`);
    expect(folders(user, id)).toEqual(['inbox']);
  });
});
