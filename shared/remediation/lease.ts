import type { CallOptions } from '../ports/mail.js';
import {
  isTerminal,
  type RemediationPatch,
  type RemediationRecord,
  type ResultStore,
} from '../ports/results.js';
import type { RemediationMessage } from '../verdicts/messages.js';
import type { ActionName } from '../verdicts/schema.js';
import { isConflict, withStorageRetries } from './storage.js';

export { isConflict } from './storage.js';

/** What a lease holder was about to do, written on the row before the first effect on the mailbox. */
export interface Intent {
  action: ActionName;
  /** Folders the copies were in before the action (what a restore needs if the row write never came). */
  folders?: string[] | undefined;
  owner: string;
  at: string;
}

/**
 * The right to act on one row. Mailbox calls carry `signal`, which fires shortly before the lease
 * runs out, so no call of this owner is still in flight when another delivery may take the row over.
 */
export interface Lease {
  owner: string;
  etag: string;
  row: RemediationRecord;
  /** Left by an earlier owner that got as far as the mailbox: its effect may already be there. */
  earlier: Intent | undefined;
  expiresAt: Date;
  signal: AbortSignal;
  /**
   * The lease fields of a fresh row not yet written: they go with this owner's first write (its
   * intent, or its outcome), conditional on the ETag the row was created with. Until then the owner
   * has only searched, which changes nothing.
   */
  unwritten?: RemediationPatch | undefined;
}

export type Claim =
  | { kind: 'owned'; lease: Lease }
  | { kind: 'skipped'; why: string }
  /** Another delivery holds a live lease: come back after `until`, do not act now. */
  | { kind: 'deferred'; until: Date; why: string };

export interface LeaseDeps {
  store: ResultStore;
  now: () => Date;
  leaseMs: number;
  sleep?: ((ms: number) => Promise<void>) | undefined;
}

/** Calls stop this long before the lease expires, so a takeover never overlaps them. */
const safetyMarginMs = 500;

export function parseIntent(text: string | undefined): Intent | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<Intent>;
    return typeof value.action === 'string' && typeof value.owner === 'string'
      ? (value as Intent)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Leases the row before any mailbox call. A live lease of another owner defers this delivery; an
 * expired one is taken over, and the intent its owner recorded goes to the caller, which then looks
 * for the effect before repeating it. Every write is conditional on the row's ETag.
 */
