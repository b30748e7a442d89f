import { describe, expect, it } from 'vitest';

import type { RequestContext } from '../../../../local/onprem/state.js';
import type { XmlElement } from '../../../../local/onprem/xml.js';
import type { EwsProfile } from '../../../../shared/config/document.js';
import type { EwsMailBackend } from '../../../../shared/mail/ews/ewsMailBackend.js';
import type { MailItem } from '../../../../shared/ports/mail.js';
import { FakeEwsServer, mimeHeaderLines } from '../../../fakes/ewsServer.js';
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

const mailboxProfile: Partial<EwsProfile> = {
  quarantineTarget: 'mailbox',
  quarantineMailbox: quarantineBox,
  quarantineFolder: 'Clawback',
};

/** Quarantines alice's copy to the quarantine mailbox and returns the held copy as a search finds it. */
async function quarantined(backend: EwsMailBackend): Promise<MailItem> {
  await backend.applyAction(alice, await findOne(backend, alice), 'quarantine');
  return findOne(backend, alice);
}

describe('EwsQuarantine to a folder', () => {
  it('a move failure that is not a deleted folder is not retried by recreating the folder', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake);
    const item = await findOne(backend, alice);
    fake.fail('MoveItem', { kind: 'responseError', code: 'ErrorInternalServerError' });

    const error = await failureOf(backend.applyAction(alice, item, 'quarantine'));

    expect(error.detail).toContain('ErrorInternalServerError');
    expect(countOf(fake, 'MoveItem')).toBe(1);
    expect(fake.copiesOf(alice, messageId)[0]?.folderId).toBe(fake.folderIdOf(alice, 'inbox'));
  });
});

describe('EwsQuarantine actions on a copy held in the quarantine mailbox', () => {
  it('none leaves the held copy alone and says so', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, mailboxProfile);
    const held = await quarantined(backend);
    const before = fake.operations().length;

    const outcome = await backend.applyAction(alice, held, 'none');

    expect(outcome).toEqual({
      status: 'succeeded',
      quarantineLocation: held.folderName,
      detail: 'Held in the quarantine mailbox; no action taken.',
    });
    expect(fake.operations().slice(before)).toEqual([]);
    expect(fake.copiesOf(quarantineBox, messageId)).toHaveLength(1);
  });

  it('another action leaves the held copy in the quarantine mailbox and names the action', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, mailboxProfile);
    const held = await quarantined(backend);

    const outcome = await backend.applyAction(alice, held, 'hardDelete');

    expect(outcome).toEqual({
      status: 'alreadyRemediated',
      quarantineLocation: held.folderName,
      detail: 'Held in the quarantine mailbox; hardDelete leaves it there.',
    });
    expect(fake.copiesOf(quarantineBox, messageId)).toHaveLength(1);
    expect(countOf(fake, 'DeleteItem')).toBe(1);
  });
});

