import { describe, expect, it } from 'vitest';

import type { MailItem, PreviousRemediation } from '../../../../shared/ports/mail.js';
import type { EwsFakeOptions, FakeEwsServer } from '../../../fakes/ewsServer.js';
import {
  failureOf,
  messageId,
  parsedEwsBackendFor as backendFor,
  secretsOf,
  startEwsFakeWith,
} from '../../../support/ewsBackend.js';

const alice = 'alice@contoso.com';
const bob = 'bob@contoso.com';

const startFake = (options: EwsFakeOptions = {}) => startEwsFakeWith(options, alice, bob);

type Handler = (op: unknown, ctx: unknown) => string;

/** Rewrites the fake's ExpandDL answers (the fake always answers with every member). */
function rewriteExpandDl(fake: FakeEwsServer, rewrite: (xml: string) => string): void {
  const handlers = (fake as unknown as { handlers: Record<string, Handler> }).handlers;
  const original = handlers.ExpandDL as Handler;
  handlers.ExpandDL = (op, ctx) => rewrite(original(op, ctx));
}

describe('EwsMailBackend distribution list answers', () => {
  it('logs a list that returned only part of its members, and skips members without an address', async () => {
    const fake = await startFake();
    fake.addDistributionList('all@contoso.com', [{ address: 'Alice@contoso.com' }]);
    rewriteExpandDl(fake, (xml) =>
      xml
        .replace('IncludesLastItemInRange="true"', 'IncludesLastItemInRange="false"')
        .replace(
          '</m:DLExpansion>',
          '<t:Mailbox><t:Name>Room 1</t:Name><t:MailboxType>Mailbox</t:MailboxType></t:Mailbox></m:DLExpansion>',
        ),
    );
    const lines: string[] = [];

    const members = await backendFor(fake, {}, { log: (l) => lines.push(l) }).expandDistributionList(
      'all@contoso.com',
    );

    expect(members).toEqual([alice]);
    expect(lines).toEqual([
      `ews ExpandDL on ${fake.host}: all@contoso.com returned only part of its members`,
    ]);
    expect(fake.operations().filter((o) => o === 'ExpandDL')).toHaveLength(1);
  });

  it('logs nothing for a complete list', async () => {
    const fake = await startFake();
    fake.addDistributionList('all@contoso.com', [{ address: bob }]);
    const lines: string[] = [];

    const members = await backendFor(fake, {}, { log: (l) => lines.push(l) }).expandDistributionList(
      'all@contoso.com',
    );

    expect(members).toEqual([bob]);
    expect(lines).toEqual([]);
  });

  it('names the list in the operation of a retried ExpandDL', async () => {
    const fake = await startFake();
    fake.addDistributionList('all@contoso.com', [{ address: bob }]);
    fake.fail('ExpandDL', { kind: 'serverBusy', backOffMs: 1 });
    const lines: string[] = [];

    await backendFor(fake, {}, { log: (l) => lines.push(l) }).expandDistributionList('all@contoso.com');

    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`ews ExpandDL (all@contoso.com) on ${fake.host} for the service account`);
    expect(fake.operations().filter((o) => o === 'ExpandDL')).toHaveLength(2);
  });
});

describe('EwsMailBackend expandRecipient', () => {
  it('a list with members is a group', async () => {
    const fake = await startFake();
    fake.addDistributionList('all@contoso.com', [{ address: alice }, { address: bob }]);
    const expansion = await backendFor(fake).expandRecipient('all@contoso.com');
    expect(expansion).toEqual({ kind: 'group', members: [alice, bob] });
  });

  it('a list without members is a mailbox', async () => {
    const fake = await startFake();
    fake.addDistributionList('empty@contoso.com', []);
    expect(await backendFor(fake).expandRecipient('empty@contoso.com')).toEqual({ kind: 'mailbox' });
    expect(fake.operations()).toEqual(['ExpandDL']);
  });

  it('an address ExpandDL does not know (InvalidMailbox) is a mailbox', async () => {
    const fake = await startFake();
    expect(await backendFor(fake).expandRecipient(alice)).toEqual({ kind: 'mailbox' });
    expect(fake.operations()).toEqual(['ExpandDL']);
  });

  it.each([
    ['ErrorItemNotFound', 'MessageNotFound'],
    ['ErrorSomethingOdd', 'Unknown'],
  ])('an ExpandDL answered with %s (%s) is a mailbox', async (responseCode) => {
    const fake = await startFake();
    fake.addDistributionList('all@contoso.com', [{ address: bob }]);
    fake.fail('ExpandDL', { kind: 'responseError', code: responseCode });
    expect(await backendFor(fake).expandRecipient('all@contoso.com')).toEqual({ kind: 'mailbox' });
    expect(fake.operations()).toEqual(['ExpandDL']);
  });

  it('any other failure is not hidden', async () => {
    const fake = await startFake();
    fake.addDistributionList('all@contoso.com', [{ address: bob }]);
    const backend = backendFor(fake, {}, { secrets: secretsOf({ 'ews-password': 'wrong' }) });
    const error = await failureOf(backend.expandRecipient('all@contoso.com'));
    expect(error.code).toBe('AuthenticationError');
  });
});

