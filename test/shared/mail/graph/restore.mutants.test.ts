import type { HttpClient } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../../../local/sandbox/index.js';
import type { GraphProfile } from '../../../../shared/config/document.js';
import type { GraphMailBackend } from '../../../../shared/mail/graph/graphMailBackend.js';
import type { ActionName } from '../../../../shared/verdicts/schema.js';
import { folderNameIn, sandboxGraphBackend } from '../../../support/graphBackend.js';
import { rejection, rewritingClient } from '../../../support/identity.js';

const tenantId = '6a1f0c2e-58b4-4d0c-9a51-0f3c6a7d2b10';
const clientId = '0b8f7a3c-2d4e-4f61-8a9b-1c2d3e4f5a6b';
const appCert = createAppCertificate('clawback-graph-restore-mutants');
const central = 'quarantine@contoso.com';
const user = 'carol@contoso.com';
const draftNote =
  'as MIME (Exchange treats a re-imported message as a draft) and removed the quarantine copy';
const fellBackNote = '; 1 went to the Inbox because the original folder no longer exists';

describe('restoreMessage (restore.ts) against the sandbox tenant', () => {
  let tenant: SandboxTenant;
  let identityHttpClient: HttpClient;
  let sequence = 0;
  let mark = 0;

  const backendFor = (overrides: Partial<GraphProfile> = {}): GraphMailBackend =>
    sandboxGraphBackend(
      tenant,
      { tenantId, clientId, pemBundle: appCert.pemBundle, identityHttpClient },
      overrides,
      { maxAttempts: 2 },
    );
  const centralBackend = (overrides: Partial<GraphProfile> = {}) =>
    backendFor({ quarantineTarget: 'mailbox', quarantineMailbox: central, ...overrides });

  const folderNameOf = (mailbox: string, folderId: string) => folderNameIn(tenant, mailbox, folderId);
  const copies = (mailbox: string, internetMessageId: string) =>
    tenant
      .mailbox(mailbox)
      .messages.filter((m) => m.internetMessageId === internetMessageId)
      .map((m) => ({ id: m.id, folder: folderNameOf(mailbox, m.folderId), isRead: m.isRead }))
      .sort((a, b) => a.folder.localeCompare(b.folder) || Number(b.isRead) - Number(a.isRead));
  const folders = (mailbox: string, internetMessageId: string) =>
    copies(mailbox, internetMessageId).map((c) => c.folder);
  const folderIdOf = (mailbox: string, displayName: string) =>
    tenant.mailbox(mailbox).folders.find((f) => f.displayName === displayName)?.id ?? '';

  const deliver = (mailbox: string, placed: { folder: string; isRead?: boolean }[]) => {
    sequence += 1;
    const internetMessageId = `<restore-mutant-${sequence}@evil.example>`;
    for (const { folder, isRead = false } of placed)
      tenant.addMessage(mailbox, { internetMessageId, subject: `Lure ${sequence}`, folder, isRead });
    return internetMessageId;
  };

  const actOn = async (backend: GraphMailBackend, mailbox: string, id: string, action: ActionName) => {
    const { items } = await backend.findMessages(mailbox, { internetMessageId: id });
    for (const item of items) await backend.applyAction(mailbox, item, action);
  };

  const since = () => tenant.requests.slice(mark);
  const moves = () => since().filter((r) => r.method === 'POST' && r.path.endsWith('/move'));
  const searches = () => since().filter((r) => r.operation === 'search');
  const restore = (
    backend: GraphMailBackend,
    mailbox: string,
    id: string,
    previous: { action: ActionName; originalFolder?: string; quarantineLocation?: string },
  ) => {
    mark = tenant.requests.length;
    return backend.restoreMessage(mailbox, { internetMessageId: id }, previous);
  };

  beforeAll(async () => {
    tenant = await startSandboxTenant({
      apps: [{ tenantId, clientId, certificatePem: appCert.certPem }],
      mailboxes: [
        { address: user, messages: [{ internetMessageId: '<seed@x>', folder: 'Projects' }] },
        { address: 'erin@contoso.com' },
        { address: 'frank@contoso.com', messages: [{ internetMessageId: '<seed@x>', folder: 'Suppliers' }] },
        { address: 'gina@contoso.com' },
        { address: central },
      ],
    });
    identityHttpClient = rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost);
  });
  afterAll(() => tenant.close());
  beforeEach(() => tenant.clearScripts());

  describe('from a well-known folder or the hidden folder', () => {
    it('refuses a row without a usable message id before sending any request', async () => {
      const error = await rejection(
        restore(backendFor(), user, '  ', { action: 'moveToJunk', originalFolder: 'inbox' }),
      );
      expect(error).toMatchObject({
        code: 'MessageNotFound',
        message: 'The remediation row has no message id to restore by.',
      });
      expect(since()).toEqual([]);
    });

    it('moves the copy from Junk Email back to the folder the row recorded, and says so exactly', async () => {
      const id = deliver(user, [{ folder: 'Projects', isRead: true }]);
      await actOn(backendFor(), user, id, 'moveToJunk');
      expect(folders(user, id)).toEqual(['junkemail']);
      const projects = folderIdOf(user, 'Projects');
      const previous = { action: 'moveToJunk' as const, originalFolder: `Projects (${projects})` };

      expect(await restore(backendFor(), user, id, previous)).toEqual({
        status: 'succeeded',
        originalFolder: `Projects (${projects})`,
        quarantineLocation: undefined,
        detail: `moved 1 copy from junkemail back to ${projects}`,
      });
      expect(copies(user, id)).toEqual([expect.objectContaining({ folder: 'Projects', isRead: true })]);
      expect(searches().map((r) => r.path.includes('/mailFolders/junkemail/messages?'))).toEqual([
        false,
        true,
      ]);
      expect(moves().map((r) => r.status)).toEqual([201]);
    });

    it('moves two copies back, one to each recorded folder, and lists both destinations', async () => {
      const id = deliver(user, [
        { folder: 'Projects', isRead: true },
        { folder: 'inbox', isRead: false },
      ]);
      await actOn(backendFor(), user, id, 'moveToDeletedItems');
      const projects = folderIdOf(user, 'Projects');
      const outcome = await restore(backendFor(), user, id, {
        action: 'moveToDeletedItems',
        originalFolder: `Projects (${projects}); Inbox`,
        quarantineLocation: 'unknown:thing',
      });
      expect(outcome).toEqual({
        status: 'succeeded',
        originalFolder: `Projects (${projects}); Inbox`,
        quarantineLocation: 'unknown:thing',
        detail: `moved 2 copies from deleteditems back to ${projects}, inbox`,
      });
      expect(folders(user, id)).toEqual(['inbox', 'Projects']);
      expect(moves().map((r) => r.status)).toEqual([201, 201]);
    });

    it('sends the copies to the Inbox when no folder was recorded, and says so', async () => {
      const id = deliver(user, [{ folder: 'Projects' }]);
      await actOn(backendFor(), user, id, 'softDelete');
      expect(folders(user, id)).toEqual(['recoverableitemsdeletions']);
      expect(await restore(backendFor(), user, id, { action: 'softDelete' })).toEqual({
        status: 'succeeded',
        originalFolder: undefined,
        quarantineLocation: undefined,
        detail: 'moved 1 copy from recoverableitemsdeletions back to inbox (no original folder was recorded)',
      });
      expect(folders(user, id)).toEqual(['inbox']);
    });

    it("restores a quarantine row that recorded no location from the profile's hidden folder", async () => {
      const id = deliver(user, [{ folder: 'inbox', isRead: true }]);
      await actOn(backendFor(), user, id, 'quarantine');
      expect(folders(user, id)).toEqual(['Clawback Quarantine']);
      expect(
        await restore(backendFor(), user, id, { action: 'quarantine', originalFolder: 'inbox' }),
      ).toEqual({
        status: 'succeeded',
        originalFolder: 'inbox',
        quarantineLocation: undefined,
        detail: 'moved 1 copy from the hidden folder "Clawback Quarantine" back to inbox',
      });
      expect(copies(user, id)).toEqual([expect.objectContaining({ folder: 'inbox', isRead: true })]);
    });

    it.each(['hardDelete', 'none', 'forward'] as const)(
      'refuses to restore copies handled with %s, without a request',
      async (action) => {
        const id = deliver(user, [{ folder: 'inbox' }]);
        const error = await rejection(restore(backendFor(), user, id, { action, originalFolder: 'inbox' }));
        expect(error).toMatchObject({
          code: 'ConfigurationError',
          message: `Copies handled with ${action} were not moved anywhere Clawback can take them back from.`,
        });
        expect(since()).toEqual([]);
        expect(folders(user, id)).toEqual(['inbox']);
      },
    );

    it('reports copies already back in the mailbox as alreadyRemediated, counting them', async () => {
      const one = deliver(user, [{ folder: 'inbox' }]);
      expect(
        await restore(backendFor(), user, one, { action: 'moveToJunk', originalFolder: 'Inbox' }),
      ).toEqual({
        status: 'alreadyRemediated',
        originalFolder: 'Inbox',
        detail: 'no copy is left in junkemail; 1 copy already in the mailbox',
      });
      expect(moves()).toEqual([]);
      const two = deliver(user, [{ folder: 'inbox' }, { folder: 'Projects' }]);
      expect(
        (await restore(backendFor(), user, two, { action: 'moveToJunk', originalFolder: 'Inbox' })).detail,
      ).toBe('no copy is left in junkemail; 2 copies already in the mailbox');
      expect(moves()).toEqual([]);
      expect(folders(user, two)).toEqual(['inbox', 'Projects']);
    });

    it('fails with MessageNotFound, naming where it looked, when no copy is anywhere', async () => {
      const error = await rejection(
        restore(backendFor(), user, '<gone-for-good@evil.example>', {
          action: 'moveToJunk',
          originalFolder: 'inbox',
        }),
      );
      expect(error).toMatchObject({
        code: 'MessageNotFound',
        message: `No copy of <gone-for-good@evil.example> is in junkemail of ${user} or anywhere else in it; it may have been deleted since it was remediated.`,
      });
    });

    it('searches only the mailbox when the hidden folder was never created', async () => {
      const id = deliver('erin@contoso.com', [{ folder: 'inbox' }]);
      const outcome = await restore(backendFor(), 'erin@contoso.com', id, {
        action: 'quarantine',
        originalFolder: 'inbox',
        quarantineLocation: 'folder:Clawback Quarantine',
      });
      expect(outcome).toEqual({
        status: 'alreadyRemediated',
        originalFolder: 'inbox',
        detail: 'no copy is left in the hidden folder "Clawback Quarantine"; 1 copy already in the mailbox',
      });
      expect(searches()).toHaveLength(1);
      expect(since().filter((r) => r.path.includes('undefined'))).toEqual([]);
    });

    it('sends a copy whose recorded folder no longer exists to the Inbox, and counts it', async () => {
      const id = deliver(user, [{ folder: 'Projects' }]);
      await actOn(backendFor(), user, id, 'moveToDeletedItems');
      const outcome = await restore(backendFor(), user, id, {
        action: 'moveToDeletedItems',
        originalFolder: 'Gone (AAMkNoSuchFolder=)',
      });
      expect(outcome).toEqual({
        status: 'succeeded',
        originalFolder: 'Gone (AAMkNoSuchFolder=)',
        quarantineLocation: undefined,
        detail: `moved 1 copy from deleteditems back to AAMkNoSuchFolder=${fellBackNote}`,
      });
      expect(folders(user, id)).toEqual(['inbox']);
      expect(moves().map((r) => r.status)).toEqual([404, 201]);
    });

    it('moves one copy to its folder and rescues the other whose move found nothing to the Inbox', async () => {
      const id = deliver(user, [{ folder: 'Projects' }, { folder: 'Projects' }]);
      await actOn(backendFor(), user, id, 'moveToDeletedItems');
      const [first] = copies(user, id);
      tenant.script({
        match: { method: 'POST', pathIncludes: `${first?.id}/move` },
        times: 1,
        respond: { status: 404 },
      });
      const projects = folderIdOf(user, 'Projects');
      const outcome = await restore(backendFor(), user, id, {
        action: 'moveToDeletedItems',
        originalFolder: `Projects (${projects})`,
      });
      expect(outcome).toEqual({
        status: 'succeeded',
        originalFolder: `Projects (${projects})`,
        quarantineLocation: undefined,
        detail: `moved 2 copies from deleteditems back to ${projects}${fellBackNote}`,
      });
      expect(folders(user, id)).toEqual(['inbox', 'Projects']);
      expect(moves().map((r) => r.status)).toEqual([404, 201, 201]);
    });

    it('does not retry a copy bound for the Inbox that vanished, and reports nothing moved', async () => {
      const id = deliver(user, [{ folder: 'inbox' }]);
      await actOn(backendFor(), user, id, 'moveToDeletedItems');
      tenant.script({ match: { method: 'POST', pathIncludes: '/move' }, respond: { status: 404 } });
      expect(
        await restore(backendFor(), user, id, { action: 'moveToDeletedItems', originalFolder: 'inbox' }),
      ).toEqual({
        status: 'alreadyRemediated',
        originalFolder: 'inbox',
        detail: 'the copies left deleteditems before they could be moved back',
      });
      expect(moves().map((r) => r.status)).toEqual([404]);
      expect(folders(user, id)).toEqual(['deleteditems']);
    });

    it.each([
      [1, 'it'],
      [2, 'they'],
    ] as const)('reports %i vanished copies of three as not restored', async (vanished, pronoun) => {
      const id = deliver(user, [{ folder: 'inbox' }, { folder: 'inbox' }, { folder: 'inbox' }]);
      await actOn(backendFor(), user, id, 'moveToJunk');
      for (const copy of copies(user, id).slice(0, vanished))
        tenant.script({
          match: { method: 'POST', pathIncludes: `${copy.id}/move` },
          respond: { status: 404 },
        });
      const outcome = await restore(backendFor(), user, id, {
        action: 'moveToJunk',
        originalFolder: 'inbox',
      });
      const moved = 3 - vanished;
      expect(outcome).toEqual({
        status: 'succeeded',
        notRestored: `${vanished} of 3 copies left junkemail (moved or deleted by someone else) before ${pronoun} could be moved back`,
        originalFolder: 'inbox',
        quarantineLocation: undefined,
        detail: `moved ${moved} ${moved === 1 ? 'copy' : 'copies'} from junkemail back to inbox`,
      });
      expect(moves()).toHaveLength(3);
      expect(folders(user, id).filter((f) => f === 'inbox')).toHaveLength(moved);
    });

    it.each([1, 2])('fails the restore when a move of %i copies fails other than not found', async (n) => {
      const id = deliver(
        user,
        Array.from({ length: n }, () => ({ folder: 'inbox' })),
      );
      await actOn(backendFor(), user, id, 'moveToJunk');
      tenant.script({ match: { method: 'POST', pathIncludes: '/move' }, respond: { status: 403 } });
      const error = await rejection(
        restore(backendFor(), user, id, { action: 'moveToJunk', originalFolder: 'inbox' }),
      );
      expect(error.code).not.toBe('MessageNotFound');
      expect(error.code).toBe('PermissionError');
      expect(`${error.message} ${error.detail ?? ''}`).toContain('during restore move (');
      expect(folders(user, id)).toEqual(Array.from({ length: n }, () => 'junkemail'));
    });

    it('fails the restore when the move to the Inbox fails other than not found', async () => {
      const id = deliver(user, [{ folder: 'Projects' }]);
      await actOn(backendFor(), user, id, 'moveToJunk');
      const [copy] = copies(user, id);
      tenant.script({
        match: { method: 'POST', pathIncludes: `${copy?.id}/move` },
        times: 1,
        respond: { status: 404 },
      });
      tenant.script({
        match: { method: 'POST', pathIncludes: `${copy?.id}/move` },
        respond: { status: 403 },
      });
      const error = await rejection(
        restore(backendFor(), user, id, {
          action: 'moveToJunk',
          originalFolder: `Projects (${folderIdOf(user, 'Projects')})`,
        }),
      );
      expect(error.code).toBe('PermissionError');
      expect(moves().map((r) => r.status)).toEqual([404, 403]);
      expect(folders(user, id)).toEqual(['junkemail']);
    });

    it('counts nothing moved when the Inbox fallback finds nothing either', async () => {
      const id = deliver(user, [{ folder: 'Projects' }]);
      await actOn(backendFor(), user, id, 'moveToJunk');
      tenant.script({ match: { method: 'POST', pathIncludes: '/move' }, respond: { status: 404 } });
      const outcome = await restore(backendFor(), user, id, {
        action: 'moveToJunk',
        originalFolder: `Projects (${folderIdOf(user, 'Projects')})`,
      });
      expect(outcome).toEqual({
        status: 'alreadyRemediated',
        originalFolder: `Projects (${folderIdOf(user, 'Projects')})`,
        detail: 'the copies left junkemail before they could be moved back',
      });
      expect(moves().map((r) => r.status)).toEqual([404, 404]);
    });
  });

  describe('from the central quarantine mailbox', () => {
    const where = (mailbox: string) => `mailbox:${central}/Clawback Quarantine/${mailbox}`;
    const held = (id: string) => folders(central, id).filter((f) => f !== 'recoverableitemsdeletions');
    const home = (mailbox: string, id: string) =>
      copies(mailbox, id).filter((c) => c.folder !== 'recoverableitemsdeletions');

    it.each([true, false])(
      'files the re-import by the folder on the copy (read: %s), whatever the row lists',
      async (isRead) => {
        const id = deliver('frank@contoso.com', [{ folder: 'Suppliers', isRead }]);
        await actOn(centralBackend(), 'frank@contoso.com', id, 'quarantine');
        expect(held(id)).toEqual(['frank@contoso.com']);
        const outcome = await restore(centralBackend(), 'frank@contoso.com', id, {
          action: 'quarantine',
          originalFolder: 'junkemail; archive',
          quarantineLocation: where('frank@contoso.com'),
        });
        expect(outcome).toEqual({
          status: 'succeeded',
          originalFolder: 'junkemail; archive',
          quarantineLocation: where('frank@contoso.com'),
          detail: `re-imported 1 copy from ${where('frank@contoso.com')} into junkemail, archive ${draftNote}`,
        });
        expect(home('frank@contoso.com', id)).toEqual([
          expect.objectContaining({ folder: 'Suppliers', isRead }),
        ]);
        expect(held(id)).toEqual([]);
        expect(moves().map((r) => r.status)).toEqual([201]);
      },
    );

    it('says when no folder was recorded and sends a copy whose folder is gone to the Inbox', async () => {
      const id = deliver('frank@contoso.com', [{ folder: 'Suppliers' }]);
      await actOn(centralBackend(), 'frank@contoso.com', id, 'quarantine');
      tenant.script({
        match: { method: 'POST', mailbox: 'frank@contoso.com', pathIncludes: '/move' },
        times: 1,
        respond: { status: 404 },
      });
      const outcome = await restore(centralBackend(), 'frank@contoso.com', id, {
        action: 'quarantine',
        quarantineLocation: where('frank@contoso.com'),
      });
      expect(outcome).toEqual({
        status: 'succeeded',
        originalFolder: 'inbox',
        quarantineLocation: where('frank@contoso.com'),
        detail: `re-imported 1 copy from ${where('frank@contoso.com')} into inbox (no original folder was recorded) ${draftNote}${fellBackNote}`,
      });
      expect(home('frank@contoso.com', id).map((c) => c.folder)).toEqual(['inbox']);
      expect(held(id)).toEqual([]);
    });

    it('reports a copy already back as alreadyRemediated, without importing', async () => {
      const id = deliver('gina@contoso.com', [{ folder: 'inbox' }]);
      await actOn(centralBackend(), 'gina@contoso.com', id, 'quarantine');
      tenant.addMessage('gina@contoso.com', { internetMessageId: id, folder: 'inbox' });
      const location = where('gina@contoso.com');
      expect(
        await restore(centralBackend(), 'gina@contoso.com', `${id}`, {
          action: 'quarantine',
          originalFolder: 'inbox',
          quarantineLocation: `mailbox:${central}/Clawback Quarantine/someone@contoso.com`,
        }),
      ).toEqual({
        status: 'alreadyRemediated',
        detail: `no copy for gina@contoso.com is left in mailbox:${central}/Clawback Quarantine/someone@contoso.com; 1 copy already in the mailbox`,
      });
      expect(since().filter((r) => r.method !== 'GET')).toEqual([]);
      expect(held(id)).toEqual(['gina@contoso.com']);
      expect(location).toBe(where('gina@contoso.com'));
    });

    it('does not search a central folder that does not exist', async () => {
      const id = deliver('gina@contoso.com', [{ folder: 'inbox' }]);
      const outcome = await restore(centralBackend(), 'gina@contoso.com', id, {
        action: 'quarantine',
        quarantineLocation: `mailbox:${central}/Nowhere/gina@contoso.com`,
      });
      expect(outcome).toEqual({
        status: 'alreadyRemediated',
        detail: `no copy for gina@contoso.com is left in mailbox:${central}/Nowhere/gina@contoso.com; 1 copy already in the mailbox`,
      });
      expect(searches().map((r) => r.mailbox)).toEqual(['gina@contoso.com']);
    });

    it('fails with MessageNotFound when the copy is neither held nor in the mailbox', async () => {
      const error = await rejection(
        restore(centralBackend(), 'gina@contoso.com', '<never-held@evil.example>', {
          action: 'quarantine',
          quarantineLocation: where('gina@contoso.com'),
        }),
      );
      expect(error).toMatchObject({
        code: 'MessageNotFound',
        message: `No copy for gina@contoso.com is in ${where('gina@contoso.com')} and none is in the mailbox; it may have been deleted from the quarantine mailbox.`,
      });
    });

    it("without a folder per recipient, leaves another recipient's copy alone", async () => {
      const backend = centralBackend({ folderPerRecipient: false });
      const id = deliver('erin@contoso.com', [{ folder: 'inbox' }]);
      await actOn(backend, 'erin@contoso.com', id, 'quarantine');
      expect(held(id)).toEqual(['Clawback Quarantine']);
      const error = await rejection(
        restore(backend, 'gina@contoso.com', id, {
          action: 'quarantine',
          quarantineLocation: `mailbox:${central}/Clawback Quarantine`,
        }),
      );
      expect(error.code).toBe('MessageNotFound');
      expect(held(id)).toEqual(['Clawback Quarantine']);
      expect(since().filter((r) => r.method !== 'GET')).toEqual([]);

      expect(
        (
          await restore(backend, 'erin@contoso.com', id, {
            action: 'quarantine',
            originalFolder: 'inbox',
            quarantineLocation: `mailbox:${central}/Clawback Quarantine`,
          })
        ).status,
      ).toBe('succeeded');
      expect(held(id)).toEqual([]);
    });
    it.each([
      ['PATCH', 'frank@contoso.com', 'restore update'],
      ['DELETE', central, 'quarantine copy delete'],
    ] as const)('names the %s request in a refusal', async (method, mailbox, operation) => {
      const id = deliver('frank@contoso.com', [{ folder: 'Suppliers' }]);
      await actOn(centralBackend(), 'frank@contoso.com', id, 'quarantine');
      tenant.script({ match: { method, mailbox }, respond: { status: 403 } });
      const error = await rejection(
        restore(centralBackend(), 'frank@contoso.com', id, {
          action: 'quarantine',
          quarantineLocation: where('frank@contoso.com'),
        }),
      );
      expect(error.code).toBe('PermissionError');
      expect(`${error.message} ${error.detail ?? ''}`).toContain(`during ${operation} (`);
      expect(held(id)).toEqual(['frank@contoso.com']);
    });
    it('adopts the re-import of an interrupted restore instead of importing again', async () => {
      const id = deliver('frank@contoso.com', [{ folder: 'Suppliers', isRead: true }]);
      await actOn(centralBackend(), 'frank@contoso.com', id, 'quarantine');
      tenant.script({ match: { method: 'DELETE', mailbox: central }, respond: { status: 403 } });
      const previous = { action: 'quarantine' as const, quarantineLocation: where('frank@contoso.com') };
      await rejection(restore(centralBackend(), 'frank@contoso.com', id, previous));
      const imports = () =>
        since().filter((r) => r.method === 'POST' && r.path.endsWith('/users/frank@contoso.com/messages'));
      expect(imports()).toHaveLength(1);
      tenant.clearScripts();

      expect((await restore(centralBackend(), 'frank@contoso.com', id, previous)).status).toBe('succeeded');
      expect(imports()).toEqual([]);
      expect(home('frank@contoso.com', id)).toEqual([
        expect.objectContaining({ folder: 'Suppliers', isRead: true }),
      ]);
      expect(held(id)).toEqual([]);
    });
    it('takes a copy Graph lists without categories by the row, and adopts nothing for it', async () => {
      const id = deliver('frank@contoso.com', [{ folder: 'Suppliers' }]);
      await actOn(centralBackend(), 'frank@contoso.com', id, 'quarantine');
      const copy = tenant.mailbox(central).messages.find((m) => m.internetMessageId === id);
      tenant.script({
        match: { method: 'GET', mailbox: central, pathIncludes: '/messages?' },
        times: 1,
        respond: { status: 200, body: { value: [{ id: copy?.id, internetMessageId: id }] } },
      });
      tenant.script({
        match: { method: 'GET', mailbox: 'frank@contoso.com', pathIncludes: '/messages?' },
        times: 1,
        respond: { status: 200, body: { value: [{ id: 'AAMkElsewhere=', internetMessageId: id }] } },
      });
      const outcome = await restore(centralBackend(), 'frank@contoso.com', id, {
        action: 'quarantine',
        originalFolder: 'junkemail',
        quarantineLocation: where('frank@contoso.com'),
      });
      expect(outcome.status).toBe('succeeded');
      expect(home('frank@contoso.com', id).map((c) => c.folder)).toEqual(['junkemail']);
      expect(held(id)).toEqual([]);
    });

    it('without a folder per recipient, does not take a copy listed without categories', async () => {
      const backend = centralBackend({ folderPerRecipient: false });
      const id = deliver('erin@contoso.com', [{ folder: 'inbox' }]);
      await actOn(backend, 'erin@contoso.com', id, 'quarantine');
      const copy = tenant.mailbox(central).messages.find((m) => m.internetMessageId === id);
      tenant.script({
        match: { method: 'GET', mailbox: central, pathIncludes: '/messages?' },
        times: 1,
        respond: { status: 200, body: { value: [{ id: copy?.id, internetMessageId: id }] } },
      });
      const error = await rejection(
        restore(backend, 'erin@contoso.com', id, {
          action: 'quarantine',
          quarantineLocation: `mailbox:${central}/Clawback Quarantine`,
        }),
      );
      expect(error.code).toBe('MessageNotFound');
      expect(held(id)).toEqual(['Clawback Quarantine']);
    });
  });
});
