import { AsyncLocalStorage } from 'node:async_hooks';

import { InvocationContext } from '@azure/functions';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { fanOutVerdict } from '../../functions/fanOutVerdict.js';
import { remediateMailbox } from '../../functions/remediateMailbox.js';
import { type Services, useServices } from '../../shared/composition.js';
import type {
  RemediationPatch,
  RemediationRecord,
  ResultStore,
  VerdictPatch,
} from '../../shared/ports/results.js';
import { InMemoryQueue } from '../../shared/queue/inMemoryQueue.js';
import type { RemediationMessage, VerdictMessage } from '../../shared/verdicts/messages.js';
import { verdictChangeSchema } from '../../shared/verdicts/schema.js';
import { InMemoryMailBackend } from '../fakes/inMemoryMailBackend.js';
import { VerdictChangeMother } from '../mothers/verdictChangeMother.js';
import { startHarness, stopHarness } from '../support/harness.js';
import { Pipeline } from '../support/pipeline.js';

let queue: InMemoryQueue;
let services: Services;
let backend: InMemoryMailBackend;
let pipeline: Pipeline;
let sequence = 0;

beforeEach(async () => {
  ({ queue, backend, services, pipeline } = await startHarness());
});
afterAll(stopHarness);

function verdictMessage(change: Record<string, unknown>): VerdictMessage {
  sequence += 1;
  return {
    verdictId: `${String(9_000_000_000_000 - sequence).padStart(13, '0')}-abcdef0123`,
    acceptedAt: new Date().toISOString(),
    change: verdictChangeSchema.parse(change),
  };
}

const context = () => new InvocationContext({ functionName: 'fanOutVerdict', logHandler: () => undefined });

async function allRows(verdictId: string): Promise<RemediationRecord[]> {
  const rows: RemediationRecord[] = [];
  let token: string | undefined;
  do {
    const page = await services.store.listRemediations(verdictId, {
      pageSize: 1000,
      continuationToken: token,
    });
    rows.push(...page.items);
    token = page.continuationToken;
  } while (token);
  return rows;
}

/** The counts the verdict row should show: the rows themselves, grouped by status. */
async function countsOfRows(verdictId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const row of await allRows(verdictId)) counts[row.status] = (counts[row.status] ?? 0) + 1;
  return counts;
}

/**
 * Wraps the store so the test sees every successful transition of a verdict out of `fannedOut`, and
 * can make a write "crash" after it has been stored (the handler throws; the message comes back).
 */
