import type { FailureReason } from '../errors.js';
import type { DeliveryEntry } from '../verdicts/deliveries.js';
import type { ActionName, Mode, VerdictValue } from '../verdicts/schema.js';
import type { CallOptions } from './mail.js';

/** SPEC §3. */
export const verdictStatuses = [
  'accepted',
  'fannedOut',
  'awaitingApproval',
  'rejected',
  'completed',
  'completedWithFailures',
  'unresolved',
  'deadLettered',
] as const;
export type VerdictStatus = (typeof verdictStatuses)[number];

export const terminalStatuses = [
  'succeeded',
  'alreadyRemediated',
  'notFound',
  'failed',
  'simulated',
  'notReversible',
  'partiallyRestored',
] as const;
export type TerminalStatus = (typeof terminalStatuses)[number];

export const remediationStatuses = ['pending', 'inProgress', ...terminalStatuses] as const;
export type RemediationStatus = (typeof remediationStatuses)[number];

export function isTerminal(status: RemediationStatus): status is TerminalStatus {
  return status !== 'pending' && status !== 'inProgress';
}

/** One count column per terminal row status (SPEC §5), named as the status. */
export type StatusCounts = Record<TerminalStatus, number>;

export function emptyCounts(): StatusCounts {
  return Object.fromEntries(terminalStatuses.map((s) => [s, 0])) as StatusCounts;
}

/** A `Verdicts` row (SPEC §5). */
export interface VerdictRecord extends StatusCounts {
  verdictId: string;
  source: string;
  eventId: string;
  verdict: VerdictValue;
  previousVerdict?: VerdictValue | undefined;
  sha256?: string | undefined;
  filename?: string | undefined;
  url?: string | undefined;
  action?: ActionName | undefined;
  mode?: Mode | undefined;
  status: VerdictStatus;
  /** Why the verdict is `unresolved`, `deadLettered` or `rejected`. */
  note?: string | undefined;
  /** Rows of the verdict (group members included) as of the last completion check. */
  recipients: number;
  /** Rows in a terminal status: the sum of the count columns, derived on read and never stored. */
  done: number;
  receivedAt: string;
  completedAt?: string | undefined;
  /** Who approved (or rejected, or asked for the undo of) the verdict: `key:<name>` or an Entra identity. */
  approvedBy?: string | undefined;
  /** Issue 13: the policy's `approvalAbove` when the gate held the verdict (simulated first, then awaits approval). */
  approvalAbove?: number | undefined;
  /** Median of the rows' `ExposureSeconds`, set when the verdict completes. */
  medianExposureSeconds?: number | undefined;
}

/** A `Remediations` row (SPEC §5). */
export interface RemediationRecord {
  verdictId: string;
  rowKey: string;
  recipient: string;
  internetMessageId: string;
  action: ActionName;
  status: RemediationStatus;
  reason?: FailureReason | undefined;
  detail?: string | undefined;
  profile?: string | undefined;
  backend?: 'graph' | 'ews' | undefined;
  attempts: number;
  originalFolder?: string | undefined;
  quarantineLocation?: string | undefined;
  sha256?: string | undefined;
  filename?: string | undefined;
  url?: string | undefined;
  /** When the copy reached the mailbox (the mailbox's own received time). */
  deliveredAt?: string | undefined;
  /** Seconds from delivery to removal, for a copy Clawback removed. */
  exposureSeconds?: number | undefined;
  /** A copy found by following a forward: the original recipient and message id. */
  derivedFrom?: string | undefined;
  updatedAt: string;
  completedAt?: string | undefined;
  /** The delivery that holds the row (its invocation id) and until when; no mailbox call without it. */
  leaseOwner?: string | undefined;
  leaseExpiresAt?: string | undefined;
  /**
   * What the lease holder was about to do (JSON, written before any non-idempotent effect): a later
   * owner reads it to find the effect instead of repeating it.
   */
  intent?: string | undefined;
}

/** What the completion check reads of each row. */
export interface RowOutcome {
  status: RemediationStatus;
  exposureSeconds?: number | undefined;
}

export interface Versioned<T> {
  value: T;
  etag: string;
}

export interface Page<T> {
  items: T[];
  continuationToken?: string | undefined;
}

export interface PageRequest {
  pageSize: number;
  continuationToken?: string | undefined;
}

export type RemediationPatch = Partial<Omit<RemediationRecord, 'verdictId' | 'rowKey'>>;
export type VerdictPatch = Partial<Omit<VerdictRecord, 'done'>> & { verdictId: string };

/**
 * A copy Clawback changed, kept per threat so a verdict that flips back to clean can restore it.
 * `threatKey` is the SHA-256, or `url-` + a hash of the URL.
 */
export interface RemediatedCopy {
  threatKey: string;
  recipient: string;
  internetMessageId: string;
  action: ActionName;
  profile: string;
  backend: 'graph' | 'ews';
  verdictId: string;
  originalFolder?: string | undefined;
  quarantineLocation?: string | undefined;
  remediatedAt: string;
  restoredAt?: string | undefined;
}

/** Thrown by conditional updates when the row changed since it was read. */
export class ConcurrencyConflictError extends Error {
  override readonly name = 'ConcurrencyConflictError';
}

