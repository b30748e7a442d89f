import { describe, expect, it } from 'vitest';

import { ewsProfileSchema } from '../../../../shared/config/document.js';
import { createEwsMailBackend } from '../../../../shared/mail/ews/ewsMailBackend.js';
import type { MailItem } from '../../../../shared/ports/mail.js';
import { createTestPki } from '../../../fakes/ews/certificates.js';
import { parseXml } from '../../../fakes/ews/xml.js';
import { type EwsFakeOptions, mimeHeaderLines } from '../../../fakes/ewsServer.js';
import {
  failureOf,
  findOne,
  messageId,
  parsedEwsBackendFor as backendFor,
  secretsOf,
  startedEwsFakes as servers,
  startEwsFakeWith,
} from '../../../support/ewsBackend.js';

const alice = 'alice@contoso.com';
const bob = 'bob@contoso.com';
const quarantineBox = 'quarantine@contoso.com';

const startFake = (options: EwsFakeOptions = {}) => startEwsFakeWith(options, alice, bob, quarantineBox);

describe('EwsMailBackend search', () => {
  it('finds a copy by PR_INTERNET_MESSAGE_ID in any mail folder below the root', async () => {
    const fake = await startFake();
    const projects = fake.addFolder(alice, 'Projects', 'inbox');
    fake.addMessage(alice, { internetMessageId: messageId, folder: projects, isRead: true });
    fake.addMessage(alice, { internetMessageId: '<other@contoso.com>' });

    const found = await backendFor(fake).findMessages(alice, { internetMessageId: messageId });

    expect(found.usedFallback).toBe(false);
    expect(found.items).toEqual([
      expect.objectContaining({
        internetMessageId: messageId,
        folderId: projects,
        folderName: 'Projects',
        isRead: true,
      }),
    ]);
    const findItems = fake.requests.filter((r) => r.operation === 'FindItem');
    expect(findItems[0]?.body).toContain('PropertyTag="4149"');
    expect(findItems[0]?.body).toContain('Value="&lt;CAF123@mail.contoso.com&gt;"');
  });
});

describe('EwsMailBackend XML escaping', () => {
  it('sends well-formed XML for a message id with < > & " and \' and still finds the copy', async () => {
    const fake = await startFake();
    const nasty = `<a&b"c'd>@contoso.com>`;
    fake.addMessage(alice, { internetMessageId: nasty });
    const backend = backendFor(fake, { access: 'fullAccess' });

    const item = await findOne(backend, alice, nasty);
    await backend.applyAction(alice, item, 'moveToJunk');

    expect(fake.requests.length).toBeGreaterThan(3);
    for (const request of fake.requests) {
      expect(request.xmlError).toBeUndefined();
      expect(() => parseXml(request.body)).not.toThrow();
    }
    expect(fake.copiesOf(alice, nasty)[0]?.folderId).toBe(fake.folderIdOf(alice, 'junkemail'));
  });

  it('escapes subjects and senders in the fallback search', async () => {
    const fake = await startFake();
    fake.addMessage(alice, {
      internetMessageId: '<rewritten@gateway>',
      subject: 'Q&A <urgent> "now"',
      sender: 'x&y@evil.example',
      receivedAt: '2026-11-20T10:00:00Z',
    });
    const backend = backendFor(fake, { fallbackSearch: true });

    const found = await backend.findMessages(alice, {
      internetMessageId: messageId,
      subject: 'Q&A <urgent> "now"',
      sender: 'x&y@evil.example',
      receivedAt: '2026-11-20T12:00:00Z',
    });

    expect(found.usedFallback).toBe(true);
    expect(found.items).toHaveLength(1);
    expect(fake.requests.every((r) => r.xmlError === undefined)).toBe(true);
  });
});