function watchStore(options: {
  crashAfterRowWrite?: (patch: RemediationPatch) => boolean;
  crashAfterVerdictWrite?: (patch: VerdictPatch) => boolean;
  opsPerCall?: AsyncLocalStorage<{ ops: number }>;
}): { completions: VerdictPatch[] } {
  const store = services.store;
  const completions: VerdictPatch[] = [];
  const counted = new Proxy(store, {
    get(target, name: keyof ResultStore) {
      return async (...args: unknown[]) => {
        const calls = options.opsPerCall?.getStore();
        if (calls) calls.ops += 1;
        const result = await (target[name] as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (name === 'updateVerdict' && result === true) {
          const patch = args[0] as VerdictPatch;
          if (patch.status?.startsWith('completed')) completions.push(patch);
          if (options.crashAfterVerdictWrite?.(patch)) throw new Error('crash after the verdict write');
        }
        if (name === 'updateRemediation' && options.crashAfterRowWrite?.(args[2] as RemediationPatch))
          throw new Error('crash after the row write');
        return result;
      };
    },
  });
  services = { ...services, store: counted };
  useServices(services);
  return { completions };
}

describe('fanOutVerdict', () => {
  it('writes exactly one pending row and one remediations message per (recipient, message), with the mailbox as session id', async () => {
    const message = verdictMessage(VerdictChangeMother.withRecipients(4, 3));
    await fanOutVerdict(message, context());

    const rows = await allRows(message.verdictId);
    expect(rows).toHaveLength(12);
    expect(rows.every((r) => r.status === 'pending' && r.action === 'softDelete' && r.attempts === 0)).toBe(
      true,
    );
    expect(new Set(rows.map((r) => r.rowKey)).size).toBe(12);
    expect(queue.stats('remediations').active).toBe(12);

    const delivered: { sessionId: string | undefined; body: RemediationMessage }[] = [];
    const processor = queue.process(
      'remediations',
      (m) => {
        delivered.push({ sessionId: m.sessionId, body: m.body as RemediationMessage });
        return Promise.resolve();
      },
      { sessions: true },
    );
    await queue.idle();
    await processor.stop();
    expect(delivered).toHaveLength(12);
    for (const d of delivered) expect(d.sessionId).toBe(d.body.recipient);
    expect(new Set(delivered.map((d) => `${d.body.recipient} ${d.body.internetMessageId}`)).size).toBe(12);

    const verdict = await services.store.getVerdict(message.verdictId);
    expect(verdict).toMatchObject({
      status: 'fannedOut',
      recipients: 12,
      action: 'softDelete',
      mode: 'enforce',
    });
  });

  it('creates no second row and no second message when the verdicts message is redelivered', async () => {
    const message = verdictMessage(VerdictChangeMother.withRecipients(4, 3));
    await fanOutVerdict(message, context());
    await fanOutVerdict(message, context());
    expect(await allRows(message.verdictId)).toHaveLength(12);
    expect(queue.stats('remediations').active).toBe(12);
    expect((await services.store.getVerdict(message.verdictId))?.recipients).toBe(12);
    expect(await pipeline.checks()).toHaveLength(1);
  });

  it('walks a 10,000-recipient campaign in batches: no write or send holds more than the batch size', async () => {
    const rowBatches: number[] = [];
    const sendBatches: number[] = [];
    const store = services.store;
    useServices({
      ...services,
      settings: { ...services.settings, CLAWBACK_FANOUT_BATCH_SIZE: 100 },
      store: Object.assign(Object.create(store) as typeof store, {
        createRemediations: (records: RemediationRecord[]) => {
          rowBatches.push(records.length);
          return store.createRemediations(records);
        },
      }),
      queue: {
        send: (name: string, messages: Parameters<InMemoryQueue['send']>[1]) => {
          if (name === 'remediations') sendBatches.push(messages.length);
          return queue.send(name, messages);
        },
        close: () => queue.close(),
      },
    });
    const message = verdictMessage(VerdictChangeMother.withRecipients(10_000));
    await fanOutVerdict(message, context());
    expect(rowBatches.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(Math.max(...rowBatches)).toBe(100);
    expect(Math.max(...sendBatches)).toBe(100);
    expect(queue.stats('remediations').active).toBe(10_000);
    expect((await services.store.getVerdict(message.verdictId))?.recipients).toBe(10_000);
  });

  it('counts a recipient listed twice for the same message once', async () => {
    const message = verdictMessage(
      VerdictChangeMother.malicious({
        messages: [
          {
            internetMessageId: '<m1@x>',
            recipients: ['Alice@contoso.com', 'alice@contoso.com', 'bob@contoso.com'],
          },
        ],
      }),
    );
    await fanOutVerdict(message, context());
    expect((await allRows(message.verdictId)).map((r) => r.recipient).sort()).toEqual([
      'alice@contoso.com',
      'bob@contoso.com',
    ]);
  });

  it('ends a verdict that identifies no delivered copy as unresolved, with a note saying why and what would resolve it', async () => {
    const message = verdictMessage(VerdictChangeMother.malicious({ messages: undefined }));
    await fanOutVerdict(message, context());
    const verdict = await services.store.getVerdict(message.verdictId);
    expect(verdict).toMatchObject({ status: 'unresolved', recipients: 0 });
    expect(verdict?.note).toMatch(/no messages and the delivery ledger has no delivery/);
    expect(verdict?.note).toMatch(/record deliveries/);
    expect(await pipeline.checks()).toHaveLength(0);
  });

  it('fails the delivery (for redelivery, then dead-letter and replay) while no configuration has been applied', async () => {
    useServices({
      ...services,
      configStore: {
        get: () => Promise.resolve(undefined),
        put: () => Promise.reject(new Error('read only')),
      },
    });
    await expect(fanOutVerdict(verdictMessage(VerdictChangeMother.malicious()), context())).rejects.toThrow(
      /No configuration document/,
    );
  });

  it('refuses a message that is not a verdict, so it ends in the dead-letter queue', async () => {
    await expect(fanOutVerdict({ hello: 'world' }, context())).rejects.toThrow(/not a verdict/);
  });
});

describe('completing a verdict', () => {
  it('stays fannedOut while a row is open, then completes with one count per terminal status', async () => {
    backend.deliver('user1@contoso.com', '<m1@mail.example.com>');
    backend.deliver('user2@contoso.com', '<other@mail.example.com>');
    backend.deliver('user4@contoso.com', '<m1@mail.example.com>');
    const { verdictId, messages } = await pipeline.fanOut(VerdictChangeMother.withRecipients(4));
    const [first, ...rest] = messages;
    await pipeline.runAll(rest);
    expect(await services.store.getVerdict(verdictId)).toMatchObject({ status: 'fannedOut', done: 3 });

    await pipeline.runAll([first as RemediationMessage]);
    const verdict = await services.store.getVerdict(verdictId);
    expect(verdict).toMatchObject({ status: 'completedWithFailures', recipients: 4, done: 4 });
    expect(verdict).toMatchObject(await countsOfRows(verdictId));
    expect(verdict).toMatchObject({ succeeded: 2, notFound: 1, failed: 1, simulated: 0 });
    expect(verdict?.completedAt).toBeTruthy();
  });

  it('loses no count when a worker crashes right after its row turned terminal, and completes once', async () => {
    for (let i = 1; i <= 6; i++)
      backend.deliver(
        `user${i}@contoso.com`,
        i % 2 === 1 ? '<m1@mail.example.com>' : '<other@mail.example.com>',
      );
    const crashed = new Set<string>();
    const watch = watchStore({
      // The first three terminal writes "crash": the row is stored, then the handler throws.
      crashAfterRowWrite: (patch) => {
        if (patch.completedAt === undefined || crashed.size >= 3) return false;
        const key = `${patch.status}-${crashed.size}`;
        crashed.add(key);
        return true;
      },
      crashAfterVerdictWrite: (patch) => patch.status?.startsWith('completed') === true,
    });
    const { verdictId, messages } = await pipeline.fanOut(VerdictChangeMother.withRecipients(6));
    for (const m of messages) {
      // Service Bus redelivers a message whose handler threw; the redelivery finds the row terminal.
      await pipeline.remediate(m).catch(() => pipeline.remediate(m));
    }
    const checks = await pipeline.checks();
    expect(checks).toHaveLength(1);
    // The check itself crashes right after completing the verdict and is delivered again.
    await expect(fanOutVerdict(checks[0], context())).rejects.toThrow(/crash/);
    await fanOutVerdict(checks[0], context());
    await pipeline.check();

    expect(crashed.size).toBe(3);
    const verdict = await services.store.getVerdict(verdictId);
    expect(verdict).toMatchObject({ status: 'completed', recipients: 6, succeeded: 3, notFound: 3 });
    expect(verdict).toMatchObject(await countsOfRows(verdictId));
    expect(watch.completions).toHaveLength(1);
  });

  it('completes a 10,000-recipient verdict exactly once under duplicate concurrent check deliveries, with 1 table operation per untouched recipient and 3 per changed one', async () => {
    services = { ...services, settings: { ...services.settings, CLAWBACK_FANOUT_BATCH_SIZE: 100 } };
    useServices(services);
    for (let i = 1; i <= 10_000; i++)
      backend.deliver(
        `user${i}@contoso.com`,
        i % 3 === 1 ? '<m1@mail.example.com>' : '<other@mail.example.com>',
      );
    const perCall = new AsyncLocalStorage<{ ops: number }>();
    const watch = watchStore({ opsPerCall: perCall });
    const worker = async (m: RemediationMessage) => {
      const calls = { ops: 0 };
      await perCall.run(calls, () => remediateMailbox(m, context()));
      return calls.ops;
    };
    const { verdictId, messages } = await pipeline.fanOut(VerdictChangeMother.withRecipients(10_000));
    expect(messages).toHaveLength(10_000);
    const half = messages.length / 2;
    const ops: number[] = [];
    for (const m of messages.slice(0, half)) ops.push(await worker(m));

    // Half the rows are open: four concurrent deliveries of the first check all see that and
    // reschedule the same next round, while the other half is remediated.
    const [firstCheck] = await pipeline.checks();
    const duplicates = Array.from({ length: 4 }, () => fanOutVerdict(firstCheck, context()));
    const remaining = (async () => {
      for (const m of messages.slice(half)) ops.push(await worker(m));
    })();
    await Promise.all([...duplicates, remaining]);
    expect((await services.store.getVerdict(verdictId))?.status).toBe('fannedOut');

    // Every later round is delivered four times at once too.
    for (let round = 0; round < 10; round++) {
      const due = await pipeline.checks();
      if (due.length === 0) break;
      await Promise.all(due.flatMap((c) => Array.from({ length: 4 }, () => fanOutVerdict(c, context()))));
    }

    expect(watch.completions).toHaveLength(1);
    const verdict = await services.store.getVerdict(verdictId);
    expect(verdict).toMatchObject({ status: 'completed', recipients: 10_000, done: 10_000 });
    expect(verdict).toMatchObject(await countsOfRows(verdictId));
    expect(verdict).toMatchObject({ succeeded: 3334, notFound: 6666 });
    expect(ops).toHaveLength(10_000);
    // No verdict-row write by any worker, and no read: the first delivery holds the row by the ETag
    // fan-out created it with, and its lease goes with its first write — the outcome for notFound (1);
    // a soft delete writes lease and intent before the effect, then the restore record and the
    // outcome (3).
    expect(ops.filter((n) => n === 1)).toHaveLength(6666);
    expect(ops.filter((n) => n === 3)).toHaveLength(3334);
  }, 120_000);
});
