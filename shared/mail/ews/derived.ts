import {
  BasePropertySet,
  DateTime,
  ItemSchema,
  ItemView,
  PropertySet,
  SearchFilter,
  WellKnownFolderName,
} from 'ews-javascript-api';

import type { CallOptions, DerivedMessage, DerivedSearch } from '../../ports/mail.js';
import { attachmentHashes, parseHeaders } from '../mime.js';
import type { EwsClient } from './client.js';
import { pageSize } from './folders.js';
import type { EwsItems } from './items.js';
import { readProperty } from './properties.js';

/** What the EWS backend lends this search: its Sent Items, page by page, and one item's MIME. */
export interface EwsSentItems {
  findSent(
    mailbox: string,
    since: Date | undefined,
    offset: number,
    options?: CallOptions,
  ): Promise<{ ids: string[]; nextOffset: number | undefined }>;
  /** The item's MIME (RFC 822 text), or undefined when it is gone. */
  mimeOf(mailbox: string, itemId: string, options?: CallOptions): Promise<string | undefined>;
}

/** The EWS calls the search makes: FindItem in Sent Items (sent since the copy arrived), GetItem of MIME. */
export function ewsSentItems(client: EwsClient, items: EwsItems): EwsSentItems {
  return {
    async findSent(mailbox, since, offset, options) {
      const session = client.open(mailbox, await client.credentials(options));
      const view = new ItemView(pageSize, offset);
      view.PropertySet = new PropertySet(BasePropertySet.IdOnly);
      const folder = client.wellKnownFolder(session, WellKnownFolderName.SentItems);
      const page = await client.call(
        session,
        { operation: 'FindItem' },
        () =>
          since
            ? session.svc.FindItems(
                folder,
                new SearchFilter.IsGreaterThanOrEqualTo(
                  ItemSchema.DateTimeReceived,
                  new DateTime(since.getTime()),
                ),
                view,
              )
            : session.svc.FindItems(folder, view),
        options,
      );
      const ids = page.Items.map((i) => i.Id.UniqueId);
      const more = page.MoreAvailable && ids.length > 0;
      return { ids, nextOffset: more ? (page.NextPageOffset ?? offset + ids.length) : undefined };
    },
    async mimeOf(mailbox, itemId, options) {
      const session = client.open(mailbox, await client.credentials(options));
      const message = await items.bind(session, itemId, [ItemSchema.MimeContent], options);
      const base64 = message && readProperty(() => message.MimeContent.Content);
      return base64 ? Buffer.from(base64, 'base64').toString('utf8') : undefined;
    },
  };
}

/** Sent Items messages looked at per search: each costs a GetItem of its MIME. */
const maxScanned = 100;

/** `"Bob" <bob@contoso.com>, carol@contoso.com` → the addresses, lower case. */
export function addressesIn(value: string | undefined): string[] {
  if (!value) return [];
  return [...value.matchAll(/<?([^\s<>,;"]+@[^\s<>,;"]+)>?/g)].map((m) => (m[1] ?? '').toLowerCase());
}

/**
 * Forwards and replies of a copy in the mailbox's Sent Items (EWS): each message sent since the copy
 * arrived is read as MIME, and counts when its References / In-Reply-To hold the copy's message id
 * or one of its attachments has the threat's SHA-256. Recipients come from To, Cc and Bcc.
 */
export async function findDerivedEwsMessages(
  sentItems: EwsSentItems,
  mailbox: string,
  original: DerivedSearch,
  options?: CallOptions,
): Promise<DerivedMessage[]> {
  const since = original.deliveredAt ? new Date(original.deliveredAt) : undefined;
  const found: DerivedMessage[] = [];
  let scanned = 0;
  let offset: number | undefined = 0;
  while (offset !== undefined && scanned < maxScanned && found.length < original.limit) {
    const page: { ids: string[]; nextOffset: number | undefined } = await sentItems.findSent(
      mailbox,
      since,
      offset,
      options,
    );
    for (const id of page.ids) {
      if (scanned >= maxScanned || found.length >= original.limit) break;
      scanned += 1;
      const mime = await sentItems.mimeOf(mailbox, id, options);
      if (!mime) continue;
      const headers = parseHeaders(mime);
      const messageId = headers.get('message-id');
      if (!messageId || messageId === original.internetMessageId) continue;
      const thread = `${headers.get('references') ?? ''} ${headers.get('in-reply-to') ?? ''}`;
      const matchedBy: DerivedMessage['matchedBy'] | undefined = thread.includes(original.internetMessageId)
        ? 'references'
        : original.sha256 && attachmentHashes(mime).includes(original.sha256.toLowerCase())
          ? 'attachment'
          : undefined;
      if (matchedBy)
        found.push({
          internetMessageId: messageId,
          sentAt: headers.get('date'),
          recipients: [
            ...addressesIn(headers.get('to')),
            ...addressesIn(headers.get('cc')),
            ...addressesIn(headers.get('bcc')),
          ],
          matchedBy,
        });
    }
    offset = page.nextOffset;
  }
  return found;
}