describe('EwsMailBackend testConnection', () => {
  it('answers the root folder id and name of the mailbox', async () => {
    const fake = await startFake();
    const check = await backendFor(fake).testConnection(alice);
    expect(check).toEqual({
      rootFolderId: fake.folderIdOf(alice, 'msgfolderroot'),
      rootFolderName: 'Top of Information Store',
    });
    expect(fake.operations()).toEqual(['GetFolder']);
  });
});

describe('EwsMailBackend restoreMessage', () => {
  const previous: PreviousRemediation = { action: 'moveToJunk' };

  it('no copy left is MessageNotFound naming the message and the mailbox', async () => {
    const fake = await startFake();
    const error = await failureOf(
      backendFor(fake).restoreMessage(alice, { internetMessageId: messageId }, previous),
    );
    expect(error.code).toBe('MessageNotFound');
    expect(error.detail).toBe(`No copy of ${messageId} is left in ${alice} or its quarantine to restore.`);
  });

  it('one moved copy is moved back', async () => {
    const fake = await startFake();
    const projects = fake.addFolder(alice, 'Projects');
    fake.addMessage(alice, { internetMessageId: messageId, folder: projects });
    const backend = backendFor(fake);
    const [item] = (await backend.findMessages(alice, { internetMessageId: messageId })).items;
    await backend.applyAction(alice, item as MailItem, 'moveToJunk');

    const outcome = await backend.restoreMessage(alice, { internetMessageId: messageId }, previous);

    expect(outcome).toEqual({ status: 'succeeded', originalFolder: projects, detail: 'Moved 1 copy back.' });
    expect(fake.copiesOf(alice, messageId).map((c) => c.folderId)).toEqual([projects]);
  });

  it('counts only the copies it moved, and names the folder of a moved one', async () => {
    const fake = await startFake();
    const projects = fake.addFolder(alice, 'Projects');
    fake.addMessage(alice, { internetMessageId: messageId });
    fake.addMessage(alice, { internetMessageId: messageId, folder: projects });
    const backend = backendFor(fake);
    const found = await backend.findMessages(alice, { internetMessageId: messageId });
    const inProjects = found.items.find((i) => i.folderId === projects);
    await backend.applyAction(alice, inProjects as MailItem, 'moveToJunk');

    const outcome = await backend.restoreMessage(alice, { internetMessageId: messageId }, previous);

    expect(outcome).toEqual({ status: 'succeeded', originalFolder: projects, detail: 'Moved 1 copy back.' });
    expect(
      fake
        .copiesOf(alice, messageId)
        .map((c) => c.folderId)
        .sort(),
    ).toEqual([fake.folderIdOf(alice, 'inbox'), projects].sort());
  });

  it('two moved copies are counted as copies', async () => {
    const fake = await startFake();
    const projects = fake.addFolder(alice, 'Projects');
    fake.addMessage(alice, { internetMessageId: messageId, folder: projects });
    fake.addMessage(alice, { internetMessageId: messageId, folder: projects });
    const backend = backendFor(fake);
    for (const item of (await backend.findMessages(alice, { internetMessageId: messageId })).items)
      await backend.applyAction(alice, item, 'moveToJunk');

    const outcome = await backend.restoreMessage(alice, { internetMessageId: messageId }, previous);

    expect(outcome).toEqual({
      status: 'succeeded',
      originalFolder: projects,
      detail: 'Moved 2 copies back.',
    });
    expect(fake.copiesOf(alice, messageId).map((c) => c.folderId)).toEqual([projects, projects]);
  });

  it('copies already in place are alreadyRemediated with their folder', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const before = fake.requests.length;

    const outcome = await backendFor(fake).restoreMessage(alice, { internetMessageId: messageId }, previous);

    expect(outcome).toEqual({
      status: 'alreadyRemediated',
      originalFolder: fake.folderIdOf(alice, 'inbox'),
      detail: 'Every copy was already in its original folder.',
    });
    expect(fake.operations().slice(before)).not.toContain('MoveItem');
  });
});
