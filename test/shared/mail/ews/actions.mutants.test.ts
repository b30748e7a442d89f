import { describe, expect, it } from 'vitest';

import {
  countOf,
  ewsBackendFor,
  findOne,
  messageId,
  rejectionOf as failureOf,
  startEwsFake,
} from '../../../support/ewsBackend.js';

const alice = 'alice@contoso.com';
const soc = 'soc@contoso.com';

const startFake = () => startEwsFake(alice);
const backendFor = ewsBackendFor;

describe('EwsActions outcomes', () => {
  it('none says the copy was found and nothing was done', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake);

    const outcome = await backend.applyAction(alice, await findOne(backend, alice), 'none');

    expect(outcome).toEqual({
      status: 'succeeded',
      originalFolder: fake.folderIdOf(alice, 'inbox'),
      detail: 'Found; no action taken.',
    });
    expect(fake.copiesOf(alice, messageId)).toHaveLength(1);
  });

  it('hardDelete says the purge is not reversible', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake);

    const outcome = await backend.applyAction(alice, await findOne(backend, alice), 'hardDelete');

    expect(outcome).toEqual({
      status: 'succeeded',
      originalFolder: fake.folderIdOf(alice, 'inbox'),
      detail: 'Purged (not reversible).',
    });
    expect(fake.purgedCopiesOf(alice, messageId)).toHaveLength(1);
  });
});

describe('EwsActions forward', () => {
  it('without forwardTo the ConfigurationError says what is missing', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake);
    const item = await findOne(backend, alice);

    const error = await failureOf(backend.applyAction(alice, item, 'forward'));

    expect(error.detail).toBe(
      'The action forwards to the configured forwardTo address, and the configuration has none.',
    );
    expect(fake.sent).toHaveLength(0);
  });

  it('reports the folder the copy is really in, sends the Clawback note, and says where it went', async () => {
    const fake = await startFake();
    const projects = fake.addFolder(alice, 'Projects');
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, {}, { forwardTo: soc });
    const stale = await findOne(backend, alice);
    const copy = fake.copiesOf(alice, messageId)[0];
    if (!copy) throw new Error('no copy');
    copy.folderId = projects;

    const first = await backend.applyAction(alice, stale, 'forward');
    const second = await backend.applyAction(alice, stale, 'forward');

    expect(first).toEqual({ status: 'succeeded', originalFolder: projects, detail: `Forwarded to ${soc}.` });
    expect(second).toEqual({
      status: 'alreadyRemediated',
      originalFolder: projects,
      detail: `Already forwarded to ${soc}.`,
    });
    const forward = fake.requests.find((r) => r.operation === 'CreateItem');
    expect(forward?.body).toContain(`Forwarded by Clawback from the mailbox ${alice}.`);
    expect(fake.sent).toEqual([expect.objectContaining({ from: alice, to: [soc] })]);
  });

  it('forwardAndDelete says it deleted the copy', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, {}, { forwardTo: soc });

    const outcome = await backend.applyAction(alice, await findOne(backend, alice), 'forwardAndDelete');

    expect(outcome.detail).toBe(`Forwarded to ${soc} and deleted.`);
    expect(fake.copiesOf(alice, messageId)[0]?.folderId).toBe(
      fake.folderIdOf(alice, 'recoverableitemsdeletions'),
    );
  });

  it('a failing mark names UpdateItem and sends nothing', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, {}, { forwardTo: soc });
    const item = await findOne(backend, alice);
    fake.fail('UpdateItem', { kind: 'responseError', code: 'ErrorInternalServerError' });

    const error = await failureOf(backend.applyAction(alice, item, 'forward'));

    expect(error.detail).toContain('UpdateItem');
    expect(fake.sent).toHaveLength(0);
  });

  it('a failing send names the ForwardItem request', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(fake, {}, { forwardTo: soc });
    const item = await findOne(backend, alice);
    fake.fail('CreateItem', { kind: 'responseError', code: 'ErrorInternalServerError' });

    const error = await failureOf(backend.applyAction(alice, item, 'forward'));

    expect(error.detail).toContain('CreateItem (ForwardItem)');
    expect(countOf(fake, 'CreateItem')).toBe(1);
    expect(fake.sent).toHaveLength(0);
  });
});
