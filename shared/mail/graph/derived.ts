import { createHash } from 'node:crypto';

import type { DerivedMessage, DerivedSearch } from '../../ports/mail.js';
import { attachmentHashes } from '../mime.js';
import { encodeQueryValue, userPath } from './odata.js';

/** Reads one Graph URL: a path under the version root, or an `@odata.nextLink` as Graph gave it. */
export type GraphGet = <T>(pathOrNextLink: string, isNextLink: boolean) => Promise<T>;
/** Reads one path under the version root as text: an item attachment's MIME (`…/$value`). */
export type GraphGetText = (path: string) => Promise<string>;

interface Recipient {
  emailAddress?: { address?: string };
}

interface SentMessage {
  id: string;
  internetMessageId?: string;
  sentDateTime?: string;
  hasAttachments?: boolean;
  toRecipients?: Recipient[];
  ccRecipients?: Recipient[];
  bccRecipients?: Recipient[];
  internetMessageHeaders?: { name?: string; value?: string }[];
}

interface Attachment {
  '@odata.type'?: string;
  id?: string;
  contentBytes?: string;
}

interface Page<T> {
  value?: T[];
  '@odata.nextLink'?: string;
}

/**
 * Sent Items messages read per search, and attachment reads to compare hashes: an attachment list and
 * each item attachment's MIME count one each.
 */
const limits = { scanned: 250, attachmentReads: 20, pageSize: 50 } as const;
const itemAttachmentType = '#microsoft.graph.itemAttachment';
const threadHeaders = new Set(['references', 'in-reply-to']);

const sentSelect = [
  'id',
  'internetMessageId',
  'sentDateTime',
  'hasAttachments',
  'toRecipients',
  'ccRecipients',
  'bccRecipients',
  // Returned only when selected; carries References and In-Reply-To.
  'internetMessageHeaders',
].join(',');

function addresses(message: SentMessage): string[] {
  return [...(message.toRecipients ?? []), ...(message.ccRecipients ?? []), ...(message.bccRecipients ?? [])]
    .map((r) => r.emailAddress?.address?.toLowerCase())
    .filter((a): a is string => a !== undefined && a.includes('@'));
}

function refersTo(message: SentMessage, internetMessageId: string): boolean {
  return (message.internetMessageHeaders ?? []).some(
    (h) => threadHeaders.has((h.name ?? '').toLowerCase()) && (h.value ?? '').includes(internetMessageId),
  );
}

/**
 * Forwards and replies of a copy in the mailbox's Sent Items (Graph): messages sent since the copy
 * arrived whose `References` / `In-Reply-To` hold its message id, or, when the threat has a hash,
 * that carry a file with that SHA-256: a file attachment, or a base64 part of an attached message
 * (an itemAttachment, a forward as attachment, read as MIME with `$value` and opened as EWS opens a
 * message, nested attached messages included). Bounded by {@link limits}: at most 250 messages read,
 * and 20 attachment reads per search in all, an attachment list and each item attachment's `$value`
 * counting one each; a message's attachments are read only until one matches. A read that fails
 * fails the search, as a failing page does.
 */
export async function findDerivedGraphMessages(
  get: GraphGet,
  getText: GraphGetText,
  mailbox: string,
  original: DerivedSearch,
): Promise<DerivedMessage[]> {
  const filter = original.deliveredAt
    ? `&$filter=${encodeQueryValue(`sentDateTime ge ${new Date(original.deliveredAt).toISOString()}`)}`
    : '';
  let page = await get<Page<SentMessage>>(
    `${userPath(mailbox)}/mailFolders/sentitems/messages?$select=${sentSelect}&$top=${limits.pageSize}${filter}`,
    false,
  );
  const found: DerivedMessage[] = [];
  let scanned = 0;
  const reads = { left: limits.attachmentReads };
  for (;;) {
    for (const message of page.value ?? []) {
      scanned += 1;
      if (!message.internetMessageId || message.internetMessageId === original.internetMessageId) continue;
      let matchedBy: DerivedMessage['matchedBy'] | undefined = refersTo(message, original.internetMessageId)
        ? 'references'
        : undefined;
      if (
        !matchedBy &&
        original.sha256 &&
        message.hasAttachments &&
        reads.left > 0 &&
        (await carriesHash({ get, getText, reads }, mailbox, message.id, original.sha256))
      )
        matchedBy = 'attachment';
      if (matchedBy)
        found.push({
          internetMessageId: message.internetMessageId,
          sentAt: message.sentDateTime,
          recipients: addresses(message),
          matchedBy,
        });
      if (found.length >= original.limit) return found;
    }
    const next = page['@odata.nextLink'];
    if (!next || scanned >= limits.scanned) return found;
    page = await get<Page<SentMessage>>(next, true);
  }
}

/**
 * Whether a file attachment, or a file inside an attached message, has the hash. The list costs one
 * read, each item attachment's MIME one more: file attachments come with their bytes, so they are
 * compared first, and item attachments are read one by one until a match or the budget runs out.
 */
async function carriesHash(
  graph: { get: GraphGet; getText: GraphGetText; reads: { left: number } },
  mailbox: string,
  messageId: string,
  sha256: string,
): Promise<boolean> {
  const wanted = sha256.toLowerCase();
  const path = `${userPath(mailbox)}/messages/${encodeURIComponent(messageId)}/attachments`;
  graph.reads.left -= 1;
  const attachments = (await graph.get<Page<Attachment>>(path, false)).value ?? [];
  const fileMatches = attachments.some(
    (a) =>
      typeof a.contentBytes === 'string' &&
      createHash('sha256').update(Buffer.from(a.contentBytes, 'base64')).digest('hex') === wanted,
  );
  if (fileMatches) return true;
  for (const attachment of attachments) {
    if (attachment['@odata.type'] !== itemAttachmentType || !attachment.id) continue;
    if (graph.reads.left <= 0) return false;
    graph.reads.left -= 1;
    const mime = await graph.getText(`${path}/${encodeURIComponent(attachment.id)}/$value`);
    if (attachmentHashes(mime).includes(wanted)) return true;
  }
  return false;
}
