import { describe, expect, it } from 'vitest';

import { mapConcurrently } from '../../../../shared/mail/graph/parallel.js';

describe('mapConcurrently', () => {
  it('runs every item once, in order of results, with at most the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const calls: [number, number][] = [];
    const results = await mapConcurrently([10, 20, 30, 40, 50], 2, async (item, index) => {
      calls.push([item, index]);
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      running -= 1;
      return item + index;
    });
    expect(results).toEqual([10, 21, 32, 43, 54]);
    expect(calls.sort((a, b) => a[1] - b[1])).toEqual([
      [10, 0],
      [20, 1],
      [30, 2],
      [40, 3],
      [50, 4],
    ]);
    expect(peak).toBe(2);
  });

  it('still runs the items with a limit below one, one at a time', async () => {
    const seen: number[] = [];
    expect(await mapConcurrently([1, 2, 3], 0, (item) => Promise.resolve(seen.push(item)))).toEqual([
      1, 2, 3,
    ]);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('answers no items with no results', async () => {
    expect(await mapConcurrently([], 4, () => Promise.reject(new Error('never')))).toEqual([]);
  });

  it('throws the first failure after the items in flight finish, starting no more', async () => {
    const started: number[] = [];
    const first = new Error('first');
    const error = await mapConcurrently([1, 2, 3, 4], 2, async (item) => {
      started.push(item);
      await new Promise((resolve) => setImmediate(resolve));
      if (item === 1) throw first;
      if (item === 2) throw new Error('second');
      return item;
    }).catch((e: unknown) => e);
    expect(error).toBe(first);
    expect(started).toEqual([1, 2]);
  });
});