export async function claimRow(
  message: RemediationMessage,
  owner: string,
  deps: LeaseDeps,
  options?: CallOptions,
): Promise<Claim> {
  const fresh = claimFreshRow(message, owner, deps, options);
  if (fresh) return fresh;
  for (let tries = 0; tries < 5; tries++) {
    const current = await withStorageRetries(deps, () =>
      deps.store.getRemediation(message.verdictId, message.rowKey, options),
    );
    if (!current) return { kind: 'skipped', why: 'no such remediation row' };
    const row = current.value;
    if (isTerminal(row.status)) return { kind: 'skipped', why: `row is already ${row.status}` };
    // A pending row that already counted this attempt means a retry is scheduled: this copy is stale.
    if (row.status === 'pending' && message.attempt <= row.attempts)
      return { kind: 'skipped', why: `attempt ${message.attempt} was already made` };
    if (row.status === 'inProgress' && message.attempt < row.attempts)
      return { kind: 'skipped', why: `attempt ${row.attempts} supersedes ${message.attempt}` };
    const now = deps.now();
    const heldUntil = row.leaseExpiresAt ? Date.parse(row.leaseExpiresAt) : NaN;
    if (row.leaseOwner && row.leaseOwner !== owner && heldUntil > now.getTime())
      return {
        kind: 'deferred',
        until: new Date(heldUntil),
        why: `another delivery (${row.leaseOwner}) holds the row until ${row.leaseExpiresAt}`,
      };
    const expiresAt = new Date(now.getTime() + deps.leaseMs);
    try {
      const etag = await withStorageRetries(deps, () =>
        deps.store.updateRemediation(
          message.verdictId,
          message.rowKey,
          leasePatch(owner, Math.max(message.attempt, row.attempts), now, expiresAt),
          current.etag,
          options,
        ),
      );
      return {
        kind: 'owned',
        lease: lease(
          owner,
          etag,
          { ...row, status: 'inProgress', leaseOwner: owner, leaseExpiresAt: expiresAt.toISOString() },
          parseIntent(row.intent),
          expiresAt,
          deps,
          options,
        ),
      };
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }
  return { kind: 'skipped', why: 'the row kept changing while it was being claimed' };
}

/**
 * The first delivery of a row fan-out created leases it with the ETag it was created with, without
 * reading it and without a write of its own: the lease fields go with the owner's first write (the
 * intent before an effect, or the outcome when there is none), which lands only if nothing touched
 * the row since it was created (pending, never attempted, no lease, no intent) — exactly when a read
 * would have found it free. Before that write the owner only searches. Two such deliveries may both
 * search; the first write wins and the other finds its write refused and stops, having changed
 * nothing. A redelivery or a retry (no creation ETag) reads the row as usual.
 */
function claimFreshRow(
  message: RemediationMessage,
  owner: string,
  deps: LeaseDeps,
  options?: CallOptions,
): Claim | undefined {
  if (message.rowEtag === undefined || message.attempt !== 1) return undefined;
  const now = deps.now();
  const expiresAt = new Date(now.getTime() + deps.leaseMs);
  const patch = leasePatch(owner, 1, now, expiresAt);
  const row: RemediationRecord = {
    verdictId: message.verdictId,
    rowKey: message.rowKey,
    recipient: message.recipient,
    internetMessageId: message.internetMessageId,
    action: message.action,
    ...patch,
  };
  const fresh = lease(owner, message.rowEtag, row, undefined, expiresAt, deps, options);
  fresh.unwritten = patch;
  return { kind: 'owned', lease: fresh };
}

/** The fields a lease sets on its row, whichever way the row was claimed. */
function leasePatch(owner: string, attempts: number, now: Date, expiresAt: Date) {
  return {
    status: 'inProgress' as const,
    attempts,
    leaseOwner: owner,
    leaseExpiresAt: expiresAt.toISOString(),
    updatedAt: now.toISOString(),
  };
}

function lease(
  owner: string,
  etag: string,
  row: RemediationRecord,
  earlier: Intent | undefined,
  expiresAt: Date,
  deps: LeaseDeps,
  options: CallOptions | undefined,
): Lease {
  const timeout = AbortSignal.timeout(Math.max(1, deps.leaseMs - safetyMarginMs));
  return {
    owner,
    etag,
    row,
    earlier,
    expiresAt,
    signal: options?.abortSignal ? AbortSignal.any([options.abortSignal, timeout]) : timeout,
  };
}

/**
 * A conditional write by the lease holder. A conflict means another delivery took the row over:
 * this owner stops (`false`) and leaves the row to it.
 */
export async function writeAsOwner(
  lease: Lease,
  patch: RemediationPatch,
  deps: LeaseDeps,
  options?: CallOptions,
): Promise<boolean> {
  const full = lease.unwritten ? { ...lease.unwritten, ...patch } : patch;
  try {
    lease.etag = await deps.store.updateRemediation(
      lease.row.verdictId,
      lease.row.rowKey,
      full,
      lease.etag,
      options,
    );
    lease.row = { ...lease.row, ...full };
    lease.unwritten = undefined;
    return true;
  } catch (error) {
    if (isConflict(error)) return false;
    throw error;
  }
}

/** Records the intent before the first effect; an earlier owner's intent (and its folders) is kept. */
export function recordIntent(
  lease: Lease,
  intent: Omit<Intent, 'owner' | 'at'>,
  deps: LeaseDeps,
  options?: CallOptions,
): Promise<boolean> {
  const folders = lease.earlier?.folders ?? intent.folders;
  const value: Intent = {
    action: intent.action,
    ...(folders && folders.length > 0 ? { folders } : {}),
    owner: lease.owner,
    at: deps.now().toISOString(),
  };
  return writeAsOwner(lease, { intent: JSON.stringify(value) }, deps, options);
}

/** Gives the row back after an exception, so the rescheduled delivery need not wait for the lease. */
export async function releaseLease(lease: Lease, deps: LeaseDeps, options?: CallOptions): Promise<void> {
  // A lease never written holds nothing to give back.
  if (lease.unwritten) return;
  await writeAsOwner(lease, { leaseExpiresAt: deps.now().toISOString() }, deps, options).catch(
    () => undefined,
  );
}
