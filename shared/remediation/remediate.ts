import { randomUUID } from 'node:crypto';

import { isSimulatedCrash } from '../chaos/crash.js';
import type { ConfigDocument, Profile } from '../config/document.js';
import { type ClawbackError, toClawbackError } from '../errors.js';
import type { AuditScope, CallOptions, MailBackend } from '../ports/mail.js';
import type { RemediatedCopy, ResultStore, TerminalStatus } from '../ports/results.js';
import { routeRecipient } from '../routing/route.js';
import type { RemediationMessage } from '../verdicts/messages.js';
import { actOnCopies } from './act.js';
import { claimRow, type Lease, releaseLease } from './lease.js';
import { planFailure, scheduleNextAttempt } from './onFailure.js';
import {
  type CrashPoint,
  finishRow,
  isStorageStepError,
  type Outcome,
  type RecordDeps,
  withStorageRetries,
} from './record.js';
import { restoreCopies, restoreWithoutMailbox } from './restore.js';

export { retryDelayMs } from './onFailure.js';

export interface RemediateDeps {
  store: ResultStore;
  config: ConfigDocument;
  backendFor(profile: Profile): MailBackend;
  /** Sends `next` so that it is delivered at `at` (a scheduled queue message). */
  scheduleRetry(next: RemediationMessage, at: Date, options?: CallOptions): Promise<void>;
  /**
   * Adds one row (and message) per member of a group the recipient turned out to be; returns how
   * many rows were new. Without it, a group address is reported as an invalid mailbox.
   */
  expandGroup?(members: string[], options?: CallOptions): Promise<number>;
  now?: () => Date;
  log?: (line: string) => void;
  /** This delivery's name on the lease; a fresh one per call by default. */
  owner?: string;
  /** How long a lease holds the row; its mailbox calls are cut off just before. Default 5 minutes. */
  leaseMs?: number;
  /** Fault injection (local chaos runs): throws a simulated crash at the named point. */
  crash?: (point: CrashPoint) => void;
  /** Who the mailbox actions are done for: every mailbox call carries it to the audit trail. */
  audit?: AuditScope | undefined;
  /** Issue 13: remediates the forwards and replies of a removed copy; returns how many rows it added. */
  followForwards?: (copy: RemovedCopy, options?: CallOptions) => Promise<number>;
}

/** Issue 13: a copy this row removed, as follow forwards needs it. */
export interface RemovedCopy {
  message: RemediationMessage;
  profile: Profile;
  backend: MailBackend;
  /** The earliest copy's arrival in the mailbox: forwards were sent after it. */
  deliveredAt?: string | undefined;
}

export type RemediateResult =
  | { kind: 'done'; status: TerminalStatus }
  /** Nothing to do: the row is terminal, this delivery is stale, or another owner took the row over. */
  | { kind: 'skipped'; why: string }
  /** Another delivery holds the row's lease: this one must come back after `until`, having done nothing. */
  | { kind: 'deferred'; until: Date; why: string }
  /** A transient failure: `attempt + 1` has been scheduled for `delayMs` from now. */
  | { kind: 'retry'; delayMs: number; error: ClawbackError };

export const defaultLeaseMs = 5 * 60_000;

/**
 * Takes one `Remediations` row from pending to what really happened in the mailbox: lease the row,
 * record the intent, act (or find what an earlier owner did), record the outcome, count it. See
 * SPEC §6 for the guarantees; lease.ts, act.ts, restore.ts and record.ts for each step.
 */
export async function remediate(
  message: RemediationMessage,
  deps: RemediateDeps,
  options?: CallOptions,
): Promise<RemediateResult> {
  const record: RecordDeps = {
    store: deps.store,
    now: deps.now ?? (() => new Date()),
    leaseMs: deps.leaseMs ?? defaultLeaseMs,
    log: deps.log ?? (() => undefined),
    crash: deps.crash,
    // The audit rows of this row's mailbox actions are written alongside its restore record.
    audit: deps.audit && { ...deps.audit, writes: [] },
  };
  const claim = await claimRow(message, deps.owner ?? randomUUID(), record, options);
  if (claim.kind !== 'owned') return claim;
  const lease = claim.lease;
  record.crash?.('afterClaim');
  try {
    const result = await remediateLeased(message, lease, deps, record, options);
    // A fresh row's lease goes with the owner's first write; refused, the row had changed since it was
    // created (a redelivery, a duplicate, an earlier owner's crash): read it as any other delivery does.
    if (result.kind === 'skipped' && lease.unwritten)
      return await remediate({ ...message, rowEtag: undefined }, deps, options);
    return result;
  } catch (error) {
    // A dead process releases nothing; anything else gives the row back for the rescheduled delivery.
    if (!isSimulatedCrash(error)) await releaseLease(lease, record);
    throw error;
  }
}

