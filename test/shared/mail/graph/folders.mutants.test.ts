import type { HttpClient } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../../../local/sandbox/index.js';
import type { GraphProfile } from '../../../../shared/config/document.js';
import { sandboxGraphBackend } from '../../../support/graphBackend.js';
import { rejection, rewritingClient } from '../../../support/identity.js';
import { folderNamesOf } from '../../../support/sandboxMail.js';

const tenantId = '6a1f0c2e-58b4-4d0c-9a51-0f3c6a7d2b10';
const clientId = '0b8f7a3c-2d4e-4f61-8a9b-1c2d3e4f5a6b';
const appCert = createAppCertificate('clawback-graph-folders-mutants');
const quarantineFolder = 'Clawback Hold';

describe('GraphFolders (folders.ts) against the sandbox tenant', () => {
  let tenant: SandboxTenant;
  let identityHttpClient: HttpClient;
  let sequence = 0;

  const backendFor = (overrides: Partial<GraphProfile> = {}) =>
    sandboxGraphBackend(
      tenant,
      { tenantId, clientId, pemBundle: appCert.pemBundle, identityHttpClient },
      { quarantineFolder, ...overrides },
    );
  type Backend = ReturnType<typeof backendFor>;

  const mailboxes = Array.from({ length: 24 }, (_, i) => `user${i}@contoso.com`);
  const freshMailbox = () => mailboxes[sequence++]!;

  /** A fresh message id with one copy in each folder, found as `remediate` finds them. */
  const deliver = async (backend: Backend, mailbox: string, folders: string[]) => {
    const id = `<lure-${mailbox}-${folders.join('-')}-${Math.random()}@evil.example>`;
    for (const folder of folders)
      tenant.addMessage(mailbox, { internetMessageId: id, subject: 'Lure', folder });
    const { items } = await backend.findMessages(mailbox, { internetMessageId: id });
    return { id, items };
  };
  const since = (mailbox: string, before: number) =>
    tenant.requests.slice(before).filter((r) => r.mailbox === mailbox);
  const wellKnownLookups = (mailbox: string, before: number, name: string) =>
    since(mailbox, before).filter((r) => r.path.endsWith(`/mailFolders/${name}?$select=id`));
  const nameLookups = (mailbox: string, before: number) =>
    since(mailbox, before).filter((r) => r.path.endsWith('?$select=id,displayName'));
  const childCreations = (mailbox: string, before: number) =>
    since(mailbox, before).filter((r) => r.method === 'POST' && r.path.endsWith('/childFolders'));
  const childLookups = (mailbox: string, before: number) =>
    since(mailbox, before).filter((r) => r.method === 'GET' && r.path.includes('/childFolders?'));
  const folderIdOf = (mailbox: string, name: string) =>
    tenant.mailbox(mailbox).folders.find((f) => f.wellKnownName === name || f.displayName === name)?.id;

  beforeAll(async () => {
    tenant = await startSandboxTenant({
      apps: [{ tenantId, clientId, certificatePem: appCert.certPem }],
      mailboxes: mailboxes.map((address) => ({ address })),
    });
    identityHttpClient = rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost);
  });
  afterAll(() => tenant.close());
  beforeEach(() => tenant.clearScripts());

  it('looks a well-known folder up once per mailbox, whatever the case of its address', async () => {
    const mailbox = freshMailbox();
    const backend = backendFor();
    const first = await deliver(backend, mailbox, ['inbox']);
    const second = await deliver(backend, mailbox, ['inbox']);
    const before = tenant.requests.length;
    expect((await backend.applyAction(mailbox, first.items[0]!, 'moveToJunk')).status).toBe('succeeded');
    expect((await backend.applyAction(mailbox.toUpperCase(), second.items[0]!, 'moveToJunk')).status).toBe(
      'succeeded',
    );
    expect(wellKnownLookups(mailbox, before, 'junkemail')).toHaveLength(1);
    expect(folderNamesOf(tenant, mailbox, first.id)).toEqual(['junkemail']);
    expect(folderNamesOf(tenant, mailbox, second.id)).toEqual(['junkemail']);
  });

  it('forgets a failed well-known lookup, so the next action looks again', async () => {
    const mailbox = freshMailbox();
    const backend = backendFor();
    const { id, items } = await deliver(backend, mailbox, ['inbox']);
    tenant.script({
      match: { mailbox, pathIncludes: '/mailFolders/deleteditems?' },
      times: 1,
      respond: { status: 400 },
    });
    const before = tenant.requests.length;
    const error = await rejection(backend.applyAction(mailbox, items[0]!, 'moveToDeletedItems'));
    expect(error.detail ?? error.message).toContain(`Graph rejected folder lookup for mailbox ${mailbox} (`);
    expect(folderNamesOf(tenant, mailbox, id)).toEqual(['inbox']);
    expect((await backend.applyAction(mailbox, items[0]!, 'moveToDeletedItems')).status).toBe('succeeded');
    expect(wellKnownLookups(mailbox, before, 'deleteditems')).toHaveLength(2);
    expect(folderNamesOf(tenant, mailbox, id)).toEqual(['deleteditems']);
  });

  it('labels a copy in a well-known folder it looked up by that name, without naming it again', async () => {
    const mailbox = freshMailbox();
    const backend = backendFor();
    const first = await deliver(backend, mailbox, ['inbox']);
    await backend.applyAction(mailbox, first.items[0]!, 'moveToJunk');
    const { items } = await deliver(backend, mailbox, ['junkemail']);
    const before = tenant.requests.length;
    const outcome = await backend.applyAction(mailbox, items[0]!, 'moveToDeletedItems');
    expect(outcome).toMatchObject({ status: 'succeeded', originalFolder: 'junkemail' });
    expect(items[0]!.folderName).toBe('junkemail');
    expect(nameLookups(mailbox, before)).toEqual([]);
  });

  it('names a folder once by its display name, and labels copies `Name (id)`', async () => {
    const mailbox = freshMailbox();
    const backend = backendFor();
    const { items } = await deliver(backend, mailbox, ['Projects', 'Projects']);
    const projects = folderIdOf(mailbox, 'Projects')!;
    expect(items.map((i) => i.folderName)).toEqual([undefined, undefined]);
    const before = tenant.requests.length;
    const outcomes = await backend.applyActions(mailbox, items, 'moveToJunk');
    expect(outcomes.map((o) => o.originalFolder)).toEqual([
      `Projects (${projects})`,
      `Projects (${projects})`,
    ]);
    expect(items.map((i) => i.folderName)).toEqual(['Projects', 'Projects']);
    expect(nameLookups(mailbox, before).map((r) => r.path)).toEqual([
      `/v1.0/users/${mailbox}/mailFolders/${projects}?$select=id,displayName`,
    ]);
    // Known from now on: a later copy in that folder is not named again.
    const later = await deliver(backend, mailbox, ['Projects']);
    expect(later.items[0]!.folderName).toBe('Projects');
    const before2 = tenant.requests.length;
    expect((await backend.applyAction(mailbox, later.items[0]!, 'moveToJunk')).originalFolder).toBe(
      `Projects (${projects})`,
    );
    expect(nameLookups(mailbox, before2)).toEqual([]);
  });

  it('labels a copy whose folder cannot be read by the bare folder id', async () => {
    const mailbox = freshMailbox();
    const backend = backendFor();
    const { id, items } = await deliver(backend, mailbox, ['Secret']);
    const secret = folderIdOf(mailbox, 'Secret')!;
    tenant.script({
      match: { mailbox, pathIncludes: '$select=id,displayName' },
      times: 1,
      respond: { status: 404 },
    });
    const outcome = await backend.applyAction(mailbox, items[0]!, 'moveToJunk');
    expect(outcome).toMatchObject({ status: 'succeeded', originalFolder: secret });
    expect(items[0]!.folderName).toBeUndefined();
    expect(folderNamesOf(tenant, mailbox, id)).toEqual(['junkemail']);
    // The failed lookup is not remembered: the next copy in that folder gets it named.
    const next = await deliver(backend, mailbox, ['Secret']);
    expect((await backend.applyAction(mailbox, next.items[0]!, 'moveToJunk')).originalFolder).toBe(
      `Secret (${secret})`,
    );
  });

  it('concurrent actions on copies of one folder share one name lookup', async () => {
    const mailbox = freshMailbox();
    const backend = backendFor();
    const { items } = await deliver(backend, mailbox, ['Shared', 'Shared', 'Shared']);
    const shared = folderIdOf(mailbox, 'Shared')!;
    tenant.script({ match: { mailbox, pathIncludes: '$select=id,displayName' }, respond: { delayMs: 50 } });
    const before = tenant.requests.length;
    const outcomes = await Promise.all(items.map((item) => backend.applyAction(mailbox, item, 'moveToJunk')));
    expect(outcomes.map((o) => o.originalFolder)).toEqual(items.map(() => `Shared (${shared})`));
    expect(nameLookups(mailbox, before)).toHaveLength(1);
  });

  it('keeps what it knows of several mailboxes at once', async () => {
    const [a, b] = [freshMailbox(), freshMailbox()];
    const backend = backendFor();
    const before = tenant.requests.length;
    for (const mailbox of [a, b, a, b]) {
      const { items } = await deliver(backend, mailbox, ['inbox']);
      expect((await backend.applyAction(mailbox, items[0]!, 'moveToJunk')).status).toBe('succeeded');
    }
    expect(wellKnownLookups(a, before, 'junkemail')).toHaveLength(1);
    expect(wellKnownLookups(b, before, 'junkemail')).toHaveLength(1);
    expect(nameLookups(a, before)).toHaveLength(1);
  });

  it('names no folder for a copy in Recoverable Items', async () => {
    const mailbox = freshMailbox();
    const backend = backendFor({ searchRecoverableItems: true });
    const { items } = await deliver(backend, mailbox, ['recoverableitemsdeletions']);
    expect(items.map((i) => i.folderName)).toEqual(['recoverableitemsdeletions']);
    const before = tenant.requests.length;
    expect(await backend.applyAction(mailbox, items[0]!, 'softDelete')).toMatchObject({
      status: 'alreadyRemediated',
      originalFolder: 'recoverableitemsdeletions',
    });
    expect(since(mailbox, before)).toEqual([]);
  });

  it('creates the hidden quarantine folder once, then reuses it', async () => {
    const mailbox = freshMailbox();
    const backend = backendFor();
    const first = await deliver(backend, mailbox, ['inbox']);
    const second = await deliver(backend, mailbox, ['inbox']);
    const before = tenant.requests.length;
    expect((await backend.applyAction(mailbox, first.items[0]!, 'quarantine')).status).toBe('succeeded');
    expect((await backend.applyAction(mailbox, second.items[0]!, 'quarantine')).status).toBe('succeeded');
    expect(childCreations(mailbox, before).map((r) => r.path)).toEqual([
      `/v1.0/users/${mailbox}/mailFolders/msgfolderroot/childFolders`,
    ]);
    expect(childLookups(mailbox, before)).toEqual([]);
    const held = tenant.mailbox(mailbox).folders.filter((f) => f.displayName === quarantineFolder);
    expect(held).toMatchObject([{ isHidden: true }]);
    expect(folderNamesOf(tenant, mailbox, first.id)).toEqual([quarantineFolder]);
    expect(folderNamesOf(tenant, mailbox, second.id)).toEqual([quarantineFolder]);
    // The copies now in it are labelled by its display name, learnt at creation.
    const again = await backend.findMessages(mailbox, { internetMessageId: first.id });
    expect(again.items[0]!.folderName).toBe(quarantineFolder);
    const heldId = held[0]!.id;
    const before2 = tenant.requests.length;
    expect(await backend.applyAction(mailbox, again.items[0]!, 'moveToJunk')).toMatchObject({
      status: 'succeeded',
      originalFolder: `${quarantineFolder} (${heldId})`,
    });
    expect(nameLookups(mailbox, before2)).toEqual([]);
  });

  it('finds the folder an earlier run created when creation answers ErrorFolderExists', async () => {
    const mailbox = freshMailbox();
    const first = await deliver(backendFor(), mailbox, ['inbox']);
    await backendFor().applyAction(mailbox, first.items[0]!, 'quarantine');
    const held = folderIdOf(mailbox, quarantineFolder)!;
    const backend = backendFor({ quarantineFolder: quarantineFolder.toUpperCase() });
    const second = await deliver(backend, mailbox, ['inbox']);
    const before = tenant.requests.length;
    expect((await backend.applyAction(mailbox, second.items[0]!, 'quarantine')).status).toBe('succeeded');
    expect(childCreations(mailbox, before).map((r) => r.status)).toEqual([409]);
    const lookups = childLookups(mailbox, before);
    expect(lookups).toHaveLength(1);
    expect(lookups[0]!.path).toContain(`displayName eq '${quarantineFolder.toUpperCase()}'`);
    expect(tenant.mailbox(mailbox).folders.filter((f) => f.id === held)).toHaveLength(1);
    expect(tenant.mailbox(mailbox).messages.find((m) => m.internetMessageId === second.id)?.folderId).toBe(
      held,
    );
  });

  it('an existing folder Graph does not list is a retryable Unknown error', async () => {
    const mailbox = freshMailbox();
    const first = await deliver(backendFor(), mailbox, ['inbox']);
    await backendFor().applyAction(mailbox, first.items[0]!, 'quarantine');
    const backend = backendFor();
    const second = await deliver(backend, mailbox, ['inbox']);
    tenant.script({
      match: { mailbox, method: 'GET', pathIncludes: '/childFolders?' },
      times: 1,
      respond: { status: 200, body: { value: [{ id: 'elsewhere', displayName: 'Other' }] } },
    });
    const error = await rejection(backend.applyAction(mailbox, second.items[0]!, 'quarantine'));
    expect(error).toMatchObject({
      code: 'Unknown',
      retryable: true,
      message: `Graph says the folder "${quarantineFolder}" exists in ${mailbox} but does not list it; retrying later.`,
    });
    expect(folderNamesOf(tenant, mailbox, second.id)).toEqual(['inbox']);
    // Forgotten: the next attempt tries again and succeeds.
    expect((await backend.applyAction(mailbox, second.items[0]!, 'quarantine')).status).toBe('succeeded');
    expect(folderNamesOf(tenant, mailbox, second.id)).toEqual([quarantineFolder]);
  });

  it('a failed lookup after ErrorFolderExists is reported as a folder lookup', async () => {
    const mailbox = freshMailbox();
    const first = await deliver(backendFor(), mailbox, ['inbox']);
    await backendFor().applyAction(mailbox, first.items[0]!, 'quarantine');
    const backend = backendFor();
    const second = await deliver(backend, mailbox, ['inbox']);
    tenant.script({
      match: { mailbox, method: 'GET', pathIncludes: '/childFolders?' },
      times: 1,
      respond: { status: 400 },
    });
    const error = await rejection(backend.applyAction(mailbox, second.items[0]!, 'quarantine'));
    expect(error.detail ?? error.message).toContain(`Graph rejected folder lookup for mailbox ${mailbox} (`);
    expect(folderNamesOf(tenant, mailbox, second.id)).toEqual(['inbox']);
  });

  it('keeps the central folder and the per-recipient child folder apart', async () => {
    const [central, recipient] = [freshMailbox(), freshMailbox()];
    const backend = backendFor({
      quarantineTarget: 'mailbox',
      quarantineMailbox: central,
      folderPerRecipient: true,
    });
    const { id, items } = await deliver(backend, recipient, ['inbox']);
    const outcome = await backend.applyAction(recipient, items[0]!, 'quarantine');
    expect(outcome.status).toBe('succeeded');
    const folders = tenant.mailbox(central).folders;
    const top = folders.find((f) => f.displayName === quarantineFolder)!;
    const child = folders.find((f) => f.displayName === recipient)!;
    expect(child.parentFolderId).toBe(top.id);
    expect(
      tenant
        .mailbox(central)
        .messages.filter((m) => m.internetMessageId === id)
        .map((m) => m.folderId),
    ).toEqual([child.id]);
  });

  it('a name learnt by looking the folder up labels the copies in it', async () => {
    const mailbox = freshMailbox();
    const first = await deliver(backendFor(), mailbox, ['inbox']);
    await backendFor().applyAction(mailbox, first.items[0]!, 'quarantine');
    const held = folderIdOf(mailbox, quarantineFolder)!;
    const backend = backendFor({ quarantineFolder: quarantineFolder.toUpperCase() });
    const second = await deliver(backend, mailbox, ['inbox']);
    await backend.applyAction(mailbox, second.items[0]!, 'quarantine');
    const again = await backend.findMessages(mailbox, { internetMessageId: second.id });
    expect(again.items[0]!.folderName).toBe(quarantineFolder.toUpperCase());
    const before = tenant.requests.length;
    expect((await backend.applyAction(mailbox, again.items[0]!, 'moveToJunk')).originalFolder).toBe(
      `${quarantineFolder.toUpperCase()} (${held})`,
    );
    expect(nameLookups(mailbox, before)).toEqual([]);
  });

  it('a well-known name learnt while the display name was being read wins', async () => {
    const mailbox = freshMailbox();
    const backend = backendFor();
    const { items } = await deliver(backend, mailbox, ['junkemail']);
    tenant.script({ match: { mailbox, pathIncludes: '$select=id,displayName' }, respond: { delayMs: 100 } });
    expect(await backend.applyAction(mailbox, items[0]!, 'moveToJunk')).toMatchObject({
      status: 'alreadyRemediated',
      originalFolder: 'junkemail',
    });
  });

  it('a creation failure other than ErrorFolderExists fails the action without a lookup', async () => {
    const mailbox = freshMailbox();
    const backend = backendFor();
    const { id, items } = await deliver(backend, mailbox, ['inbox']);
    tenant.script({
      match: { mailbox, method: 'POST', pathIncludes: '/childFolders' },
      times: 1,
      respond: { status: 400 },
    });
    const before = tenant.requests.length;
    const error = await rejection(backend.applyAction(mailbox, items[0]!, 'quarantine'));
    expect(error.detail ?? error.message).toContain(
      `Graph rejected folder creation for mailbox ${mailbox} (`,
    );
    expect(childLookups(mailbox, before)).toEqual([]);
    expect(folderNamesOf(tenant, mailbox, id)).toEqual(['inbox']);
  });

  it('restore looks the hidden folder up once, without creating it', async () => {
    const mailbox = freshMailbox();
    const quarantined = async () => {
      const { id, items } = await deliver(backendFor(), mailbox, ['inbox']);
      const outcome = await backendFor().applyAction(mailbox, items[0]!, 'quarantine');
      return { id, outcome };
    };
    const a = await quarantined();
    const b = await quarantined();
    const backend = backendFor();
    const before = tenant.requests.length;
    for (const { id, outcome } of [a, b]) {
      const restored = await backend.restoreMessage(
        mailbox,
        { internetMessageId: id },
        {
          action: 'quarantine',
          originalFolder: outcome.originalFolder,
          quarantineLocation: outcome.quarantineLocation,
        },
      );
      expect(restored.status).toBe('succeeded');
      expect(folderNamesOf(tenant, mailbox, id)).toEqual(['inbox']);
    }
    expect(childLookups(mailbox, before)).toHaveLength(1);
    expect(childCreations(mailbox, before)).toEqual([]);
  });

  it('restore from a hidden folder that does not exist creates none', async () => {
    const mailbox = freshMailbox();
    const backend = backendFor();
    const { id } = await deliver(backend, mailbox, ['inbox']);
    const before = tenant.requests.length;
    await backend
      .restoreMessage(
        mailbox,
        { internetMessageId: id },
        { action: 'quarantine', originalFolder: 'inbox', quarantineLocation: `folder:${quarantineFolder}` },
      )
      .catch(() => undefined);
    await backend
      .restoreMessage(
        mailbox,
        { internetMessageId: id },
        { action: 'quarantine', originalFolder: 'inbox', quarantineLocation: `folder:${quarantineFolder}` },
      )
      .catch(() => undefined);
    expect(childCreations(mailbox, before)).toEqual([]);
    // Not found is not remembered: each restore looks again.
    expect(childLookups(mailbox, before)).toHaveLength(2);
    expect(tenant.mailbox(mailbox).folders.filter((f) => f.displayName === quarantineFolder)).toEqual([]);
    // A folder found is remembered by its own name only: another name is looked up.
    const held = await deliver(backend, mailbox, ['inbox']);
    expect((await backendFor().applyAction(mailbox, held.items[0]!, 'quarantine')).status).toBe('succeeded');
    const restore = (location: string) =>
      backend.restoreMessage(
        mailbox,
        { internetMessageId: held.id },
        { action: 'quarantine', originalFolder: 'inbox', quarantineLocation: location },
      );
    expect((await restore(`folder:${quarantineFolder}`)).status).toBe('succeeded');
    expect(folderNamesOf(tenant, mailbox, held.id)).toEqual(['inbox']);
    const before2 = tenant.requests.length;
    await restore('folder:Elsewhere').catch(() => undefined);
    expect(childLookups(mailbox, before2).map((r) => r.path)).toEqual([
      expect.stringContaining("displayName eq 'Elsewhere'"),
    ]);
  });
});
