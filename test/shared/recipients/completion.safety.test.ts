import { describe, expect, it } from 'vitest';

import { decideApproval } from '../../../shared/app/approval.js';
import type { OutgoingMessage, QueueSender } from '../../../shared/ports/queue.js';
import {
  emptyCounts,
  type RemediationRecord,
  type RemediationStatus,
  type VerdictRecord,
} from '../../../shared/ports/results.js';
import { checkCompletion, type CompletionCheck } from '../../../shared/recipients/completion.js';
import { InMemoryResultStore } from '../../../shared/results/memory/inMemoryResultStore.js';
import { configDocument } from '../../support/services.js';

const verdictId = '8000000000000-0123456789';
const check = (round = 0): CompletionCheck => ({ kind: 'completionCheck', verdictId, round });

function row(rowKey: string, status: RemediationStatus, exposureSeconds?: number): RemediationRecord {
  return {
    verdictId,
    rowKey,
    recipient: `${rowKey}@contoso.com`,
    internetMessageId: '<m1@x>',
    action: 'softDelete',
    status,
    attempts: 1,
    exposureSeconds,
    updatedAt: '2026-11-30T08:00:00.000Z',
  };
}

async function setUp(rows: RemediationRecord[], verdict: Partial<VerdictRecord> = {}) {
  const store = new InMemoryResultStore();
  await store.createVerdict({
    verdictId,
    source: 'test',
    eventId: 'e1',
    verdict: 'malicious',
    action: 'softDelete',
    status: 'fannedOut',
    recipients: rows.length,
    ...emptyCounts(),
    done: 0,
    receivedAt: new Date().toISOString(),
    ...verdict,
  });
  await store.createRemediations(rows);
  const sent: { queue: string; message: OutgoingMessage }[] = [];
  const queue: QueueSender = {
    send: (name, messages) => {
      sent.push(...messages.map((message) => ({ queue: name, message })));
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  const deps = { verdicts: store, rows: store, queue, firstDelayMs: 1000 };
  return { store, sent, queue, deps };
}

describe('completion check with the safety columns', () => {
  it('writes the median of the rows’ exposure when it completes the verdict', async () => {
    const t = await setUp([row('a', 'succeeded', 60), row('b', 'succeeded', 600), row('c', 'notFound')]);
    expect(await checkCompletion(check(), t.deps)).toMatchObject({ status: 'completed' });
    expect(await t.store.getVerdict(verdictId)).toMatchObject({ medianExposureSeconds: 330, succeeded: 2 });
  });

  it('ends a verdict the approval gate held as awaitingApproval, without a completion time', async () => {
    const t = await setUp([row('a', 'simulated'), row('b', 'simulated'), row('c', 'notFound')], {
      mode: 'simulate',
      approvalAbove: 1,
    });
    expect(await checkCompletion(check(), t.deps)).toMatchObject({ status: 'awaitingApproval' });
    const verdict = await t.store.getVerdict(verdictId);
    expect(verdict).toMatchObject({ status: 'awaitingApproval', simulated: 2, notFound: 1 });
    expect(verdict?.completedAt).toBeUndefined();
  });

  it('approval reopens exactly the simulated rows, then a new chain of checks completes the verdict', async () => {
    const t = await setUp([row('a', 'simulated'), row('b', 'simulated'), row('c', 'notFound')], {
      mode: 'simulate',
      approvalAbove: 1,
    });
    await checkCompletion(check(), t.deps);
    const result = await decideApproval(verdictId, 'approve', 'key:soc-admin', undefined, {
      store: t.store,
      queue: t.queue,
      config: configDocument(),
      checkDelayMs: 1000,
    });
    expect(result).toMatchObject({ kind: 'approved', queued: 2 });
    expect(await t.store.getVerdict(verdictId)).toMatchObject({
      status: 'fannedOut',
      mode: 'enforce',
      approvedBy: 'key:soc-admin',
    });
    const remediations = t.sent.filter((s) => s.queue === 'remediations');
    expect(remediations.map((s) => (s.message.body as { rowKey: string }).rowKey).sort()).toEqual(['a', 'b']);
    const checks = t.sent.filter((s) => s.queue === 'verdicts').map((s) => s.message.body as CompletionCheck);
    expect(checks).toHaveLength(1);
    // Not round 0: the simulation's own chain used those ids, which duplicate detection may still hold.
    expect(checks[0]?.round).toBeGreaterThan(0);

    // Rows still open: the check keeps the verdict fannedOut; once they finish it completes.
    expect(await checkCompletion(checks[0] as CompletionCheck, t.deps)).toMatchObject({ kind: 'open' });
    for (const key of ['a', 'b']) {
      const current = await t.store.getRemediation(verdictId, key);
      if (!current) throw new Error('row missing');
      await t.store.updateRemediation(
        verdictId,
        key,
        { status: 'succeeded', exposureSeconds: 120 },
        current.etag,
      );
    }
    expect(await checkCompletion(check(1_000_001), t.deps)).toMatchObject({ status: 'completed' });
    expect(await t.store.getVerdict(verdictId)).toMatchObject({
      status: 'completed',
      succeeded: 2,
      notFound: 1,
      medianExposureSeconds: 120,
    });
  });
});