describe('EwsMailBackend search scope', () => {
  it('searches Recoverable Items only when searchRecoverableItems is on', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId, folder: 'recoverableitemsdeletions' });

    expect((await backendFor(fake).findMessages(alice, { internetMessageId: messageId })).items).toHaveLength(
      0,
    );
    const found = await backendFor(fake, { searchRecoverableItems: true }).findMessages(alice, {
      internetMessageId: messageId,
    });

    expect(found.items).toEqual([
      expect.objectContaining({
        folderName: 'Recoverable Items\\Deletions',
        folderId: fake.folderIdOf(alice, 'recoverableitemsdeletions'),
      }),
    ]);
  });

  it('searches the In-Place Archive when searchArchive is on, and tolerates a mailbox without one', async () => {
    const fake = await startFake();
    fake.addMailbox('carol@contoso.com', { archive: true });
    fake.addMessage('carol@contoso.com', { internetMessageId: messageId, folder: 'archiveinbox' });
    const backend = backendFor(fake, { searchArchive: true });

    const found = await backend.findMessages('carol@contoso.com', { internetMessageId: messageId });
    const none = await backend.findMessages(alice, { internetMessageId: messageId });

    expect(found.items).toEqual([expect.objectContaining({ folderName: 'Archive\\Inbox' })]);
    expect(none.items).toHaveLength(0);
  });

  it('falls back to sender, subject and a day around the received time only when the id matches nothing', async () => {
    const fake = await startFake();
    fake.addMessage(alice, {
      internetMessageId: '<rewritten@gateway>',
      subject: 'Invoice 42',
      sender: 'billing@evil.example',
      receivedAt: '2026-11-20T10:00:00Z',
    });
    fake.addMessage(alice, {
      internetMessageId: '<older@gateway>',
      subject: 'Invoice 42',
      sender: 'billing@evil.example',
      receivedAt: '2026-11-10T10:00:00Z',
    });
    const criteria = {
      internetMessageId: messageId,
      subject: 'Invoice 42',
      sender: 'billing@evil.example',
      receivedAt: '2026-11-20T18:00:00Z',
    };

    const without = await backendFor(fake).findMessages(alice, criteria);
    const withFallback = await backendFor(fake, { fallbackSearch: true }).findMessages(alice, criteria);

    expect(without).toEqual({ items: [], usedFallback: false });
    expect(withFallback.usedFallback).toBe(true);
    expect(withFallback.items.map((i) => i.internetMessageId)).toEqual(['<rewritten@gateway>']);
  });

  it('does not search calendars and other non-mail folders', async () => {
    const fake = await startFake();
    await backendFor(fake).findMessages(alice, { internetMessageId: messageId });
    const calendar = fake.folderIdOf(alice, 'calendar');
    expect(
      fake.requests.filter((r) => r.operation === 'FindItem').some((r) => r.body.includes(calendar)),
    ).toBe(false);
  });
});

describe('EwsMailBackend mailbox access', () => {
  it('with impersonation sends ExchangeImpersonation and X-AnchorMailbox on every request', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, { access: 'impersonation' });

    await backend.applyAction(alice, await findOne(backend, alice), 'moveToDeletedItems');

    expect(fake.requests.length).toBeGreaterThan(2);
    for (const request of fake.requests) {
      expect(request.impersonated).toBe(alice);
      expect(request.anchorMailbox).toBe(alice);
      expect(request.body).not.toContain('<t:Mailbox>');
    }
  });

  it('with full access sends no impersonation header and addresses the mailbox explicitly', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, { access: 'fullAccess' });

    await backend.applyAction(alice, await findOne(backend, alice), 'moveToJunk');

    for (const request of fake.requests) {
      expect(request.impersonated).toBeUndefined();
      expect(request.body).not.toContain('ExchangeImpersonation');
      expect(request.anchorMailbox).toBe(alice);
    }
    const findFolder = fake.requests.find((r) => r.operation === 'FindFolder');
    expect(findFolder?.body).toContain(
      '<t:DistinguishedFolderId Id="msgfolderroot"><t:Mailbox><t:EmailAddress>alice@contoso.com</t:EmailAddress>',
    );
  });
});

