import type { Profile } from '../config/document.js';
import type { ActionOutcome, CallOptions, MailBackend, MailItem } from '../ports/mail.js';
import type { RemediationMessage } from '../verdicts/messages.js';
import type { ActionName } from '../verdicts/schema.js';
import { exposureOf } from './exposure.js';
import { type Lease, recordIntent } from './lease.js';
import { type Outcome, type RecordDeps, withStorageRetries } from './record.js';

/** Actions that change a copy, and so are recorded for a later restore (or its refusal). */
const changesTheCopy: ReadonlySet<ActionName> = new Set([
  'quarantine',
  'moveToDeletedItems',
  'moveToJunk',
  'softDelete',
  'hardDelete',
  'forward',
  'forwardAndDelete',
]);

/** Distinct original folders an intent records (each entry is a name and a Graph or EWS id). */
export const maxIntentFolders = 50;

export interface ActContext {
  message: RemediationMessage;
  lease: Lease;
  profile: Profile;
  backend: MailBackend;
  deps: RecordDeps;
  options: CallOptions;
}

/**
 * Finds the copies and applies the action. Before the first effect the intent goes on the row; an
 * owner that took over from one that recorded an intent passes it on as `recovering`, so the backend
 * looks for the forward or import the first owner made, and copies already where the action puts
 * them count as this row's own work. Returns `undefined` when the lease was lost before acting.
 * Mailbox errors propagate; nothing is written here except the intent.
 */
export async function actOnCopies(ctx: ActContext): Promise<Outcome | undefined> {
  const { message, lease, backend, deps, options } = ctx;
  // Mailbox calls end with the lease; table writes are conditional on it instead.
  const mailbox: CallOptions = { abortSignal: lease.signal, audit: deps.audit };
  const who = { profile: ctx.profile.name, backend: backend.kind };
  const earlier = lease.earlier?.action === message.action ? lease.earlier : undefined;
  const found = await backend.findMessages(
    message.recipient,
    {
      internetMessageId: message.internetMessageId,
      sender: message.sender,
      subject: message.subject,
      receivedAt: message.receivedAt,
    },
    mailbox,
  );
  const via = found.usedFallback
    ? ' (found by sender, subject and received time because the message id matched nothing)'
    : '';
  const items = found.items;
  if (items.length === 0) {
    if (earlier && message.mode === 'enforce' && removesTheCopy(message.action))
      return {
        status: 'succeeded',
        fields: {
          ...who,
          reason: undefined,
          originalFolder: list(earlier.folders),
          detail: `An earlier attempt applied ${message.action}; no copy is left where it was.`,
        },
        copy: remediatedCopy(ctx, items, earlier.folders ? list(earlier.folders) : undefined, undefined),
      };
    return {
      status: 'notFound',
      fields: {
        ...who,
        reason: 'MessageNotFound',
        detail:
          `No copy of ${message.internetMessageId} is in the mailbox ${message.recipient}; it may have been deleted already or never delivered there.` +
          (backend.kind === 'graph'
            ? ' Graph cannot search In-Place Archive mailboxes; an archived copy needs an EWS profile.'
            : ''),
      },
    };
  }
  if (message.mode === 'simulate')
    return {
      status: 'simulated',
      fields: {
        ...who,
        reason: undefined,
        ...exposureOf(items, message.action, 'simulated', deps.now()),
        originalFolder: list(items.map((i) => i.folderName ?? i.folderId)),
        detail: `Would apply ${message.action} to ${items.length} ${plural(items.length)}${via}; simulate mode changed nothing.`,
      },
    };
  if (changesTheCopy.has(message.action)) {
    // Both the name and the id: a restore goes by the id, the operator reads the name.
    // Each folder once, and at most maxIntentFolders of them: the intent is one table property
    // (64 KiB), and a mailbox can hold hundreds of copies in the same few folders.
    const folders = [
      ...new Set(items.map((i) => (i.folderName ? `${i.folderName} (${i.folderId})` : i.folderId))),
    ].slice(0, maxIntentFolders);
    if (
      !(await withStorageRetries(deps, () =>
        recordIntent(lease, { action: message.action, folders }, deps, options),
      ))
    )
      return undefined;
  }
  deps.crash?.('afterIntent');
  const effect = { key: `${message.verdictId}|${message.rowKey}`, recovering: earlier !== undefined };
  const targets = message.action === 'forward' ? items.slice(0, 1) : items;
  let outcomes: ActionOutcome[] = [];
  // A backend that can act on a mailbox's copies in parallel does so within its per-mailbox limit;
  // forwardAndDelete sends once and deletes the rest, so its copies differ and go one by one.
  if (backend.applyActions && message.action !== 'forwardAndDelete')
    outcomes = await backend.applyActions(message.recipient, targets, message.action, { ...mailbox, effect });
  else
    for (const [index, item] of targets.entries())
      outcomes.push(
        await backend.applyAction(message.recipient, item, actionFor(message.action, index), {
          ...mailbox,
          effect,
        }),
      );
  deps.crash?.('afterAction');

  const changed = outcomes.filter((o) => o.status === 'succeeded').length;
  // Copies already in place after an earlier owner's intent were moved by that owner: this row's work.
  const status = changed > 0 || earlier ? 'succeeded' : 'alreadyRemediated';
  // The backend's folder references (ids or well-known names) are what a restore needs; the row
  // shows the operator the folder names the copies were found in.
  // After an earlier owner's intent, some copies may be gone or moved already: the intent recorded
  // where all of them were before the first effect.
  const originalFolder = earlier?.folders
    ? list(earlier.folders)
    : list(outcomes.map((o) => o.originalFolder));
  const shownFolder = earlier?.folders
    ? originalFolder
    : (list(items.map((i) => i.folderName)) ?? originalFolder);
  const quarantineLocation = list(outcomes.map((o) => o.quarantineLocation));
  // What the backend adds (e.g. that Exchange keeps a MIME import as a draft) belongs in the row too.
  const notes = message.action === 'none' ? undefined : list(outcomes.map((o) => o.detail));
  const detail =
    (message.action === 'none'
      ? `Found ${items.length} ${plural(items.length)}${via}; the action is none, so nothing was changed.`
      : status === 'alreadyRemediated'
        ? `Every copy was already where ${message.action} would put it${via}.`
        : changed === 0
          ? `An earlier attempt applied ${message.action} to ${items.length} ${plural(items.length)}${via}.`
          : `Applied ${message.action} to ${changed} of ${items.length} ${plural(items.length)}${via}.`) +
    (notes ? ` ${notes}` : '');
  return {
    status,
    fields: {
      ...who,
      ...exposureOf(items, message.action, status, deps.now()),
      originalFolder: shownFolder,
      quarantineLocation,
      detail,
      reason: undefined,
    },
    copy:
      status === 'succeeded' && changesTheCopy.has(message.action)
        ? remediatedCopy(ctx, items, originalFolder, quarantineLocation)
        : undefined,
  };
}