async function remediateLeased(
  message: RemediationMessage,
  lease: Lease,
  deps: RemediateDeps,
  record: RecordDeps,
  options: CallOptions | undefined,
): Promise<RemediateResult> {
  const mailbox: CallOptions = { abortSignal: lease.signal, audit: record.audit };
  const finish = async (outcome: Outcome): Promise<RemediateResult> =>
    (await finishRow(lease, outcome, record, options))
      ? { kind: 'done', status: outcome.status }
      : { kind: 'skipped', why: 'another delivery took the row over' };
  const lost: RemediateResult = { kind: 'skipped', why: 'the lease was lost before acting' };

  const route = routeRecipient(deps.config, message.recipient);
  if (!route || route.profiles.length === 0) {
    const domain = message.recipient.slice(message.recipient.lastIndexOf('@') + 1);
    return finish({
      status: 'failed',
      fields: {
        reason: 'NoProfileMapped',
        detail: `No profile or chain is mapped to the domain "${domain}" and there is no "ALL" mapping; add one to the configuration's domains.`,
      },
    });
  }

  let previous: RemediatedCopy | undefined;
  let profiles = route.profiles;
  if (message.action === 'restore') {
    previous = await withStorageRetries(record, () =>
      deps.store.getRemediatedCopy(message.threatKey, message.recipient, message.internetMessageId, options),
    );
    const settled = restoreWithoutMailbox(previous);
    if (settled) return finish(settled);
    // The profile that moved the copy is the one that can reach where it went.
    const mover = previous?.profile;
    profiles = [...profiles.filter((p) => p.name === mover), ...profiles.filter((p) => p.name !== mover)];
  }

  let lastMailboxError: ClawbackError | undefined;
  for (const profile of profiles) {
    const backend = deps.backendFor(profile);
    const who = { profile: profile.name, backend: backend.kind };
    let outcome: Outcome | undefined;
    try {
      outcome = previous
        ? await restoreCopies({
            message,
            lease,
            previous,
            who,
            backend,
            deps: record,
            options: options ?? {},
          })
        : await actOnCopies({ message, lease, profile, backend, deps: record, options: options ?? {} });
      // Issue 13: derived rows are written before this row turns terminal, so the completion check
      // cannot complete the verdict ahead of them.
      if (outcome && !previous && deps.followForwards)
        outcome = await withForwards(outcome, { message, profile, backend }, deps.followForwards, mailbox);
    } catch (caught) {
      // A call cut off by the lease's end is no verdict on the mailbox: the delivery is rescheduled.
      if (isSimulatedCrash(caught) || isStorageStepError(caught) || lease.signal.aborted) throw caught;
      const error = toClawbackError(caught);
      if (error.code === 'InvalidMailbox' && deps.expandGroup && backend.expandRecipient && !previous) {
        const expansion = await backend.expandRecipient(message.recipient, mailbox).catch(() => undefined);
        if (expansion?.kind === 'group') {
          const added = await deps.expandGroup(expansion.members, options);
          const name = expansion.displayName ? ` "${expansion.displayName}"` : '';
          return finish({
            status: 'succeeded',
            fields: {
              ...who,
              reason: undefined,
              detail: `${message.recipient} is a group${name}: expanded into ${expansion.members.length} member ${expansion.members.length === 1 ? 'mailbox' : 'mailboxes'} (${added} new rows), each remediated on its own row.`,
            },
          });
        }
      }
      const plan = planFailure(error, message, {
        maxAttempts: deps.config.settings.maxAttempts,
        chained: route.profiles.length > 1,
        who,
      });
      if (plan.kind === 'nextProfile') {
        record.log(
          `profile ${profile.name} does not reach ${message.recipient} (${error.code}); trying the next profile of ${route.target}`,
        );
        lastMailboxError = error;
        continue;
      }
      if (plan.kind === 'retry') {
        await scheduleNextAttempt(lease, message, error, plan.delayMs, who, {
          ...record,
          maxAttempts: deps.config.settings.maxAttempts,
          scheduleRetry: (next, at, o) => deps.scheduleRetry(next, at, o),
        });
        return { kind: 'retry', delayMs: plan.delayMs, error };
      }
      outcome = plan.outcome;
    }
    return outcome ? finish(outcome) : lost;
  }
  return finish({
    status: 'failed',
    fields: {
      reason: 'InvalidMailbox',
      detail: `No profile of the chain "${route.target}" has a mailbox for ${message.recipient}${lastMailboxError ? ` (last: ${lastMailboxError.detail})` : ''}.`,
    },
  });
}

/** Issue 13: follows the forwards of a copy the row removed, and says so in the row's detail. */
async function withForwards(
  outcome: Outcome,
  copy: Omit<RemovedCopy, 'deliveredAt'>,
  follow: NonNullable<RemediateDeps['followForwards']>,
  options: CallOptions,
): Promise<Outcome> {
  if (outcome.status !== 'succeeded' && outcome.status !== 'alreadyRemediated') return outcome;
  const derived = await follow({ ...copy, deliveredAt: outcome.fields.deliveredAt }, options);
  if (derived === 0) return outcome;
  const note = `Followed forwards and replies: ${derived} derived ${derived === 1 ? 'copy' : 'copies'} queued.`;
  return {
    ...outcome,
    fields: { ...outcome.fields, detail: `${outcome.fields.detail ?? ''} ${note}`.trim() },
  };
}
