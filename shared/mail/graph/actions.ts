import type { ActionOptions, ActionOutcome, CallOptions, MailItem } from '../../ports/mail.js';
import type { ActionName } from '../../verdicts/schema.js';
import { messagePathOf } from './client.js';
import type { GraphContext } from './context.js';
import { recoverableItems } from './folders.js';
import { forward } from './forward.js';
import { removing } from './outcomes.js';
import { quarantineToFolder, quarantineToMailbox } from './quarantine.js';

const destinations = { moveToDeletedItems: 'deleteditems', moveToJunk: 'junkemail' } as const;
/** Actions whose effect on one copy does not depend on what was done to another copy. */
export const perCopyActions: ReadonlySet<ActionName> = new Set([
  'none',
  'softDelete',
  'hardDelete',
  'moveToDeletedItems',
  'moveToJunk',
  'quarantine',
]);

/** Stands for the copy's folder label in an outcome while the label is still being looked up. */
export const pendingFolder = '\u0000folder';

export function withFolderLabel(outcome: ActionOutcome, label: string): ActionOutcome {
  return outcome.originalFolder === pendingFolder ? { ...outcome, originalFolder: label } : outcome;
}

export async function act(
  ctx: GraphContext,
  mailbox: string,
  item: MailItem,
  action: Exclude<ActionName, 'restore'>,
  originalFolder: string,
  options: ActionOptions | undefined,
): Promise<ActionOutcome> {
  const messagePath = messagePathOf(mailbox, item.id);
  switch (action) {
    case 'none':
      return { status: 'succeeded', originalFolder, detail: 'found; no action' };
    case 'softDelete':
      if (item.folderName === recoverableItems)
        return { status: 'alreadyRemediated', originalFolder, detail: 'already in Recoverable Items' };
      return removing(originalFolder, 'deleted (Recoverable Items)', () =>
        ctx.client.call(
          'delete',
          mailbox,
          messagePath,
          options,
          (request) => request.delete() as Promise<unknown>,
        ),
      );
    case 'hardDelete':
      return removing(originalFolder, 'permanently deleted', () =>
        ctx.client.call(
          'permanent delete',
          mailbox,
          `${messagePath}/permanentDelete`,
          options,
          (request) => request.post(null) as Promise<unknown>,
        ),
      );
    case 'moveToDeletedItems':
    case 'moveToJunk':
      return moveTo(ctx, mailbox, item, destinations[action], originalFolder, messagePath, options);
    case 'forward':
    case 'forwardAndDelete':
      return forward(ctx, mailbox, originalFolder, messagePath, action === 'forwardAndDelete', options);
    case 'quarantine':
      return ctx.profile.quarantineTarget === 'mailbox'
        ? quarantineToMailbox(ctx, mailbox, item, originalFolder, messagePath, options, options?.effect?.key)
        : quarantineToFolder(ctx, mailbox, item, originalFolder, messagePath, options);
  }
}

async function moveTo(
  ctx: GraphContext,
  mailbox: string,
  item: MailItem,
  destination: string,
  originalFolder: string,
  messagePath: string,
  options: CallOptions | undefined,
): Promise<ActionOutcome> {
  const destinationId = await ctx.folders.wellKnownFolderId(mailbox, destination, options);
  if (item.folderId === destinationId)
    return { status: 'alreadyRemediated', originalFolder, detail: `already in ${destination}` };
  return removing(originalFolder, `moved to ${destination}`, () =>
    ctx.client.call(
      'move',
      mailbox,
      `${messagePath}/move`,
      options,
      (request) => request.post({ destinationId: destination }) as Promise<unknown>,
    ),
  );
}
