import type { AuditLog } from '../ports/audit.js';
import type { CallOptions } from '../ports/mail.js';
import type { QueueSender } from '../ports/queue.js';
import { emptyCounts, type ResultStore, type VerdictRecord } from '../ports/results.js';
import { firstCheck } from '../recipients/completion.js';
import { type CopyTarget, enqueueCopies, markFannedOut, type VerdictWork } from '../recipients/fanOut.js';
import { newVerdictId, threatKey } from '../verdicts/ids.js';
import { undoSource } from './approval.js';

export interface UndoDeps {
  store: ResultStore;
  queue: QueueSender;
  audit?: AuditLog | undefined;
  /** Delay of the undo verdict's first completion check (`CLAWBACK_COMPLETION_CHECK_MS`). */
  checkDelayMs: number;
  now?: () => Date;
  batchSize?: number;
}

export type UndoResult =
  | { kind: 'notFound' }
  /** Nothing this verdict did can be put back: it only simulated, found, or restored. */
  | { kind: 'nothingToUndo'; why: string }
  /** `created` is false when the verdict had been undone before: the earlier undo is returned. */
  | { kind: 'undone'; undoVerdictId: string; created: boolean; copies: number };

/**
 * Undo one verdict: a new verdict (source `clawback-undo`, action `restore`) with one row per copy
 * the verdict changed, remediated through the same restore path as a clean verdict, so hard-deleted
 * or forwarded copies end `notReversible` and copies already back `alreadyRemediated`. The new
 * verdict's `ApprovedBy` and the audit row record who asked. Undoing twice returns the first undo.
 */
export async function undoVerdict(
  verdictId: string,
  who: string,
  comment: string | undefined,
  deps: UndoDeps,
  options?: CallOptions,
): Promise<UndoResult> {
  const now = (deps.now ?? (() => new Date()))();
  const verdict = await deps.store.getVerdict(verdictId, options);
  if (!verdict) return { kind: 'notFound' };
  const why = reasonNotToUndo(verdict);
  if (why) return { kind: 'nothingToUndo', why };

  const claim = await deps.store.claimEvent(undoSource, verdictId, newVerdictId(now), options);
  const undoId = claim.verdictId;
  const record: VerdictRecord = {
    verdictId: undoId,
    source: undoSource,
    eventId: verdictId,
    verdict: 'clean',
    previousVerdict: verdict.verdict,
    sha256: verdict.sha256,
    filename: verdict.filename,
    url: verdict.url,
    action: 'restore',
    mode: 'enforce',
    status: 'accepted',
    recipients: 0,
    ...emptyCounts(),
    done: 0,
    receivedAt: now.toISOString(),
    approvedBy: who,
  };
  // A repeat after a crash finishes the fan-out: rows and messages are idempotent.
  await deps.store.createVerdict(record, options);
  const work: VerdictWork = {
    verdictId: undoId,
    verdict: 'clean',
    action: 'restore',
    mode: 'enforce',
    threatKey: threatKey({ sha256: verdict.sha256, url: verdict.url }),
    sha256: verdict.sha256,
    filename: verdict.filename,
  };
  let copies = 0;
  let continuationToken: string | undefined;
  do {
    const page = await deps.store.listRemediations(
      verdictId,
      { pageSize: deps.batchSize ?? 100, continuationToken },
      options,
    );
    const moved: CopyTarget[] = page.items
      .filter((r) => r.status === 'succeeded' && r.action !== 'none' && r.action !== 'restore')
      .map((r) => ({ recipient: r.recipient, internetMessageId: r.internetMessageId }));
    if (moved.length > 0) await enqueueCopies(work, moved, { rows: deps.store, queue: deps.queue }, options);
    copies += moved.length;
    continuationToken = page.continuationToken;
  } while (continuationToken);
  const fanned = await markFannedOut(undoId, copies, 'restore', undefined, deps.store, options);
  // Sent on a repeat too: the first request may have stopped right before it.
  if (fanned.status === 'fannedOut')
    await firstCheck(
      undoId,
      { queue: deps.queue, firstDelayMs: deps.checkDelayMs, ...(deps.now ? { now: deps.now } : {}) },
      options,
    );
  if (claim.created)
    await deps.audit?.append(
      {
        who,
        what: 'undo',
        verdictId,
        detail: `undo of ${verdict.action ?? 'the action'} requested: ${copies} ${copies === 1 ? 'copy' : 'copies'} to restore as verdict ${undoId}${comment ? `; comment: ${comment}` : ''}`,
        at: now,
      },
      options,
    );
  return { kind: 'undone', undoVerdictId: undoId, created: claim.created, copies };
}

function reasonNotToUndo(verdict: VerdictRecord): string | undefined {
  if (verdict.status === 'awaitingApproval' || verdict.status === 'rejected')
    return `the verdict is ${verdict.status}: it changed no mailbox`;
  if (verdict.mode === 'simulate') return 'the verdict ran in simulate mode: it changed no mailbox';
  if (verdict.action === undefined || verdict.action === 'none' || verdict.action === 'restore')
    return `the verdict's action is ${verdict.action ?? 'none'}: there is nothing it moved`;
  if (verdict.status === 'accepted')
    return 'the verdict has not been fanned out yet; undo it once it has run';
  return undefined;
}
