import { describe, expect, it } from 'vitest';

import {
  markDeadLettered,
  maxDeadLetterNoteLength,
  remediateMailbox,
  type RemediateMailboxDeps,
  reschedulesAfterException,
} from '../../../shared/app/remediateMailbox.js';
import { emptyCounts, type VerdictStatus } from '../../../shared/ports/results.js';
import { InMemoryResultStore } from '../../../shared/results/memory/inMemoryResultStore.js';
import { remediationRowKey } from '../../../shared/verdicts/ids.js';
import type { RemediationMessage } from '../../../shared/verdicts/messages.js';
import { configDocument } from '../../support/services.js';

const verdictId = '8235000000000-0123456789';
const messageId = '<m1@mail.example.com>';

const message = (recipient: string): RemediationMessage => ({
  verdictId,
  rowKey: remediationRowKey(recipient, messageId),
  recipient,
  internetMessageId: messageId,
  verdict: 'malicious',
  action: 'softDelete',
  mode: 'enforce',
  threatKey: 'a'.repeat(64),
  attempt: 1,
  // The last of its reschedules: the next exception goes back to the queue.
  failures: reschedulesAfterException - 1,
});

/** A verdict in `status` whose row reads keep throwing, so every delivery ends in an exception. */
async function setUp(status: VerdictStatus = 'fannedOut', note?: string) {
  const store = new InMemoryResultStore();
  await store.createVerdict({
    verdictId,
    source: 'soar',
    eventId: 'evt-1',
    verdict: 'malicious',
    action: 'softDelete',
    mode: 'enforce',
    status,
    ...(note === undefined ? {} : { note }),
    recipients: 2,
    ...emptyCounts(),
    done: 0,
    receivedAt: '2026-11-30T09:00:00.000Z',
  });
  store.getRemediation = () => Promise.reject(new TypeError('boom'));
  const log: string[] = [];
  const deps: RemediateMailboxDeps = {
    store,
    config: configDocument(),
    backendFor: () => {
      throw new Error('no mailbox call expected');
    },
    send: () => Promise.reject(new Error('no message expected')),
    log: (line) => log.push(line),
  };
  return { store, log, deps };
}

const lastDelivery = { deliveryCount: 10, maxDeliveryCount: 10 };

describe('marking a verdict dead-lettered', () => {
  it('keeps the note of every row that gave up, when their last deliveries race', async () => {
    const { store, deps } = await setUp();

    const results = await Promise.allSettled([
      remediateMailbox(message('alice@contoso.com'), lastDelivery, deps),
      remediateMailbox(message('bob@contoso.com'), lastDelivery, deps),
    ]);

    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const verdict = await store.getVerdict(verdictId);
    expect(verdict?.status).toBe('deadLettered');
    const notes = verdict?.note?.split(' | ') ?? [];
    expect(notes).toHaveLength(2);
    expect(notes.some((n) => n.startsWith('Remediation of alice@contoso.com '))).toBe(true);
    expect(notes.some((n) => n.startsWith('Remediation of bob@contoso.com '))).toBe(true);
  });

  it('leaves a verdict that another delivery completed meanwhile as it is, and says so', async () => {
    for (const status of ['completed', 'completedWithFailures', 'awaitingApproval', 'rejected'] as const) {
      const { store, log, deps } = await setUp(status);

      await expect(remediateMailbox(message('alice@contoso.com'), lastDelivery, deps)).rejects.toThrow();

      const verdict = await store.getVerdict(verdictId);
      expect(verdict?.status).toBe(status);
      expect(verdict?.note).toBeUndefined();
      expect(log.at(-1)).toBe(
        `verdict ${verdictId} is already ${status}; a row that gave up does not change it`,
      );
    }
  });

  it('marks a verdict that is still accepted (its fan-out not yet recorded)', async () => {
    const { store, deps } = await setUp('accepted');
    await expect(remediateMailbox(message('alice@contoso.com'), lastDelivery, deps)).rejects.toThrow();
    expect((await store.getVerdict(verdictId))?.status).toBe('deadLettered');
  });

  it('does not repeat a note already there (the same row giving up again after a replay)', async () => {
    const { store, deps } = await setUp();
    const alice = message('alice@contoso.com');
    await expect(remediateMailbox(alice, lastDelivery, deps)).rejects.toThrow();
    const first = (await store.getVerdict(verdictId))?.note;

    await expect(remediateMailbox(alice, lastDelivery, deps)).rejects.toThrow();

    expect(first).toMatch(/^Remediation of alice@contoso\.com .*dead-letter queue/);
    expect((await store.getVerdict(verdictId))?.note).toBe(first);
  });

  it('caps the collected notes at the longest note a verdict keeps', async () => {
    const { store } = await setUp();
    const long = 'x'.repeat(maxDeadLetterNoteLength - 10);
    await markDeadLettered(store, verdictId, long, () => undefined);
    await markDeadLettered(store, verdictId, 'the second row gave up', () => undefined);

    const note = (await store.getVerdict(verdictId))?.note ?? '';
    expect(note).toHaveLength(maxDeadLetterNoteLength);
    expect(note.startsWith(`${long} | the s`)).toBe(true);
    expect(note.endsWith('…')).toBe(true);
  });

  it('replaces the note of a verdict not yet dead-lettered: only dead-letter notes are collected', async () => {
    const { store } = await setUp('fannedOut', 'fan-out: 2 recipients outside every profile');
    await markDeadLettered(store, verdictId, 'alice gave up', () => undefined);
    expect(await store.getVerdict(verdictId)).toMatchObject({
      status: 'deadLettered',
      note: 'alice gave up',
    });
  });

  it('keeps a note of exactly the longest length whole, with no ellipsis', async () => {
    const { store } = await setUp();
    const exact = 'y'.repeat(maxDeadLetterNoteLength);
    await markDeadLettered(store, verdictId, exact, () => undefined);
    expect((await store.getVerdict(verdictId))?.note).toBe(exact);
  });

  it('creates no verdict row for a verdict that is not recorded', async () => {
    const store = new InMemoryResultStore();
    const log: string[] = [];
    await markDeadLettered(store, verdictId, 'gave up', (line) => log.push(line));
    expect(await store.getVerdict(verdictId)).toBeUndefined();
    expect(log).toEqual([`verdict ${verdictId} is not recorded; it cannot be marked dead-lettered`]);
  });

  it('reads again when the verdict changed under it, and gives up after three tries', async () => {
    const { store } = await setUp();
    let updates = 0;
    let reads = 0;
    const changing = {
      readVerdict: (id: string) => {
        reads += 1;
        return store.readVerdict(id);
      },
      updateVerdict: () => {
        updates += 1;
        return Promise.resolve(false);
      },
    };
    const log: string[] = [];
    await markDeadLettered(changing, verdictId, 'gave up', (line) => log.push(line));
    expect({ reads, updates }).toEqual({ reads: 3, updates: 3 });
    expect(log).toEqual([
      `could not mark verdict ${verdictId} dead-lettered: it changed on every one of 3 attempts`,
    ]);

    // A change between the read and the write, once: the second try lands.
    let refused = false;
    const once = {
      readVerdict: (id: string) => store.readVerdict(id),
      updateVerdict: (...args: Parameters<InMemoryResultStore['updateVerdict']>) => {
        if (!refused) {
          refused = true;
          return Promise.resolve(false);
        }
        return store.updateVerdict(...args);
      },
    };
    await markDeadLettered(once, verdictId, 'gave up', () => undefined);
    expect(await store.getVerdict(verdictId)).toMatchObject({ status: 'deadLettered', note: 'gave up' });
  });
});
