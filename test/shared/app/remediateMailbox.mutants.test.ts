import { afterEach, describe, expect, it, vi } from 'vitest';

import {
  remediateMailbox,
  type RemediateMailboxDeps,
  reschedulesAfterException,
} from '../../../shared/app/remediateMailbox.js';
import { SimulatedCrash } from '../../../shared/chaos/crash.js';
import { ClawbackError } from '../../../shared/errors.js';
import type { OutgoingMessage } from '../../../shared/ports/queue.js';
import { emptyCounts, type RemediationRecord } from '../../../shared/ports/results.js';
import { InMemoryResultStore } from '../../../shared/results/memory/inMemoryResultStore.js';
import { remediationRowKey } from '../../../shared/verdicts/ids.js';
import type { RemediationMessage } from '../../../shared/verdicts/messages.js';
import { InMemoryMailBackend } from '../../fakes/inMemoryMailBackend.js';
import { configDocument } from '../../support/services.js';

const now = new Date('2026-11-30T09:00:00.000Z');
const verdictId = '8235000000000-0123456789';
const messageId = '<m1@mail.example.com>';

const message = (
  recipient = 'alice@contoso.com',
  extra: Partial<RemediationMessage> = {},
): RemediationMessage => ({
  verdictId,
  rowKey: remediationRowKey(recipient, messageId),
  recipient,
  internetMessageId: messageId,
  verdict: 'malicious',
  action: 'softDelete',
  mode: 'enforce',
  threatKey: 'a'.repeat(64),
  attempt: 1,
  ...extra,
});

/** What a row read that keeps throwing becomes once the storage retries give up. */
const detail = 'Unexpected error: Table Storage kept failing: Unexpected error: boom';

const id = (m: RemediationMessage) => `${m.verdictId}|${m.rowKey}|${m.attempt}`;

async function setUp(options: { row?: Partial<RemediationRecord>; recipient?: string } = {}) {
  const recipient = options.recipient ?? 'alice@contoso.com';
  const store = new InMemoryResultStore();
  await store.createVerdict({
    verdictId,
    source: 'soar',
    eventId: 'evt-1',
    verdict: 'malicious',
    action: 'softDelete',
    mode: 'enforce',
    status: 'fannedOut',
    recipients: 1,
    ...emptyCounts(),
    done: 0,
    receivedAt: now.toISOString(),
  });
  await store.createRemediations([
    {
      verdictId,
      rowKey: remediationRowKey(recipient, messageId),
      recipient,
      internetMessageId: messageId,
      action: 'softDelete',
      status: 'pending',
      attempts: 0,
      updatedAt: now.toISOString(),
      ...options.row,
    },
  ]);
  const backend = new InMemoryMailBackend().deliver('alice@contoso.com', messageId);
  const sent: OutgoingMessage[] = [];
  const log: string[] = [];
  const deps: RemediateMailboxDeps = {
    store,
    config: configDocument(),
    backendFor: () => backend,
    send: (messages) => {
      sent.push(...messages);
      return Promise.resolve();
    },
    log: (line) => log.push(line),
    now: () => now,
  };
  const row = async () =>
    (await store.getRemediation(verdictId, remediationRowKey(recipient, messageId)))?.value;
  return { store, backend, sent, log, deps, row };
}

const once = { deliveryCount: 1, maxDeliveryCount: 10 };

afterEach(() => vi.restoreAllMocks());

