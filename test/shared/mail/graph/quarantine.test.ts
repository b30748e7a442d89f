import type { HttpClient } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../../../local/sandbox/index.js';
import type { GraphProfile } from '../../../../shared/config/document.js';
import type { GraphMailBackend } from '../../../../shared/mail/graph/graphMailBackend.js';
import type { ActionOutcome } from '../../../../shared/ports/mail.js';
import { folderNameIn, sandboxGraphBackend } from '../../../support/graphBackend.js';
import { rejection, rewritingClient } from '../../../support/identity.js';

const tenantId = '6a1f0c2e-58b4-4d0c-9a51-0f3c6a7d2b10';
const clientId = '0b8f7a3c-2d4e-4f61-8a9b-1c2d3e4f5a6b';
const directoryLessClientId = '9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a';
const appCert = createAppCertificate('clawback-graph-quarantine-test');
const central = 'quarantine@contoso.com';
const bigGroupSize = 1000;

/** What `remediate` records on the row: the outcomes' folders and locations, deduplicated, joined. */
function recorded(outcomes: ActionOutcome[], key: 'originalFolder' | 'quarantineLocation') {
  const values = [...new Set(outcomes.map((o) => o[key]).filter((v): v is string => !!v))];
  return values.length === 0 ? undefined : values.join('; ');
}

