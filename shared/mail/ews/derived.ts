import { createHash } from 'node:crypto';

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

/** Unfolded header lines of a MIME entity, names lower-cased; repeated headers joined by commas. */
export function parseHeaders(mime: string): Map<string, string> {
  const end = mime.search(/\r?\n\r?\n/);
  const head = (end === -1 ? mime : mime.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name) ?? ''}, ${value}` : value);
  }
  return headers;
}

/** `"Bob" <bob@contoso.com>, carol@contoso.com` → the addresses, lower case. */
export function addressesIn(value: string | undefined): string[] {
  if (!value) return [];
  return [...value.matchAll(/<?([^\s<>,;"]+@[^\s<>,;"]+)>?/g)].map((m) => (m[1] ?? '').toLowerCase());
}

/** Multiparts and attached messages nested deeper than this are not opened (a hostile MIME's recursion). */
const maxMimeDepth = 8;

/**
 * SHA-256 of every base64-encoded entity of a message (its attachments): the parts of a multipart,
 * of multiparts nested in it and of messages attached to it (a forward as attachment), and a
 * message that is itself one base64 entity.
 */
export function attachmentHashes(mime: string, depth = 0): string[] {
  const headers = parseHeaders(mime);
  const blank = /\r?\n\r?\n/.exec(mime);
  const body = blank ? mime.slice(blank.index + blank[0].length) : '';
  const type = headers.get('content-type') ?? '';
  if (/^\s*multipart\//i.test(type)) {
    const boundary = /boundary="?([^";\r\n]+)"?/i.exec(type)?.[1];
    if (!boundary || depth >= maxMimeDepth) return [];
    return body
      .split(`--${boundary}`)
      .slice(1)
      .flatMap((part) => attachmentHashes(part.replace(/^\r?\n/, ''), depth + 1));
  }
  if (/^\s*message\/rfc822/i.test(type))
    return depth >= maxMimeDepth ? [] : attachmentHashes(body, depth + 1);
  if (!/base64/i.test(headers.get('content-transfer-encoding') ?? '')) return [];
  return [
    createHash('sha256')
      .update(Buffer.from(body.replace(/\s+/g, ''), 'base64'))
      .digest('hex'),
  ];
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
