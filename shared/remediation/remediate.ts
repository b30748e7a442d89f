import type { ConfigDocument, Profile } from '../config/document.js';
import { ClawbackError, type FailureReason, toClawbackError } from '../errors.js';
import type { ActionOutcome, CallOptions, MailBackend, MailItem } from '../ports/mail.js';
import {
  ConcurrencyConflictError,
  isTerminal,
  type RemediatedCopy,
  type RemediationRecord,
  type ResultStore,
  type TerminalStatus,
} from '../ports/results.js';
import { routeRecipient } from '../routing/route.js';
import type { RemediationMessage } from '../verdicts/messages.js';
import type { ActionName } from '../verdicts/schema.js';
import { exposureOf } from './exposure.js';

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
  /** Issue 13: remediates the forwards and replies of a removed copy; returns how many rows it added. */
  followForwards?(
    copy: { message: RemediationMessage; profile: Profile; backend: MailBackend; items: MailItem[] },
    options?: CallOptions,
  ): Promise<number>;
}

export type RemediateResult =
  | { kind: 'done'; status: TerminalStatus }
  /** Nothing to do: the row is already terminal, or this delivery is older than the row's attempt. */
  | { kind: 'skipped'; why: string }
  /** A transient failure: `attempt + 1` has been scheduled for `delayMs` from now. */
  | { kind: 'retry'; delayMs: number; error: ClawbackError };

/** What a later clean verdict can put back: the copy was moved, not destroyed or sent away. */
const reversible: ReadonlySet<ActionName> = new Set([
  'quarantine',
  'moveToDeletedItems',
  'moveToJunk',
  'softDelete',
]);
/** Actions that change a copy, and so are recorded for a later restore (or its refusal). */
const changesTheCopy: ReadonlySet<ActionName> = new Set([
  ...reversible,
  'hardDelete',
  'forward',
  'forwardAndDelete',
]);

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

interface Claimed {
  etag: string;
}

/**
 * Takes a `Remediations` row through its state machine: pending → inProgress → terminal, each step
 * conditional on the row's ETag, so redelivered and concurrent messages never apply an effect twice.
 */
