import { describe, expect, it } from 'vitest';

import { listVerdicts, type VerdictListQuery } from '../../../shared/app/listVerdicts.js';
import { emptyCounts, type VerdictRecord, type VerdictStatus } from '../../../shared/ports/results.js';
import { InMemoryResultStore } from '../../../shared/results/memory/inMemoryResultStore.js';
import { newVerdictId } from '../../../shared/verdicts/ids.js';

const t0 = Date.parse('2026-03-01T12:00:00.000Z');
const range = { from: new Date(t0 - 3_600_000), to: new Date(t0 + 3_600_000) };

/** A verdict received at `t0 + offsetMs`; `tag` (one hex digit) orders verdicts of the same millisecond. */
function verdict(offsetMs: number, tag: string, status: VerdictStatus = 'completed'): VerdictRecord {
  const at = new Date(t0 + offsetMs);
  return {
    verdictId: newVerdictId(at, () => tag.repeat(10)),
    source: 'soar',
    eventId: `event-${offsetMs}-${tag}`,
    verdict: 'malicious',
    status,
    recipients: 0,
    ...emptyCounts(),
    done: 0,
    receivedAt: at.toISOString(),
  };
}

/** The store, with the ranges and limits each read asked for. */
async function storeWith(verdicts: VerdictRecord[]) {
  const store = new InMemoryResultStore();
  for (const v of verdicts) await store.createVerdict(v);
  const reads: { to: number; limit: number }[] = [];
  return {
    reads,
    store: {
      listVerdicts: (r: { from: Date; to: Date }, limit: number) => {
        reads.push({ to: r.to.getTime(), limit });
        return store.listVerdicts(r, limit);
      },
    },
  };
}

/** Every page of a listing, following `after` until a page has none. */
async function allPages(query: Omit<VerdictListQuery, 'after'>, verdicts: VerdictRecord[]) {
  const { store } = await storeWith(verdicts);
  const pages: string[][] = [];
  let after: VerdictListQuery['after'];
  do {
    const page = await listVerdicts({ ...query, after }, { store });
    pages.push(page.verdicts.map((v) => v.verdictId));
    if (page.after) {
      const end = page.verdicts.at(-1)!;
      expect(page.after).toEqual({ receivedAtMs: Date.parse(end.receivedAt), verdictId: end.verdictId });
    }
    after = page.after;
    if (pages.length > 20) throw new Error('the listing does not end');
  } while (after);
  return pages;
}