describe('EwsMailBackend actions', () => {
  it('hardDelete purges the copy, and a second attempt reports it already remediated', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake);
    const item = await findOne(backend, alice);

    const first = await backend.applyAction(alice, item, 'hardDelete');
    const second = await backend.applyAction(alice, item, 'hardDelete');

    expect(first.status).toBe('succeeded');
    expect(fake.copiesOf(alice, messageId)).toHaveLength(0);
    expect(fake.purgedCopiesOf(alice, messageId)).toHaveLength(1);
    expect(fake.requests.find((r) => r.operation === 'DeleteItem')?.body).toContain(
      'DeleteType="HardDelete"',
    );
    expect(second.status).toBe('alreadyRemediated');
  });

  it('softDelete moves the copy to Recoverable Items\\Deletions and records the original folder', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake);

    const outcome = await backend.applyAction(alice, await findOne(backend, alice), 'softDelete');

    expect(outcome).toMatchObject({
      status: 'succeeded',
      originalFolder: fake.folderIdOf(alice, 'inbox'),
      quarantineLocation: 'Recoverable Items\\Deletions',
    });
    expect(fake.copiesOf(alice, messageId)[0]?.folderId).toBe(
      fake.folderIdOf(alice, 'recoverableitemsdeletions'),
    );
    expect(fake.requests.find((r) => r.operation === 'DeleteItem')?.body).toContain(
      'DeleteType="SoftDelete"',
    );
  });

  it('moveToDeletedItems uses DeleteType MoveToDeletedItems and is already remediated once there', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake);

    const first = await backend.applyAction(alice, await findOne(backend, alice), 'moveToDeletedItems');
    const second = await backend.applyAction(alice, await findOne(backend, alice), 'moveToDeletedItems');

    expect(first.status).toBe('succeeded');
    expect(fake.requests.find((r) => r.operation === 'DeleteItem')?.body).toContain(
      'DeleteType="MoveToDeletedItems"',
    );
    expect(fake.copiesOf(alice, messageId)[0]?.folderId).toBe(fake.folderIdOf(alice, 'deleteditems'));
    expect(second).toMatchObject({
      status: 'alreadyRemediated',
      originalFolder: fake.folderIdOf(alice, 'inbox'),
    });
  });

  it('moveToJunk moves the copy with MoveItem, and restore brings it back to its original folder', async () => {
    const fake = await startFake();
    const projects = fake.addFolder(alice, 'Projects');
    fake.addMessage(alice, { internetMessageId: messageId, folder: projects });
    const backend = backendFor(fake);

    const junked = await backend.applyAction(alice, await findOne(backend, alice), 'moveToJunk');
    const restored = await backend.applyAction(alice, await findOne(backend, alice), 'restore');
    const again = await backend.applyAction(alice, await findOne(backend, alice), 'restore');

    expect(junked).toMatchObject({
      status: 'succeeded',
      originalFolder: projects,
      quarantineLocation: 'Junk Email',
    });
    expect(restored).toMatchObject({ status: 'succeeded', originalFolder: projects });
    expect(fake.copiesOf(alice, messageId)[0]?.folderId).toBe(projects);
    expect(again.status).toBe('alreadyRemediated');
  });

  it('quarantine (folder) moves copies into one hidden folder created once, and restore reverses it', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    fake.addMessage(alice, { internetMessageId: '<second@contoso.com>', folder: 'junkemail' });
    const backend = backendFor(fake, { quarantineFolder: 'Clawback & Co' });

    const first = await backend.applyAction(alice, await findOne(backend, alice), 'quarantine');
    const second = await backend.applyAction(
      alice,
      await findOne(backend, alice, '<second@contoso.com>'),
      'quarantine',
    );
    const repeat = await backend.applyAction(alice, await findOne(backend, alice), 'quarantine');

    const folderId = fake.copiesOf(alice, messageId)[0]?.folderId ?? '';
    expect(fake.folder(folderId)).toMatchObject({
      name: 'Clawback & Co',
      hidden: true,
      parentId: fake.folderIdOf(alice, 'msgfolderroot'),
    });
    expect(fake.copiesOf(alice, '<second@contoso.com>')[0]?.folderId).toBe(folderId);
    expect(fake.operations().filter((o) => o === 'CreateFolder')).toHaveLength(1);
    expect(first).toMatchObject({
      status: 'succeeded',
      originalFolder: fake.folderIdOf(alice, 'inbox'),
      quarantineLocation: 'Clawback & Co',
    });
    expect(second).toMatchObject({
      status: 'succeeded',
      originalFolder: fake.folderIdOf(alice, 'junkemail'),
    });
    expect(repeat.status).toBe('alreadyRemediated');

    const restored = await backend.applyAction(alice, await findOne(backend, alice), 'restore');
    expect(restored.status).toBe('succeeded');
    expect(fake.copiesOf(alice, messageId)[0]?.folderId).toBe(fake.folderIdOf(alice, 'inbox'));
  });

  it('quarantine (folder) recreates the folder when an administrator deleted the cached one', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    fake.addMessage(alice, { internetMessageId: '<second@contoso.com>' });
    const backend = backendFor(fake);
    await backend.applyAction(alice, await findOne(backend, alice), 'quarantine');
    fake.removeFolder(fake.copiesOf(alice, messageId)[0]?.folderId ?? '');

    const outcome = await backend.applyAction(
      alice,
      await findOne(backend, alice, '<second@contoso.com>'),
      'quarantine',
    );

    expect(outcome.status).toBe('succeeded');
    const folder = fake.folder(fake.copiesOf(alice, '<second@contoso.com>')[0]?.folderId ?? '');
    expect(folder?.name).toBe('Clawback Quarantine');
    expect(fake.operations().filter((o) => o === 'CreateFolder')).toHaveLength(2);
  });

  it('quarantine (mailbox) imports the MIME with the quarantine header into a folder per recipient, purges the original, and restore re-imports it', async () => {
    const fake = await startFake();
    const projects = fake.addFolder(alice, 'Projects');
    fake.addMessage(alice, { internetMessageId: messageId, folder: projects });
    const backend = backendFor(fake, {
      quarantineTarget: 'mailbox',
      quarantineMailbox: quarantineBox,
      quarantineFolder: 'Clawback',
      folderPerRecipient: true,
    });

    const outcome = await backend.applyAction(alice, await findOne(backend, alice), 'quarantine');

    expect(outcome).toMatchObject({
      status: 'succeeded',
      originalFolder: projects,
      quarantineLocation: `${quarantineBox}/Clawback/${alice}`,
    });
    expect(fake.copiesOf(alice, messageId)).toHaveLength(0);
    const [held] = fake.copiesOf(quarantineBox, messageId);
    expect(fake.folderPath(held?.folderId ?? '')).toBe(`Clawback/${alice}`);
    expect(mimeHeaderLines(held?.mime ?? '')[0]).toMatch(/^X-Clawback-Quarantined: alice@contoso\.com; /);
    expect(held?.isRead).toBe(true);
    expect(fake.requests.find((r) => r.operation === 'CreateItem')?.impersonated).toBe(quarantineBox);

    const again = await backend.findMessages(alice, { internetMessageId: messageId });
    expect(again.items).toEqual([
      expect.objectContaining({ folderName: `${quarantineBox}/Clawback/${alice}` }),
    ]);
    expect((await backend.applyAction(alice, again.items[0] as MailItem, 'quarantine')).status).toBe(
      'alreadyRemediated',
    );

    const restored = await backend.applyAction(alice, again.items[0] as MailItem, 'restore');
    expect(restored).toMatchObject({ status: 'succeeded', originalFolder: projects });
    const [back] = fake.copiesOf(alice, messageId);
    expect(back?.folderId).toBe(projects);
    expect(mimeHeaderLines(back?.mime ?? '')[0]).toMatch(/^X-Clawback-Restored: alice@contoso\.com; /);
    expect(fake.copiesOf(quarantineBox, messageId)).toHaveLength(0);
  });

  it('forward sends to the configured address only once, however often it is redelivered', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, {}, { forwardTo: 'soc@contoso.com' });
    const item = await findOne(backend, alice);

    const first = await backend.applyAction(alice, item, 'forward');
    const second = await backend.applyAction(alice, item, 'forward');

    expect(first.status).toBe('succeeded');
    expect(second.status).toBe('alreadyRemediated');
    expect(fake.sent).toEqual([expect.objectContaining({ from: alice, to: ['soc@contoso.com'] })]);
    expect(fake.copiesOf(alice, messageId)).toHaveLength(1);
  });

  it('a forward the server refused as busy is not marked as sent, so a later attempt still sends it once', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    fake.fail('CreateItem', { kind: 'serverBusy', backOffMs: 1 }, 2);
    const backend = backendFor(fake, {}, { forwardTo: 'soc@contoso.com', maxAttempts: 2 });

    const error = await failureOf(backend.applyAction(alice, await findOne(backend, alice), 'forward'));
    const retried = await backend.applyAction(alice, await findOne(backend, alice), 'forward');

    expect(error.code).toBe('Throttled');
    expect(retried.status).toBe('succeeded');
    expect(fake.sent).toHaveLength(1);
  });

  it('a forward whose outcome is unknown (no answer) is never sent again', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    fake.fail('CreateItem', { kind: 'hang' });
    const backend = backendFor(fake, {}, { forwardTo: 'soc@contoso.com', timeoutMs: 400 });

    const first = await failureOf(backend.applyAction(alice, await findOne(backend, alice), 'forward'));
    const second = await failureOf(backend.applyAction(alice, await findOne(backend, alice), 'forward'));

    expect(first.code).toBe('ConnectionError');
    expect(second.detail).toContain('not confirmed');
    expect(fake.operations().filter((o) => o === 'CreateItem')).toHaveLength(1);
  });

  it('forwardAndDelete forwards and then deletes the copy', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, {}, { forwardTo: 'soc@contoso.com' });

    const outcome = await backend.applyAction(alice, await findOne(backend, alice), 'forwardAndDelete');

    expect(outcome.status).toBe('succeeded');
    expect(fake.sent).toHaveLength(1);
    expect(fake.copiesOf(alice, messageId)[0]?.folderId).toBe(
      fake.folderIdOf(alice, 'recoverableitemsdeletions'),
    );
  });

  it('forward without a configured forwardTo is a ConfigurationError and sends nothing', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake);

    const error = await failureOf(backend.applyAction(alice, await findOne(backend, alice), 'forward'));

    expect(error.code).toBe('ConfigurationError');
    expect(fake.sent).toHaveLength(0);
  });

  it('none changes nothing', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake);
    const before = fake.requests.length;

    const outcome = await backend.applyAction(alice, await findOne(backend, alice), 'none');

    expect(outcome.status).toBe('succeeded');
    expect(
      fake
        .operations()
        .slice(before)
        .every((o) => o === 'FindFolder' || o === 'FindItem'),
    ).toBe(true);
    expect(fake.copiesOf(alice, messageId)[0]?.folderId).toBe(fake.folderIdOf(alice, 'inbox'));
  });
});

