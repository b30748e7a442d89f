import { createHash } from 'node:crypto';

import type { HttpClient } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../../../local/sandbox/index.js';
import type { GraphProfile } from '../../../../shared/config/document.js';
import type { GraphContext } from '../../../../shared/mail/graph/context.js';
import type { GraphMailBackend } from '../../../../shared/mail/graph/graphMailBackend.js';
import { messageIdFilter, messageSearchQuery, userPath } from '../../../../shared/mail/graph/odata.js';
import { quarantineCopySelect } from '../../../../shared/mail/graph/quarantine.js';
import type { ActionOptions, MailItem } from '../../../../shared/ports/mail.js';
import { folderNameIn, sandboxGraphBackend } from '../../../support/graphBackend.js';
import { rejection, rewritingClient } from '../../../support/identity.js';

const tenantId = '6a1f0c2e-58b4-4d0c-9a51-0f3c6a7d2b10';
const clientId = '0b8f7a3c-2d4e-4f61-8a9b-1c2d3e4f5a6b';
const appCert = createAppCertificate('clawback-graph-quarantine-mutants');
const central = 'quarantine@contoso.com';
const user = 'erin@contoso.com';
const draftNote = 'Exchange stores a MIME import as a draft';

describe('quarantine (quarantine.ts) against the sandbox tenant', () => {
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
  const centralBackend = (overrides: Partial<GraphProfile> = {}, withLog = true) =>
    backendFor({ quarantineTarget: 'mailbox', quarantineMailbox: central, ...overrides }, withLog);

  const folderOf = (mailbox: string, folderId: string) =>
    tenant.mailbox(mailbox).folders.find((f) => f.id === folderId);
  const folderNameOf = (mailbox: string, folderId: string) => folderNameIn(tenant, mailbox, folderId);
  /** The copies of a message in a mailbox: folder, read state and categories. */
  const held = (mailbox: string, internetMessageId: string) =>
    tenant
      .mailbox(mailbox)
      .messages.filter((m) => m.internetMessageId === internetMessageId)
      .map((m) => ({ folder: folderNameOf(mailbox, m.folderId), isRead: m.isRead }))
      .sort((a, b) => a.folder.localeCompare(b.folder));
  /** The categories of every copy in a mailbox, as Graph lists them. */
  const categories = async (mailbox: string, internetMessageId: string) => {
    const { client } = (backendFor() as unknown as { ctx: GraphContext }).ctx;
    const page = await client.call<{ value: { categories?: string[] }[] }>(
      'test read',
      mailbox,
      `${userPath(mailbox)}/messages?${messageSearchQuery(messageIdFilter(internetMessageId), 'categories')}`,
      undefined,
      (r) => r.get() as Promise<{ value: { categories?: string[] }[] }>,
    );
    return page.value.map((m) => [...(m.categories ?? [])].sort());
  };
  const folders = (mailbox: string, internetMessageId: string) =>
    held(mailbox, internetMessageId).map((c) => c.folder);
  const folderIdOf = (mailbox: string, name: string) =>
    tenant.mailbox(mailbox).folders.find((f) => f.wellKnownName === name || f.displayName === name)?.id;

  const deliver = (folder: string, isRead = false, mailbox = user) => {
    sequence += 1;
    const internetMessageId = `<quarantine-mutant-${sequence}@evil.example>`;
    tenant.addMessage(mailbox, { internetMessageId, subject: `Lure ${sequence}`, folder, isRead });
    return internetMessageId;
  };
  const found = async (backend: GraphMailBackend, id: string, mailbox = user): Promise<MailItem> => {
    const [item] = (await backend.findMessages(mailbox, { internetMessageId: id })).items;
    if (item === undefined) throw new Error(`no copy of ${id}`);
    mark = tenant.requests.length;
    return item;
  };
  const begin = () => {
    mark = tenant.requests.length;
  };
  const since = () => tenant.requests.slice(mark);
  const writes = () => since().filter((r) => r.method !== 'GET');
  const quarantine = async (backend: GraphMailBackend, id: string, mailbox = user, options?: ActionOptions) =>
    backend.applyAction(mailbox, await found(backend, id, mailbox), 'quarantine', options);
  const operationIn = (error: { message: string; detail?: string | undefined }) =>
    `${error.message} ${error.detail ?? ''}`;

  beforeAll(async () => {
    tenant = await startSandboxTenant({
      apps: [{ tenantId, clientId, certificatePem: appCert.certPem }],
      mailboxes: [{ address: user }, { address: 'frank@contoso.com' }, { address: central }],
    });
    identityHttpClient = rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost);
  });
  afterAll(() => tenant.close());
  beforeEach(() => {
    tenant.clearScripts();
    logs = [];
  });

  describe('into the hidden folder', () => {
    it('moves the copy with one move and says exactly where', async () => {
      const id = deliver('inbox');
      const backend = backendFor();
      const item = await found(backend, id);
      expect(await backend.applyAction(user, item, 'quarantine')).toEqual({
        status: 'succeeded',
        originalFolder: `Inbox (${folderIdOf(user, 'inbox')})`,
        quarantineLocation: 'folder:Clawback Quarantine',
        detail: 'moved to the hidden folder "Clawback Quarantine"',
      });
      const hidden = tenant.mailbox(user).folders.filter((f) => f.displayName === 'Clawback Quarantine');
      expect(hidden).toEqual([
        expect.objectContaining({ isHidden: true, parentFolderId: folderIdOf(user, 'msgfolderroot') }),
      ]);
      expect(writes().filter((r) => r.operation === 'move')).toHaveLength(1);
      expect(folders(user, id)).toEqual(['Clawback Quarantine']);
    });

    it('reports a copy already in the hidden folder exactly, and sends no write', async () => {
      const id = deliver('inbox');
      await quarantine(backendFor(), id);
      const backend = backendFor();
      expect(await quarantine(backend, id)).toEqual({
        status: 'alreadyRemediated',
        quarantineLocation: 'folder:Clawback Quarantine',
        detail: 'already in the hidden folder "Clawback Quarantine"',
      });
      expect(writes().filter((r) => r.operation !== 'folderCreate')).toEqual([]);
    });

    it('names the move in a refusal', async () => {
      const id = deliver('inbox');
      const backend = backendFor();
      const item = await found(backend, id);
      await backend.applyAction(user, item, 'none');
      tenant.script({
        match: { method: 'POST', mailbox: user, pathIncludes: '/move' },
        respond: { status: 403 },
      });
      const error = await rejection(backend.applyAction(user, item, 'quarantine'));
      expect(error.code).toBe('PermissionError');
      expect(operationIn(error)).toContain('during quarantine move (');
      expect(folders(user, id)).toEqual(['inbox']);
    });
  });

  describe('into the central quarantine mailbox', () => {
    const tagOf = (mailbox: string) => `Clawback: ${mailbox}`;
    const fromOf = (mailbox: string, folder: string) => `Clawback from: ${folderIdOf(mailbox, folder)}`;
    const copyTagOf = (rowKey: string, itemId: string) =>
      `clawback-copy:${createHash('sha256').update(`${rowKey}|${itemId}`).digest('hex').slice(0, 16)}`;

    it('refuses a profile that names no quarantine mailbox, before any request', async () => {
      const id = deliver('inbox');
      const backend = backendFor({ quarantineTarget: 'mailbox', quarantineMailbox: undefined });
      const item = await found(backend, id);
      const error = await rejection(backend.applyAction(user, item, 'quarantine'));
      expect(error.code).toBe('ConfigurationError');
      expect(error.message).toBe(
        'Profile "sandbox" quarantines into a mailbox but names no quarantineMailbox.',
      );
      expect(since().filter((r) => r.operation !== 'folder')).toEqual([]);
      expect(folders(user, id)).toEqual(['inbox']);
    });

    it('imports once, tags the copy with recipient and folder, keeps it unread and says exactly what it did', async () => {
      const id = deliver('inbox', false);
      const backend = centralBackend({}, false);
      const item = await found(backend, id);
      expect(await backend.applyAction(user, item, 'quarantine')).toEqual({
        status: 'succeeded',
        originalFolder: `Inbox (${folderIdOf(user, 'inbox')})`,
        quarantineLocation: `mailbox:${central}/Clawback Quarantine/${user}`,
        detail: `copied as MIME into mailbox:${central}/Clawback Quarantine/${user} (${draftNote}) and deleted from the mailbox`,
      });
      const seen = since();
      expect(held(central, id)).toEqual([{ folder: user, isRead: false }]);
      expect(await categories(central, id)).toEqual([[tagOf(user), fromOf(user, 'inbox')].sort()]);
      const top = tenant.mailbox(central).folders.find((f) => f.displayName === 'Clawback Quarantine');
      expect(top?.parentFolderId).toBe(folderIdOf(central, 'msgfolderroot'));
      expect(top?.isHidden).toBeFalsy();
      expect(folderOf(central, folderIdOf(central, user) ?? '')?.isHidden).toBeFalsy();
      const searches = seen.filter((r) => r.mailbox === central && r.operation === 'search');
      expect(searches).toHaveLength(1);
      expect(searches[0]?.path).toContain(`$select=${quarantineCopySelect}`);
      expect(quarantineCopySelect).toBe('id,internetMessageId,parentFolderId,isRead,categories');
      expect(seen.filter((r) => r.operation === 'import')).toEqual([
        expect.objectContaining({
          method: 'POST',
          mailbox: central,
          path: `/v1.0/users/${central}/messages`,
        }),
      ]);
      expect(seen.filter((r) => r.operation === 'mime')).toEqual([
        expect.objectContaining({
          method: 'GET',
          mailbox: user,
          path: `/v1.0/users/${user}/messages/${item.id}/$value`,
        }),
      ]);
      expect(seen.filter((r) => r.mailbox === user && r.method === 'DELETE')).toHaveLength(1);
      expect(folders(user, id)).toEqual(['recoverableitemsdeletions']);
      expect(logs).toEqual([]);
    });

    it('keeps the read state of a read copy and tags it by the row when the action carries an effect key', async () => {
      const id = deliver('Suppliers', true);
      const backend = centralBackend();
      const item = await found(backend, id);
      const outcome = await backend.applyAction(user, item, 'quarantine', {
        effect: { key: 'row-7', recovering: false },
      });
      expect(outcome.status).toBe('succeeded');
      expect(held(central, id)).toEqual([{ folder: user, isRead: true }]);
      expect(await categories(central, id)).toEqual([
        [tagOf(user), copyTagOf('row-7', item.id), fromOf(user, 'Suppliers')].sort(),
      ]);
    });

    it('names the mailboxes in lower case whatever case the profile and the caller use', async () => {
      const id = deliver('inbox', false, 'frank@contoso.com');
      const backend = centralBackend({ quarantineMailbox: 'Quarantine@Contoso.com' });
      const item = await found(backend, id, 'frank@contoso.com');
      const outcome = await backend.applyAction('Frank@Contoso.com', item, 'quarantine');
      expect(outcome.quarantineLocation).toBe(`mailbox:${central}/Clawback Quarantine/frank@contoso.com`);
      expect(held(central, id)).toEqual([{ folder: 'frank@contoso.com', isRead: false }]);
      expect(await categories(central, id)).toEqual([
        [tagOf('frank@contoso.com'), fromOf('frank@contoso.com', 'inbox')].sort(),
      ]);
    });

    it('reuses the copy tagged for the row on a retry, says so, and moves nothing already filed', async () => {
      const id = deliver('inbox');
      const options = { effect: { key: 'row-8', recovering: true } };
      const first = centralBackend();
      const item = await found(first, id);
      // The first attempt files the copy but cannot delete the original.
      tenant.script({ match: { method: 'DELETE', mailbox: user }, times: 1, respond: { status: 403 } });
      await expect(first.applyAction(user, item, 'quarantine', options)).rejects.toMatchObject({
        code: 'PermissionError',
      });
      expect(folders(user, id)).toEqual(['inbox']);
      mark = tenant.requests.length;
      const outcome = await centralBackend().applyAction(user, item, 'quarantine', options);
      expect(outcome).toEqual({
        status: 'succeeded',
        originalFolder: `Inbox (${folderIdOf(user, 'inbox')})`,
        quarantineLocation: `mailbox:${central}/Clawback Quarantine/${user}`,
        detail: `already copied into mailbox:${central}/Clawback Quarantine/${user} (${draftNote}) and deleted from the mailbox`,
      });
      expect(since().filter((r) => ['import', 'mime', 'move', 'update'].includes(r.operation))).toEqual([]);
      expect(held(central, id)).toHaveLength(1);
      expect(folders(user, id)).toEqual(['recoverableitemsdeletions']);
    });

    it('names the delete of the original in a refusal', async () => {
      const id = deliver('inbox');
      tenant.script({ match: { method: 'DELETE', mailbox: user }, times: 1, respond: { status: 403 } });
      const error = await rejection(quarantine(centralBackend(), id));
      expect(operationIn(error)).toContain('during delete (');
    });

    it('files a tagged copy left outside the quarantine folder instead of importing again', async () => {
      const id = deliver('inbox');
      const options = { effect: { key: 'row-9', recovering: true } };
      const backend = centralBackend();
      const item = await found(backend, id);
      // The move into the folder fails and so does the cleanup: a tagged copy stays in Drafts.
      tenant.script({
        match: { method: 'POST', mailbox: central, pathIncludes: '/move' },
        times: 1,
        respond: { status: 403 },
      });
      tenant.script({ match: { method: 'DELETE', mailbox: central }, times: 1, respond: { status: 403 } });
      const error = await rejection(backend.applyAction(user, item, 'quarantine', options));
      expect(error.code).toBe('PermissionError');
      expect(operationIn(error)).toContain('during quarantine move (');
      expect(logs).toEqual([
        expect.stringContaining('was denied during quarantine copy cleanup (') as unknown,
      ]);
      expect(folders(central, id)).toEqual(['drafts']);
      mark = tenant.requests.length;
      const outcome = await centralBackend().applyAction(user, item, 'quarantine', options);
      expect(outcome.detail).toMatch(/^already copied into/);
      expect(since().filter((r) => r.operation === 'import')).toEqual([]);
      expect(since().filter((r) => r.mailbox === central && r.operation === 'move')).toHaveLength(1);
      expect(folders(central, id)).toEqual([user]);
      expect(folders(user, id)).toEqual(['recoverableitemsdeletions']);
    });

    it('names the move of an earlier copy in a refusal', async () => {
      const id = deliver('inbox');
      const options = { effect: { key: 'row-10', recovering: true } };
      const backend = centralBackend();
      const item = await found(backend, id);
      tenant.script({
        match: { method: 'POST', mailbox: central, pathIncludes: '/move' },
        times: 1,
        respond: { status: 403 },
      });
      tenant.script({ match: { method: 'DELETE', mailbox: central }, times: 1, respond: { status: 403 } });
      await rejection(backend.applyAction(user, item, 'quarantine', options));
      tenant.script({
        match: { method: 'POST', mailbox: central, pathIncludes: '/move' },
        times: 1,
        respond: { status: 403 },
      });
      const error = await rejection(centralBackend().applyAction(user, item, 'quarantine', options));
      expect(operationIn(error)).toContain('during quarantine move (');
      expect(folders(user, id)).toEqual(['inbox']);
    });

    it('reports a copy gone before its MIME could be read as alreadyRemediated, importing nothing', async () => {
      const id = deliver('inbox');
      const backend = centralBackend();
      const item = await found(backend, id);
      tenant.script({
        match: { method: 'GET', mailbox: user, pathIncludes: '/$value' },
        respond: { status: 404 },
      });
      expect(await backend.applyAction(user, item, 'quarantine')).toEqual({
        status: 'alreadyRemediated',
        originalFolder: `Inbox (${folderIdOf(user, 'inbox')})`,
        detail: 'the message was already gone from the mailbox',
      });
      expect(since().filter((r) => r.operation === 'import')).toEqual([]);
      expect(held(central, id)).toEqual([]);
    });

    it('fails when the MIME download is refused, naming it, and deletes nothing', async () => {
      const id = deliver('inbox');
      const backend = centralBackend();
      const item = await found(backend, id);
      tenant.script({
        match: { method: 'GET', mailbox: user, pathIncludes: '/$value' },
        respond: { status: 403 },
      });
      const error = await rejection(backend.applyAction(user, item, 'quarantine'));
      expect(error.code).toBe('PermissionError');
      expect(operationIn(error)).toContain('during MIME download (');
      expect(since().filter((r) => r.operation === 'import' || r.method === 'DELETE')).toEqual([]);
      expect(folders(user, id)).toEqual(['inbox']);
    });

    it('names the import in a refusal', async () => {
      const id = deliver('inbox');
      tenant.script({
        match: { method: 'POST', mailbox: central, pathIncludes: '/messages' },
        times: 1,
        respond: { status: 403 },
      });
      const error = await rejection(quarantine(centralBackend(), id));
      expect(operationIn(error)).toContain('during MIME import (');
      expect(folders(user, id)).toEqual(['inbox']);
    });

    it('deletes an import it could not tag, so no untagged twin stays behind', async () => {
      const id = deliver('inbox');
      tenant.script({ match: { method: 'PATCH', mailbox: central }, times: 1, respond: { status: 403 } });
      const error = await rejection(quarantine(centralBackend(), id));
      expect(error.code).toBe('PermissionError');
      expect(operationIn(error)).toContain('during quarantine copy update (');
      expect(since().filter((r) => r.mailbox === central && r.method === 'DELETE')).toHaveLength(1);
      expect(held(central, id).filter((c) => c.folder !== 'recoverableitemsdeletions')).toEqual([]);
      expect(folders(user, id)).toEqual(['inbox']);
      expect(logs).toEqual([]);
    });

    it('logs an unfiled import it could not remove and still fails with the original error', async () => {
      const id = deliver('inbox');
      tenant.script({ match: { method: 'PATCH', mailbox: central }, times: 1, respond: { status: 403 } });
      tenant.script({ match: { method: 'DELETE', mailbox: central }, times: 1, respond: { status: 404 } });
      const error = await rejection(quarantine(centralBackend(), id));
      expect(error.code).toBe('PermissionError');
      expect(logs).toEqual([
        `graph sandbox: could not remove an unfiled import from ${central}: The message is no longer in mailbox ${central} (404 ErrorItemNotFound: The specified object was not found in the store.).`,
      ]);
      expect(folders(user, id)).toEqual(['inbox']);
    });

    it('names the cleanup in the log when it is refused', async () => {
      const id = deliver('inbox');
      tenant.script({ match: { method: 'PATCH', mailbox: central }, times: 1, respond: { status: 403 } });
      tenant.script({ match: { method: 'DELETE', mailbox: central }, times: 1, respond: { status: 403 } });
      await rejection(quarantine(centralBackend(), id));
      expect(logs).toEqual([
        expect.stringMatching(
          new RegExp(
            `^graph sandbox: could not remove an unfiled import from ${central}: Access to mailbox ${central} was denied during quarantine copy cleanup \\(403 `,
          ),
        ) as unknown,
      ]);
      expect(folders(central, id)).toEqual(['drafts']);
    });

    it('fails with the original error when the cleanup fails and nothing logs', async () => {
      const id = deliver('inbox');
      tenant.script({ match: { method: 'PATCH', mailbox: central }, times: 1, respond: { status: 403 } });
      tenant.script({ match: { method: 'DELETE', mailbox: central }, times: 1, respond: { status: 404 } });
      const error = await rejection(quarantine(centralBackend({}, false), id));
      expect(error.code).toBe('PermissionError');
      expect(operationIn(error)).toContain('during quarantine copy update (');
    });

    it('without a folder per recipient, files the copy in the quarantine folder itself', async () => {
      const id = deliver('inbox', false, 'frank@contoso.com');
      const backend = centralBackend({ folderPerRecipient: false });
      const outcome = await quarantine(backend, id, 'frank@contoso.com');
      expect(outcome.quarantineLocation).toBe(`mailbox:${central}/Clawback Quarantine`);
      expect(folders(central, id)).toEqual(['Clawback Quarantine']);
      expect(since().filter((r) => r.operation === 'folderCreate' && r.status < 300)).toEqual([]);
      expect(
        tenant
          .mailbox(central)
          .folders.filter(
            (f) =>
              !['frank@contoso.com', user].includes(f.displayName) &&
              f.parentFolderId === folderIdOf(central, 'Clawback Quarantine'),
          ),
      ).toEqual([]);
    });

    it('takes a held copy listed without categories for none of its own', async () => {
      const id = deliver('inbox');
      const backend = centralBackend();
      const item = await found(backend, id);
      tenant.script({
        match: { method: 'GET', mailbox: central, pathIncludes: '/messages?' },
        times: 1,
        respond: { status: 200, body: { value: [{ id: 'AAMkUntagged=', internetMessageId: id }] } },
      });
      expect((await backend.applyAction(user, item, 'quarantine')).detail).toMatch(/^copied as MIME/);
      expect(held(central, id)).toHaveLength(1);
    });

    it('imports a copy without a message id without searching the quarantine mailbox', async () => {
      const id = deliver('inbox');
      const backend = centralBackend();
      const item = await found(backend, id);
      const outcome = await backend.applyAction(user, { ...item, internetMessageId: '' }, 'quarantine');
      expect(outcome.detail).toMatch(/^copied as MIME/);
      expect(since().filter((r) => r.mailbox === central && r.operation === 'search')).toEqual([]);
      expect(folders(central, id)).toEqual([user]);
    });
  });
  describe('where a restore looks when the row recorded no quarantine location', () => {
    const unrecorded = { action: 'quarantine' as const, originalFolder: 'inbox' };

    it('looks in the central mailbox when the profile quarantines there', async () => {
      const id = deliver('inbox', false, 'frank@contoso.com');
      await quarantine(centralBackend(), id, 'frank@contoso.com');
      expect(folders(central, id)).toEqual(['frank@contoso.com']);
      const restored = await centralBackend().restoreMessage(
        'frank@contoso.com',
        { internetMessageId: id },
        unrecorded,
      );
      expect(restored.status).toBe('succeeded');
      expect(folders('frank@contoso.com', id)).toEqual(['inbox', 'recoverableitemsdeletions']);
      expect(folders(central, id).filter((f) => f !== 'recoverableitemsdeletions')).toEqual([]);
    });

    it('creates no central quarantine folder that does not exist yet', async () => {
      const id = deliver('inbox', false, 'frank@contoso.com');
      begin();
      const outcome = await centralBackend({ quarantineFolder: 'Never Made' }).restoreMessage(
        'frank@contoso.com',
        { internetMessageId: id },
        unrecorded,
      );
      expect(outcome.status).toBe('alreadyRemediated');
      expect(since().filter((r) => r.operation === 'folderCreate')).toEqual([]);
      expect(tenant.mailbox(central).folders.filter((f) => f.displayName === 'Never Made')).toEqual([]);
      expect(folders('frank@contoso.com', id)).toEqual(['inbox']);
    });

    it.each([
      ['the profile quarantines into folders, whatever mailbox it names', { quarantineMailbox: central }],
      [
        'the profile names no quarantine mailbox',
        { quarantineTarget: 'mailbox' as const, quarantineMailbox: undefined },
      ],
    ])('looks in the hidden folder when %s', async (_, overrides) => {
      const id = deliver('inbox', false, 'frank@contoso.com');
      await quarantine(backendFor(), id, 'frank@contoso.com');
      expect(folders('frank@contoso.com', id)).toEqual(['Clawback Quarantine']);
      begin();
      const restored = await backendFor(overrides).restoreMessage(
        'frank@contoso.com',
        { internetMessageId: id },
        unrecorded,
      );
      expect(restored.status).toBe('succeeded');
      expect(folders('frank@contoso.com', id)).toEqual(['inbox']);
      expect(since().filter((r) => r.mailbox === central)).toEqual([]);
    });
  });
});
