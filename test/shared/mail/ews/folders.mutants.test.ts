import { describe, expect, it } from 'vitest';

import { errorMessage, responses, success } from '../../../../local/onprem/soap.js';
import type { RequestContext } from '../../../../local/onprem/state.js';
import type { XmlElement } from '../../../../local/onprem/xml.js';
import { FakeEwsServer } from '../../../fakes/ewsServer.js';
import {
  countOf,
  ewsBackendFor,
  findOne,
  messageId,
  rejectionOf as failureOf,
  startEwsFake,
} from '../../../support/ewsBackend.js';

const alice = 'alice@contoso.com';
const quarantineBox = 'quarantine@contoso.com';

const startFake = () => startEwsFake(alice, quarantineBox);
const backendFor = ewsBackendFor;

type Handler = (op: XmlElement, ctx: RequestContext) => string;

/** Replaces one operation of the fake for the rest of the test; `original` is its real handler. */
function patch(fake: FakeEwsServer, operation: string, wrap: (original: Handler) => Handler): void {
  const handlers = (fake as unknown as { handlers: Record<string, Handler> }).handlers;
  const original = handlers[operation];
  if (!original) throw new Error(`no handler ${operation}`);
  handlers[operation] = wrap(original);
}

function bodiesOf(fake: FakeEwsServer, operation: string): string[] {
  return fake.requests.filter((r) => r.operation === operation).map((r) => r.body);
}

describe('EwsFolders listing', () => {
  it('asks for DisplayName and FolderClass of every folder it searches', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });

    await findOne(backendFor(fake), alice);

    const [deep] = bodiesOf(fake, 'FindFolder');
    expect(deep).toContain('Traversal="Deep"');
    expect(deep).toContain('FieldURI="folder:DisplayName"');
    expect(deep).toContain('FieldURI="folder:FolderClass"');
  });

  it('a failing folder listing names FindFolder', async () => {
    const fake = await startFake();
    fake.fail('FindFolder', { kind: 'responseError', code: 'ErrorInternalServerError' });

    const error = await failureOf(backendFor(fake).findMessages(alice, { internetMessageId: messageId }));

    expect(error.detail).toContain('FindFolder');
    expect(error.detail).toContain('ErrorInternalServerError');
  });

  it('searches a mail folder whose class only starts with IPF.Note', async () => {
    const fake = await startFake();
    const signed = fake.addFolder(alice, 'Signed');
    const folder = fake.folder(signed);
    if (!folder) throw new Error('no folder');
    folder.folderClass = 'IPF.Note.SMIME';
    fake.addMessage(alice, { internetMessageId: messageId, folder: signed });

    const item = await findOne(backendFor(fake), alice);

    expect(item).toMatchObject({ folderId: signed, folderName: 'Signed' });
  });

  it('pages through more folders than one page holds', async () => {
    const fake = await startFake();
    let last = '';
    for (let i = 0; i < 230; i++) last = fake.addFolder(alice, `Folder ${i}`);
    fake.addMessage(alice, { internetMessageId: messageId, folder: last });

    const item = await findOne(backendFor(fake), alice);

    expect(item).toMatchObject({ folderId: last, folderName: 'Folder 229' });
    const pages = bodiesOf(fake, 'FindFolder');
    expect(pages).toHaveLength(2);
    expect(pages[0]).toContain('Offset="0"');
    expect(pages[1]).toContain('Offset="200"');
  });
});

describe('EwsFolders archive', () => {
  it('searches the archive dumpster only when searchRecoverableItems is on', async () => {
    const fake = await startFake();
    fake.addMailbox('carol@contoso.com', { archive: true });
    fake.addMessage('carol@contoso.com', {
      internetMessageId: messageId,
      folder: 'archiverecoverableitemsdeletions',
    });

    const without = await backendFor(fake, { searchArchive: true }).findMessages('carol@contoso.com', {
      internetMessageId: messageId,
    });
    const found = await findOne(
      backendFor(fake, { searchArchive: true, searchRecoverableItems: true }),
      'carol@contoso.com',
    );

    expect(without.items).toHaveLength(0);
    expect(found).toMatchObject({
      folderName: 'Archive\\Recoverable Items\\Deletions',
      folderId: fake.folderIdOf('carol@contoso.com', 'archiverecoverableitemsdeletions'),
    });
  });

  it('an archive listing failure other than a missing archive is not swallowed', async () => {
    const fake = await startFake();
    fake.addMailbox('carol@contoso.com', { archive: true });
    fake.addMessage('carol@contoso.com', { internetMessageId: messageId });
    patch(fake, 'FindFolder', (original) => (op, ctx) => {
      const archive = JSON.stringify(op).includes('archivemsgfolderroot');
      return archive
        ? responses('FindFolder', [errorMessage('FindFolder', 'ErrorInternalServerError')])
        : original(op, ctx);
    });
    const backend = backendFor(fake, { searchArchive: true, searchRecoverableItems: true });

    const error = await failureOf(
      backend.findMessages('carol@contoso.com', { internetMessageId: messageId }),
    );

    expect(error.detail).toContain('ErrorInternalServerError');
    expect(fake.operations()).not.toContain('FindItem');
  });
});

