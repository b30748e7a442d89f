import { z } from 'zod';

import { queues } from '../bindings.js';
import type { CallOptions } from '../ports/mail.js';
import type { QueueSender } from '../ports/queue.js';
import {
  emptyCounts,
  isTerminal,
  type RemediationRows,
  type StatusCounts,
  type VerdictRecord,
  type Verdicts,
  type VerdictStatus,
} from '../ports/results.js';
import { median } from '../remediation/exposure.js';

/**
 * A `verdicts` queue message asking whether a fanned-out verdict is finished. Rows are the source of
 * truth: workers only write their own row, and this check counts the rows and completes the verdict,
 * so no count lives in a row that every worker would have to read-modify-write.
 */
export const completionCheckSchema = z.object({
  kind: z.literal('completionCheck'),
  verdictId: z.string().min(1),
  /** 0 for the check fan-out sends; each reschedule carries the next number (and message id). */
  round: z.number().int().min(0),
  /** Terminal rows the previous round saw, and when (epoch ms): the pace that times the next round. */
  done: z.number().int().min(0).optional(),
  at: z.number().optional(),
  /** Rounds in a row that saw no row finish. */
  stalled: z.number().int().min(0).optional(),
});
export type CompletionCheck = z.infer<typeof completionCheckSchema>;

export interface CompletionDeps {
  verdicts: Pick<Verdicts, 'readVerdict' | 'updateVerdict'>;
  rows: Pick<RemediationRows, 'listRemediationOutcomes'>;
  queue: QueueSender;
  /** Delay of the first check; later ones follow the pace of the rows, up to 32 times this. */
  firstDelayMs: number;
  pageSize?: number;
  now?: () => Date;
  log?: (line: string) => void;
}

export type CompletionResult =
  /** This check made the one transition out of `fannedOut`. */
  | { kind: 'completed'; status: VerdictStatus; recipients: number; counts: StatusCounts }
  /** Rows are still open (or the verdict changed under this check): the next round is scheduled. */
  | { kind: 'open'; open: number; next: Date }
  /** The verdict is not (or no longer) `fannedOut`: nothing for a check to do. */
  | { kind: 'settled'; status: VerdictStatus | 'missing' };

export interface Tally {
  rows: number;
  open: number;
  counts: StatusCounts;
  /** Issue 13: each removed copy's `ExposureSeconds`, for the verdict's median. */
  exposures: number[];
}

/** Counts a verdict's rows by status, page by page, reading only the `Status` and `ExposureSeconds` columns. */
export async function tallyRows(
  rows: CompletionDeps['rows'],
  verdictId: string,
  pageSize: number,
  options?: CallOptions,
): Promise<Tally> {
  const tally: Tally = { rows: 0, open: 0, counts: emptyCounts(), exposures: [] };
  let continuationToken: string | undefined;
  do {
    const page = await rows.listRemediationOutcomes(verdictId, { pageSize, continuationToken }, options);
    for (const { status, exposureSeconds } of page.items) {
      tally.rows += 1;
      if (exposureSeconds !== undefined) tally.exposures.push(exposureSeconds);
      if (isTerminal(status)) tally.counts[status] += 1;
      else tally.open += 1;
    }
    continuationToken = page.continuationToken;
  } while (continuationToken);
  return tally;
}

/**
 * What a verdict whose rows are all terminal becomes. A verdict the approval gate held (issue 13:
 * `approvalAbove`, simulated first) and nobody approved yet waits for an admin instead of completing.
 */
export function completedStatus(
  counts: StatusCounts,
  verdict: Pick<VerdictRecord, 'approvalAbove' | 'approvedBy'>,
): VerdictStatus {
  if (verdict.approvalAbove !== undefined && verdict.approvedBy === undefined) return 'awaitingApproval';
  return counts.failed + counts.partiallyRestored > 0 ? 'completedWithFailures' : 'completed';
}

/**
 * The first check of a verdict, sent by fan-out once every row is written. An approval (issue 13)
 * starts a second chain at a `round` the first never reached, so duplicate detection keeps it.
 */
export function firstCheck(
  verdictId: string,
  deps: Pick<CompletionDeps, 'queue' | 'firstDelayMs' | 'now'>,
  options?: CallOptions,
  round = 0,
): Promise<void> {
  const now = deps.now?.() ?? new Date();
  return sendCheck(
    { kind: 'completionCheck', verdictId, round },
    new Date(now.getTime() + deps.firstDelayMs),
    deps.queue,
    options,
  );
}

