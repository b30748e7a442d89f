import { describe, expect, it } from 'vitest';

import { emptyCounts, type RemediationStatus } from '../../../shared/ports/results.js';
import { checkCompletion, nextRound } from '../../../shared/recipients/completion.js';
import { fromRemediationEntity, fromVerdictEntity, verdictColumns } from '../../../shared/results/columns.js';
import { check, row, setUp, verdictId } from '../../support/completion.js';

describe('the completion check', () => {
  it('writes the counts so far and schedules the next round while a row is open', async () => {
    const t = await setUp([
      ['a', 'succeeded'],
      ['b', 'failed'],
      ['c', 'inProgress'],
    ]);
    const result = await checkCompletion(check(), t.deps);
    expect(result).toMatchObject({ kind: 'open', open: 1 });
    expect(await t.verdicts.getVerdict(verdictId)).toMatchObject({
      status: 'fannedOut',
      succeeded: 1,
      failed: 1,
      done: 2,
    });
    expect(t.sent.map((m) => m.messageId)).toEqual([`${verdictId}|check|1`]);
    expect(t.sent[0]?.body).toMatchObject({ kind: 'completionCheck', round: 1, done: 2 });
  });

  it('completes with one count per terminal status once every row is terminal', async () => {
    const statuses: RemediationStatus[] = [
      'succeeded',
      'alreadyRemediated',
      'notFound',
      'simulated',
      'notReversible',
      'succeeded',
    ];
    const t = await setUp(statuses.map((s, i) => [`r${i}`, s]));
    expect(await checkCompletion(check(), t.deps)).toMatchObject({ kind: 'completed', status: 'completed' });
    const verdict = await t.verdicts.getVerdict(verdictId);
    expect(verdict).toMatchObject({
      status: 'completed',
      recipients: 6,
      succeeded: 2,
      alreadyRemediated: 1,
      notFound: 1,
      simulated: 1,
      notReversible: 1,
      failed: 0,
      partiallyRestored: 0,
      done: 6,
    });
    expect(verdict?.completedAt).toBeTruthy();
    expect(t.sent).toHaveLength(0);
  });

  it('completes with failures when a row failed or was only partly restored', async () => {
    const t = await setUp([
      ['a', 'succeeded'],
      ['b', 'partiallyRestored'],
    ]);
    expect(await checkCompletion(check(), t.deps)).toMatchObject({ status: 'completedWithFailures' });
  });

  it('does nothing for a verdict that is no longer fannedOut', async () => {
    const t = await setUp([['a', 'succeeded']]);
    await checkCompletion(check(), t.deps);
    expect(await checkCompletion(check(), t.deps)).toEqual({ kind: 'settled', status: 'completed' });
    expect(t.sent).toHaveLength(0);
  });

  it('does not complete early when a group expansion inserts member rows behind the pass that saw the group row terminal', async () => {
    const t = await setUp([
      ['b', 'succeeded'],
      ['c', 'succeeded'],
      ['group', 'inProgress'],
      ['z', 'succeeded'],
    ]);
    // While the check reads its second page, the group is expanded: its members sort before the
    // check's position, and the group row turns terminal only after they exist (as remediate does).
    let pages = 0;
    const list = t.remediations.listRemediationOutcomes.bind(t.remediations);
    t.deps.rows = {
      listRemediationOutcomes: async (...args) => {
        pages += 1;
        if (pages === 2) {
          await t.remediations.createRemediations([row('a1', 'pending'), row('a2', 'pending')]);
          await t.setStatus('group', 'succeeded');
        }
        return list(...args);
      },
    };
    expect(await checkCompletion(check(), t.deps)).toMatchObject({ kind: 'open' });
    expect((await t.verdicts.getVerdict(verdictId))?.status).toBe('fannedOut');

    // The next round sees the members; once they are done, the verdict completes with all six rows.
    expect(await checkCompletion(check(1), t.deps)).toMatchObject({ kind: 'open', open: 2 });
    await t.setStatus('a1', 'succeeded');
    await t.setStatus('a2', 'notFound');
    expect(await checkCompletion(check(2), t.deps)).toMatchObject({ kind: 'completed' });
    expect(await t.verdicts.getVerdict(verdictId)).toMatchObject({
      recipients: 6,
      succeeded: 5,
      notFound: 1,
    });
  });

  it('completes exactly once when the same round is delivered many times at once', async () => {
    const t = await setUp(
      Array.from({ length: 50 }, (_, i) => [`r${String(i).padStart(2, '0')}`, 'succeeded']),
    );
    const results = await Promise.all(Array.from({ length: 8 }, () => checkCompletion(check(), t.deps)));
    expect(results.filter((r) => r.kind === 'completed')).toHaveLength(1);
    expect((await t.verdicts.getVerdict(verdictId))?.succeeded).toBe(50);
  });
});