describe('EwsFolders quarantine folders', () => {
  it('without folderPerRecipient the quarantine mailbox holds every copy in the one folder', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, {
      quarantineTarget: 'mailbox',
      quarantineMailbox: quarantineBox,
      quarantineFolder: 'Clawback',
      folderPerRecipient: false,
    });

    const outcome = await backend.applyAction(alice, await findOne(backend, alice), 'quarantine');

    expect(outcome).toMatchObject({ status: 'succeeded', quarantineLocation: `${quarantineBox}/Clawback` });
    const [held] = fake.copiesOf(quarantineBox, messageId);
    expect(fake.folderPath(held?.folderId ?? '')).toBe('Clawback');
    expect(countOf(fake, 'CreateFolder')).toBe(1);
  });

  it('looks a quarantine folder up by DisplayName, and creates it as a mail folder', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, { quarantineFolder: 'Clawback' });
    const item = await findOne(backend, alice);
    const before = bodiesOf(fake, 'FindFolder').length;

    await backend.applyAction(alice, item, 'quarantine');

    const lookup = bodiesOf(fake, 'FindFolder').slice(before);
    expect(lookup[0]).toContain('Traversal="Shallow"');
    expect(lookup[0]).toContain('<t:AdditionalProperties><t:FieldURI FieldURI="folder:DisplayName"');
    expect(bodiesOf(fake, 'CreateFolder')[0]).toContain('<t:FolderClass>IPF.Note</t:FolderClass>');
  });

  it('a failing folder lookup names FindFolder and moves nothing', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake);
    const item = await findOne(backend, alice);
    fake.fail('FindFolder', { kind: 'responseError', code: 'ErrorInternalServerError' });

    const error = await failureOf(backend.applyAction(alice, item, 'quarantine'));

    expect(error.detail).toContain('FindFolder');
    expect(countOf(fake, 'MoveItem')).toBe(0);
  });

  it('a failing folder creation names CreateFolder and moves nothing', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake);
    const item = await findOne(backend, alice);
    fake.fail('CreateFolder', { kind: 'responseError', code: 'ErrorInternalServerError' });

    const error = await failureOf(backend.applyAction(alice, item, 'quarantine'));

    expect(error.detail).toContain('CreateFolder');
    expect(countOf(fake, 'MoveItem')).toBe(0);
  });

  it('uses the folder another worker created first (ErrorFolderExists)', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    patch(fake, 'CreateFolder', (original) => (op, ctx) => {
      original(op, ctx);
      return responses('CreateFolder', [errorMessage('CreateFolder', 'ErrorFolderExists')]);
    });
    const backend = backendFor(fake, { quarantineFolder: 'Clawback' });

    const outcome = await backend.applyAction(alice, await findOne(backend, alice), 'quarantine');

    expect(outcome.status).toBe('succeeded');
    const folder = fake.folder(fake.copiesOf(alice, messageId)[0]?.folderId ?? '');
    expect(folder?.name).toBe('Clawback');
    expect(countOf(fake, 'CreateFolder')).toBe(1);
  });

  it('a creation failure other than ErrorFolderExists is not taken for a race, even if the folder is there', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    patch(fake, 'CreateFolder', (original) => (op, ctx) => {
      original(op, ctx);
      return responses('CreateFolder', [errorMessage('CreateFolder', 'ErrorInternalServerError')]);
    });
    const backend = backendFor(fake, { quarantineFolder: 'Clawback' });
    const item = await findOne(backend, alice);

    const error = await failureOf(backend.applyAction(alice, item, 'quarantine'));

    expect(error.detail).toContain('ErrorInternalServerError');
    expect(countOf(fake, 'MoveItem')).toBe(0);
    expect(fake.copiesOf(alice, messageId)[0]?.folderId).toBe(fake.folderIdOf(alice, 'inbox'));
  });
});

/** A FindFolder page as Exchange writes it. */
function folderPage(folders: string[], more: boolean, offset: number): string {
  return success(
    'FindFolder',
    `<m:RootFolder IndexedPagingOffset="${offset}" TotalItemsInView="${folders.length + (more ? 1 : 0)}" IncludesLastItemInRange="${!more}"><t:Folders>${folders.join('')}</t:Folders></m:RootFolder>`,
  );
}

describe('EwsFolders listing on page shapes the fake store never builds', () => {
  it('names a folder the server returns without DisplayName by its prefix alone', async () => {
    const fake = await startFake();
    const inbox = fake.folderIdOf(alice, 'inbox');
    fake.addMessage(alice, { internetMessageId: messageId });
    fake.fail('FindFolder', {
      kind: 'answer',
      message: folderPage(
        [
          `<t:Folder><t:FolderId Id="${inbox}" ChangeKey="AQAAAA=="/><t:FolderClass>IPF.Note</t:FolderClass></t:Folder>`,
        ],
        false,
        1,
      ),
    });

    const item = await findOne(backendFor(fake), alice);

    expect(item).toMatchObject({ folderId: inbox, folderName: '' });
  });

  it('stops listing at an empty page, even one that says more folders are available', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    // Asking again at IndexedPagingOffset 0 would read the same empty page forever from such a server.
    fake.fail('FindFolder', { kind: 'answer', message: folderPage([], true, 0) });

    const found = await backendFor(fake).findMessages(alice, { internetMessageId: messageId });

    expect(countOf(fake, 'FindFolder')).toBe(1);
    expect(countOf(fake, 'FindItem')).toBe(0);
    expect(found.items).toEqual([]);
  });
});
