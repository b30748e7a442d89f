import { createHash } from 'node:crypto';

import { ClawbackError } from '../../errors.js';
import type { ActionOutcome, CallOptions, FindCriteria, PreviousRemediation } from '../../ports/mail.js';
import type { ActionName } from '../../verdicts/schema.js';
import { messagePathOf } from './client.js';
import type { GraphContext } from './context.js';
import { recoverableItems } from './folders.js';
import {
  folderDestinations,
  formatQuarantineLocation,
  parseQuarantineLocation,
  type QuarantineLocation,
} from './locations.js';
import { messageIdFilter, messageSearchQuery, messageSelect, userPath } from './odata.js';
import { pick, plural, removing } from './outcomes.js';
import {
  centralFolder,
  configuredLocation,
  fromPrefix,
  importMime,
  mimeOf,
  quarantineCategory,
  quarantineCopySelect,
} from './quarantine.js';
import { searchAll, usableMessageId } from './search.js';

interface MoveRequest {
  id: string;
  destination: string;
}

/** Where each reversible action put the copies, for restore. */
const restoreSources: Partial<Record<ActionName, string>> = {
  moveToDeletedItems: 'deleteditems',
  moveToJunk: 'junkemail',
  softDelete: recoverableItems,
};

/**
 * Puts the copies an earlier remediation moved back into the folders its row recorded, keeping their
 * read state: by a move from the hidden quarantine folder, Deleted Items, Junk Email or Recoverable
 * Items, or by MIME re-import from the central quarantine mailbox.
 */
export async function restoreMessage(
  ctx: GraphContext,
  mailbox: string,
  criteria: FindCriteria,
  previous: PreviousRemediation,
  options?: CallOptions,
): Promise<ActionOutcome> {
  const messageId = usableMessageId(criteria.internetMessageId);
  if (messageId === undefined)
    throw new ClawbackError('MessageNotFound', 'The remediation row has no message id to restore by.');
  const recorded = folderDestinations(previous.originalFolder);
  const targets = recorded.length > 0 ? recorded : ['inbox'];
  const unrecorded = recorded.length === 0 ? ' (no original folder was recorded)' : '';
  const location =
    parseQuarantineLocation(previous.quarantineLocation, ctx.profile.quarantineFolder) ??
    (previous.action === 'quarantine' ? configuredLocation(ctx, mailbox) : undefined);
  const filter = messageIdFilter(messageId);
  if (location?.kind === 'mailbox')
    return restoreFromMailbox(ctx, mailbox, filter, location, targets, unrecorded, options);

  let source: { path: string | undefined; label: string };
  if (location?.kind === 'folder') {
    const id = await ctx.folders.existingOwnFolder(mailbox, 'msgfolderroot', location.folder, options);
    source = { path: id, label: `the hidden folder "${location.folder}"` };
  } else {
    const name = restoreSources[previous.action];
    if (name === undefined)
      throw new ClawbackError(
        'ConfigurationError',
        `Copies handled with ${previous.action} were not moved anywhere Clawback can take them back from.`,
      );
    source = { path: name, label: name };
  }

  const query = messageSearchQuery(filter);
  const scopes = [`${userPath(mailbox)}/messages?${query}`];
  if (source.path !== undefined)
    scopes.push(`${userPath(mailbox)}/mailFolders/${encodeURIComponent(source.path)}/messages?${query}`);
  const [anywhere = [], inSource = []] = await searchAll(ctx, mailbox, scopes, options);
  if (inSource.length === 0) {
    if (anywhere.length > 0)
      return {
        status: 'alreadyRemediated',
        originalFolder: previous.originalFolder,
        detail: `no copy is left in ${source.label}; ${anywhere.length} ${plural(anywhere.length)} already in the mailbox`,
      };
    throw new ClawbackError(
      'MessageNotFound',
      `No copy of ${messageId} is in ${source.label} of ${mailbox} or anywhere else in it; it may have been deleted since it was remediated.`,
    );
  }
  const moves = inSource.map((m, i) => ({ id: m.id, destination: pick(targets, i) }));
  const { moved, fellBack } = await moveBack(ctx, mailbox, moves, options);
  if (moved === 0)
    return {
      status: 'alreadyRemediated',
      originalFolder: previous.originalFolder,
      detail: `the copies left ${source.label} before they could be moved back`,
    };
  const missed = inSource.length - moved;
  return {
    status: 'succeeded',
    ...(missed > 0
      ? {
          notRestored: `${missed} of ${inSource.length} ${plural(inSource.length)} left ${source.label} (moved or deleted by someone else) before ${missed === 1 ? 'it' : 'they'} could be moved back`,
        }
      : {}),
    originalFolder: previous.originalFolder,
    quarantineLocation: previous.quarantineLocation,
    detail: `moved ${moved} ${plural(moved)} from ${source.label} back to ${targets.join(', ')}${unrecorded}${fellBack > 0 ? `; ${fellBack} went to the Inbox because the original folder no longer exists` : ''}`,
  };
}

/**
 * Re-imports each quarantined copy of this recipient into the recipient's mailbox, files it in its
 * original folder with its recorded read state, then deletes the quarantine copy. A draft copy already
 * in the mailbox is a re-import an earlier attempt made before it could delete the quarantine copy.
 */