describe('EwsQuarantine restore in the mailbox', () => {
  it('judges where the copy is by its ParentFolderId, not by the search result it was given', async () => {
    const fake = await startFake();
    const projects = fake.addFolder(alice, 'Projects');
    fake.addMessage(alice, { internetMessageId: messageId, folder: projects });
    const backend = backendFor(fake);
    await backend.applyAction(alice, await findOne(backend, alice), 'moveToJunk');
    const stale = await findOne(backend, alice);
    const copy = fake.copiesOf(alice, messageId)[0];
    if (!copy) throw new Error('no copy');
    copy.folderId = projects;
    const movesBefore = countOf(fake, 'MoveItem');

    const outcome = await backend.applyAction(alice, stale, 'restore');

    expect(outcome).toEqual({
      status: 'alreadyRemediated',
      originalFolder: projects,
      detail: 'The copy is already in its original folder.',
    });
    expect(countOf(fake, 'MoveItem')).toBe(movesBefore);
  });

  it('a copy never moved is already in its original folder, its current one', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake);

    const outcome = await backend.applyAction(alice, await findOne(backend, alice), 'restore');

    expect(outcome).toEqual({
      status: 'alreadyRemediated',
      originalFolder: fake.folderIdOf(alice, 'inbox'),
      detail: 'The copy is already in its original folder.',
    });
    expect(countOf(fake, 'MoveItem')).toBe(0);
  });

  it('says where it moved the copy back from, or that it does not know', async () => {
    const fake = await startFake();
    const projects = fake.addFolder(alice, 'Projects');
    fake.addMessage(alice, { internetMessageId: messageId, folder: projects });
    const backend = backendFor(fake);
    await backend.applyAction(alice, await findOne(backend, alice), 'moveToJunk');

    const named = await backend.applyAction(alice, await findOne(backend, alice), 'restore');
    await backend.applyAction(alice, await findOne(backend, alice), 'moveToJunk');
    const unnamed: MailItem = { ...(await findOne(backend, alice)), folderName: undefined };
    const anonymous = await backend.applyAction(alice, unnamed, 'restore');

    expect(named).toMatchObject({
      status: 'succeeded',
      originalFolder: projects,
      quarantineLocation: 'Junk Email',
      detail: 'Moved back from Junk Email.',
    });
    expect(anonymous).toMatchObject({ status: 'succeeded', detail: 'Moved back from where it was.' });
    expect(fake.copiesOf(alice, messageId)[0]?.folderId).toBe(projects);
  });

  it('a move failure names MoveItem and is not turned into a move to the Inbox', async () => {
    const fake = await startFake();
    const projects = fake.addFolder(alice, 'Projects');
    fake.addMessage(alice, { internetMessageId: messageId, folder: projects });
    const backend = backendFor(fake);
    await backend.applyAction(alice, await findOne(backend, alice), 'moveToJunk');
    const item = await findOne(backend, alice);
    const movesBefore = countOf(fake, 'MoveItem');
    fake.fail('MoveItem', { kind: 'responseError', code: 'ErrorInternalServerError' });

    const error = await failureOf(backend.applyAction(alice, item, 'restore'));

    expect(error.detail).toContain('MoveItem');
    expect(error.detail).toContain('ErrorInternalServerError');
    expect(countOf(fake, 'MoveItem')).toBe(movesBefore + 1);
    expect(fake.copiesOf(alice, messageId)[0]?.folderId).toBe(fake.folderIdOf(alice, 'junkemail'));
  });

  it('moves the copy to the Inbox when its original folder was deleted', async () => {
    const fake = await startFake();
    const projects = fake.addFolder(alice, 'Projects');
    fake.addMessage(alice, { internetMessageId: messageId, folder: projects });
    const backend = backendFor(fake);
    await backend.applyAction(alice, await findOne(backend, alice), 'moveToJunk');
    fake.removeFolder(projects);

    const outcome = await backend.applyAction(alice, await findOne(backend, alice), 'restore');

    expect(outcome).toMatchObject({ status: 'succeeded', originalFolder: projects });
    expect(fake.copiesOf(alice, messageId)[0]?.folderId).toBe(fake.folderIdOf(alice, 'inbox'));
    expect(countOf(fake, 'MoveItem')).toBe(3);
  });

  it('a copy gone before the move back is already remediated', async () => {
    const fake = await startFake();
    const projects = fake.addFolder(alice, 'Projects');
    fake.addMessage(alice, { internetMessageId: messageId, folder: projects });
    const backend = backendFor(fake);
    await backend.applyAction(alice, await findOne(backend, alice), 'moveToJunk');
    const item = await findOne(backend, alice);
    fake.fail('MoveItem', { kind: 'responseError', code: 'ErrorItemNotFound' });

    const outcome = await backend.applyAction(alice, item, 'restore');

    expect(outcome).toMatchObject({ status: 'alreadyRemediated', originalFolder: projects });
    expect(outcome.detail).not.toMatch(/^Moved back/);
  });
});

