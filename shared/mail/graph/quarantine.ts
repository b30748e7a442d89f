import { createHash } from 'node:crypto';

import { ResponseType } from '@microsoft/microsoft-graph-client';

import type { GraphProfile } from '../../config/document.js';
import { ClawbackError, isClawbackError } from '../../errors.js';
import type { ActionOutcome, CallOptions, MailItem } from '../../ports/mail.js';
import { type GraphMessage, messagePathOf } from './client.js';
import type { GraphContext } from './context.js';
import { formatQuarantineLocation, type QuarantineLocation } from './locations.js';
import { messageIdFilter, messageSearchQuery, userPath } from './odata.js';
import { removing } from './outcomes.js';
import { searchAll } from './search.js';

export const quarantineCopySelect = 'id,internetMessageId,parentFolderId,isRead,categories';
const draftNote = 'Exchange stores a MIME import as a draft';
/** Category on a quarantine copy naming the folder its original was in (the row's folder label). */
export const fromPrefix = 'Clawback from: ';

/** A move into a hidden folder of the recipient's own mailbox: headers and read state kept, exactly reversible. */
export async function quarantineToFolder(
  ctx: GraphContext,
  mailbox: string,
  item: MailItem,
  originalFolder: string,
  messagePath: string,
  options: CallOptions | undefined,
): Promise<ActionOutcome> {
  const name = ctx.profile.quarantineFolder;
  const location = formatQuarantineLocation({ kind: 'folder', folder: name });
  const folderId = await ctx.folders.ownFolder(mailbox, 'msgfolderroot', name, true, options);
  if (item.folderId === folderId)
    return {
      status: 'alreadyRemediated',
      quarantineLocation: location,
      detail: `already in the hidden folder "${name}"`,
    };
  return removing(
    originalFolder,
    `moved to the hidden folder "${name}"`,
    () =>
      ctx.client.call(
        'quarantine move',
        mailbox,
        `${messagePath}/move`,
        options,
        (request) => request.post({ destinationId: folderId }) as Promise<unknown>,
      ),
    location,
  );
}

/**
 * Copies the message as MIME into the central quarantine mailbox (Graph cannot move between
 * mailboxes), tags the copy with the recipient and the original read state, files it, then deletes the
 * original. A copy already tagged for this recipient is not imported twice when a retry gets here.
 */
export async function quarantineToMailbox(
  ctx: GraphContext,
  mailbox: string,
  item: MailItem,
  originalFolder: string,
  messagePath: string,
  options: CallOptions | undefined,
  rowKey?: string,
): Promise<ActionOutcome> {
  const central = ctx.profile.quarantineMailbox;
  if (!central)
    throw new ClawbackError(
      'ConfigurationError',
      `Profile "${ctx.profile.name}" quarantines into a mailbox but names no quarantineMailbox.`,
    );
  const location = centralLocation(ctx.profile, central, mailbox);
  const where = formatQuarantineLocation(location);
  const folderId = await centralFolder(ctx, location, true, options);
  if (folderId === undefined) throw new ClawbackError('Unknown', `Could not open ${where}.`);
  const tag = quarantineCategory(mailbox);
  // One quarantine copy per original copy: each import is tagged with the original it came from.
  const copyTag = rowKey === undefined ? tag : copyCategory(rowKey, item.id);
  const held = item.internetMessageId
    ? await searchAll(
        ctx,
        central,
        [
          `${userPath(central)}/messages?${messageSearchQuery(messageIdFilter(item.internetMessageId), quarantineCopySelect)}`,
        ],
        options,
      )
    : [[]];
  const tagged = held[0]?.find((m) => m.categories?.includes(copyTag));
  if (tagged === undefined) {
    let mime: Buffer;
    try {
      mime = await mimeOf(ctx, mailbox, messagePath, options);
    } catch (error) {
      if (isClawbackError(error) && error.code === 'MessageNotFound')
        return {
          status: 'alreadyRemediated',
          originalFolder,
          detail: 'the message was already gone from the mailbox',
        };
      throw error;
    }
    const copy = await importMime(ctx, central, mime, options);
    await fileQuarantineCopy(
      ctx,
      central,
      copy.id,
      folderId,
      // The folder's id, not its label: the label is named alongside the action, after this runs.
      [...new Set([tag, copyTag, `${fromPrefix}${item.folderId}`])],
      item.isRead,
      options,
    );
  } else if (tagged.parentFolderId !== folderId) {
    await ctx.client.call(
      'quarantine move',
      central,
      `${messagePathOf(central, tagged.id)}/move`,
      options,
      (r) => r.post({ destinationId: folderId }) as Promise<unknown>,
    );
  }
  const already = tagged !== undefined;
  return removing(
    originalFolder,
    `${already ? 'already copied' : 'copied as MIME'} into ${where} (${draftNote}) and deleted from the mailbox`,
    () => ctx.client.call('delete', mailbox, messagePath, options, (r) => r.delete() as Promise<unknown>),
    where,
  );
}

