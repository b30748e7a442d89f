import type { ClawbackError, FailureReason } from '../errors.js';
import type { CallOptions } from '../ports/mail.js';
import type { RemediationMessage } from '../verdicts/messages.js';
import { type Lease, writeAsOwner } from './lease.js';
import type { Outcome, RecordDeps } from './record.js';

/** Reasons that mean "not this profile's mailbox": a chain moves on to its next profile. */
const tryNextProfile: ReadonlySet<FailureReason> = new Set(['InvalidMailbox', 'MailboxInaccessible']);

const baseBackoffMs = 30_000;

/** Backoff before the next attempt: the server's wish when it said one, else exponential with jitter. */
export function retryDelayMs(
  error: ClawbackError,
  attempt: number,
  random: () => number = Math.random,
): number {
  if (error.retryAfterMs !== undefined) return Math.max(0, error.retryAfterMs);
  return Math.round(baseBackoffMs * 2 ** (attempt - 1) * (0.8 + 0.4 * random()));
}

export type FailurePlan =
  { kind: 'nextProfile' } | { kind: 'retry'; delayMs: number } | { kind: 'final'; outcome: Outcome };

/** What a mailbox error means for the row: another profile, a later attempt, or its final outcome. */
export function planFailure(
  error: ClawbackError,
  message: RemediationMessage,
  context: { maxAttempts: number; chained: boolean; who: { profile: string; backend: 'graph' | 'ews' } },
): FailurePlan {
  const { who } = context;
  // The copy is gone (a restore found nothing to put back): an outcome, not a failure.
  if (error.code === 'MessageNotFound')
    return {
      kind: 'final',
      outcome: { status: 'notFound', fields: { ...who, reason: 'MessageNotFound', detail: error.detail } },
    };
  if (tryNextProfile.has(error.code) && context.chained) return { kind: 'nextProfile' };
  if (error.retryable && message.attempt < context.maxAttempts)
    return { kind: 'retry', delayMs: retryDelayMs(error, message.attempt) };
  const reason: FailureReason =
    error.retryable && error.code !== 'Throttled' ? 'ConnectionError' : error.code;
  const exhausted = error.retryable
    ? ` Gave up after ${message.attempt} ${message.attempt === 1 ? 'attempt' : 'attempts'}.`
    : '';
  return {
    kind: 'final',
    outcome: { status: 'failed', fields: { ...who, reason, detail: `${error.detail}${exhausted}` } },
  };
}

export interface RetryDeps extends RecordDeps {
  maxAttempts: number;
  /** Sends `next` so that it is delivered at `at` (a scheduled queue message). */
  scheduleRetry(next: RemediationMessage, at: Date, options?: CallOptions): Promise<void>;
}

/**
 * Schedules the next attempt, then gives the row back as pending with the reason. Scheduled first: if
 * the row write fails, the delivery is retried with the row still leased at this attempt, which the
 * lease's expiry hands to the next delivery. The intent stays: a timed-out call may have acted.
 */
export async function scheduleNextAttempt(
  lease: Lease,
  message: RemediationMessage,
  error: ClawbackError,
  delayMs: number,
  who: { profile: string; backend: 'graph' | 'ews' },
  deps: RetryDeps,
  options?: CallOptions,
): Promise<void> {
  const now = deps.now();
  await deps.scheduleRetry(
    { ...message, attempt: message.attempt + 1 },
    new Date(now.getTime() + delayMs),
    options,
  );
  await writeAsOwner(
    lease,
    {
      ...who,
      status: 'pending',
      reason: error.code,
      detail: `Attempt ${message.attempt} of ${deps.maxAttempts} failed (${error.detail}); retrying in ${Math.ceil(delayMs / 1000)} s.`,
      updatedAt: now.toISOString(),
      leaseExpiresAt: now.toISOString(),
    },
    deps,
    options,
  );
  deps.log(
    `remediation retry verdict=${message.verdictId} row=${message.rowKey} attempt=${message.attempt} reason=${error.code} delayMs=${delayMs}`,
  );
}
