import { describe, expect, it } from 'vitest';

import { success } from '../../../../local/onprem/soap.js';
import type { FakeEwsServer } from '../../../fakes/ewsServer.js';
import { ewsBackendFor, failureOf, findOne, messageId, startEwsFake } from '../../../support/ewsBackend.js';

const alice = 'alice@contoso.com';
const quarantineBox = 'quarantine@contoso.com';

async function setup(fallbackSearch: boolean) {
  const fake = await startEwsFake(alice);
  const backend = ewsBackendFor(fake, { fallbackSearch });
  return { fake, backend };
}

describe('EwsSearch fallback against the fake Exchange', () => {
  it('does not claim a fallback when the sender and subject find nothing either', async () => {
    const { fake, backend } = await setup(true);
    fake.addMessage(alice, { internetMessageId: '<other@x>', subject: 'Hello', sender: 'bob@x.com' });
    const found = await backend.findMessages(alice, {
      internetMessageId: '<missing@x>',
      sender: 'attacker@evil.example',
      subject: 'Invoice 42',
    });
    expect(found).toEqual({ items: [], usedFallback: false });
  });

  it('finds by sender alone, without a subject restriction', async () => {
    const { fake, backend } = await setup(true);
    fake.addMessage(alice, {
      internetMessageId: '<rewritten@x>',
      subject: 'Anything',
      sender: 'attacker@evil.example',
    });
    const found = await backend.findMessages(alice, {
      internetMessageId: '<missing@x>',
      sender: 'attacker@evil.example',
    });
    expect(found.usedFallback).toBe(true);
    expect(found.items).toHaveLength(1);
    const finds = fake.requests.filter((r) => r.operation === 'FindItem');
    expect(finds.at(-1)?.body).toContain('message:Sender');
    expect(finds.at(-1)?.body).not.toContain('item:Subject');
    expect(finds.at(-1)?.body).not.toContain('IsGreaterThanOrEqualTo');
  });

  it('does not search again when fallback search is off', async () => {
    const { fake, backend } = await setup(false);
    fake.addMessage(alice, { internetMessageId: '<rewritten@x>', sender: 'attacker@evil.example' });
    const found = await backend.findMessages(alice, {
      internetMessageId: '<missing@x>',
      sender: 'attacker@evil.example',
    });
    expect(found).toEqual({ items: [], usedFallback: false });
    expect(fake.requests.some((r) => r.body.includes('message:Sender'))).toBe(false);
  });

  it('does not search again when there is neither sender nor subject', async () => {
    const { fake, backend } = await setup(true);
    fake.addMessage(alice, { internetMessageId: '<other@x>' });
    const found = await backend.findMessages(alice, { internetMessageId: '<missing@x>' });
    expect(found).toEqual({ items: [], usedFallback: false });
    const finds = fake.requests.filter((r) => r.operation === 'FindItem');
    expect(finds.every((r) => r.body.includes('PropertyTag="4149"'))).toBe(true);
  });
});

/** A FindItem page as Exchange writes it; `offset` undefined leaves IndexedPagingOffset out. */
function findItemPage(items: string[], more: boolean, offset?: number): string {
  const paging = offset === undefined ? '' : ` IndexedPagingOffset="${offset}"`;
  return success(
    'FindItem',
    `<m:RootFolder${paging} TotalItemsInView="${items.length + (more ? 1 : 0)}" IncludesLastItemInRange="${!more}"><t:Items>${items.join('')}</t:Items></m:RootFolder>`,
  );
}

function messageXml(id: string, folderId?: string): string {
  const parent = folderId === undefined ? '' : `<t:ParentFolderId Id="${folderId}" ChangeKey="AQAAAA=="/>`;
  return `<t:Message><t:ItemId Id="${id}" ChangeKey="CK1"/>${parent}</t:Message>`;
}

/** The FindItem requests the fake saw in the folder `folderId`. */
function findsIn(fake: FakeEwsServer, folderId: string): string[] {
  return fake.requests
    .filter((r) => r.operation === 'FindItem' && r.body.includes(`Id="${folderId}"`))
    .map((r) => r.body);
}