describe('EwsMailBackend distribution lists', () => {
  it('expands nested lists into member mailboxes once each, and survives a cycle', async () => {
    const fake = await startFake();
    fake.addDistributionList('all@contoso.com', [
      { address: 'Alice@contoso.com' },
      { address: 'sales@contoso.com', type: 'PublicDL' },
      { address: 'partner@external.example', type: 'Contact' },
    ]);
    fake.addDistributionList('sales@contoso.com', [
      { address: bob },
      { address: 'alice@contoso.com' },
      { address: 'all@contoso.com', type: 'PublicDL' },
    ]);

    const members = await backendFor(fake).expandDistributionList('all@contoso.com');

    expect(members.sort()).toEqual([alice, bob]);
    expect(fake.operations().filter((o) => o === 'ExpandDL')).toHaveLength(2);
  });

  it('an unknown list is an InvalidMailbox', async () => {
    const fake = await startFake();
    const error = await failureOf(backendFor(fake).expandDistributionList('nobody@contoso.com'));
    expect(error.code).toBe('InvalidMailbox');
  });
});

describe('EwsMailBackend authentication', () => {
  it('a wrong password is an AuthenticationError that names the account', async () => {
    const fake = await startFake();
    const backend = backendFor(fake, {}, { secrets: secretsOf({ 'ews-password': 'wrong' }) });

    const error = await failureOf(backend.findMessages(alice, { internetMessageId: messageId }));

    expect(error.code).toBe('AuthenticationError');
    expect(error.detail).toContain('CONTOSO\\svc-clawback');
    expect(error.detail).toContain(fake.host);
    expect(fake.operations()).toEqual(['Unauthorized']);
  });

  it('NTLM completes the challenge handshake with the right domain and user, and never sends the password as Basic', async () => {
    const fake = await startFake({ auth: 'ntlm' });
    fake.addMessage(alice, { internetMessageId: messageId });

    const found = await backendFor(fake, { auth: 'ntlm' }).findMessages(alice, {
      internetMessageId: messageId,
    });

    expect(found.items).toHaveLength(1);
    expect(fake.ntlmLogins[0]).toEqual({ domain: 'CONTOSO', user: 'svc-clawback' });
    expect(fake.requests.every((r) => !String(r.headers.authorization ?? '').startsWith('Basic'))).toBe(true);
  });

  it('NTLM with an account the server does not know is an AuthenticationError', async () => {
    const fake = await startFake({ auth: 'ntlm', username: 'CONTOSO\\someone-else' });
    const error = await failureOf(
      backendFor(fake, { auth: 'ntlm' }).findMessages(alice, { internetMessageId: messageId }),
    );
    expect(error.code).toBe('AuthenticationError');
  });
});

