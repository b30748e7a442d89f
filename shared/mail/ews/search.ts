import {
  BasePropertySet,
  DateTime,
  EmailMessage,
  EmailMessageSchema,
  FolderId,
  ItemSchema,
  ItemView,
  LogicalOperator,
  PropertySet,
  SearchFilter,
} from 'ews-javascript-api';

import type { CallOptions, FindCriteria, FindResult, MailItem } from '../../ports/mail.js';
import type { Credentials, EwsClient, Session } from './client.js';
import { type EwsFolders, type FolderTarget, pageSize } from './folders.js';
import { internetMessageIdProperty, quarantineIdPrefix, readExtended, readProperty } from './properties.js';
import { escapeXml } from './xml.js';

/** Finds the copies of a message in a mailbox, its archive and dumpsters, and its central quarantine. */
export class EwsSearch {
  constructor(
    private readonly client: EwsClient,
    private readonly folders: EwsFolders,
  ) {}

  async findMessages(
    mailbox: string,
    criteria: FindCriteria,
    options?: CallOptions & { dumpsters?: boolean | undefined },
  ): Promise<FindResult> {
    const { client } = this;
    const creds = await client.credentials(options);
    const session = client.open(mailbox, creds);
    const targets = await this.folders.mailboxFolders(session, options, options?.dumpsters);
    const byId = new SearchFilter.IsEqualTo(internetMessageIdProperty, escapeXml(criteria.internetMessageId));
    const items = await this.searchFolders(session, targets, byId, criteria, '', options);
    items.push(...(await this.quarantineMailboxCopies(mailbox, creds, criteria, options)));
    if (items.length > 0 || !client.profile.fallbackSearch) return { items, usedFallback: false };
    const fallback = fallbackFilter(criteria);
    if (!fallback) return { items, usedFallback: false };
    const similar = await this.searchFolders(session, targets, fallback, criteria, '', options);
    return { items: similar, usedFallback: similar.length > 0 };
  }

  private async searchFolders(
    session: Session,
    targets: FolderTarget[],
    filter: SearchFilter,
    criteria: FindCriteria,
    idPrefix: string,
    options?: CallOptions,
  ): Promise<MailItem[]> {
    const found: MailItem[] = [];
    for (const target of targets) {
      for (let offset = 0; ;) {
        const view = new ItemView(pageSize, offset);
        view.PropertySet = new PropertySet(BasePropertySet.IdOnly, [
          internetMessageIdProperty,
          ItemSchema.ParentFolderId,
          EmailMessageSchema.IsRead,
          ItemSchema.DateTimeReceived,
        ]);
        const page = await this.client.call(
          session,
          { operation: 'FindItem' },
          () => session.svc.FindItems(target.id, filter, view),
          options,
        );
        for (const item of page.Items) {
          found.push({
            id: idPrefix + item.Id.UniqueId,
            internetMessageId: readExtended(item, internetMessageIdProperty) ?? criteria.internetMessageId,
            folderId: target.uniqueId ?? readProperty(() => item.ParentFolderId.UniqueId) ?? '',
            folderName: target.name,
            isRead: item instanceof EmailMessage ? readProperty(() => item.IsRead) : undefined,
            deliveredAt: readProperty(() => item.DateTimeReceived.ToISOString()),
          });
        }
        if (!page.MoreAvailable || page.Items.length === 0) break;
        offset = page.NextPageOffset ?? offset + page.Items.length;
      }
    }
    return found;
  }

  /** The quarantine copies of `recipient` in the central quarantine mailbox (mailbox target only). */
  private async quarantineMailboxCopies(
    recipient: string,
    creds: Credentials,
    criteria: FindCriteria,
    options?: CallOptions,
  ): Promise<MailItem[]> {
    const { profile } = this.client;
    const quarantineMailbox = profile.quarantineMailbox;
    if (profile.quarantineTarget !== 'mailbox' || !quarantineMailbox || quarantineMailbox === recipient)
      return [];
    const session = this.client.open(quarantineMailbox, creds);
    const path = this.folders.quarantinePath(recipient);
    const folder = await this.folders.findFolderPath(session, path, options);
    if (!folder) return [];
    const target = {
      id: new FolderId(escapeXml(folder)),
      uniqueId: folder,
      name: `${quarantineMailbox}/${path.join('/')}`,
    };
    const filter = new SearchFilter.IsEqualTo(
      internetMessageIdProperty,
      escapeXml(criteria.internetMessageId),
    );
    return this.searchFolders(session, [target], filter, criteria, quarantineIdPrefix, options);
  }
}

/** Sender + subject within a day either side of the received time, for ids a gateway rewrote. */
function fallbackFilter(criteria: FindCriteria): SearchFilter | undefined {
  const parts: SearchFilter[] = [];
  if (criteria.sender)
    parts.push(new SearchFilter.IsEqualTo(EmailMessageSchema.Sender, escapeXml(criteria.sender)));
  if (criteria.subject)
    parts.push(new SearchFilter.IsEqualTo(ItemSchema.Subject, escapeXml(criteria.subject)));
  if (parts.length === 0) return undefined;
  const received = criteria.receivedAt ? Date.parse(criteria.receivedAt) : NaN;
  if (!Number.isNaN(received)) {
    const day = 24 * 60 * 60 * 1000;
    parts.push(
      new SearchFilter.IsGreaterThanOrEqualTo(ItemSchema.DateTimeReceived, new DateTime(received - day)),
    );
    parts.push(
      new SearchFilter.IsLessThanOrEqualTo(ItemSchema.DateTimeReceived, new DateTime(received + day)),
    );
  }
  return new SearchFilter.SearchFilterCollection(LogicalOperator.And, parts);
}
