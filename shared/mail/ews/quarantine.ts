import {
  DeleteMode,
  EmailMessage,
  type ExtendedPropertyDefinition,
  FolderId,
  ItemId,
  ItemSchema,
  ItemView,
  MimeContent,
  SearchFilter,
  WellKnownFolderName,
} from 'ews-javascript-api';

import { ClawbackError, isClawbackError } from '../../errors.js';
import type { ActionOutcome, CallOptions, MailItem } from '../../ports/mail.js';
import type { ActionName } from '../../verdicts/schema.js';
import type { Credentials, EwsClient, Session } from './client.js';
import { responseCodeOf } from './errors.js';
import type { EwsFolders } from './folders.js';
import { alreadyGone, type EwsItems, folderGoneCodes } from './items.js';
import {
  importedFromProperty,
  messageFlagsProperty,
  originalFolderProperty,
  quarantineIdPrefix,
  readExtended,
  readProperty,
  sourceKey,
} from './properties.js';
import { escapeXml } from './xml.js';

/** Quarantine to a folder or to the central quarantine mailbox, and every way back. */
export class EwsQuarantine {
  constructor(
    private readonly client: EwsClient,
    private readonly folders: EwsFolders,
    private readonly items: EwsItems,
  ) {}

  async quarantine(
    session: Session,
    mailbox: string,
    item: MailItem,
    creds: Credentials,
    options?: CallOptions,
  ): Promise<ActionOutcome> {
    const { profile } = this.client;
    if (profile.quarantineTarget === 'mailbox')
      return this.quarantineToMailbox(session, mailbox, item, creds, options);
    const toQuarantine = async () => {
      const folderId = await this.folders.ensureFolderPath(
        session,
        [profile.quarantineFolder],
        true,
        options,
      );
      return this.items.relocate(
        session,
        item,
        { folderId, location: profile.quarantineFolder },
        this.items.moveOp(session, new FolderId(escapeXml(folderId)), options),
        options,
      );
    };
    try {
      return await toQuarantine();
    } catch (error) {
      // The cached folder was deleted by an administrator: find or create it again, once.
      if (!folderGoneCodes.has(responseCodeOf(error) ?? '')) throw error;
      this.folders.forget(mailbox, [profile.quarantineFolder]);
      return toQuarantine();
    }
  }

  async applyToQuarantined(
    session: Session,
    mailbox: string,
    item: MailItem,
    action: ActionName,
    creds: Credentials,
    options?: CallOptions,
  ): Promise<ActionOutcome> {
    if (action === 'restore')
      return this.restoreFromQuarantineMailbox(session, mailbox, item, creds, options);
    if (action === 'none')
      return {
        status: 'succeeded',
        quarantineLocation: item.folderName,
        detail: 'Held in the quarantine mailbox; no action taken.',
      };
    return {
      status: 'alreadyRemediated',
      quarantineLocation: item.folderName,
      detail: `Held in the quarantine mailbox; ${action} leaves it there.`,
    };
  }

  async restoreInMailbox(session: Session, item: MailItem, options?: CallOptions): Promise<ActionOutcome> {
    const { client, items } = this;
    const message = await items.bind(
      session,
      item.id,
      [ItemSchema.ParentFolderId, originalFolderProperty],
      options,
    );
    if (!message) return alreadyGone(item.folderId);
    const current = readProperty(() => message.ParentFolderId.UniqueId) ?? item.folderId;
    const original = readExtended(message, originalFolderProperty);
    if (!original || original === current) {
      return {
        status: 'alreadyRemediated',
        originalFolder: original ?? current,
        detail: 'The copy is already in its original folder.',
      };
    }
    const outcome = await items
      .single(
        session,
        'MoveItem',
        () => session.svc.MoveItems([new ItemId(escapeXml(item.id))], new FolderId(escapeXml(original))),
        options,
      )
      .catch(async (error: unknown) => {
        if (!(isClawbackError(error) && folderGoneCodes.has(responseCodeOf(error) ?? ''))) throw error;
        return items.moveOp(
          session,
          client.wellKnownFolder(session, WellKnownFolderName.Inbox),
          options,
        )(new ItemId(escapeXml(item.id)));
      });
    return outcome === 'gone'
      ? alreadyGone(original)
      : {
          status: 'succeeded',
          originalFolder: original,
          quarantineLocation: item.folderName,
          detail: `Moved back from ${item.folderName ?? 'where it was'}.`,
        };
  }

