import { ClawbackError } from '../errors.js';
import type { CallOptions, MailBackend } from '../ports/mail.js';
import type { RemediatedCopy, ResultStore } from '../ports/results.js';
import type { RemediationMessage } from '../verdicts/messages.js';
import type { ActionName } from '../verdicts/schema.js';
import { type Lease, recordIntent } from './lease.js';
import { type Outcome, type RecordDeps, withStorageRetries } from './record.js';

/** What a later clean verdict can put back: the copy was moved, not destroyed or sent away. */
export const reversible: ReadonlySet<ActionName> = new Set([
  'quarantine',
  'moveToDeletedItems',
  'moveToJunk',
  'softDelete',
]);

/**
 * Decides a restore without the mailbox where the record alone settles it: nothing recorded
 * (notFound), not reversible, or already restored. `undefined` means the mailbox must be visited.
 */
export function restoreWithoutMailbox(previous: RemediatedCopy | undefined): Outcome | undefined {
  if (!previous)
    return {
      status: 'notFound',
      fields: {
        reason: 'MessageNotFound',
        detail: `Clawback has no record of changing this copy for this threat, so there is nothing to restore.`,
      },
    };
  const who = { profile: previous.profile, backend: previous.backend };
  if (!reversible.has(previous.action))
    return {
      status: 'notReversible',
      fields: {
        ...who,
        detail: `This copy was ${pastTense(previous.action)} by verdict ${previous.verdictId}; that cannot be undone.`,
      },
    };
  if (previous.restoredAt)
    return {
      status: 'alreadyRemediated',
      fields: { ...who, reason: undefined, detail: `Already restored at ${previous.restoredAt}.` },
    };
  return undefined;
}

export interface RestoreContext {
  message: RemediationMessage;
  lease: Lease;
  previous: RemediatedCopy;
  who: { profile: string; backend: 'graph' | 'ews' };
  backend: MailBackend;
  deps: RecordDeps & { store: ResultStore };
  options: CallOptions;
}

/**
 * Puts the copies back where the record says they were. A restore that could bring back only some
 * copies ends `partiallyRestored`, with the ones left behind and why in `Detail`. Returns `undefined`
 * when the lease was lost before acting.
 */
export async function restoreCopies(ctx: RestoreContext): Promise<Outcome | undefined> {
  const { message, previous, who, backend, deps, options } = ctx;
  const where = { originalFolder: previous.originalFolder, quarantineLocation: previous.quarantineLocation };
  if (message.mode === 'simulate')
    return {
      status: 'simulated',
      fields: {
        ...who,
        ...where,
        reason: undefined,
        detail: `Would restore the copy to ${previous.originalFolder ?? 'its original folder'}; simulate mode changed nothing.`,
      },
    };
  if (!backend.restoreMessage)
    throw new ClawbackError(
      'ConfigurationError',
      `Profile ${who.profile} (${backend.kind}) cannot restore messages.`,
    );
  if (!(await withStorageRetries(deps, () => recordIntent(ctx.lease, { action: 'restore' }, deps, options))))
    return undefined;
  const outcome = await backend.restoreMessage(
    message.recipient,
    { internetMessageId: message.internetMessageId },
    {
      action: previous.action,
      originalFolder: previous.originalFolder,
      quarantineLocation: previous.quarantineLocation,
    },
    { abortSignal: ctx.lease.signal, audit: deps.audit },
  );
  deps.crash?.('afterAction');
  await withStorageRetries(deps, () =>
    deps.store.markRestored(
      message.threatKey,
      message.recipient,
      message.internetMessageId,
      deps.now().toISOString(),
      options,
    ),
  );
  if (outcome.notRestored)
    return {
      status: 'partiallyRestored',
      fields: {
        ...who,
        ...where,
        reason: undefined,
        detail: `${outcome.detail ?? 'Some copies were restored'}; not restored: ${outcome.notRestored}`,
      },
    };
  return {
    status:
      outcome.status === 'succeeded' || ctx.lease.earlier?.action === 'restore'
        ? 'succeeded'
        : 'alreadyRemediated',
    fields: {
      ...who,
      ...where,
      reason: undefined,
      detail:
        outcome.detail ??
        (outcome.status === 'succeeded'
          ? `Restored to ${previous.originalFolder ?? 'its original folder'} (undoing ${previous.action}).`
          : 'The copy was already back.'),
    },
  };
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