/** The `Verdicts` table. Only fan-out and the completion check write a verdict's row, never a worker. */
export interface Verdicts {
  /** Inserts the row unless it exists; returns false when it already existed. */
  createVerdict(record: VerdictRecord, options?: CallOptions): Promise<boolean>;
  /**
   * `createVerdict` for many rows at once, results in the same order. Optional: ingest writes row by
   * row where a store cannot batch.
   */
  createVerdicts?(records: VerdictRecord[], options?: CallOptions): Promise<boolean[]>;
  getVerdict(verdictId: string, options?: CallOptions): Promise<VerdictRecord | undefined>;
  /** The row with its ETag, for a conditional `updateVerdict`. */
  readVerdict(verdictId: string, options?: CallOptions): Promise<Versioned<VerdictRecord> | undefined>;
  /** Verdicts received in the range, newest first, at most `limit`. */
  listVerdicts(
    range: { from: Date; to: Date },
    limit: number,
    options?: CallOptions,
  ): Promise<VerdictRecord[]>;
  /** Merges fields into the row, creating it if absent. */
  mergeVerdict(record: VerdictPatch, options?: CallOptions): Promise<void>;
  /**
   * Merges fields into the row only if it still has `etag`. Returns false, having written nothing,
   * when the row changed since it was read: the caller decides again from a fresh read, never loops.
   */
  updateVerdict(patch: VerdictPatch, etag: string, options?: CallOptions): Promise<boolean>;
}

/** The `Remediations` table: one row per (verdict, recipient, message), the source of every count. */
export interface RemediationRows {
  /** Inserts pending rows; rows that already exist are left as they are. Returns how many were new. */
  /**
   * Inserts the rows that do not exist yet; returns how many were new. `created`, when given, receives
   * each new row's ETag (fan-out hands it to the row's first delivery, which then leases without a read).
   */
  createRemediations(
    records: RemediationRecord[],
    options?: CallOptions,
    created?: Map<string, string>,
  ): Promise<number>;
  getRemediation(
    verdictId: string,
    rowKey: string,
    options?: CallOptions,
  ): Promise<Versioned<RemediationRecord> | undefined>;
  /** Conditional on `etag`; throws ConcurrencyConflictError when the row changed. Returns the new etag. */
  updateRemediation(
    verdictId: string,
    rowKey: string,
    patch: RemediationPatch,
    etag: string,
    options?: CallOptions,
  ): Promise<string>;
  listRemediations(
    verdictId: string,
    page: PageRequest,
    options?: CallOptions,
  ): Promise<Page<RemediationRecord>>;
  /**
   * Only the `Status` and `ExposureSeconds` columns of a page of the verdict's rows, in RowKey order:
   * what counting (and the verdict's median exposure) needs.
   */
  listRemediationOutcomes(
    verdictId: string,
    page: PageRequest,
    options?: CallOptions,
  ): Promise<Page<RowOutcome>>;
}

/** `RemediatedCopies`: what a clean verdict restores. */
export interface RemediatedCopies {
  /** Records (or replaces) the latest change Clawback made to one copy. */
  recordRemediatedCopy(copy: RemediatedCopy, options?: CallOptions): Promise<void>;
  getRemediatedCopy(
    threatKey: string,
    recipient: string,
    internetMessageId: string,
    options?: CallOptions,
  ): Promise<RemediatedCopy | undefined>;
  /** Every copy remediated for a threat, page by page. */
  listRemediatedCopies(
    threatKey: string,
    page: PageRequest,
    options?: CallOptions,
  ): Promise<Page<RemediatedCopy>>;
  markRestored(
    threatKey: string,
    recipient: string,
    internetMessageId: string,
    restoredAt: string,
    options?: CallOptions,
  ): Promise<void>;
}

/** `Deliveries`: which threats reached which recipients. */
export interface DeliveriesLedger {
  /** Records ledger rows (idempotent: the same delivery twice is one row). */
  recordDeliveries(entries: DeliveryEntry[], options?: CallOptions): Promise<void>;
  /** The delivered copies of a threat, page by page. */
  listDeliveries(threatKey: string, page: PageRequest, options?: CallOptions): Promise<Page<DeliveryEntry>>;
}

/** `VerdictEvents`: one verdict per `(source, eventId)`. */
export interface EventClaims {
  /**
   * Claims `(source, eventId)` for a new verdict id. Returns the verdict id that owns the event:
   * `created` is false when an earlier request already claimed it.
   */
  claimEvent(
    source: string,
    eventId: string,
    verdictId: string,
    options?: CallOptions,
  ): Promise<{ verdictId: string; created: boolean }>;
  /** Undoes a claim whose verdict could not be enqueued. */
  releaseEvent(source: string, eventId: string, options?: CallOptions): Promise<void>;
  /**
   * `claimEvent` for distinct events at once, results in the same order. Optional: ingest claims one
   * by one where a store cannot batch.
   */
  claimEvents?(
    claims: { source: string; eventId: string; verdictId: string }[],
    options?: CallOptions,
  ): Promise<{ verdictId: string; created: boolean }[]>;
}

/**
 * Every results capability in one object, as the composition root builds it. Callers take the
 * narrow port they use (`Verdicts`, `RemediationRows`, ...), never this.
 */
export type ResultStore = Verdicts & RemediationRows & RemediatedCopies & DeliveriesLedger & EventClaims;
