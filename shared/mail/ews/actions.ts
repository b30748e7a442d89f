import {
  BodyType,
  ConflictResolutionMode,
  DeleteMode,
  EmailAddress,
  ItemId,
  ItemSchema,
  MessageBody,
  WellKnownFolderName,
} from 'ews-javascript-api';

import { ClawbackError, isClawbackError } from '../../errors.js';
import type { ActionOutcome, CallOptions, MailItem } from '../../ports/mail.js';
import type { ActionName } from '../../verdicts/schema.js';
import { type EwsClient, type Session, surelyNotSent } from './client.js';
import { alreadyGone, type EwsItems } from './items.js';
import { forwardedProperty, quarantineIdPrefix, readExtended, readProperty } from './properties.js';
import type { EwsQuarantine } from './quarantine.js';
import { escapeXml } from './xml.js';

/** What each action asks of EWS. */
export type EwsActionTarget =
  | { kind: 'none' }
  /** DeleteItem in place, not reversible. */
  | { kind: 'purge'; mode: DeleteMode }
  /** DeleteItem with a moving DeleteType; the copy lands in `folder`. */
  | { kind: 'delete'; mode: DeleteMode; folder: WellKnownFolderName; location: string }
  /** MoveItem to a well-known folder. */
  | { kind: 'move'; folder: WellKnownFolderName; location: string }
  | { kind: 'quarantine' }
  | { kind: 'restore' }
  | { kind: 'forward'; andDelete: boolean };

export const ewsActionTargets = {
  none: { kind: 'none' },
  hardDelete: { kind: 'purge', mode: DeleteMode.HardDelete },
  softDelete: {
    kind: 'delete',
    mode: DeleteMode.SoftDelete,
    folder: WellKnownFolderName.RecoverableItemsDeletions,
    location: 'Recoverable Items\\Deletions',
  },
  moveToDeletedItems: {
    kind: 'delete',
    mode: DeleteMode.MoveToDeletedItems,
    folder: WellKnownFolderName.DeletedItems,
    location: 'Deleted Items',
  },
  moveToJunk: { kind: 'move', folder: WellKnownFolderName.JunkEmail, location: 'Junk Email' },
  quarantine: { kind: 'quarantine' },
  restore: { kind: 'restore' },
  forward: { kind: 'forward', andDelete: false },
  forwardAndDelete: { kind: 'forward', andDelete: true },
} as const satisfies Record<ActionName, EwsActionTarget>;

/** Applies one action to one copy, as `ewsActionTargets` says. */
export class EwsActions {
  constructor(
    private readonly client: EwsClient,
    private readonly items: EwsItems,
    private readonly quarantine: EwsQuarantine,
  ) {}

  async applyAction(
    mailbox: string,
    item: MailItem,
    action: ActionName,
    options?: CallOptions,
  ): Promise<ActionOutcome> {
    const { client, items } = this;
    const creds = await client.credentials(options);
    const session = client.open(mailbox, creds);
    if (item.id.startsWith(quarantineIdPrefix))
      return this.quarantine.applyToQuarantined(session, mailbox, item, action, creds, options);
    const itemId = () => new ItemId(escapeXml(item.id));
    const target: EwsActionTarget = ewsActionTargets[action];
    switch (target.kind) {
      case 'none':
        return { status: 'succeeded', originalFolder: item.folderId, detail: 'Found; no action taken.' };
      case 'purge': {
        const result = await items.deleteOp(session, target.mode, options)(itemId());
        return result === 'gone'
          ? alreadyGone(item.folderId)
          : { status: 'succeeded', originalFolder: item.folderId, detail: 'Purged (not reversible).' };
      }
      case 'delete': {
        const folderId = await client.wellKnownId(session, target.folder, options);
        return items.relocate(
          session,
          item,
          { folderId, location: target.location },
          items.deleteOp(session, target.mode, options),
          options,
        );
      }
      case 'move': {
        const folderId = await client.wellKnownId(session, target.folder, options);
        return items.relocate(
          session,
          item,
          { folderId, location: target.location },
          items.moveOp(session, client.wellKnownFolder(session, target.folder), options),
          options,
        );
      }
      case 'quarantine':
        return this.quarantine.quarantine(session, mailbox, item, creds, options);
      case 'restore':
        return this.quarantine.restoreInMailbox(session, item, options);
      case 'forward':
        return this.forward(session, mailbox, item, target.andDelete, options);
    }
  }

  private async forward(
    session: Session,
    mailbox: string,
    item: MailItem,
    andDelete: boolean,
    options?: CallOptions,
  ): Promise<ActionOutcome> {
    const { client, items } = this;
    const forwardTo = client.deps.forwardTo;
    if (!forwardTo) {
      throw new ClawbackError(
        'ConfigurationError',
        'The action forwards to the configured forwardTo address, and the configuration has none.',
      );
    }
    const message = await items.bind(
      session,
      item.id,
      [ItemSchema.ParentFolderId, forwardedProperty],
      options,
    );
    if (!message) return alreadyGone(item.folderId);
    const originalFolder = readProperty(() => message.ParentFolderId.UniqueId) ?? item.folderId;
    const mark = async (state: 'pending' | 'sent' | undefined) => {
      if (state)
        message.SetExtendedProperty(
          forwardedProperty,
          escapeXml(`${state} ${forwardTo} ${new Date().toISOString()}`),
        );
      else message.RemoveExtendedProperty(forwardedProperty);
      await client.call(
        session,
        { operation: 'UpdateItem' },
        () => message.Update(ConflictResolutionMode.AlwaysOverwrite),
        options,
      );
    };
    const previous = readExtended(message, forwardedProperty);
    if (previous?.startsWith('pending')) {
      // An earlier attempt may or may not have sent it; sending again could deliver it twice.
      throw new ClawbackError(
        'ConnectionError',
        `An earlier attempt to forward this copy in ${mailbox} to ${forwardTo} was not confirmed; it is not sent again. Check whether ${forwardTo} received it.`,
      );
    }
    if (!previous) {
      // Marked before sending, so a redelivered message never forwards twice (at most once, by design).
      await mark('pending');
      const prefix = new MessageBody(
        BodyType.Text,
        escapeXml(`Forwarded by Clawback from the mailbox ${mailbox}.`),
      );
      try {
        await client.call(
          session,
          { operation: 'CreateItem (ForwardItem)', repeatable: false },
          () => message.Forward(prefix, [new EmailAddress(escapeXml(forwardTo))]),
          options,
        );
      } catch (error) {
        if (isClawbackError(error) && surelyNotSent(error)) await mark(undefined);
        throw error;
      }
      await mark('sent');
    }
    if (andDelete)
      await items.deleteOp(session, DeleteMode.SoftDelete, options)(new ItemId(escapeXml(item.id)));
    if (previous)
      return { status: 'alreadyRemediated', originalFolder, detail: `Already forwarded to ${forwardTo}.` };
    return {
      status: 'succeeded',
      originalFolder,
      detail: `Forwarded to ${forwardTo}${andDelete ? ' and deleted' : ''}.`,
    };
  }
}
