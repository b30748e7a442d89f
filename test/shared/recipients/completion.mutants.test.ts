import { describe, expect, it } from 'vitest';

import { checkCompletion, nextRound } from '../../../shared/recipients/completion.js';
import { InMemoryVerdicts } from '../../../shared/results/memory/inMemoryVerdicts.js';
import { check, row, setUp, verdictId } from '../../support/completion.js';

type Setup = Awaited<ReturnType<typeof setUp>>;

/** Runs `change` just before the check's `pass`-th read of the rows; returns how many reads began. */
function beforePass(t: Setup, pass: number, change: () => Promise<unknown>): () => number {
  let passes = 0;
  const list = t.remediations.listRemediationOutcomes.bind(t.remediations);
  t.deps.rows = {
    listRemediationOutcomes: async (...args) => {
      if (args[1]?.continuationToken === undefined) {
        passes += 1;
        if (passes === pass) await change();
      }
      return list(...args);
    },
  };
  return () => passes;
}

describe('nextRound, mutants', () => {
  const tally = (rows: number, open: number) => ({ rows, open });

  it('does not take a pace from a round seen at the same instant: it counts a stalled round', () => {
    const same = { ...check(1), done: 1, at: 5000, stalled: 0 };
    expect(nextRound(same, tally(10, 5), 5000, 1000)).toEqual({ delayMs: 2000, stalled: 1 });
  });

  it('measures the pace over the time since the previous round', () => {
    // 1,000 rows in the 10 s since 5 s, 4,000 open: 40 s left, so 20 s.
    const previous = { ...check(4), done: 5000, at: 5000 };
    expect(nextRound(previous, tally(10_000, 4000), 15_000, 1000)).toEqual({ delayMs: 20_000, stalled: 0 });
  });
});

describe('the completion check, mutants', () => {
  it('does not complete when the second pass sees more rows, even all terminal', async () => {
    const t = await setUp([
      ['a', 'succeeded'],
      ['b', 'succeeded'],
    ]);
    beforePass(t, 2, () => t.remediations.createRemediations([row('c', 'succeeded')]));
    expect(await checkCompletion(check(), t.deps)).toMatchObject({ kind: 'open', open: 0 });
    expect(await t.verdicts.getVerdict(verdictId)).toMatchObject({ status: 'fannedOut' });
    expect(t.sent.map((m) => m.messageId)).toEqual([`${verdictId}|check|1`]);
  });

  it('writes the median exposure only when a removed copy has one', async () => {
    const t = await setUp([['a', 'succeeded']]);
    const patches: object[] = [];
    const update = t.verdicts.updateVerdict.bind(t.verdicts);
    t.deps.verdicts = {
      readVerdict: t.verdicts.readVerdict.bind(t.verdicts),
      updateVerdict: (patch, etag, o) => {
        patches.push(patch);
        return update(patch, etag, o);
      },
    };
    expect(await checkCompletion(check(), t.deps)).toMatchObject({ kind: 'completed' });
    expect(patches).toHaveLength(1);
    expect(Object.keys(patches[0] ?? {})).not.toContain('medianExposureSeconds');
  });

  it('logs the completion with the verdict, its status and its row count', async () => {
    const t = await setUp([
      ['a', 'succeeded'],
      ['b', 'failed'],
    ]);
    const lines: string[] = [];
    t.deps.log = (line) => lines.push(line);
    await checkCompletion(check(), t.deps);
    expect(lines).toEqual([`verdict ${verdictId} completedWithFailures: 2 rows`]);
  });

  /** Makes the completing write lose its ETag race: `first` is what the other writer wrote. */
  function losing(
    t: Awaited<ReturnType<typeof setUp>>,
    first: Parameters<InMemoryVerdicts['updateVerdict']>[0],
  ) {
    const update = t.verdicts.updateVerdict.bind(t.verdicts);
    let raced = false;
    t.deps.verdicts = {
      readVerdict: t.verdicts.readVerdict.bind(t.verdicts),
      updateVerdict: async (patch, etag, o) => {
        if (!raced) {
          raced = true;
          const current = await t.verdicts.readVerdict(verdictId);
          await update(first, current?.etag ?? '', o);
        }
        return update(patch, etag, o);
      },
    };
  }

  it('settles when another check completed the verdict first, scheduling nothing', async () => {
    const t = await setUp([['a', 'succeeded']]);
    losing(t, { verdictId, status: 'completed' });
    expect(await checkCompletion(check(), t.deps)).toEqual({ kind: 'settled', status: 'completed' });
    expect(t.sent).toHaveLength(0);
  });

  it('looks again after the first delay when its completing write lost to a progress write', async () => {
    const t = await setUp([['a', 'succeeded']]);
    t.deps.now = () => new Date(1_000_000);
    losing(t, { verdictId, recipients: 1 });
    expect(await checkCompletion(check(), t.deps)).toMatchObject({ kind: 'open', open: 0 });
    expect((await t.verdicts.getVerdict(verdictId))?.status).toBe('fannedOut');
    expect(t.sent.map((m) => m.messageId)).toEqual([`${verdictId}|check|1`]);
    expect(t.sent[0]?.scheduledEnqueueTime).toEqual(new Date(1_001_000));
  });

  it('schedules the next round the pace delay after now', async () => {
    const t = await setUp([['a', 'pending']]);
    t.deps.now = () => new Date(2_000_000);
    const result = await checkCompletion(check(), t.deps);
    expect(result).toMatchObject({ kind: 'open', next: new Date(2_001_000) });
    expect(t.sent[0]?.scheduledEnqueueTime).toEqual(new Date(2_001_000));
    expect(t.sent[0]?.body).toMatchObject({ round: 1, done: 0, at: 2_000_000 });
  });
});

describe('the completion check, a pass with open rows', () => {
  it('completes nothing in that round, even when the rows finish meanwhile: it reads them once and schedules the next round', async () => {
    const t = await setUp([
      ['a', 'succeeded'],
      ['b', 'pending'],
    ]);
    // The open row finishes right after the first pass counted it.
    const passes = beforePass(t, 2, () => t.setStatus('b', 'succeeded'));
    expect(await checkCompletion(check(), t.deps)).toMatchObject({ kind: 'open', open: 1 });
    expect(passes()).toBe(1);
    expect(await t.verdicts.getVerdict(verdictId)).toMatchObject({ status: 'fannedOut' });
    expect(t.sent.map((m) => m.messageId)).toEqual([`${verdictId}|check|1`]);
  });
});