describe('remediateMailbox', () => {
  it('remediates the copy and sends nothing more', async () => {
    const { backend, sent, deps, row } = await setUp();

    expect(await remediateMailbox(message(), { ...once, owner: 'inv-1' }, deps)).toEqual({
      kind: 'done',
      status: 'succeeded',
    });
    expect(backend.actions.map((a) => [a.mailbox, a.action])).toEqual([['alice@contoso.com', 'softDelete']]);
    expect(await row()).toMatchObject({ status: 'succeeded', updatedAt: now.toISOString() });
    expect(sent).toEqual([]);
  });

  it('a row leased by another delivery comes back just after the lease, under one id per lease', async () => {
    const until = new Date(now.getTime() + 60_000);
    const { backend, sent, log, deps } = await setUp({
      row: { status: 'inProgress', leaseOwner: 'inv-other', leaseExpiresAt: until.toISOString() },
    });
    const m = message('alice@contoso.com', { failures: 3 });

    const result = await remediateMailbox(m, once, deps);
    expect(result).toMatchObject({ kind: 'deferred', until });
    expect(backend.actions).toEqual([]);
    expect(sent).toEqual([
      {
        body: { ...m, failures: 0 },
        messageId: `${id(m)}|after|${until.getTime()}`,
        sessionId: 'alice@contoso.com',
        scheduledEnqueueTime: new Date(until.getTime() + 250),
      },
    ]);
    expect(log).toEqual([
      `remediation deferred verdict=${verdictId} row=${m.rowKey}: ${result.kind === 'deferred' ? result.why : ''}`,
    ]);
  });

  it('the delivery named on the lease carries on with its own row', async () => {
    const until = new Date(now.getTime() + 60_000);
    const { deps } = await setUp({
      row: { status: 'inProgress', leaseOwner: 'inv-1', leaseExpiresAt: until.toISOString() },
    });
    expect(await remediateMailbox(message(), { ...once, owner: 'inv-1' }, deps)).toMatchObject({
      kind: 'done',
    });
  });

  it('a transient mailbox failure is retried through a scheduled message of the next attempt', async () => {
    const { backend, sent, deps, row } = await setUp();
    backend.failNext('alice@contoso.com', new ClawbackError('ConnectionError', 'reset', { retryable: true }));

    expect(await remediateMailbox(message(), once, deps)).toMatchObject({ kind: 'retry' });
    const next = { ...message(), attempt: 2 };
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ body: next, messageId: id(next), sessionId: 'alice@contoso.com' });
    expect(sent[0]?.scheduledEnqueueTime?.getTime()).toBeGreaterThan(now.getTime());
    expect(await row()).toMatchObject({ status: 'pending' });
  });

  it('passes its hooks on: the clock, the log, forwards to follow, crash points and the lease length', async () => {
    const { deps, log, row } = await setUp();
    const followed: string[] = [];
    const points: string[] = [];
    deps.followForwards = (copy) => {
      followed.push(copy.message.recipient);
      return Promise.resolve(0);
    };
    deps.crash = (point) => {
      points.push(point);
    };
    const profile = configDocument().profiles[0];
    deps.config = configDocument({
      profiles: [{ ...profile!, followForwards: true }],
    });

    expect(await remediateMailbox(message(), once, deps)).toMatchObject({
      kind: 'done',
      status: 'succeeded',
    });
    expect(followed).toEqual(['alice@contoso.com']);
    expect(points).toEqual(['afterClaim', 'afterIntent', 'afterAction', 'afterRecord']);
    expect((await row())?.updatedAt).toBe(now.toISOString());
    expect(log.length).toBeGreaterThan(0);

    const leased = await setUp();
    leased.deps.leaseMs = 1234;
    leased.deps.crash = (point) => {
      if (point === 'afterClaim') throw new SimulatedCrash('died after the claim');
    };
    await expect(remediateMailbox(message(), { ...once, owner: 'inv-9' }, leased.deps)).rejects.toThrow(
      'died after the claim',
    );
    expect(await leased.row()).toMatchObject({
      leaseOwner: 'inv-9',
      leaseExpiresAt: new Date(now.getTime() + 1234).toISOString(),
    });
    expect(leased.sent).toEqual([]);
  });

  it('expands a group address through the hook it is given, and without one reports an invalid mailbox', async () => {
    const group = 'team@contoso.com';
    const withHook = await setUp({ recipient: group });
    withHook.backend.group(group, ['bob@contoso.com', 'carol@contoso.com']);
    const expanded: string[][] = [];
    withHook.deps.expandGroup = (members) => {
      expanded.push(members);
      return Promise.resolve(members.length);
    };
    await remediateMailbox(message(group), once, withHook.deps);
    expect(expanded).toEqual([['bob@contoso.com', 'carol@contoso.com']]);

    const without = await setUp({ recipient: group });
    without.backend.group(group, ['bob@contoso.com']);
    expect(await remediateMailbox(message(group), once, without.deps)).toEqual({
      kind: 'done',
      status: 'failed',
    });
    expect(await without.row()).toMatchObject({ reason: 'InvalidMailbox' });
  });

  it('an exception is rescheduled with a doubling backoff, jittered around it', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { store, sent, log, deps } = await setUp();
    store.getRemediation = () => Promise.reject(new TypeError('boom'));

    const delays: number[] = [];
    for (let failures = 0; failures < reschedulesAfterException - 1; failures++) {
      const m = message('alice@contoso.com', failures === 0 ? {} : { failures });
      const result = await remediateMailbox(m, once, deps);
      expect(result).toMatchObject({ kind: 'rescheduled', error: detail });
      delays.push(result.kind === 'rescheduled' ? result.delayMs : -1);
      expect(sent.at(-1)).toEqual({
        body: { ...m, failures: failures + 1 },
        messageId: `${id(m)}|failure|${failures + 1}`,
        sessionId: 'alice@contoso.com',
        scheduledEnqueueTime: new Date(now.getTime() + delays.at(-1)!),
      });
      expect(log.at(-1)).toBe(
        `remediation rescheduled verdict=${verdictId} row=${m.rowKey} failure=${failures + 1} delayMs=${delays.at(-1)}: ${detail}`,
      );
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000]);

    vi.spyOn(Math, 'random').mockReturnValue(0);
    expect(await remediateMailbox(message(), once, deps)).toMatchObject({ delayMs: 800 });
    vi.spyOn(Math, 'random').mockReturnValue(1);
    expect(await remediateMailbox(message(), once, deps)).toMatchObject({ delayMs: 1200 });
  });

  it('once the reschedules are used up, the last delivery marks the verdict deadLettered and rethrows', async () => {
    const { store, sent, deps } = await setUp();
    store.getRemediation = () => Promise.reject(new TypeError('boom'));
    const spent = message('alice@contoso.com', { failures: reschedulesAfterException - 1 });

    await expect(remediateMailbox(spent, { deliveryCount: 9, maxDeliveryCount: 10 }, deps)).rejects.toThrow(
      'boom',
    );
    expect((await store.getVerdict(verdictId))?.status).toBe('fannedOut');
    await expect(remediateMailbox(spent, { deliveryCount: 10, maxDeliveryCount: 10 }, deps)).rejects.toThrow(
      'boom',
    );
    expect(sent).toEqual([]);
    expect(await store.getVerdict(verdictId)).toMatchObject({
      status: 'deadLettered',
      note: `Remediation of alice@contoso.com (row ${spent.rowKey}) gave up after ${reschedulesAfterException} failed attempts and 10 deliveries: ${detail} The message is in the remediations dead-letter queue; replay it with the CLI once the cause is fixed.`,
    });
  });

  it('a reschedule the queue refuses leaves the delivery to the queue; a dead-letter mark that fails is logged', async () => {
    const { store, log, deps } = await setUp();
    store.getRemediation = () => Promise.reject(new TypeError('boom'));
    store.readVerdict = () => Promise.reject(new Error('table down'));
    deps.send = () => Promise.reject(new Error('Service Bus down'));

    await expect(
      remediateMailbox(message(), { deliveryCount: 10, maxDeliveryCount: 10 }, deps),
    ).rejects.toThrow('boom');
    expect(log).toEqual([
      'remediation could not be rescheduled (Service Bus down); the queue redelivers it',
      `could not mark verdict ${verdictId} dead-lettered: table down`,
    ]);
  });

  it('lets a simulated crash through untouched, as a dead worker would', async () => {
    const { store, sent, deps } = await setUp();
    store.getRemediation = () => Promise.reject(new SimulatedCrash('gone'));
    await expect(
      remediateMailbox(message(), { deliveryCount: 10, maxDeliveryCount: 10 }, deps),
    ).rejects.toThrow('gone');
    expect(sent).toEqual([]);
    expect((await store.getVerdict(verdictId))?.status).toBe('fannedOut');
  });
});