describe('GraphMailBackend quarantine, restore and groups against the sandbox tenant', () => {
  let tenant: SandboxTenant;
  let identityHttpClient: HttpClient;
  let sequence = 0;

  const backendFor = (overrides: Partial<GraphProfile> = {}): GraphMailBackend =>
    sandboxGraphBackend(
      tenant,
      { tenantId, clientId, pemBundle: appCert.pemBundle, identityHttpClient },
      overrides,
      { maxAttempts: 3 },
    );
  const centralBackend = (overrides: Partial<GraphProfile> = {}) =>
    backendFor({ quarantineTarget: 'mailbox', quarantineMailbox: central, ...overrides });

  /** Every copy of the message in the mailbox, with the name of its folder. */
  const copies = (mailbox: string, internetMessageId: string) =>
    tenant
      .mailbox(mailbox)
      .messages.filter((m) => m.internetMessageId === internetMessageId)
      .map((m) => ({ ...m, folderName: folderNameIn(tenant, mailbox, m.folderId) }))
      .sort((a, b) => a.folderName.localeCompare(b.folderName) || Number(b.isRead) - Number(a.isRead));
  const placement = (mailbox: string, internetMessageId: string) =>
    copies(mailbox, internetMessageId).map((c) => ({ folder: c.folderName, isRead: c.isRead }));

  /** A fresh message id delivered to `mailbox` in each folder, read or not. */
  const deliver = (mailbox: string, folders: { folder: string; isRead: boolean }[]) => {
    sequence += 1;
    const internetMessageId = `<lure-${sequence}+x/y@evil.example>`;
    for (const { folder, isRead } of folders)
      tenant.addMessage(mailbox, { internetMessageId, subject: `Lure ${sequence}`, folder, isRead });
    return internetMessageId;
  };

  /** Finds every copy and applies the action to each, as `remediate` does. */
  const remediate = async (
    backend: GraphMailBackend,
    mailbox: string,
    internetMessageId: string,
    action: 'quarantine' | 'moveToDeletedItems' | 'moveToJunk' | 'softDelete',
  ) => {
    const { items } = await backend.findMessages(mailbox, { internetMessageId });
    const outcomes: ActionOutcome[] = [];
    for (const item of items) outcomes.push(await backend.applyAction(mailbox, item, action));
    return {
      items,
      outcomes,
      previous: {
        action,
        originalFolder: recorded(outcomes, 'originalFolder'),
        quarantineLocation: recorded(outcomes, 'quarantineLocation'),
      },
    };
  };

  const folderCreations = (mailbox: string) =>
    tenant.requests.filter(
      (r) => r.mailbox === mailbox && r.method === 'POST' && r.path.endsWith('/childFolders'),
    );

  beforeAll(async () => {
    tenant = await startSandboxTenant({
      apps: [
        { tenantId, clientId, certificatePem: appCert.certPem },
        {
          tenantId,
          clientId: directoryLessClientId,
          certificatePem: appCert.certPem,
          permissions: ['Mail.ReadWrite', 'User.Read.All'],
        },
      ],
      mailboxes: [
        { address: 'alice@contoso.com' },
        { address: 'bob@contoso.com' },
        { address: 'carol@contoso.com' },
        { address: 'dave@contoso.com' },
        { address: central },
        ...Array.from({ length: bigGroupSize }, (_, i) => ({ address: `Staff${i}@Contoso.com` })),
        ...Array.from({ length: 60 }, (_, i) => ({ address: `lab${i}@contoso.com` })),
      ],
      groups: [
        {
          address: 'everyone@contoso.com',
          displayName: 'Everyone',
          members: [
            ...Array.from({ length: bigGroupSize }, (_, i) => `staff${i}@contoso.com`),
            'research@contoso.com',
            'partner@fabrikam.example',
          ],
        },
        {
          address: 'research@contoso.com',
          displayName: 'Research',
          members: [
            ...Array.from({ length: 60 }, (_, i) => `lab${i}@contoso.com`),
            'staff0@contoso.com',
            'everyone@contoso.com',
          ],
        },
        { address: "o'neil.team@contoso.com", displayName: "O'Neil team", members: ['alice@contoso.com'] },
      ],
    });
    identityHttpClient = rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost);
  });
  afterAll(() => tenant.close());
  beforeEach(() => tenant.clearScripts());

  describe('quarantine into a hidden folder of the recipient mailbox', () => {
    it('moves every copy into one hidden folder under the message folder root, keeping read state', async () => {
      const id = deliver('alice@contoso.com', [
        { folder: 'inbox', isRead: true },
        { folder: 'Invoices', isRead: false },
      ]);
      const backend = backendFor();
      const { outcomes, previous } = await remediate(backend, 'alice@contoso.com', id, 'quarantine');

      expect(outcomes.map((o) => o.status)).toEqual(['succeeded', 'succeeded']);
      const state = tenant.mailbox('alice@contoso.com');
      const root = state.folders.find((f) => f.wellKnownName === 'msgfolderroot');
      const hidden = state.folders.filter((f) => f.displayName === 'Clawback Quarantine');
      expect(hidden).toEqual([expect.objectContaining({ isHidden: true, parentFolderId: root?.id })]);
      expect(placement('alice@contoso.com', id)).toEqual([
        { folder: 'Clawback Quarantine', isRead: true },
        { folder: 'Clawback Quarantine', isRead: false },
      ]);
      const invoices = state.folders.find((f) => f.displayName === 'Invoices');
      const inbox = state.folders.find((f) => f.wellKnownName === 'inbox');
      expect(previous).toEqual({
        action: 'quarantine',
        originalFolder: expect.stringMatching(
          new RegExp(
            `^(Inbox \\(${inbox?.id}\\); Invoices \\(${invoices?.id}\\)|Invoices \\(${invoices?.id}\\); Inbox \\(${inbox?.id}\\))$`,
          ),
        ) as unknown,
        quarantineLocation: 'folder:Clawback Quarantine',
      });
    });

    it('creates the folder once per mailbox and reports copies already in it as alreadyRemediated', async () => {
      const first = deliver('bob@contoso.com', [{ folder: 'inbox', isRead: false }]);
      const second = deliver('bob@contoso.com', [{ folder: 'inbox', isRead: false }]);
      const backend = backendFor();
      await remediate(backend, 'bob@contoso.com', first, 'quarantine');
      await remediate(backend, 'bob@contoso.com', second, 'quarantine');
      expect(folderCreations('bob@contoso.com')).toHaveLength(1);

      const again = await remediate(backend, 'bob@contoso.com', first, 'quarantine');
      expect(again.outcomes).toEqual([
        expect.objectContaining({
          status: 'alreadyRemediated',
          quarantineLocation: 'folder:Clawback Quarantine',
        }),
      ]);
    });

    it('finds the existing folder when creating it answers 409 ErrorFolderExists', async () => {
      const earlier = deliver('bob@contoso.com', [{ folder: 'inbox', isRead: true }]);
      await remediate(backendFor(), 'bob@contoso.com', earlier, 'quarantine');
      const id = deliver('bob@contoso.com', [{ folder: 'inbox', isRead: true }]);
      const fresh = backendFor();
      const before = tenant.requests.length;
      const { outcomes } = await remediate(fresh, 'bob@contoso.com', id, 'quarantine');
      expect(outcomes.map((o) => o.status)).toEqual(['succeeded']);
      const creations = tenant.requests.slice(before).filter((r) => r.path.endsWith('/childFolders'));
      expect(creations.map((r) => r.status)).toEqual([409]);
      expect(
        tenant.mailbox('bob@contoso.com').folders.filter((f) => f.displayName === 'Clawback Quarantine'),
      ).toHaveLength(1);
      expect(placement('bob@contoso.com', id)).toEqual([{ folder: 'Clawback Quarantine', isRead: true }]);
    });

    it('restore puts the copies back into the recorded folders, each keeping its read state', async () => {
      const id = deliver('alice@contoso.com', [
        { folder: 'inbox', isRead: true },
        { folder: 'Invoices', isRead: false },
      ]);
      const { previous } = await remediate(backendFor(), 'alice@contoso.com', id, 'quarantine');
      const restored = await backendFor().restoreMessage(
        'alice@contoso.com',
        { internetMessageId: id },
        previous,
      );

      expect(restored).toMatchObject({
        status: 'succeeded',
        detail: expect.stringMatching(/moved 2 copies from the hidden folder/) as unknown,
      });
      const placed = placement('alice@contoso.com', id);
      expect(placed.map((p) => p.folder).sort()).toEqual(['Invoices', 'inbox']);
      expect(placed.filter((p) => p.isRead)).toHaveLength(1);

      const again = await backendFor().restoreMessage(
        'alice@contoso.com',
        { internetMessageId: id },
        previous,
      );
      expect(again.status).toBe('alreadyRemediated');
    });
  });

  describe.each([
    ['moveToDeletedItems', 'deleteditems'],
    ['moveToJunk', 'junkemail'],
    ['softDelete', 'recoverableitemsdeletions'],
  ] as const)('restore after %s', (action, holding) => {
    it(`moves the copies from ${holding} back where they were, read state kept`, async () => {
      const id = deliver('carol@contoso.com', [
        { folder: 'Projects', isRead: true },
        { folder: 'Projects', isRead: false },
      ]);
      const backend = backendFor();
      const { previous } = await remediate(backend, 'carol@contoso.com', id, action);
      expect(placement('carol@contoso.com', id).map((p) => p.folder)).toEqual([holding, holding]);

      const restored = await backend.restoreMessage('carol@contoso.com', { internetMessageId: id }, previous);
      expect(restored.status).toBe('succeeded');
      expect(placement('carol@contoso.com', id)).toEqual(
        expect.arrayContaining([
          { folder: 'Projects', isRead: true },
          { folder: 'Projects', isRead: false },
        ]),
      );
    });
  });

  it('restore without any copy left fails with MessageNotFound', async () => {
    const error = await rejection(
      backendFor().restoreMessage(
        'carol@contoso.com',
        { internetMessageId: '<never-delivered@evil.example>' },
        { action: 'quarantine', originalFolder: 'inbox', quarantineLocation: 'folder:Clawback Quarantine' },
      ),
    );
    expect(error.code).toBe('MessageNotFound');
  });

  describe('quarantine into the central quarantine mailbox', () => {
    const centralCopies = (id: string) => copies(central, id);

    it('imports the MIME into a folder per recipient, tags it, then deletes the original', async () => {
      const id = deliver('dave@contoso.com', [{ folder: 'inbox', isRead: false }]);
      const { outcomes, previous } = await remediate(centralBackend(), 'dave@contoso.com', id, 'quarantine');

      expect(outcomes).toEqual([
        expect.objectContaining({
          status: 'succeeded',
          originalFolder: `Inbox (${tenant.mailbox('dave@contoso.com').folders.find((f) => f.wellKnownName === 'inbox')?.id})`,
          quarantineLocation: `mailbox:${central}/Clawback Quarantine/dave@contoso.com`,
          detail: expect.stringMatching(/as a draft/) as unknown,
        }),
      ]);
      expect(previous.quarantineLocation).toBe(`mailbox:${central}/Clawback Quarantine/dave@contoso.com`);
      const state = tenant.mailbox(central);
      const top = state.folders.find((f) => f.displayName === 'Clawback Quarantine');
      const perRecipient = state.folders.find((f) => f.displayName === 'dave@contoso.com');
      expect(perRecipient?.parentFolderId).toBe(top?.id);
      const [copy, ...more] = centralCopies(id);
      expect(more).toEqual([]);
      expect(copy).toMatchObject({ folderId: perRecipient?.id, isDraft: true, isRead: false });
      expect(copy?.mime).toContain(`Message-ID: ${id}`);
      expect(placement('dave@contoso.com', id)).toEqual([
        { folder: 'recoverableitemsdeletions', isRead: false },
      ]);
    });

    it('does not import a second time a message already copied for that recipient', async () => {
      const id = deliver('dave@contoso.com', [
        { folder: 'inbox', isRead: true },
        { folder: 'Rules', isRead: true },
      ]);
      const { outcomes } = await remediate(centralBackend(), 'dave@contoso.com', id, 'quarantine');
      expect(outcomes.map((o) => o.status)).toEqual(['succeeded', 'succeeded']);
      expect(outcomes[1]?.detail).toMatch(/^already copied/);
      expect(centralCopies(id)).toHaveLength(1);
      expect(placement('dave@contoso.com', id).map((p) => p.folder)).toEqual([
        'recoverableitemsdeletions',
        'recoverableitemsdeletions',
      ]);
    });

    it('restore re-imports the copy into its original folder with its read state and removes the quarantine copy', async () => {
      const id = deliver('dave@contoso.com', [{ folder: 'Suppliers', isRead: true }]);
      const { previous } = await remediate(centralBackend(), 'dave@contoso.com', id, 'quarantine');
      const restored = await centralBackend().restoreMessage(
        'dave@contoso.com',
        { internetMessageId: id },
        previous,
      );

      expect(restored).toMatchObject({
        status: 'succeeded',
        detail: expect.stringMatching(/re-imported 1 copy .*draft/) as unknown,
      });
      const back = copies('dave@contoso.com', id).filter((c) => c.folderName !== 'recoverableitemsdeletions');
      expect(back).toEqual([
        expect.objectContaining({ folderName: 'Suppliers', isRead: true, isDraft: true }),
      ]);
      expect(centralCopies(id).filter((c) => c.folderName !== 'recoverableitemsdeletions')).toEqual([]);

      const again = await centralBackend().restoreMessage(
        'dave@contoso.com',
        { internetMessageId: id },
        previous,
      );
      expect(again.status).toBe('alreadyRemediated');
    });

    it('removes an import it could not file, so the retry leaves exactly one quarantine copy', async () => {
      const id = deliver('dave@contoso.com', [{ folder: 'inbox', isRead: false }]);
      const backend = centralBackend();
      const [item] = (await backend.findMessages('dave@contoso.com', { internetMessageId: id })).items;
      tenant.script({
        match: { method: 'PATCH', mailbox: central },
        times: 3,
        respond: { status: 429, headers: { 'Retry-After': '0' } },
      });
      const error = await rejection(backend.applyAction('dave@contoso.com', item!, 'quarantine'));
      expect(error).toMatchObject({ code: 'Throttled', retryable: true });
      expect(centralCopies(id).map((c) => c.folderName)).toEqual(['recoverableitemsdeletions']);

      expect((await backend.applyAction('dave@contoso.com', item!, 'quarantine')).status).toBe('succeeded');
      expect(centralCopies(id).filter((c) => c.folderName !== 'recoverableitemsdeletions')).toEqual([
        expect.objectContaining({ folderName: 'dave@contoso.com', isRead: false, isDraft: true }),
      ]);
      expect(placement('dave@contoso.com', id)).toEqual([
        { folder: 'recoverableitemsdeletions', isRead: false },
      ]);
    });

    it('a restore retried after it could not remove the quarantine copy does not restore twice', async () => {
      const id = deliver('dave@contoso.com', [{ folder: 'inbox', isRead: false }]);
      const backend = centralBackend();
      const { previous } = await remediate(backend, 'dave@contoso.com', id, 'quarantine');
      tenant.script({
        match: { method: 'DELETE', mailbox: central },
        times: 3,
        respond: { status: 503, headers: { 'Retry-After': '0' } },
      });
      await expect(
        backend.restoreMessage('dave@contoso.com', { internetMessageId: id }, previous),
      ).rejects.toMatchObject({ code: 'Throttled' });

      expect(
        (await backend.restoreMessage('dave@contoso.com', { internetMessageId: id }, previous)).status,
      ).toBe('succeeded');
      expect(placement('dave@contoso.com', id)).toEqual([
        { folder: 'inbox', isRead: false },
        { folder: 'recoverableitemsdeletions', isRead: false },
      ]);
      expect(centralCopies(id).filter((c) => c.folderName !== 'recoverableitemsdeletions')).toEqual([]);
    });

    it('without a folder per recipient, each recipient gets back its own tagged copy', async () => {
      sequence += 1;
      const id = `<shared-${sequence}@evil.example>`;
      tenant.addMessage('alice@contoso.com', { internetMessageId: id, folder: 'inbox', isRead: true });
      tenant.addMessage('bob@contoso.com', { internetMessageId: id, folder: 'inbox', isRead: false });
      const backend = centralBackend({ folderPerRecipient: false });
      const alice = await remediate(backend, 'alice@contoso.com', id, 'quarantine');
      const bob = await remediate(backend, 'bob@contoso.com', id, 'quarantine');
      expect(alice.previous.quarantineLocation).toBe(`mailbox:${central}/Clawback Quarantine`);
      expect(centralCopies(id).map((c) => c.folderName)).toEqual([
        'Clawback Quarantine',
        'Clawback Quarantine',
      ]);

      await backend.restoreMessage('bob@contoso.com', { internetMessageId: id }, bob.previous);
      expect(centralCopies(id).filter((c) => c.folderName === 'Clawback Quarantine')).toHaveLength(1);
      await backend.restoreMessage('alice@contoso.com', { internetMessageId: id }, alice.previous);
      expect(centralCopies(id).filter((c) => c.folderName === 'Clawback Quarantine')).toHaveLength(0);
      expect(placement('alice@contoso.com', id)).toContainEqual({ folder: 'inbox', isRead: true });
      expect(placement('bob@contoso.com', id)).toContainEqual({ folder: 'inbox', isRead: false });
    });
  });

  describe('expandRecipient', () => {
    it('tells a mailbox apart from a group', async () => {
      expect(await backendFor().expandRecipient('Alice@Contoso.com')).toEqual({ kind: 'mailbox' });
    });

    it('leaves an address that is neither to the search, which reports it', async () => {
      expect(await backendFor().expandRecipient('nobody@contoso.com')).toEqual({ kind: 'mailbox' });
    });

    it('expands nested groups across pages into lower-case, unique member mailboxes', async () => {
      const before = tenant.requests.length;
      const expansion = await backendFor().expandRecipient('everyone@contoso.com');
      expect(expansion).toMatchObject({ kind: 'group', displayName: 'Everyone' });
      const members = expansion.kind === 'group' ? expansion.members : [];
      expect(members).toHaveLength(bigGroupSize + 60);
      expect(new Set(members).size).toBe(members.length);
      expect(members).toContain('staff999@contoso.com');
      expect(members).toContain('lab59@contoso.com');
      expect(members).not.toContain('partner@fabrikam.example');
      const pages = tenant.requests
        .slice(before)
        .filter((r) => r.path.includes('/transitiveMembers/microsoft.graph.user'));
      expect(pages).toHaveLength(2);
    });

    it('finds a group whose address has a quote in it', async () => {
      expect(await backendFor().expandRecipient("o'neil.team@contoso.com")).toEqual({
        kind: 'group',
        displayName: "O'Neil team",
        members: ['alice@contoso.com'],
      });
    });

    it('says which directory permissions are missing', async () => {
      const error = await rejection(
        backendFor({ clientId: directoryLessClientId }).expandRecipient('everyone@contoso.com'),
      );
      expect(error.code).toBe('PermissionError');
      expect(error.detail).toMatch(/GroupMember\.Read\.All/);
    });
  });
});
