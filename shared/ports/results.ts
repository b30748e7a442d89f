import type { FailureReason } from '../errors.js';
import type { DeliveryEntry } from '../verdicts/deliveries.js';
import type { ActionName, Mode, VerdictValue } from '../verdicts/schema.js';
import type { CallOptions } from './mail.js';

export const verdictStatuses = [
  'accepted',
  'fannedOut',
  'awaitingApproval',
  'rejected',
  'completed',
  'completedWithFailures',
] as const;
export type VerdictStatus = (typeof verdictStatuses)[number];

export const remediationStatuses = [
  'pending',
  'inProgress',
  'succeeded',
  'alreadyRemediated',
  'notFound',
  'failed',
  'simulated',
  'notReversible',
] as const;
export type RemediationStatus = (typeof remediationStatuses)[number];
export type TerminalStatus = Exclude<RemediationStatus, 'pending' | 'inProgress'>;

export function isTerminal(status: RemediationStatus): status is TerminalStatus {
  return status !== 'pending' && status !== 'inProgress';
}

/** A `Verdicts` row (SPEC §5). */
export interface VerdictRecord {
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
  recipients: number;
  succeeded: number;
  failed: number;
  notFound: number;
  /** Rows in any terminal status; the verdict completes when it reaches `recipients`. */
  done: number;
  receivedAt: string;
  completedAt?: string | undefined;
  /** Who approved (or rejected, or asked for the undo of) the verdict: `key:<name>` or an Entra identity. */
  approvedBy?: string | undefined;
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
  /** When the copy reached the mailbox (the mailbox's own received time). */
  deliveredAt?: string | undefined;
  /** Seconds from delivery to removal, for a copy Clawback removed. */
  exposureSeconds?: number | undefined;
  /** For a copy a recipient forwarded or replied on: `<original recipient> <original message id>`. */
  derivedFrom?: string | undefined;
  updatedAt: string;
  completedAt?: string | undefined;
}

export interface Versioned<T> {
  value: T;
  etag: string;
}

export interface Page<T> {
  items: T[];
  continuationToken?: string | undefined;
}

export type RemediationPatch = Partial<Omit<RemediationRecord, 'verdictId' | 'rowKey'>>;

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

export interface ResultStore {
  /** Inserts the row unless it exists; returns false when it already existed. */
  createVerdict(record: VerdictRecord, options?: CallOptions): Promise<boolean>;
  getVerdict(verdictId: string, options?: CallOptions): Promise<VerdictRecord | undefined>;
  /** Verdicts received in the range, newest first, at most `limit`. */
  listVerdicts(
    range: { from: Date; to: Date },
    limit: number,
    options?: CallOptions,
  ): Promise<VerdictRecord[]>;
  /** Merges fields into the row, creating it if absent. */
  mergeVerdict(record: Partial<VerdictRecord> & { verdictId: string }, options?: CallOptions): Promise<void>;
  /** Counts one row reaching a terminal status; completes the verdict when every row is done. */
  recordOutcome(verdictId: string, status: TerminalStatus, options?: CallOptions): Promise<VerdictRecord>;
  /** Records that fan-out finished with `recipients` rows; completes the verdict if they are all done. */
  markFannedOut(verdictId: string, recipients: number, options?: CallOptions): Promise<VerdictRecord>;

  /** Inserts pending rows; rows that already exist are left as they are. Returns how many were new. */
  createRemediations(records: RemediationRecord[], options?: CallOptions): Promise<number>;
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
    page: { pageSize: number; continuationToken?: string | undefined },
    options?: CallOptions,
  ): Promise<Page<RemediationRecord>>;

  /** Adds rows found after fan-out (group members) to the verdict's count, before they can complete. */
  addRecipients(verdictId: string, count: number, options?: CallOptions): Promise<void>;

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
    page: { pageSize: number; continuationToken?: string | undefined },
    options?: CallOptions,
  ): Promise<Page<RemediatedCopy>>;
  /** Records ledger rows (idempotent: the same delivery twice is one row). */
  recordDeliveries(entries: DeliveryEntry[], options?: CallOptions): Promise<void>;
  /** The delivered copies of a threat, page by page. */
  listDeliveries(
    threatKey: string,
    page: { pageSize: number; continuationToken?: string | undefined },
    options?: CallOptions,
  ): Promise<Page<DeliveryEntry>>;
  markRestored(
    threatKey: string,
    recipient: string,
    internetMessageId: string,
    restoredAt: string,
    options?: CallOptions,
  ): Promise<void>;

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
}