export async function remediate(
  message: RemediationMessage,
  deps: RemediateDeps,
  options?: CallOptions,
): Promise<RemediateResult> {
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? (() => undefined);
  const claimed = await claim(message, deps, now, options);
  if ('skipped' in claimed) return { kind: 'skipped', why: claimed.skipped };
  let { etag } = claimed;

  const finish = async (
    status: TerminalStatus,
    fields: Partial<RemediationRecord>,
  ): Promise<RemediateResult> => {
    const at = now().toISOString();
    etag = await deps.store.updateRemediation(
      message.verdictId,
      message.rowKey,
      { ...fields, status, updatedAt: at, completedAt: at },
      etag,
      options,
    );
    // Alert rules in infra/ match "remediation failed reason=<Reason>"; keep the wording.
    log(
      status === 'failed'
        ? `remediation failed reason=${fields.reason ?? 'Unknown'} verdict=${message.verdictId} row=${message.rowKey}`
        : `remediation finished status=${status} verdict=${message.verdictId} row=${message.rowKey}`,
    );
    return { kind: 'done', status };
  };

  const restore = async (
    backend: MailBackend,
    previous: RemediatedCopy,
    who: { profile: string; backend: 'graph' | 'ews' },
  ): Promise<RemediateResult> => {
    const where = {
      originalFolder: previous.originalFolder,
      quarantineLocation: previous.quarantineLocation,
    };
    if (message.mode === 'simulate')
      return finish('simulated', {
        ...who,
        ...where,
        detail: `Would restore the copy to ${previous.originalFolder ?? 'its original folder'}; simulate mode changed nothing.`,
      });
    if (!backend.restoreMessage)
      throw new ClawbackError(
        'ConfigurationError',
        `Profile ${who.profile} (${backend.kind}) cannot restore messages.`,
      );
    const outcome = await backend.restoreMessage(
      message.recipient,
      { internetMessageId: message.internetMessageId },
      {
        action: previous.action,
        originalFolder: previous.originalFolder,
        quarantineLocation: previous.quarantineLocation,
      },
      options,
    );
    await deps.store.markRestored(
      message.threatKey,
      message.recipient,
      message.internetMessageId,
      now().toISOString(),
      options,
    );
    return finish(outcome.status, {
      ...who,
      ...where,
      detail:
        outcome.detail ??
        (outcome.status === 'succeeded'
          ? `Restored to ${previous.originalFolder ?? 'its original folder'} (undoing ${previous.action}).`
          : 'The copy was already back.'),
    });
  };

  const route = routeRecipient(deps.config, message.recipient);
  if (!route || route.profiles.length === 0) {
    const domain = message.recipient.slice(message.recipient.lastIndexOf('@') + 1);
    return finish('failed', {
      reason: 'NoProfileMapped',
      detail: `No profile or chain is mapped to the domain "${domain}" and there is no "ALL" mapping; add one to the configuration's domains.`,
    });
  }

  let previous: RemediatedCopy | undefined;
  let profiles = route.profiles;
  if (message.action === 'restore') {
    previous = await deps.store.getRemediatedCopy(
      message.threatKey,
      message.recipient,
      message.internetMessageId,
      options,
    );
    if (!previous)
      return finish('notFound', {
        reason: 'MessageNotFound',
        detail: `Clawback has no record of changing this copy for this threat, so there is nothing to restore.`,
      });
    if (!reversible.has(previous.action))
      return finish('notReversible', {
        profile: previous.profile,
        backend: previous.backend,
        detail: `This copy was ${pastTense(previous.action)} by verdict ${previous.verdictId}; that cannot be undone.`,
      });
    if (previous.restoredAt)
      return finish('alreadyRemediated', {
        profile: previous.profile,
        backend: previous.backend,
        detail: `Already restored at ${previous.restoredAt}.`,
      });
    // The profile that moved the copy is the one that can reach where it went.
    const mover = previous.profile;
    profiles = [...profiles.filter((p) => p.name === mover), ...profiles.filter((p) => p.name !== mover)];
  }

  let lastMailboxError: ClawbackError | undefined;
  for (const profile of profiles) {
    const backend = deps.backendFor(profile);
    const who = { profile: profile.name, backend: backend.kind };
    const criteria = {
      internetMessageId: message.internetMessageId,
      sender: message.sender,
      subject: message.subject,
      receivedAt: message.receivedAt,
    };
    try {
      if (previous) return await restore(backend, previous, who);
      const found = await backend.findMessages(message.recipient, criteria, options);
      const via = found.usedFallback
        ? ' (found by sender, subject and received time because the message id matched nothing)'
        : '';
      if (found.items.length === 0) {
        return await finish('notFound', {
          ...who,
          reason: 'MessageNotFound',
          detail:
            `No copy of ${message.internetMessageId} is in the mailbox ${message.recipient}; it may have been deleted already or never delivered there.` +
            (backend.kind === 'graph'
              ? ' Graph cannot search In-Place Archive mailboxes; an archived copy needs an EWS profile.'
              : ''),
        });
      }
      if (message.mode === 'simulate') {
        return await finish('simulated', {
          ...who,
          ...exposureOf(found.items, message.action, 'simulated', now()),
          originalFolder: folderList(found.items),
          detail: `Would apply ${message.action} to ${found.items.length} ${plural(found.items.length)}${via}; simulate mode changed nothing.`,
        });
      }
      let outcomes: ActionOutcome[] = [];
      // A backend that can act on a mailbox's copies in parallel does so within its per-mailbox limit.
      if (backend.applyActions)
        outcomes = await backend.applyActions(message.recipient, found.items, message.action, options);
      else
        for (const item of found.items)
          outcomes.push(await backend.applyAction(message.recipient, item, message.action, options));
      const changed = outcomes.filter((o) => o.status === 'succeeded');
      const status: TerminalStatus = changed.length === 0 ? 'alreadyRemediated' : 'succeeded';
      // The backend's folder references (ids or well-known names) are what a restore needs; the row
      // shows the operator the folder names the copies were found in.
      const originalFolder = unique(outcomes.map((o) => o.originalFolder));
      const shownFolder = unique(found.items.map((i) => i.folderName)) ?? originalFolder;
      const quarantineLocation = unique(outcomes.map((o) => o.quarantineLocation));
      // What the backend adds (e.g. that Exchange keeps a MIME import as a draft) belongs in the row too.
      const notes = message.action === 'none' ? undefined : unique(outcomes.map((o) => o.detail));
      const detail =
        (message.action === 'none'
          ? `Found ${found.items.length} ${plural(found.items.length)}${via}; the action is none, so nothing was changed.`
          : status === 'alreadyRemediated'
            ? `Every copy was already where ${message.action} would put it${via}.`
            : `Applied ${message.action} to ${changed.length} of ${found.items.length} ${plural(found.items.length)}${via}.`) +
        (notes ? ` ${notes}` : '');
      if (status === 'succeeded' && changesTheCopy.has(message.action)) {
        // Recorded before the row turns terminal: a crash in between is redelivered, finds the copy
        // already moved, and finishes as alreadyRemediated with this record in place.
        await deps.store.recordRemediatedCopy(
          {
            threatKey: message.threatKey,
            recipient: message.recipient,
            // A copy found by sender, subject and time is recorded under its own id, which a restore needs.
            internetMessageId: message.internetMessageId || (found.items[0]?.internetMessageId ?? ''),
            action: message.action,
            profile: profile.name,
            backend: backend.kind,
            verdictId: message.verdictId,
            originalFolder,
            quarantineLocation,
            remediatedAt: now().toISOString(),
          },
          options,
        );
      }
      const derived =
        status === 'succeeded' || status === 'alreadyRemediated'
          ? ((await deps.followForwards?.({ message, profile, backend, items: found.items }, options)) ?? 0)
          : 0;
      return await finish(status, {
        ...who,
        ...exposureOf(found.items, message.action, status, now()),
        originalFolder: shownFolder,
        quarantineLocation,
        detail:
          derived > 0
            ? `${detail} Followed forwards and replies: ${derived} derived ${plural(derived)} queued.`
            : detail,
        reason: undefined,
      });
    } catch (caught) {
      const error = toClawbackError(caught);
      // The copy is gone (a restore found nothing to put back): an outcome, not a failure.
      if (error.code === 'MessageNotFound')
        return finish('notFound', { ...who, reason: 'MessageNotFound', detail: error.detail });
      if (error.code === 'InvalidMailbox' && deps.expandGroup && backend.expandRecipient && !previous) {
        const expansion = await backend.expandRecipient(message.recipient, options).catch(() => undefined);
        if (expansion?.kind === 'group') {
          const added = await deps.expandGroup(expansion.members, options);
          const name = expansion.displayName ? ` "${expansion.displayName}"` : '';
          return finish('succeeded', {
            ...who,
            detail: `${message.recipient} is a group${name}: expanded into ${expansion.members.length} member ${expansion.members.length === 1 ? 'mailbox' : 'mailboxes'} (${added} new rows), each remediated on its own row.`,
          });
        }
      }
      if (tryNextProfile.has(error.code) && route.profiles.length > 1) {
        log(
          `profile ${profile.name} does not reach ${message.recipient} (${error.code}); trying the next profile of ${route.target}`,
        );
        lastMailboxError = error;
        continue;
      }
      if (error.retryable && message.attempt < deps.config.settings.maxAttempts) {
        const delayMs = retryDelayMs(error, message.attempt);
        // Scheduled before the row says so: if this fails, the delivery is retried with the row still
        // inProgress at this attempt, which a redelivery may claim again.
        await deps.scheduleRetry(
          { ...message, attempt: message.attempt + 1 },
          new Date(now().getTime() + delayMs),
          options,
        );
        await deps.store.updateRemediation(
          message.verdictId,
          message.rowKey,
          {
            ...who,
            status: 'pending',
            reason: error.code,
            detail: `Attempt ${message.attempt} of ${deps.config.settings.maxAttempts} failed (${error.detail}); retrying in ${Math.ceil(delayMs / 1000)} s.`,
            updatedAt: now().toISOString(),
          },
          etag,
          options,
        );
        log(
          `remediation retry verdict=${message.verdictId} row=${message.rowKey} attempt=${message.attempt} reason=${error.code} delayMs=${delayMs}`,
        );
        return { kind: 'retry', delayMs, error };
      }
      const reason: FailureReason =
        error.retryable && error.code !== 'Throttled' ? 'ConnectionError' : error.code;
      const exhausted = error.retryable
        ? ` Gave up after ${message.attempt} ${message.attempt === 1 ? 'attempt' : 'attempts'}.`
        : '';
      return finish('failed', { ...who, reason, detail: `${error.detail}${exhausted}` });
    }
  }
  const error = lastMailboxError;
  return finish('failed', {
    reason: 'InvalidMailbox',
    detail: `No profile of the chain "${route.target}" has a mailbox for ${message.recipient}${error ? ` (last: ${error.detail})` : ''}.`,
  });
}