async function restoreFromMailbox(
  ctx: GraphContext,
  mailbox: string,
  filter: string,
  location: Extract<QuarantineLocation, { kind: 'mailbox' }>,
  targets: string[],
  unrecorded: string,
  options: CallOptions | undefined,
): Promise<ActionOutcome> {
  const central = location.mailbox;
  const where = formatQuarantineLocation(location);
  const folderId = await centralFolder(ctx, location, false, options);
  const tag = quarantineCategory(mailbox);
  const [held, present] = await Promise.all([
    folderId === undefined
      ? Promise.resolve([])
      : searchAll(
          ctx,
          central,
          [
            `${userPath(central)}/mailFolders/${encodeURIComponent(folderId)}/messages?${messageSearchQuery(filter, quarantineCopySelect)}`,
          ],
          options,
        ).then(([copies = []]) => copies),
    searchAll(
      ctx,
      mailbox,
      [`${userPath(mailbox)}/messages?${messageSearchQuery(filter, `${messageSelect},isDraft,categories`)}`],
      options,
    ).then(([copies = []]) => copies),
  ]);
  const mine = held.filter((m) => location.child !== undefined || m.categories?.includes(tag));
  if (mine.length === 0) {
    if (present.length > 0)
      return {
        status: 'alreadyRemediated',
        detail: `no copy for ${mailbox} is left in ${where}; ${present.length} ${plural(present.length)} already in the mailbox`,
      };
    throw new ClawbackError(
      'MessageNotFound',
      `No copy for ${mailbox} is in ${where} and none is in the mailbox; it may have been deleted from the quarantine mailbox.`,
    );
  }
  let fellBack = 0;
  for (const [i, copy] of mine.entries()) {
    const copyPath = messagePathOf(central, copy.id);
    // Each re-import is tagged with the quarantine copy it came from, so an attempt after an
    // interrupted one adopts it instead of importing that copy again.
    const restoreTag = restoreCategory(copy.id);
    const restored =
      present.find((m) => m.categories?.includes(restoreTag)) ??
      (await importMime(ctx, mailbox, await mimeOf(ctx, central, copyPath, options), options));
    await ctx.client.call(
      'restore update',
      mailbox,
      messagePathOf(mailbox, restored.id),
      options,
      (r) =>
        r.patch({
          categories: [restoreTag],
          ...(copy.isRead === undefined ? {} : { isRead: copy.isRead }),
        }) as Promise<unknown>,
    );
    // The folder each copy came from travels on the copy; older copies go by the row's list.
    const from = copy.categories?.find((c) => c.startsWith(fromPrefix))?.slice(fromPrefix.length);
    const destination = folderDestinations(from)[0] ?? pick(targets, i);
    const { fellBack: inbox } = await moveBack(ctx, mailbox, [{ id: restored.id, destination }], options);
    fellBack += inbox;
    await removing('', '', () =>
      ctx.client.call(
        'quarantine copy delete',
        central,
        copyPath,
        options,
        (r) => r.delete() as Promise<unknown>,
      ),
    );
  }
  return {
    status: 'succeeded',
    originalFolder: targets.join('; '),
    quarantineLocation: where,
    detail: `re-imported ${mine.length} ${plural(mine.length)} from ${where} into ${targets.join(', ')}${unrecorded} as MIME (Exchange treats a re-imported message as a draft) and removed the quarantine copy${fellBack > 0 ? `; ${fellBack} went to the Inbox because the original folder no longer exists` : ''}`,
  };
}

/**
 * Moves copies back; a destination that no longer exists sends its copy to the Inbox instead, and a
 * copy that vanished meanwhile is left alone.
 */
async function moveBack(
  ctx: GraphContext,
  mailbox: string,
  moves: MoveRequest[],
  options: CallOptions | undefined,
): Promise<{ moved: number; fellBack: number }> {
  const attempt = async (batch: MoveRequest[]) =>
    ctx.client.each('restore move', mailbox, batch, options, (move) => ({
      method: 'POST',
      url: `${messagePathOf(mailbox, move.id)}/move`,
      body: { destinationId: move.destination },
    }));
  const results = await attempt(moves);
  const retry = moves.filter((move, i) => {
    const result = results[i];
    if (result === undefined || result.ok) return false;
    if (result.error.code !== 'MessageNotFound') throw result.error;
    return move.destination !== 'inbox';
  });
  const moved = results.filter((r) => r?.ok).length;
  if (retry.length === 0) return { moved, fellBack: 0 };
  const again = await attempt(retry.map((move) => ({ ...move, destination: 'inbox' })));
  const rescued = again.filter((r) => {
    if (!r.ok && r.error.code !== 'MessageNotFound') throw r.error;
    return r.ok;
  }).length;
  return { moved: moved + rescued, fellBack: rescued };
}

/** Tags a copy restored from the central mailbox with the quarantine copy it was imported from. */
function restoreCategory(copyId: string): string {
  return `clawback-restore:${createHash('sha256').update(copyId).digest('hex').slice(0, 16)}`;
}
