import type { AuditScope, CallOptions } from '../ports/mail.js';
import type { RemediatedCopy, RemediationPatch, TerminalStatus } from '../ports/results.js';
import { type Lease, type LeaseDeps, writeAsOwner } from './lease.js';
import { withStorageRetries } from './storage.js';

export { isStorageStepError, withStorageRetries } from './storage.js';

/** What happened to the row's copies, decided before anything is written. */
export interface Outcome {
  status: TerminalStatus;
  fields: RemediationPatch;
  /** The change to remember for a later restore, recorded before the row turns terminal. */
  copy?: RemediatedCopy | undefined;
}

/**
 * Where a simulated process death may be injected: after the lease, after the intent, after the
 * mailbox action (SPEC §6 `crashAfterAction`), after the row write (`crashAfterRecord`).
 */
export type CrashPoint = 'afterClaim' | 'afterIntent' | 'afterAction' | 'afterRecord';

export interface RecordDeps extends LeaseDeps {
  crash?: ((point: CrashPoint) => void) | undefined;
  /** Who the mailbox actions are done for (the audit trail). */
  audit?: AuditScope | undefined;
  log: (line: string) => void;
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
  // Before the row turns terminal: a crash in between is redelivered, finds the copy already
  // changed, and finishes with this record in place. The audit rows of the actions go alongside.
  const copy = outcome.copy;
  await Promise.all([
    copy && withStorageRetries(deps, () => deps.store.recordRemediatedCopy(copy, options)),
    ...(deps.audit?.writes ?? []),
  ]);
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
  // The verdict's progress is counted from the rows by its completion check, so a crash here loses nothing.
  deps.crash?.('afterRecord');
  // Alert rules in infra/ match "remediation failed reason=<Reason>"; keep the wording.
  deps.log(
    outcome.status === 'failed'
      ? `remediation failed reason=${outcome.fields.reason ?? 'Unknown'} verdict=${verdictId} row=${rowKey}`
      : `remediation finished status=${outcome.status} verdict=${verdictId} row=${rowKey}`,
  );
  return true;
}