async function claim(
  message: RemediationMessage,
  deps: RemediateDeps,
  now: () => Date,
  options?: CallOptions,
): Promise<Claimed | { skipped: string }> {
  for (let tries = 0; tries < 5; tries++) {
    const current = await deps.store.getRemediation(message.verdictId, message.rowKey, options);
    if (!current) return { skipped: 'no such remediation row' };
    const row = current.value;
    if (isTerminal(row.status)) return { skipped: `row is already ${row.status}` };
    // A pending row that already counted this attempt means a retry is scheduled: this copy is stale.
    if (row.status === 'pending' && message.attempt <= row.attempts)
      return { skipped: `attempt ${message.attempt} was already made` };
    if (row.status === 'inProgress' && message.attempt < row.attempts)
      return { skipped: `attempt ${row.attempts} supersedes ${message.attempt}` };
    try {
      const etag = await deps.store.updateRemediation(
        message.verdictId,
        message.rowKey,
        { status: 'inProgress', attempts: message.attempt, updatedAt: now().toISOString() },
        current.etag,
        options,
      );
      return { etag };
    } catch (error) {
      if (!(error instanceof ConcurrencyConflictError)) throw error;
    }
  }
  return { skipped: 'the row kept changing while it was being claimed' };
}

function folderList(items: MailItem[]): string {
  return unique(items.map((i) => i.folderName ?? i.folderId)) ?? '';
}

function unique(values: (string | undefined)[]): string | undefined {
  const set = [...new Set(values.filter((v): v is string => v !== undefined && v !== ''))];
  return set.length === 0 ? undefined : set.join('; ');
}

function pastTense(action: ActionName): string {
  switch (action) {
    case 'hardDelete':
      return 'permanently deleted';
    case 'forward':
      return 'forwarded (the original was left in place)';
    case 'forwardAndDelete':
      return 'forwarded and deleted';
    default:
      return action;
  }
}

function plural(n: number): string {
  return n === 1 ? 'copy' : 'copies';
}