describe('EwsQuarantine to the quarantine mailbox', () => {
  it('without a quarantineMailbox is a ConfigurationError and touches nothing', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, { quarantineTarget: 'mailbox', quarantineMailbox: undefined });
    const item = await findOne(backend, alice);
    const before = fake.operations().length;

    const error = await failureOf(backend.applyAction(alice, item, 'quarantine'));

    expect(error.code).toBe('ConfigurationError');
    expect(error.detail).toContain('has no quarantineMailbox');
    expect(fake.operations().slice(before)).toEqual([]);
    expect(fake.copiesOf(alice, messageId)).toHaveLength(1);
  });

  it.each(['X Bad', 'X-Bad:', 'é-Bad', ':X-Bad'])(
    'a quarantineHeader %j that is not a MIME header name is a ConfigurationError naming the setting',
    async (name) => {
      const fake = await startFake();
      fake.addMessage(alice, { internetMessageId: messageId });
      const backend = backendFor(fake, { ...mailboxProfile, quarantineHeader: name });
      const item = await findOne(backend, alice);

      const error = await failureOf(backend.applyAction(alice, item, 'quarantine'));

      expect(error.code).toBe('ConfigurationError');
      expect(error.detail).toContain(`quarantineHeader "${name}"`);
      expect(error.detail).toContain('is not a valid MIME header name');
      expect(fake.copiesOf(alice, messageId)).toHaveLength(1);
      expect(countOf(fake, 'CreateItem')).toBe(0);
    },
  );

  it('records the folder the copy is really in, not the one of a stale search result, in a visible folder', async () => {
    const fake = await startFake();
    const projects = fake.addFolder(alice, 'Projects');
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, mailboxProfile);
    const stale = await findOne(backend, alice);
    const copy = fake.copiesOf(alice, messageId)[0];
    if (!copy) throw new Error('no copy');
    copy.folderId = projects;

    const outcome = await backend.applyAction(alice, stale, 'quarantine');

    expect(outcome).toMatchObject({ status: 'succeeded', originalFolder: projects });
    const [held] = fake.copiesOf(quarantineBox, messageId);
    expect(held?.extended.get('name:ClawbackOriginalFolderId')).toBe(projects);
    const folder = fake.folder(held?.folderId ?? '');
    expect(fake.folderPath(folder?.id ?? '')).toBe(`Clawback/${alice}`);
    expect(folder?.hidden).toBe(false);
    expect(fake.folder(folder?.parentId ?? '')?.hidden).toBe(false);
    const create = fake.requests.find((r) => r.operation === 'CreateItem');
    expect(create?.body).toContain('CharacterSet="UTF-8"');
  });

  it('a copy imported by an attempt that failed before the delete is not imported twice', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, mailboxProfile);
    const item = await findOne(backend, alice);
    fake.fail('DeleteItem', { kind: 'responseError', code: 'ErrorInternalServerError' });

    await failureOf(backend.applyAction(alice, item, 'quarantine'));
    const outcome = await backend.applyAction(alice, item, 'quarantine');

    expect(outcome.status).toBe('succeeded');
    expect(fake.copiesOf(quarantineBox, messageId)).toHaveLength(1);
    expect(fake.copiesOf(alice, messageId)).toHaveLength(0);
    expect(countOf(fake, 'CreateItem')).toBe(1);
  });

  it('an import whose outcome is unknown is not sent again, and the failure names CreateItem', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, mailboxProfile, { maxAttempts: 3 });
    const item = await findOne(backend, alice);
    fake.fail('CreateItem', { kind: 'empty500' });

    const error = await failureOf(backend.applyAction(alice, item, 'quarantine'));

    expect(error.detail).toContain('CreateItem');
    expect(countOf(fake, 'CreateItem')).toBe(1);
    expect(fake.copiesOf(alice, messageId)).toHaveLength(1);
  });

  it('a failing look for an earlier copy names FindItem', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, mailboxProfile, { maxAttempts: 1 });
    const item = await findOne(backend, alice);
    fake.fail('FindItem', { kind: 'responseError', code: 'ErrorInternalServerError' });

    const error = await failureOf(backend.applyAction(alice, item, 'quarantine'));

    expect(error.detail).toContain('FindItem');
    expect(countOf(fake, 'CreateItem')).toBe(0);
  });
});

