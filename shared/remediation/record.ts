import { toClawbackError } from '../errors.js';
import type { CallOptions } from '../ports/mail.js';
import type { RemediatedCopy, RemediationPatch, TerminalStatus } from '../ports/results.js';
import { isConflict, type Lease, type LeaseDeps, writeAsOwner } from './lease.js';

/** What happened to the row's copies, decided before anything is written. */
export interface Outcome {
  status: TerminalStatus;
  fields: RemediationPatch;
  /** The change to remember for a later restore, recorded before the row turns terminal. */
  copy?: RemediatedCopy | undefined;
}

/** Where a fault may be injected (SPEC §6 chaos): a simulated process death at that point. */
export type CrashPoint = 'afterAction' | 'afterRecord';

export interface RecordDeps extends LeaseDeps {
  crash?: ((point: CrashPoint) => void) | undefined;
  log: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

const storageAttempts = 6;

/**
 * A table write that still failed after its retries. It is not the mailbox's failure: it never
 * becomes the row's outcome, and the delivery is rescheduled instead.
 */
export class StorageStepError extends Error {
  override readonly name = 'StorageStepError';
  constructor(cause: Error) {
    super(`Table Storage kept failing: ${cause.message}`, { cause });
  }
}

export function isStorageStepError(error: unknown): boolean {
  return (error as { name?: unknown } | undefined)?.name === 'StorageStepError';
}

/**
 * Retries a table write that failed for a transient reason, with backoff. An outcome that already
 * happened in the mailbox is never turned into a failure by storage: after the last attempt the
 * error propagates, the delivery is rescheduled, and the next owner finds the effect again.
 */
export async function withStorageRetries<T>(deps: RecordDeps, write: () => Promise<T>): Promise<T> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (caught) {
      if (isConflict(caught)) throw caught;
      const error = toClawbackError(caught);
      if (!error.retryable || attempt >= storageAttempts) throw new StorageStepError(error);
      await sleep(Math.round(50 * 2 ** (attempt - 1) * (0.5 + Math.random())));
    }
  }
}

/**
 * Writes the terminal row (conditional on the lease), then counts it on the verdict. Returns false
 * when another owner took the row over meanwhile: it owns the outcome now.
 */
export async function finishRow(
  lease: Lease,
  outcome: Outcome,
  deps: RecordDeps,
  options?: CallOptions,
): Promise<boolean> {
  const { verdictId, rowKey } = lease.row;
  const at = deps.now().toISOString();
  if (outcome.copy) {
    // Before the row turns terminal: a crash in between is redelivered, finds the copy already
    // changed, and finishes with this record in place.
    const copy = outcome.copy;
    await withStorageRetries(deps, () => deps.store.recordRemediatedCopy(copy, options));
  }
  const patch: RemediationPatch = {
    ...outcome.fields,
    status: outcome.status,
    updatedAt: at,
    completedAt: at,
    leaseExpiresAt: at,
  };
  const written = await withStorageRetries(deps, () => writeAsOwner(lease, patch, deps, options));
  if (!written) {
    const now = await withStorageRetries(deps, () => deps.store.getRemediation(verdictId, rowKey, options));
    // A write that failed after it landed comes back as a conflict on retry: the row says so.
    const mine = now?.value.leaseOwner === lease.owner && now.value.status === outcome.status;
    if (!mine) {
      deps.log(`remediation handed over verdict=${verdictId} row=${rowKey}: another delivery took the row`);
      return false;
    }
  }
  deps.crash?.('afterRecord');
  await withStorageRetries(deps, () => deps.store.recordOutcome(verdictId, outcome.status, options));
  // Alert rules in infra/ match "remediation failed reason=<Reason>"; keep the wording.
  deps.log(
    outcome.status === 'failed'
      ? `remediation failed reason=${outcome.fields.reason ?? 'Unknown'} verdict=${verdictId} row=${rowKey}`
      : `remediation finished status=${outcome.status} verdict=${verdictId} row=${rowKey}`,
  );
  return true;
}