/**
 * Tags a fresh import with its recipient and read state and moves it into the quarantine folder. An
 * import that cannot be filed is deleted again, so a retry does not leave an untagged twin in Drafts
 * (only a tag tells whose a copy is, so another worker could not safely adopt it).
 */
async function fileQuarantineCopy(
  ctx: GraphContext,
  central: string,
  copyId: string,
  folderId: string,
  tags: string[],
  isRead: boolean | undefined,
  options: CallOptions | undefined,
): Promise<void> {
  const copyPath = messagePathOf(central, copyId);
  try {
    await ctx.client.call(
      'quarantine copy update',
      central,
      copyPath,
      options,
      (r) => r.patch({ categories: tags, ...(isRead === undefined ? {} : { isRead }) }) as Promise<unknown>,
    );
    await ctx.client.call(
      'quarantine move',
      central,
      `${copyPath}/move`,
      options,
      (r) => r.post({ destinationId: folderId }) as Promise<unknown>,
    );
  } catch (error) {
    await ctx.client
      .call('quarantine copy cleanup', central, copyPath, options, (r) => r.delete() as Promise<unknown>)
      .catch((cleanup: unknown) =>
        ctx.deps.log?.(
          `graph ${ctx.profile.name}: could not remove an unfiled import from ${central}: ${isClawbackError(cleanup) ? cleanup.detail : String(cleanup)}`,
        ),
      );
    throw error;
  }
}

/** The central quarantine folder (and per-recipient child) a location names; created only when asked. */
export async function centralFolder(
  ctx: GraphContext,
  location: Extract<QuarantineLocation, { kind: 'mailbox' }>,
  create: boolean,
  options: CallOptions | undefined,
): Promise<string | undefined> {
  const open = (parent: string, name: string) =>
    create
      ? ctx.folders.ownFolder(location.mailbox, parent, name, false, options)
      : ctx.folders.existingOwnFolder(location.mailbox, parent, name, options);
  const top = await open('msgfolderroot', location.folder);
  if (top === undefined || location.child === undefined) return top;
  return open(top, location.child);
}

/** Where this profile quarantines a recipient's copies. */
export function configuredLocation(ctx: GraphContext, mailbox: string): QuarantineLocation {
  const central = ctx.profile.quarantineMailbox;
  if (ctx.profile.quarantineTarget !== 'mailbox' || !central)
    return { kind: 'folder', folder: ctx.profile.quarantineFolder };
  return centralLocation(ctx.profile, central, mailbox);
}

export async function mimeOf(
  ctx: GraphContext,
  mailbox: string,
  messagePath: string,
  options: CallOptions | undefined,
): Promise<Buffer> {
  const content = await ctx.client.call<ArrayBuffer>(
    'MIME download',
    mailbox,
    `${messagePath}/$value`,
    options,
    (r) => r.responseType(ResponseType.ARRAYBUFFER).get() as Promise<ArrayBuffer>,
  );
  return Buffer.from(content);
}

/** Graph accepts MIME only on `/users/{id}/messages`, base64 in a text/plain body; the item lands in Drafts. */
export function importMime(
  ctx: GraphContext,
  mailbox: string,
  mime: Buffer,
  options: CallOptions | undefined,
): Promise<GraphMessage> {
  return ctx.client.call<GraphMessage>(
    'MIME import',
    mailbox,
    `${userPath(mailbox)}/messages`,
    options,
    (r) => r.header('Content-Type', 'text/plain').post(mime.toString('base64')) as Promise<GraphMessage>,
  );
}

function centralLocation(
  profile: GraphProfile,
  central: string,
  mailbox: string,
): Extract<QuarantineLocation, { kind: 'mailbox' }> {
  return {
    kind: 'mailbox',
    mailbox: central.toLowerCase(),
    folder: profile.quarantineFolder,
    child: profile.folderPerRecipient ? mailbox.toLowerCase() : undefined,
  };
}

/** The category on a central quarantine copy that says whose mailbox it came from. */
export function quarantineCategory(mailbox: string): string {
  return `Clawback: ${mailbox.toLowerCase()}`;
}

/** Tags a quarantine copy with the row and the original item it was imported from. */
function copyCategory(rowKey: string, itemId: string): string {
  return `clawback-copy:${createHash('sha256').update(`${rowKey}|${itemId}`).digest('hex').slice(0, 16)}`;
}