describe('the pace of completion checks', () => {
  const tally = (rows: number, open: number) => ({ rows, open, counts: emptyCounts() });

  it('looks again after the first delay when it knows no pace yet', () => {
    expect(nextRound(check(0), tally(10, 10), 0, 1000)).toEqual({ delayMs: 1000, stalled: 0 });
  });

  it('halves the expected remaining time at the observed pace, within 1 to 32 first delays', () => {
    // 1,000 rows done in the last 10 s, 4,000 open: 40 s left, so look again in 20 s.
    const previous = { ...check(4), done: 5000, at: 0, stalled: 3 };
    expect(nextRound(previous, tally(10_000, 4000), 10_000, 1000)).toEqual({ delayMs: 20_000, stalled: 0 });
    expect(nextRound(previous, tally(10_000, 1), 10_000, 1000).delayMs).toBe(1000);
    expect(nextRound({ ...previous, done: 9990 }, tally(100_000, 90_000), 10_000, 1000).delayMs).toBe(32_000);
  });

  it('backs off exponentially while no row finishes, up to an hour', () => {
    const stuck = { ...check(5), done: 7, at: 0 };
    expect(nextRound({ ...stuck, stalled: 0 }, tally(10, 3), 10_000, 1000)).toEqual({
      delayMs: 2000,
      stalled: 1,
    });
    expect(nextRound({ ...stuck, stalled: 4 }, tally(10, 3), 10_000, 1000)).toEqual({
      delayMs: 32_000,
      stalled: 5,
    });
    expect(nextRound({ ...stuck, stalled: 40 }, tally(10, 3), 10_000, 1000).delayMs).toBe(3_600_000);
  });

  it('carries the pace to the next round in the message it schedules', async () => {
    const t = await setUp([
      ['a', 'succeeded'],
      ['b', 'pending'],
    ]);
    await checkCompletion({ ...check(3), done: 1, at: 0, stalled: 2 }, t.deps);
    expect(t.sent[0]?.body).toMatchObject({ round: 4, done: 1, stalled: 3 });
  });
});

describe('typed columns', () => {
  it('writes times as dates (Edm.DateTime) and counts as Edm.Int32', () => {
    const columns = verdictColumns({
      verdictId,
      recipients: 3,
      succeeded: 2,
      receivedAt: '2026-11-30T08:00:00.000Z',
    });
    expect(columns.ReceivedAt).toEqual(new Date('2026-11-30T08:00:00.000Z'));
    expect(columns.Recipients).toEqual({ value: '3', type: 'Int32' });
    expect(columns.Succeeded).toEqual({ value: '2', type: 'Int32' });
  });

  it('reads rows written before typed columns: times as strings, counts as Int64', () => {
    const verdict = fromVerdictEntity({
      rowKey: verdictId,
      Status: 'completed',
      Recipients: 3n,
      Succeeded: 2n,
      Failed: 1n,
      Done: 3n,
      ReceivedAt: '2026-11-30T08:00:00Z',
    });
    expect(verdict).toMatchObject({ recipients: 3, succeeded: 2, failed: 1, done: 3 });
    expect(verdict.receivedAt).toBe('2026-11-30T08:00:00Z');
    const typed = fromRemediationEntity({ UpdatedAt: new Date('2026-11-30T08:00:00Z'), Attempts: 2 });
    expect(typed).toMatchObject({ updatedAt: '2026-11-30T08:00:00.000Z', attempts: 2 });
  });
});