describe('listVerdicts', () => {
  it('pages through verdicts of different milliseconds newest first, the last page without a cursor', async () => {
    const vs = [0, 1, 2, 3, 4].map((i) => verdict(i * 1000, 'a'));
    const ids = vs.map((v) => v.verdictId);

    expect(await allPages({ ...range, limit: 2 }, vs)).toEqual([
      [ids[4], ids[3]],
      [ids[2], ids[1]],
      [ids[0]],
    ]);
  });

  it('a page exactly as long as what is left has no cursor, so no empty page follows', async () => {
    const vs = [0, 1, 2, 3].map((i) => verdict(i * 1000, 'a'));
    const ids = vs.map((v) => v.verdictId);

    expect(await allPages({ ...range, limit: 2 }, vs)).toEqual([
      [ids[3], ids[2]],
      [ids[1], ids[0]],
    ]);
  });

  it('verdicts of the same millisecond are told apart by id: none is skipped or repeated across pages', async () => {
    const vs = ['1', '2', '3', '4', '5'].map((tag) => verdict(0, tag));
    const ids = vs.map((v) => v.verdictId);

    expect((await allPages({ ...range, limit: 1 }, vs)).flat()).toEqual(ids);
    expect((await allPages({ ...range, limit: 2 }, vs)).flat()).toEqual(ids);
  });

  it('a page that ends inside a millisecond resumes with the rest of it, then older verdicts', async () => {
    const vs = [verdict(5000, 'a'), verdict(0, '1'), verdict(0, '2'), verdict(0, '3'), verdict(-5000, 'b')];
    const ids = vs.map((v) => v.verdictId);

    expect(await allPages({ ...range, limit: 2 }, vs)).toEqual([
      [ids[0], ids[1]],
      [ids[2], ids[3]],
      [ids[4]],
    ]);
  });

  it('with a status, reads further batches until the page is full of matching verdicts', async () => {
    const vs = [0, 1, 2, 3, 4, 5, 6, 7].map((i) =>
      verdict(-i * 1000, 'a', i % 3 === 0 ? 'completed' : 'fannedOut'),
    );
    const ids = vs.map((v) => v.verdictId);
    const { store, reads } = await storeWith(vs);

    const first = await listVerdicts({ ...range, status: 'completed', limit: 2 }, { store });
    expect(first.verdicts.map((v) => v.verdictId)).toEqual([ids[0], ids[3]]);
    expect(first.verdicts.every((v) => v.status === 'completed')).toBe(true);
    expect(first.after).toEqual({ receivedAtMs: t0 - 3000, verdictId: ids[3] });
    // Batches of limit + 1, each starting a millisecond after the last verdict of the one before.
    expect(reads).toEqual([
      { to: range.to.getTime(), limit: 3 },
      { to: t0 - 2000 + 1, limit: 3 },
      { to: t0 - 4000 + 1, limit: 3 },
    ]);

    const second = await listVerdicts(
      { ...range, status: 'completed', limit: 2, after: first.after },
      { store },
    );
    expect(second.verdicts.map((v) => v.verdictId)).toEqual([ids[6]]);
    expect(second.after).toBeUndefined();
  });

  it('with a status nothing has, reads the range to its end and answers an empty page', async () => {
    const vs = [0, 1, 2, 3, 4].map((i) => verdict(-i * 1000, 'a'));
    const { store, reads } = await storeWith(vs);

    expect(await listVerdicts({ ...range, status: 'rejected', limit: 1 }, { store })).toEqual({
      verdicts: [],
    });
    expect(reads.map((r) => r.to)).toEqual([
      range.to.getTime(),
      t0 - 1000 + 1,
      t0 - 2000 + 1,
      t0 - 3000 + 1,
      t0 - 4000 + 1,
    ]);
  });

  it('with a status, a millisecond holding more verdicts than a batch is read whole, in larger batches', async () => {
    const vs = ['1', '2', '3', '4', '5'].map((tag) =>
      verdict(0, tag, tag === '4' ? 'completedWithFailures' : 'completed'),
    );
    const { store, reads } = await storeWith(vs);

    const page = await listVerdicts({ ...range, status: 'completedWithFailures', limit: 1 }, { store });
    expect(page).toEqual({ verdicts: [vs[3]] });
    expect(reads).toEqual([
      { to: range.to.getTime(), limit: 2 },
      { to: t0 + 1, limit: 2 },
      { to: t0 + 1, limit: 4 },
      { to: t0 + 1, limit: 8 },
    ]);
  });

  it('keeps to the range: a cursor later than `to` does not bring in newer verdicts', async () => {
    const vs = [verdict(500, 'a'), verdict(-500, 'b'), verdict(-2 * 3_600_000, 'c')];
    const { store, reads } = await storeWith(vs);

    const page = await listVerdicts(
      {
        from: new Date(t0 - 3_600_000),
        to: new Date(t0),
        limit: 5,
        after: { receivedAtMs: t0 + 1000, verdictId: vs[0]!.verdictId },
      },
      { store },
    );
    expect(page).toEqual({ verdicts: [vs[1]] });
    expect(reads).toEqual([{ to: t0, limit: 6 }]);
  });

  it('an empty range answers an empty page after one read', async () => {
    const { store, reads } = await storeWith([]);

    expect(await listVerdicts({ ...range, limit: 3 }, { store })).toEqual({ verdicts: [] });
    expect(reads).toHaveLength(1);
  });
});
