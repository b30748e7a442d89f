import { DeleteMode, FolderId } from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';

import { EwsClient } from '../../../../shared/mail/ews/client.js';
import { EwsItems } from '../../../../shared/mail/ews/items.js';
import type { MailItem } from '../../../../shared/ports/mail.js';
import type { FakeEwsServer } from '../../../fakes/ewsServer.js';
import { anySecret, ewsDepsWith, ewsProfileFor, startEwsFake } from '../../../support/ewsBackend.js';

const alice = 'alice@contoso.com';
const mid = '<relocate@contoso.com>';

async function setup() {
  const fake = await startEwsFake(alice);
  const log: string[] = [];
  const client = new EwsClient(
    ewsProfileFor(fake.url, { access: 'fullAccess' }),
    ewsDepsWith({ secrets: anySecret, log: (line) => log.push(line) }),
  );
  const items = new EwsItems(client);
  const session = client.open(alice, await client.credentials());
  const inbox = fake.folderIdOf(alice, 'inbox');
  const junk = fake.folderIdOf(alice, 'junkemail');
  const deleted = fake.folderIdOf(alice, 'deleteditems');
  const id = fake.addMessage(alice, { internetMessageId: mid });
  const item = (itemId: string, folderId: string): MailItem => ({
    id: itemId,
    internetMessageId: mid,
    folderId,
    folderName: 'Inbox',
  });
  const moveTo = (folder: string) => items.moveOp(session, new FolderId(folder));
  return { fake, log, items, session, inbox, junk, deleted, id, item, moveTo };
}

const folderOfCopy = (fake: FakeEwsServer) =>
  fake.mailboxView(alice).messages.find((m) => m.internetMessageId === mid)?.folder;

describe('EwsItems.relocate against the fake Exchange', () => {
  it('stamps the folder the server reports, not the one the search remembered', async () => {
    const s = await setup();
    const outcome = await s.items.relocate(
      s.session,
      s.item(s.id, 'stale-folder'),
      { folderId: s.junk, location: 'Junk' },
      s.moveTo(s.junk),
    );
    expect(outcome).toEqual({ status: 'succeeded', originalFolder: s.inbox, quarantineLocation: 'Junk' });
    const update = s.fake.requests.find((r) => r.operation === 'UpdateItem');
    expect(update?.body).toContain(s.inbox);
    expect(update?.body).not.toContain('stale-folder');
    expect(folderOfCopy(s.fake)).toBe('Junk Email');
  });

  it('says where the copy already is when it is in the destination', async () => {
    const s = await setup();
    const outcome = await s.items.relocate(
      s.session,
      s.item(s.id, s.inbox),
      { folderId: s.inbox, location: 'Inbox' },
      s.moveTo(s.junk),
    );
    expect(outcome).toEqual({
      status: 'alreadyRemediated',
      originalFolder: s.inbox,
      quarantineLocation: 'Inbox',
      detail: 'Already in Inbox.',
    });
    expect(s.fake.operations()).not.toContain('MoveItem');
  });

  it('stamps the original folder once: a second relocation keeps the first stamp', async () => {
    const s = await setup();
    await s.items.relocate(
      s.session,
      s.item(s.id, s.inbox),
      { folderId: s.junk, location: 'Junk' },
      s.moveTo(s.junk),
    );
    const moved = s.fake.copiesOf(alice, mid)[0]?.id ?? '';
    const again = await s.items.relocate(
      s.session,
      s.item(moved, s.junk),
      { folderId: s.deleted, location: 'Deleted' },
      s.moveTo(s.deleted),
    );
    expect(again).toEqual({ status: 'succeeded', originalFolder: s.inbox, quarantineLocation: 'Deleted' });
    expect(s.fake.operations().filter((o) => o === 'UpdateItem')).toHaveLength(1);
  });

  it('reports a copy that is gone as already remediated, with the reason', async () => {
    const s = await setup();
    const outcome = await s.items.relocate(
      s.session,
      s.item(`${s.id}x`, s.inbox),
      { folderId: s.junk, location: 'Junk' },
      s.moveTo(s.junk),
    );
    expect(outcome).toEqual({
      status: 'alreadyRemediated',
      originalFolder: s.inbox,
      detail: 'The copy was no longer where it was found.',
    });
  });

  it('names UpdateItem, MoveItem and DeleteItem with its mode when it retries them', async () => {
    const s = await setup();
    s.fake.fail('UpdateItem', { kind: 'serverBusy', backOffMs: 1 });
    s.fake.fail('MoveItem', { kind: 'serverBusy', backOffMs: 1 });
    await s.items.relocate(
      s.session,
      s.item(s.id, s.inbox),
      { folderId: s.junk, location: 'Junk' },
      s.moveTo(s.junk),
    );
    const moved = s.fake.copiesOf(alice, mid)[0]?.id ?? '';
    s.fake.fail('DeleteItem', { kind: 'serverBusy', backOffMs: 1 });
    const del = s.items.deleteOp(s.session, DeleteMode.MoveToDeletedItems);
    const { ItemId } = await import('ews-javascript-api');
    expect(await del(new ItemId(moved))).toBe('done');
    expect(s.log.some((l) => l.startsWith('ews UpdateItem on'))).toBe(true);
    expect(s.log.some((l) => l.startsWith('ews MoveItem on'))).toBe(true);
    expect(s.log.some((l) => l.startsWith('ews DeleteItem (MoveToDeletedItems) on'))).toBe(true);
  });
});