describe('EwsSearch paging against the fake Exchange', () => {
  it('reads the next page at offset + items when the server leaves out IndexedPagingOffset, and stops after the last page', async () => {
    const fake = await startEwsFake(alice);
    const inbox = fake.folderIdOf(alice, 'inbox');
    const first = fake.addMessage(alice, { internetMessageId: messageId });
    const second = fake.addMessage(alice, { internetMessageId: messageId });
    // The first page holds one copy, says more are available, and has no IndexedPagingOffset.
    fake.fail('FindItem', { kind: 'answer', message: findItemPage([messageXml(first, inbox)], true) });

    const found = await ewsBackendFor(fake).findMessages(alice, { internetMessageId: messageId });

    expect(found.items.map((i) => i.id)).toEqual([first, second]);
    const pages = findsIn(fake, inbox);
    expect(pages).toHaveLength(2);
    expect(pages[0]).toContain('Offset="0"');
    expect(pages[1]).toContain('Offset="1"');
  });

  it('stops reading a folder at an empty page, even one that says more items are available', async () => {
    const fake = await startEwsFake(alice);
    const inbox = fake.folderIdOf(alice, 'inbox');
    fake.addMessage(alice, { internetMessageId: messageId });
    // Asking again at IndexedPagingOffset 0 would read the same empty page forever from such a server.
    fake.fail('FindItem', { kind: 'answer', message: findItemPage([], true, 0) });

    const found = await ewsBackendFor(fake).findMessages(alice, { internetMessageId: messageId });

    expect(findsIn(fake, inbox)).toHaveLength(1);
    expect(found).toEqual({ items: [], usedFallback: false });
  });

  it('keeps an empty folder id for a copy the server returns without ParentFolderId in a dumpster', async () => {
    const fake = await startEwsFake(alice);
    // No mail folders, so the only folder searched is Recoverable Items\Deletions (no id of its own).
    fake.fail('FindFolder', {
      kind: 'answer',
      message: success(
        'FindFolder',
        '<m:RootFolder IndexedPagingOffset="0" TotalItemsInView="0" IncludesLastItemInRange="true"><t:Folders/></m:RootFolder>',
      ),
    });
    fake.fail('FindItem', { kind: 'answer', message: findItemPage([messageXml('AAMkDUMPSTER1')], false) });

    const found = await ewsBackendFor(fake, { searchRecoverableItems: true }).findMessages(alice, {
      internetMessageId: messageId,
    });

    expect(found.items).toEqual([
      expect.objectContaining({
        id: 'AAMkDUMPSTER1',
        folderId: '',
        folderName: 'Recoverable Items\\Deletions',
      }),
    ]);
    expect(fake.requests.filter((r) => r.operation === 'FindItem')[0]?.body).toContain(
      'Id="recoverableitemsdeletions"',
    );
  });

  it('a throttled search names FindItem', async () => {
    const fake = await startEwsFake(alice);
    fake.addMessage(alice, { internetMessageId: messageId });
    fake.fail('FindItem', { kind: 'serverBusy', backOffMs: 1 }, 3);

    const error = await failureOf(ewsBackendFor(fake).findMessages(alice, { internetMessageId: messageId }));

    expect(error.code).toBe('Throttled');
    expect(error.detail).toContain('throttling FindItem (ErrorServerBusy)');
  });
});

describe('EwsSearch fallback, when the id finds a copy or finds one by sender', () => {
  it('does not search by sender and subject when the id found a copy', async () => {
    const fake = await startEwsFake(alice);
    const copy = fake.addMessage(alice, { internetMessageId: messageId, sender: 'attacker@evil.example' });
    fake.addMessage(alice, { internetMessageId: '<rewritten@x>', sender: 'attacker@evil.example' });

    const found = await ewsBackendFor(fake, { fallbackSearch: true }).findMessages(alice, {
      internetMessageId: messageId,
      sender: 'attacker@evil.example',
    });

    expect(found.usedFallback).toBe(false);
    expect(found.items.map((i) => i.id)).toEqual([copy]);
    expect(fake.requests.some((r) => r.body.includes('message:Sender'))).toBe(false);
  });

  it('gives a copy found by the fallback its plain item id', async () => {
    const fake = await startEwsFake(alice);
    const copy = fake.addMessage(alice, {
      internetMessageId: '<rewritten@x>',
      sender: 'attacker@evil.example',
    });
    const backend = ewsBackendFor(fake, { fallbackSearch: true });

    const found = await backend.findMessages(alice, {
      internetMessageId: messageId,
      sender: 'attacker@evil.example',
    });

    expect(found.usedFallback).toBe(true);
    expect(found.items.map((i) => i.id)).toEqual([copy]);
  });
});

describe('EwsSearch in the central quarantine mailbox', () => {
  /** quarantine@'s folder `Clawback/<recipient>` holding one copy of `messageId`; returns the copy's id. */
  function heldFor(fake: FakeEwsServer, recipient: string): string {
    const top = fake.addFolder(quarantineBox, 'Clawback');
    const folder = fake.addFolder(quarantineBox, recipient, top);
    return fake.addMessage(quarantineBox, { internetMessageId: messageId, folder });
  }

  /** A backend whose profile keeps copies in quarantine@'s `Clawback`, as a folder or as a mailbox. */
  const quarantiningTo = (fake: FakeEwsServer, quarantineTarget: 'folder' | 'mailbox') =>
    ewsBackendFor(fake, { quarantineTarget, quarantineMailbox: quarantineBox, quarantineFolder: 'Clawback' });

  it('does not look in the quarantine mailbox when the profile quarantines to a folder', async () => {
    const fake = await startEwsFake(alice, quarantineBox);
    const own = fake.addMessage(alice, { internetMessageId: messageId });
    heldFor(fake, alice);
    const backend = quarantiningTo(fake, 'folder');

    const item = await findOne(backend, alice);

    expect(item.id).toBe(own);
    expect(fake.requests.some((r) => r.anchorMailbox === quarantineBox)).toBe(false);
  });

  it('searching the quarantine mailbox itself finds its held copy once, by its plain id', async () => {
    const fake = await startEwsFake(alice, quarantineBox);
    const held = heldFor(fake, quarantineBox);
    const backend = quarantiningTo(fake, 'mailbox');

    const item = await findOne(backend, quarantineBox);

    expect(item.id).toBe(held);
    expect(fake.requests.filter((r) => r.operation === 'FindFolder')).toHaveLength(1);
  });
});