describe('EwsQuarantine restore from the quarantine mailbox', () => {
  it('a restoreHeader that is not a MIME header name is a ConfigurationError naming the setting', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const good = backendFor(fake, mailboxProfile);
    const held = await quarantined(good);
    const bad = backendFor(fake, { ...mailboxProfile, restoreHeader: 'X Restored' });

    const error = await failureOf(bad.applyAction(alice, held, 'restore'));

    expect(error.code).toBe('ConfigurationError');
    expect(error.detail).toContain('restoreHeader "X Restored"');
    expect(fake.copiesOf(quarantineBox, messageId)).toHaveLength(1);
  });

  it('a copy re-imported by an attempt that failed before the delete is not re-imported twice', async () => {
    const fake = await startFake();
    const projects = fake.addFolder(alice, 'Projects');
    fake.addMessage(alice, { internetMessageId: messageId, folder: projects });
    const backend = backendFor(fake, mailboxProfile);
    const held = await quarantined(backend);
    fake.fail('DeleteItem', { kind: 'responseError', code: 'ErrorInternalServerError' });

    await failureOf(backend.applyAction(alice, held, 'restore'));
    const outcome = await backend.applyAction(alice, held, 'restore');

    expect(outcome).toEqual({
      status: 'succeeded',
      originalFolder: projects,
      quarantineLocation: held.folderName,
      detail: 'Re-imported from the quarantine mailbox.',
    });
    const copies = fake.copiesOf(alice, messageId);
    expect(copies).toHaveLength(1);
    expect(copies[0]?.folderId).toBe(projects);
    expect(copies[0]?.extended.get('name:ClawbackImportedFrom')).toBeTruthy();
    expect(fake.copiesOf(quarantineBox, messageId)).toHaveLength(0);
  });

  it('re-imports into the Inbox, once, when the original folder was deleted', async () => {
    const fake = await startFake();
    const projects = fake.addFolder(alice, 'Projects');
    fake.addMessage(alice, { internetMessageId: messageId, folder: projects });
    const backend = backendFor(fake, mailboxProfile);
    const held = await quarantined(backend);
    fake.removeFolder(projects);
    fake.fail('DeleteItem', { kind: 'responseError', code: 'ErrorInternalServerError' });

    await failureOf(backend.applyAction(alice, held, 'restore'));
    const outcome = await backend.applyAction(alice, held, 'restore');

    expect(outcome).toMatchObject({ status: 'succeeded', originalFolder: fake.folderIdOf(alice, 'inbox') });
    const copies = fake.copiesOf(alice, messageId);
    expect(copies).toHaveLength(1);
    expect(copies[0]?.folderId).toBe(fake.folderIdOf(alice, 'inbox'));
    expect(copies[0]?.extended.get('name:ClawbackImportedFrom')).toBeTruthy();
    expect(mimeHeaderLines(copies[0]?.mime ?? '')[0]).toMatch(/^X-Clawback-Restored: alice@contoso\.com; /);
    expect(fake.copiesOf(quarantineBox, messageId)).toHaveLength(0);
  });

  it('an import failure that is not a deleted folder is not retried in the Inbox', async () => {
    const fake = await startFake();
    const projects = fake.addFolder(alice, 'Projects');
    fake.addMessage(alice, { internetMessageId: messageId, folder: projects });
    const backend = backendFor(fake, mailboxProfile);
    const held = await quarantined(backend);
    const createsBefore = countOf(fake, 'CreateItem');
    fake.fail('CreateItem', { kind: 'responseError', code: 'ErrorInternalServerError' });

    const error = await failureOf(backend.applyAction(alice, held, 'restore'));

    expect(error.detail).toContain('ErrorInternalServerError');
    expect(countOf(fake, 'CreateItem')).toBe(createsBefore + 1);
    expect(fake.copiesOf(alice, messageId)).toHaveLength(0);
    expect(fake.copiesOf(quarantineBox, messageId)).toHaveLength(1);
  });
});

type Handler = (op: XmlElement, ctx: RequestContext) => string;

/** Makes the fake answer GetItem without MimeContent from now on. */
function dropMime(fake: FakeEwsServer): void {
  const handlers = (fake as unknown as { handlers: Record<string, Handler> }).handlers;
  const original = handlers.GetItem;
  if (!original) throw new Error('no GetItem handler');
  handlers.GetItem = (op, ctx) =>
    original(op, ctx).replace(/<t:MimeContent[^>]*>[^<]*<\/t:MimeContent>/g, '');
}

describe('EwsQuarantine without MIME content', () => {
  it('quarantining to the mailbox fails as Unknown naming the mailbox, and keeps the copy', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, mailboxProfile);
    const item = await findOne(backend, alice);
    dropMime(fake);

    const error = await failureOf(backend.applyAction(alice, item, 'quarantine'));

    expect(error.code).toBe('Unknown');
    expect(error.detail).toBe(`EWS at ${fake.host} returned no MIME content for the copy in ${alice}.`);
    expect(fake.copiesOf(alice, messageId)).toHaveLength(1);
    expect(countOf(fake, 'CreateItem')).toBe(0);
  });

  it('restoring from the quarantine mailbox fails as Unknown naming the mailbox, and keeps the held copy', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, mailboxProfile);
    const held = await quarantined(backend);
    dropMime(fake);

    const error = await failureOf(backend.applyAction(alice, held, 'restore'));

    expect(error.code).toBe('Unknown');
    expect(error.detail).toBe(
      `EWS at ${fake.host} returned no MIME content for the quarantined copy of ${alice}.`,
    );
    expect(fake.copiesOf(quarantineBox, messageId)).toHaveLength(1);
    expect(fake.copiesOf(alice, messageId)).toHaveLength(0);
  });
});

describe('EwsQuarantine stamp header', () => {
  it('turns a line break in the mailbox address into one space, so the stamp stays one header line', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, mailboxProfile);
    // The fake, as an XML reader that trims element text, resolves the address despite its line break.
    const broken = `${alice}\r\n`;

    const outcome = await backend.applyAction(broken, await findOne(backend, alice), 'quarantine');

    expect(outcome.status).toBe('succeeded');
    const [held] = fake.copiesOf(quarantineBox, messageId);
    const lines = mimeHeaderLines(held?.mime ?? '');
    expect(lines[0]).toMatch(/^X-Clawback-Quarantined: alice@contoso\.com ; \d{4}-\d\d-\d\dT[\d:.]+Z$/);
    expect(lines[1]).toMatch(/^From: /);
  });
});
