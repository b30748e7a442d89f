import { InvocationContext } from '@azure/functions';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { remediateMailbox } from '../../functions/remediateMailbox.js';
import type { Services } from '../../shared/composition.js';
import type { ConfigDocumentInput } from '../../shared/config/document.js';
import { ClawbackError } from '../../shared/errors.js';
import { InMemoryQueue } from '../../shared/queue/inMemoryQueue.js';
import type { RemediationMessage } from '../../shared/verdicts/messages.js';
import { InMemoryMailBackend } from '../fakes/inMemoryMailBackend.js';
import { VerdictChangeMother } from '../mothers/verdictChangeMother.js';
import { startHarness, stopHarness } from '../support/harness.js';
import { Pipeline } from '../support/pipeline.js';
import { graphProfile } from '../support/services.js';

let queue: InMemoryQueue;
let services: Services;
let backend: InMemoryMailBackend;
let pipeline: Pipeline;

afterAll(stopHarness);

async function setUp(
  config: Partial<ConfigDocumentInput> = {},
  backends?: Record<string, InMemoryMailBackend>,
): Promise<void> {
  ({ queue, backend, services, pipeline } = await startHarness({
    config: { settings: { maxAttempts: 3 }, ...config },
    backendFor: (profile, _config, own) => backends?.[profile.name] ?? own,
  }));
}
beforeEach(() => setUp());

const context = () =>
  new InvocationContext({ functionName: 'remediateMailbox', logHandler: () => undefined });

const oneRecipient = (recipient = 'alice@contoso.com') =>
  VerdictChangeMother.malicious({
    messages: [{ internetMessageId: '<m1@mail.example.com>', recipients: [recipient] }],
  });