  private async quarantineToMailbox(
    session: Session,
    mailbox: string,
    item: MailItem,
    creds: Credentials,
    options?: CallOptions,
  ): Promise<ActionOutcome> {
    const { client, items, folders } = this;
    const { profile } = client;
    const quarantineMailbox = profile.quarantineMailbox;
    if (!quarantineMailbox) {
      throw new ClawbackError(
        'ConfigurationError',
        `EWS profile "${profile.name}" quarantines to a mailbox but has no quarantineMailbox.`,
      );
    }
    const header = this.headerName(profile.quarantineHeader, 'quarantineHeader');
    const message = await items.bind(
      session,
      item.id,
      [ItemSchema.MimeContent, ItemSchema.ParentFolderId, originalFolderProperty],
      options,
    );
    if (!message) return alreadyGone(item.folderId);
    const originalFolder =
      readExtended(message, originalFolderProperty) ??
      readProperty(() => message.ParentFolderId.UniqueId) ??
      item.folderId;
    const mime = readProperty(() => message.MimeContent.Content);
    if (!mime)
      throw new ClawbackError(
        'Unknown',
        `EWS at ${client.host} returned no MIME content for the copy in ${mailbox}.`,
      );
    const quarantine = client.open(quarantineMailbox, creds);
    const path = folders.quarantinePath(mailbox);
    const folder = await folders.ensureFolderPath(quarantine, path, false, options);
    const location = `${quarantineMailbox}/${path.join('/')}`;
    // A copy left by an earlier attempt that failed before deleting the original is not imported twice.
    if (!(await this.holdsCopy(quarantine, folder, item.id, options))) {
      const stampedMime = withHeader(mime, header, `${mailbox}; ${new Date().toISOString()}`);
      await this.importMime(
        quarantine,
        folder,
        stampedMime,
        [
          [originalFolderProperty, originalFolder],
          [importedFromProperty, sourceKey(item.id)],
        ],
        options,
      );
    }
    await items.deleteOp(session, DeleteMode.HardDelete, options)(new ItemId(escapeXml(item.id)));
    return { status: 'succeeded', originalFolder, quarantineLocation: location };
  }

  private async restoreFromQuarantineMailbox(
    session: Session,
    mailbox: string,
    item: MailItem,
    creds: Credentials,
    options?: CallOptions,
  ): Promise<ActionOutcome> {
    const { client, items } = this;
    const quarantine = client.open(client.profile.quarantineMailbox, creds);
    const header = this.headerName(client.profile.restoreHeader, 'restoreHeader');
    const id = item.id.slice(quarantineIdPrefix.length);
    const copy = await items.bind(quarantine, id, [ItemSchema.MimeContent, originalFolderProperty], options);
    if (!copy) return alreadyGone();
    const mime = readProperty(() => copy.MimeContent.Content);
    if (!mime)
      throw new ClawbackError(
        'Unknown',
        `EWS at ${client.host} returned no MIME content for the quarantined copy of ${mailbox}.`,
      );
    let target =
      readExtended(copy, originalFolderProperty) ??
      (await client.wellKnownId(session, WellKnownFolderName.Inbox, options));
    const restoredMime = withHeader(mime, header, `${mailbox}; ${new Date().toISOString()}`);
    try {
      if (!(await this.holdsCopy(session, target, id, options)))
        await this.importMime(
          session,
          target,
          restoredMime,
          [[importedFromProperty, sourceKey(id)]],
          options,
        );
    } catch (error) {
      if (!(isClawbackError(error) && folderGoneCodes.has(responseCodeOf(error) ?? ''))) throw error;
      target = await client.wellKnownId(session, WellKnownFolderName.Inbox, options);
      if (!(await this.holdsCopy(session, target, id, options)))
        await this.importMime(
          session,
          target,
          restoredMime,
          [[importedFromProperty, sourceKey(id)]],
          options,
        );
    }
    await items.deleteOp(quarantine, DeleteMode.HardDelete, options)(new ItemId(escapeXml(id)));
    return {
      status: 'succeeded',
      originalFolder: target,
      quarantineLocation: item.folderName,
      detail: 'Re-imported from the quarantine mailbox.',
    };
  }

  private headerName(name: string, setting: string): string {
    if (!/^[!-9;-~]+$/.test(name)) {
      throw new ClawbackError(
        'ConfigurationError',
        `The ${setting} "${name}" of EWS profile "${this.client.profile.name}" is not a valid MIME header name.`,
      );
    }
    return name;
  }

  private async importMime(
    session: Session,
    folderId: string,
    mimeBase64: string,
    stamps: [ExtendedPropertyDefinition, string][],
    options?: CallOptions,
  ): Promise<void> {
    const copy = new EmailMessage(session.svc);
    copy.MimeContent = new MimeContent('UTF-8', mimeBase64);
    copy.SetExtendedProperty(messageFlagsProperty, 1);
    for (const [property, value] of stamps) copy.SetExtendedProperty(property, escapeXml(value));
    await this.client.call(
      session,
      { operation: 'CreateItem', repeatable: false },
      () => copy.Save(new FolderId(escapeXml(folderId))),
      options,
    );
  }

  private async holdsCopy(
    session: Session,
    folderId: string,
    sourceId: string,
    options?: CallOptions,
  ): Promise<boolean> {
    const filter = new SearchFilter.IsEqualTo(importedFromProperty, sourceKey(sourceId));
    const page = await this.client.call(
      session,
      { operation: 'FindItem' },
      () => session.svc.FindItems(new FolderId(escapeXml(folderId)), filter, new ItemView(1)),
      options,
    );
    return page.Items.length > 0;
  }
}

/** Prepends one header to a base64 MIME message; a header at the top is valid RFC 5322. */
function withHeader(mimeBase64: string, name: string, value: string): string {
  const line = Buffer.from(`${name}: ${value.replace(/[\r\n]+/g, ' ')}\r\n`, 'utf8');
  return Buffer.concat([line, Buffer.from(mimeBase64, 'base64')]).toString('base64');
}