describe('EwsMailBackend error translation', () => {
  it('impersonation refused is a PermissionError pointing at the ApplicationImpersonation role', async () => {
    const fake = await startFake();
    fake.denyImpersonation(alice);
    const error = await failureOf(backendFor(fake).findMessages(alice, { internetMessageId: messageId }));
    expect(error.code).toBe('PermissionError');
    expect(error.detail).toContain('ErrorImpersonateUserDenied');
    expect(error.detail).toContain('ApplicationImpersonation');
  });

  it('full access missing is a PermissionError pointing at the FullAccess permission', async () => {
    const fake = await startFake();
    fake.denyFullAccess(alice);
    const error = await failureOf(
      backendFor(fake, { access: 'fullAccess' }).findMessages(alice, { internetMessageId: messageId }),
    );
    expect(error.code).toBe('PermissionError');
    expect(error.detail).toContain('ErrorAccessDenied');
    expect(error.detail).toContain('FullAccess');
  });

  it.each(['impersonation', 'fullAccess'] as const)(
    'a mailbox that does not exist is an InvalidMailbox (%s)',
    async (access) => {
      const fake = await startFake();
      const error = await failureOf(
        backendFor(fake, { access }).findMessages('ghost@contoso.com', { internetMessageId: messageId }),
      );
      expect(error.code).toBe('InvalidMailbox');
      expect(error.detail).toContain('ghost@contoso.com');
    },
  );

  it('ErrorServerBusy is retried after BackOffMilliseconds and then succeeds', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    fake.fail('FindFolder', { kind: 'serverBusy', backOffMs: 5 }, 2);
    const lines: string[] = [];

    const found = await backendFor(fake, {}, { maxAttempts: 3, log: (l) => lines.push(l) }).findMessages(
      alice,
      { internetMessageId: messageId },
    );

    expect(found.items).toHaveLength(1);
    expect(fake.operations().filter((o) => o === 'FindFolder')).toHaveLength(3);
    expect(lines.filter((l) => l.includes('Throttled') && l.includes('retrying in 5 ms'))).toHaveLength(2);
  });

  it('ErrorServerBusy past the last attempt is Throttled with the server back-off', async () => {
    const fake = await startFake();
    fake.fail('FindFolder', { kind: 'serverBusy', backOffMs: 7 }, 2);
    const error = await failureOf(
      backendFor(fake, {}, { maxAttempts: 2 }).findMessages(alice, { internetMessageId: messageId }),
    );
    expect(error).toMatchObject({ code: 'Throttled', retryable: true, retryAfterMs: 7 });
  });

  it('a back-off longer than the deadline is handed to the caller at once instead of being slept through', async () => {
    const fake = await startFake();
    fake.fail('FindFolder', { kind: 'serverBusy', backOffMs: 297749 });
    const error = await failureOf(
      backendFor(fake, {}, { maxAttempts: 5 }).findMessages(alice, { internetMessageId: messageId }),
    );
    expect(error).toMatchObject({ code: 'Throttled', retryAfterMs: 297749 });
    expect(fake.operations().filter((o) => o === 'FindFolder')).toHaveLength(1);
  });

  it('an HTTP 500 with an empty body ends as a ConnectionError naming the host, not a hang', async () => {
    const fake = await startFake();
    fake.fail('FindFolder', { kind: 'empty500' }, 2);
    const error = await failureOf(
      backendFor(fake, {}, { maxAttempts: 2, timeoutMs: 5000 }).findMessages(alice, {
        internetMessageId: messageId,
      }),
    );
    expect(error).toMatchObject({ code: 'ConnectionError', retryable: true });
    expect(error.detail).toContain(fake.host);
    expect(error.detail).toContain('HTTP 500');
  });

  it('a server that never answers ends as a ConnectionError at the deadline', async () => {
    const fake = await startFake();
    fake.fail('FindFolder', { kind: 'hang' });
    const error = await failureOf(
      backendFor(fake, {}, { maxAttempts: 1, timeoutMs: 300 }).findMessages(alice, {
        internetMessageId: messageId,
      }),
    );
    expect(error).toMatchObject({ code: 'ConnectionError', retryable: true });
    expect(error.detail).toContain(fake.host);
  });

  it('a refused connection is a ConnectionError naming the host', async () => {
    const fake = await startFake();
    const url = fake.url;
    await fake.close();
    servers.splice(servers.indexOf(fake), 1);
    const parsed = ewsProfileSchema.parse({
      name: 'gone',
      type: 'ews',
      ewsUrl: url,
      username: 'u',
      password: { keyVaultSecret: 'ews-password' },
      auth: 'basic',
    });
    const backend = createEwsMailBackend(parsed, {
      secrets: secretsOf({ 'ews-password': 'p' }),
      timeoutSeconds: 15,
      maxAttempts: 2,
      retryDelayMs: 1,
    });

    const error = await failureOf(backend.findMessages(alice, { internetMessageId: messageId }));

    expect(error.code).toBe('ConnectionError');
    expect(error.detail).toContain('ECONNREFUSED');
    expect(error.detail).toContain(new URL(url).host);
  });

  it('a scripted HTTP 401 is an AuthenticationError', async () => {
    const fake = await startFake();
    fake.fail('FindFolder', { kind: 'http', status: 401 });
    const error = await failureOf(backendFor(fake).findMessages(alice, { internetMessageId: messageId }));
    expect(error.code).toBe('AuthenticationError');
  });

  it('ErrorItemNotFound on the action itself counts as already remediated', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake);
    const item = await findOne(backend, alice);
    fake.fail('MoveItem', { kind: 'responseError', code: 'ErrorItemNotFound' });

    const outcome = await backend.applyAction(alice, item, 'moveToJunk');

    expect(outcome.status).toBe('alreadyRemediated');
  });

  it('a password secret that cannot be read is a ConfigurationError', async () => {
    const fake = await startFake();
    const error = await failureOf(
      backendFor(fake, {}, { secrets: secretsOf({}) }).findMessages(alice, { internetMessageId: messageId }),
    );
    expect(error.code).toBe('ConfigurationError');
    expect(fake.requests).toHaveLength(0);
  });
});