describe('remediateMailbox', () => {
  it('applies the action, records succeeded with profile, backend, folder and attempts, and completes the verdict', async () => {
    backend.deliver('alice@contoso.com', '<m1@mail.example.com>');
    const { verdictId, messages } = await pipeline.fanOut(oneRecipient());
    await remediateMailbox(messages[0], context());

    expect(await pipeline.row(verdictId, messages[0])).toMatchObject({
      status: 'succeeded',
      profile: 'contoso-online',
      backend: 'graph',
      attempts: 1,
      originalFolder: 'inbox',
      action: 'softDelete',
    });
    expect(backend.items('alice@contoso.com')[0]?.folderId).toBe('recoverableitemsdeletions');
    await pipeline.check();
    const verdict = await services.store.getVerdict(verdictId);
    expect(verdict).toMatchObject({ status: 'completed', succeeded: 1, failed: 0, notFound: 0, done: 1 });
    expect(verdict?.completedAt).toBeTruthy();
  });

  it('does nothing a second time when the same message is redelivered after it succeeded', async () => {
    backend.deliver('alice@contoso.com', '<m1@mail.example.com>');
    const { verdictId, messages } = await pipeline.fanOut(oneRecipient());
    await remediateMailbox(messages[0], context());
    await remediateMailbox(messages[0], context());
    expect(await pipeline.rows(verdictId)).toHaveLength(1);
    expect(backend.actions).toHaveLength(1);
    // A first message holds its row by the creation ETag without reading it, so its redelivery
    // searches once more (read-only) before its refused write sends it to read the row, finished.
    expect(backend.finds).toHaveLength(2);
    await pipeline.check();
    expect((await services.store.getVerdict(verdictId))?.succeeded).toBe(1);
  });

  it("keeps the backend's remark about the action in the row's detail", async () => {
    backend.deliver('alice@contoso.com', '<m1@mail.example.com>');
    backend.actionNote = 'Exchange stores a MIME import as a draft.';
    const { verdictId, messages } = await pipeline.fanOut(oneRecipient());
    await remediateMailbox(messages[0], context());
    expect((await pipeline.row(verdictId, messages[0])).detail).toBe(
      'Applied softDelete to 1 of 1 copy. Exchange stores a MIME import as a draft.',
    );
  });

  it('acts on every copy in the mailbox', async () => {
    backend
      .deliver('alice@contoso.com', '<m1@mail.example.com>')
      .deliver('alice@contoso.com', '<m1@mail.example.com>', 'Invoices');
    const { verdictId, messages } = await pipeline.fanOut(oneRecipient());
    await remediateMailbox(messages[0], context());
    expect(backend.actions).toHaveLength(2);
    expect((await pipeline.row(verdictId, messages[0])).originalFolder).toBe('inbox; Invoices');
  });

  it('records notFound with reason MessageNotFound when the mailbox has no copy', async () => {
    backend.deliver('alice@contoso.com', '<other@mail.example.com>');
    const { verdictId, messages } = await pipeline.fanOut(oneRecipient());
    await remediateMailbox(messages[0], context());
    expect(await pipeline.row(verdictId, messages[0])).toMatchObject({
      status: 'notFound',
      reason: 'MessageNotFound',
    });
    await pipeline.check();
    expect(await services.store.getVerdict(verdictId)).toMatchObject({ notFound: 1, status: 'completed' });
  });

  it('records alreadyRemediated when every copy is already where the action puts it', async () => {
    await setUp({ policies: [{ verdict: 'malicious', action: 'moveToJunk' }] });
    backend.deliver('alice@contoso.com', '<m1@mail.example.com>', 'junkemail');
    const { verdictId, messages } = await pipeline.fanOut(oneRecipient());
    await remediateMailbox(messages[0], context());
    expect((await pipeline.row(verdictId, messages[0])).status).toBe('alreadyRemediated');
  });

  it('in simulate mode finds the copies, changes nothing and records simulated', async () => {
    await setUp({ policies: [{ verdict: 'malicious', action: 'hardDelete', mode: 'simulate' }] });
    backend.deliver('alice@contoso.com', '<m1@mail.example.com>');
    const { verdictId, messages } = await pipeline.fanOut(oneRecipient());
    await remediateMailbox(messages[0], context());
    expect(await pipeline.row(verdictId, messages[0])).toMatchObject({ status: 'simulated' });
    expect((await pipeline.row(verdictId, messages[0])).detail).toMatch(/Would apply hardDelete to 1 copy/);
    expect(backend.actions).toHaveLength(0);
  });

  it('fails a recipient whose domain has no profile with NoProfileMapped and an actionable detail', async () => {
    const { verdictId, messages } = await pipeline.fanOut(oneRecipient('eve@unmapped.example'));
    await remediateMailbox(messages[0], context());
    const r = await pipeline.row(verdictId, messages[0]);
    expect(r).toMatchObject({ status: 'failed', reason: 'NoProfileMapped' });
    expect(r.detail).toMatch(/unmapped\.example/);
    await pipeline.check();
    expect(await services.store.getVerdict(verdictId)).toMatchObject({
      failed: 1,
      status: 'completedWithFailures',
    });
  });

  it('records a permanent failure at once with its reason and detail', async () => {
    backend.deliver('alice@contoso.com', '<m1@mail.example.com>');
    backend.failNext(
      'alice@contoso.com',
      new ClawbackError('PermissionError', 'The app lacks Mail.ReadWrite.'),
    );
    const { verdictId, messages } = await pipeline.fanOut(oneRecipient());
    await remediateMailbox(messages[0], context());
    expect(await pipeline.row(verdictId, messages[0])).toMatchObject({
      status: 'failed',
      reason: 'PermissionError',
      detail: 'The app lacks Mail.ReadWrite.',
      attempts: 1,
    });
    expect(queue.stats('remediations').scheduled).toBe(0);
  });

  it('schedules the next attempt after Retry-After on a transient failure and succeeds on it', async () => {
    backend.deliver('alice@contoso.com', '<m1@mail.example.com>');
    backend.failNext(
      'alice@contoso.com',
      new ClawbackError('Throttled', 'Graph answered 429.', { retryable: true, retryAfterMs: 5 }),
    );
    const { verdictId, messages } = await pipeline.fanOut(oneRecipient());
    await remediateMailbox(messages[0], context());
    expect(await pipeline.row(verdictId, messages[0])).toMatchObject({
      status: 'pending',
      reason: 'Throttled',
      attempts: 1,
    });

    const [retry] = await pipeline.drain();
    expect(retry).toMatchObject({ attempt: 2, rowKey: messages[0]!.rowKey });
    await remediateMailbox(retry, context());
    expect(await pipeline.row(verdictId, messages[0])).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  it('ignores a stale redelivery of an attempt whose retry is already scheduled', async () => {
    backend.deliver('alice@contoso.com', '<m1@mail.example.com>');
    backend.failNext(
      'alice@contoso.com',
      new ClawbackError('ConnectionError', 'reset', { retryable: true, retryAfterMs: 5 }),
    );
    const { verdictId, messages } = await pipeline.fanOut(oneRecipient());
    await remediateMailbox(messages[0], context());
    await remediateMailbox(messages[0], context());
    // The stale delivery searched (read-only: its first write was refused) and acted on nothing; the
    // row still waits for its scheduled retry.
    expect(backend.finds).toHaveLength(2);
    expect(backend.actions).toHaveLength(0);
    expect((await pipeline.row(verdictId, messages[0])).status).toBe('pending');
  });

  it('gives up after maxAttempts while throttled and records Throttled', async () => {
    backend.deliver('alice@contoso.com', '<m1@mail.example.com>');
    const throttled = () =>
      new ClawbackError('Throttled', 'Graph answered 429.', { retryable: true, retryAfterMs: 1 });
    backend.failNext('alice@contoso.com', throttled(), throttled(), throttled());
    const { verdictId, messages } = await pipeline.fanOut(oneRecipient());
    let next: RemediationMessage | undefined = messages[0];
    while (next) {
      await remediateMailbox(next, context());
      next = (await pipeline.drain())[0];
    }
    const r = await pipeline.row(verdictId, messages[0]);
    expect(r).toMatchObject({ status: 'failed', reason: 'Throttled', attempts: 3 });
    expect(r.detail).toMatch(/Gave up after 3 attempts/);
  });

  it('in a chain, moves on when the first profile has no such mailbox and records the profile that handled it', async () => {
    const online = new InMemoryMailBackend('graph');
    const onprem = new InMemoryMailBackend('ews').deliver('alice@contoso.com', '<m1@mail.example.com>');
    await setUp(
      {
        profiles: [graphProfile('contoso-online'), graphProfile('contoso-second')],
        chains: [{ name: 'hybrid', profiles: ['contoso-online', 'contoso-second'] }],
        domains: { 'contoso.com': 'hybrid' },
      },
      { 'contoso-online': online, 'contoso-second': onprem },
    );
    const { verdictId, messages } = await pipeline.fanOut(oneRecipient());
    await remediateMailbox(messages[0], context());
    expect(await pipeline.row(verdictId, messages[0])).toMatchObject({
      status: 'succeeded',
      profile: 'contoso-second',
      backend: 'ews',
    });
    expect(online.finds).toEqual(['alice@contoso.com']);
  });

  it('counts each of many concurrent completions exactly once', async () => {
    const recipients = Array.from({ length: 20 }, (_, i) => `u${i}@contoso.com`);
    for (const r of recipients) backend.deliver(r, '<m1@mail.example.com>');
    const { verdictId, messages } = await pipeline.fanOut(
      VerdictChangeMother.malicious({
        messages: [{ internetMessageId: '<m1@mail.example.com>', recipients }],
      }),
    );
    await Promise.all(messages.map((m) => remediateMailbox(m, context())));
    await pipeline.check();
    expect(await services.store.getVerdict(verdictId)).toMatchObject({
      succeeded: 20,
      done: 20,
      recipients: 20,
      status: 'completed',
    });
  });
});
