import type { CallOptions } from '../ports/mail.js';
import type { ResultStore, VerdictRecord } from '../ports/results.js';

export const verdictListLimits = { defaultLimit: 100, maxLimit: 1000, defaultDays: 30, maxDays: 92 } as const;

export interface VerdictListQuery {
  from: Date;
  to: Date;
  status?: string | undefined;
  limit: number;
  /** Where the previous page ended: the last verdict's receipt time and id. */
  after?: { receivedAtMs: number; verdictId: string } | undefined;
}

export interface VerdictListPage {
  verdicts: VerdictRecord[];
  /** Present when more verdicts follow. */
  after?: { receivedAtMs: number; verdictId: string };
}

/**
 * Verdicts received in a range, newest first, optionally of one status, a page at a time. A page
 * resumes at the previous page's last verdict: verdicts of the same millisecond are told apart by
 * their ids, so none is skipped or repeated.
 */
export async function listVerdicts(
  query: VerdictListQuery,
  deps: { store: Pick<ResultStore, 'listVerdicts'> },
  options?: CallOptions,
): Promise<VerdictListPage> {
  const to = query.after ? new Date(Math.min(query.to.getTime(), query.after.receivedAtMs + 1)) : query.to;
  const found: VerdictRecord[] = [];
  let scanFrom = to;
  let batchSize = query.limit + 1;
  // Reads in batches until a page of matching verdicts is full or the range is exhausted.
  for (;;) {
    const batch = await deps.store.listVerdicts({ from: query.from, to: scanFrom }, batchSize, options);
    const fresh = batch.filter(
      (v) =>
        !query.after ||
        Date.parse(v.receivedAt) < query.after.receivedAtMs ||
        (Date.parse(v.receivedAt) === query.after.receivedAtMs && v.verdictId > query.after.verdictId),
    );
    const seen = new Set(found.map((v) => v.verdictId));
    found.push(
      ...fresh.filter((v) => !seen.has(v.verdictId) && (!query.status || v.status === query.status)),
    );
    const last = batch.at(-1);
    if (found.length > query.limit || batch.length < batchSize || !last) break;
    const lastMs = Date.parse(last.receivedAt);
    // A full batch that ends in the millisecond it started from cannot move the range on (the store
    // reads by time only): read more of that millisecond at once, or its later verdicts are lost.
    if (lastMs + 1 >= scanFrom.getTime()) batchSize *= 2;
    else scanFrom = new Date(lastMs + 1);
  }
  const page = found.slice(0, query.limit);
  const end = page.at(-1);
  return found.length > query.limit && end
    ? { verdicts: page, after: { receivedAtMs: Date.parse(end.receivedAt), verdictId: end.verdictId } }
    : { verdicts: page };
}