describe('EwsMailBackend TLS', () => {
  const pki = createTestPki();

  it('a server certificate from an untrusted CA is a ConnectionError naming the host', async () => {
    const fake = await startFake({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    const error = await failureOf(backendFor(fake).findMessages(alice, { internetMessageId: messageId }));
    expect(error.code).toBe('ConnectionError');
    expect(error.detail).toContain('not trusted');
    expect(error.detail).toContain(fake.host);
    expect(fake.requests).toHaveLength(0);
  });

  it.each(['basic', 'ntlm'] as const)(
    'the profile trustedCa makes a private-CA server reachable (%s), verification still on',
    async (auth) => {
      const fake = await startFake({ tls: { key: pki.serverKey, cert: pki.serverCert }, auth });
      fake.addMessage(alice, { internetMessageId: messageId });
      const backend = backendFor(
        fake,
        { auth, trustedCa: { keyVaultSecret: 'ews-ca' } },
        { secrets: secretsOf({ 'ews-password': 'p@ss', 'ews-ca': pki.caCert }) },
      );

      const found = await backend.findMessages(alice, { internetMessageId: messageId });

      expect(found.items).toHaveLength(1);
    },
  );

  it('a trusted CA that did not issue the server certificate still fails', async () => {
    const other = createTestPki();
    const fake = await startFake({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    const backend = backendFor(
      fake,
      { trustedCa: { keyVaultSecret: 'ews-ca' } },
      { secrets: secretsOf({ 'ews-password': 'p@ss', 'ews-ca': other.caCert }) },
    );
    const error = await failureOf(backend.findMessages(alice, { internetMessageId: messageId }));
    expect(error.code).toBe('ConnectionError');
  });
});