function sendCheck(
  check: CompletionCheck,
  at: Date,
  queue: QueueSender,
  options?: CallOptions,
): Promise<void> {
  // One message id per round: duplicate deliveries of a round reschedule the same next round, which
  // duplicate detection drops, so a verdict keeps one chain of checks. A chain that slips past the
  // detection window costs a few reads, never a second completion.
  return queue.send(
    queues.verdicts.name,
    [{ body: check, messageId: `${check.verdictId}|check|${check.round}`, scheduledEnqueueTime: at }],
    options,
  );
}

/** However long rows stay open, a verdict is looked at at least hourly: a replayed row still completes it. */
const stalledCapMs = 3_600_000;

/**
 * When to look again, and how many rounds in a row have now seen no row finish. With progress, half
 * the expected remaining time at the observed pace (within [first, 32 × first]), so the last round
 * lands soon after the last row; without, exponential backoff up to an hour, so a verdict whose rows
 * are stuck costs a few reads an hour, not a busy loop.
 */
export function nextRound(
  check: CompletionCheck,
  tally: Pick<Tally, 'rows' | 'open'>,
  nowMs: number,
  firstDelayMs: number,
): { delayMs: number; stalled: number } {
  const done = tally.rows - tally.open;
  const before = check.done;
  if (before !== undefined && check.at !== undefined && done > before && nowMs > check.at) {
    const perMs = (done - before) / (nowMs - check.at);
    const delayMs = Math.min(firstDelayMs * 32, Math.max(firstDelayMs, tally.open / perMs / 2));
    return { delayMs: Math.round(delayMs), stalled: 0 };
  }
  const stalled = check.round === 0 ? 0 : (check.stalled ?? 0) + 1;
  const delayMs = Math.min(Math.max(stalledCapMs, firstDelayMs), firstDelayMs * 2 ** Math.min(stalled, 30));
  return { delayMs: Math.round(delayMs), stalled };
}

/**
 * Runs one round of a verdict's completion check. When every row is terminal — twice in a row, with
 * the same number of rows, so that rows a group expansion inserted behind the first pass's position
 * are seen — the verdict moves `fannedOut → completed | completedWithFailures` with its counts,
 * conditional on the ETag read before counting: of any number of concurrent checks, exactly one
 * completes it. Otherwise the counts so far are written (when the row is unchanged) and the next round
 * is scheduled; no loop ever retries a write on the verdict's row.
 */
export async function checkCompletion(
  check: CompletionCheck,
  deps: CompletionDeps,
  options?: CallOptions,
): Promise<CompletionResult> {
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? (() => undefined);
  const pageSize = deps.pageSize ?? 1000;
  const { verdictId } = check;
  const read = await deps.verdicts.readVerdict(verdictId, options);
  if (!read) return { kind: 'settled', status: 'missing' };
  if (read.value.status !== 'fannedOut') return { kind: 'settled', status: read.value.status };

  const tally = await tallyRows(deps.rows, verdictId, pageSize, options);
  let stable = tally.open === 0;
  if (stable) {
    const again = await tallyRows(deps.rows, verdictId, pageSize, options);
    stable = again.open === 0 && again.rows === tally.rows;
  }
  if (stable) {
    const status = completedStatus(tally.counts, read.value);
    const medianExposureSeconds = median(tally.exposures);
    const completed = await deps.verdicts.updateVerdict(
      {
        verdictId,
        status,
        recipients: tally.rows,
        ...tally.counts,
        ...(medianExposureSeconds === undefined ? {} : { medianExposureSeconds }),
        ...(status === 'awaitingApproval' ? {} : { completedAt: now().toISOString() }),
      },
      read.etag,
      options,
    );
    if (completed) {
      log(`verdict ${verdictId} ${status}: ${tally.rows} rows`);
      return { kind: 'completed', status, recipients: tally.rows, counts: tally.counts };
    }
    const fresh = await deps.verdicts.readVerdict(verdictId, options);
    if (fresh?.value.status !== 'fannedOut')
      return { kind: 'settled', status: fresh?.value.status ?? 'missing' };
  } else {
    // Progress for the operator; a duplicate check that wrote first makes this one a no-op.
    await deps.verdicts.updateVerdict(
      { verdictId, recipients: tally.rows, ...tally.counts },
      read.etag,
      options,
    );
  }
  const nowMs = now().getTime();
  const pace = stable
    ? { delayMs: deps.firstDelayMs, stalled: 0 }
    : nextRound(check, tally, nowMs, deps.firstDelayMs);
  const next = new Date(nowMs + pace.delayMs);
  const done = tally.rows - tally.open;
  const following = { kind: 'completionCheck', verdictId, round: check.round + 1, done, at: nowMs } as const;
  await sendCheck({ ...following, stalled: pace.stalled }, next, deps.queue, options);
  return { kind: 'open', open: tally.open, next };
}