/**
 * `forward` sends one copy per mailbox and row, however many copies the mailbox holds; with
 * `forwardAndDelete` the other copies are deleted without being sent again.
 */
function actionFor(action: ActionName, index: number): ActionName {
  return index > 0 && action === 'forwardAndDelete' ? 'softDelete' : action;
}

/** After these, a copy that is no longer found is one this row's earlier attempt took away. */
function removesTheCopy(action: ActionName): boolean {
  return changesTheCopy.has(action) && action !== 'forward';
}

function remediatedCopy(
  ctx: ActContext,
  items: readonly MailItem[],
  originalFolder: string | undefined,
  quarantineLocation: string | undefined,
) {
  const { message } = ctx;
  return {
    threatKey: message.threatKey,
    recipient: message.recipient,
    // A copy found by sender, subject and time is recorded under its own id, which a restore needs.
    internetMessageId: message.internetMessageId || (items[0]?.internetMessageId ?? ''),
    action: message.action,
    profile: ctx.profile.name,
    backend: ctx.backend.kind,
    verdictId: message.verdictId,
    originalFolder,
    quarantineLocation,
    remediatedAt: ctx.deps.now().toISOString(),
  };
}

export function list(values: readonly (string | undefined)[] | undefined): string | undefined {
  const set = [...new Set((values ?? []).filter((v): v is string => v !== undefined && v !== ''))];
  return set.length === 0 ? undefined : set.join('; ');
}

export function plural(n: number): string {
  return n === 1 ? 'copy' : 'copies';
}
