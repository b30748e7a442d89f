import { createHash } from 'node:crypto';

import type { DerivedMessage, DerivedSearch } from '../../ports/mail.js';
import { encodeQueryValue, userPath } from './odata.js';

/** Reads one Graph URL: a path under the version root, or an `@odata.nextLink` as Graph gave it. */
export type GraphGet = <T>(pathOrNextLink: string, isNextLink: boolean) => Promise<T>;

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

interface Page<T> {
  value?: T[];
  '@odata.nextLink'?: string;
}

/** Sent Items messages read per search, and attachment lists fetched to compare hashes. */
const limits = { scanned: 250, attachmentReads: 20, pageSize: 50 } as const;
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
 * whose file attachment has that SHA-256. Bounded: at most {@link limits} messages read.
 */
export async function findDerivedGraphMessages(
  get: GraphGet,
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
  let attachmentReads = 0;
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
        attachmentReads < limits.attachmentReads
      ) {
        attachmentReads += 1;
        if (await carriesHash(get, mailbox, message.id, original.sha256)) matchedBy = 'attachment';
      }
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

async function carriesHash(
  get: GraphGet,
  mailbox: string,
  messageId: string,
  sha256: string,
): Promise<boolean> {
  const attachments = await get<Page<{ '@odata.type'?: string; contentBytes?: string }>>(
    `${userPath(mailbox)}/messages/${encodeURIComponent(messageId)}/attachments`,
    false,
  );
  return (attachments.value ?? []).some(
    (a) =>
      typeof a.contentBytes === 'string' &&
      createHash('sha256').update(Buffer.from(a.contentBytes, 'base64')).digest('hex') ===
        sha256.toLowerCase(),
  );
}
