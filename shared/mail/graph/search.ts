import type { CallOptions, FindCriteria, MailItem } from '../../ports/mail.js';
import type { BatchRequest } from './batch.js';
import type { GraphMessage, GraphPage } from './client.js';
import type { GraphContext } from './context.js';
import { recoverableItems } from './folders.js';
import { type FallbackCriteria, messageSearchQuery, userPath } from './odata.js';

export async function search(
  ctx: GraphContext,
  mailbox: string,
  filter: string,
  options: CallOptions | undefined,
): Promise<MailItem[]> {
  const query = messageSearchQuery(filter);
  const scopes = [`${userPath(mailbox)}/messages?${query}`];
  if (ctx.profile.searchRecoverableItems)
    scopes.push(`${userPath(mailbox)}/mailFolders/${recoverableItems}/messages?${query}`);
  const pages = await searchAll(ctx, mailbox, scopes, options);
  const folders = ctx.folders.foldersOf(mailbox);
  const found = new Map<string, { message: GraphMessage; recoverable: boolean }>();
  for (const [scope, messages] of pages.entries())
    for (const message of messages)
      if (!found.has(message.id)) found.set(message.id, { message, recoverable: scope === 1 });
  // Folder names not known yet are looked up by the action, in its round trip (nameFolderOf).
  return [...found.values()].map(({ message, recoverable }) => ({
    id: message.id,
    internetMessageId: message.internetMessageId ?? '',
    folderId: message.parentFolderId,
    folderName: recoverable ? recoverableItems : folders.byId.get(message.parentFolderId)?.name,
    isRead: message.isRead,
    deliveredAt: message.receivedDateTime,
  }));
}

/**
 * Every message of each search URL, all pages. Several searches go in one JSON batch; nothing else
 * rides along (no folder is looked up before an action needs it).
 */
export async function searchAll(
  ctx: GraphContext,
  mailbox: string,
  urls: string[],
  options: CallOptions | undefined,
): Promise<GraphMessage[][]> {
  const requests = urls.map((url): BatchRequest => ({ method: 'GET', url }));
  let firstPages: GraphPage<GraphMessage>[];
  if (requests.length === 1 && urls[0] !== undefined) {
    firstPages = [
      await ctx.client.call<GraphPage<GraphMessage>>(
        'message search',
        mailbox,
        urls[0],
        options,
        (r) => r.get() as Promise<GraphPage<GraphMessage>>,
      ),
    ];
  } else {
    const results = await ctx.client.batch('message search', mailbox, requests, options);
    firstPages = results.map((result) => {
      if (!result.ok) throw result.error;
      return result.body as GraphPage<GraphMessage>;
    });
  }
  const all: GraphMessage[][] = [];
  for (const page of firstPages) all.push(await ctx.client.pages('message search', mailbox, page, options));
  return all;
}

/** The id as Graph stores it (with angle brackets), or undefined when there is nothing to search by. */
export function usableMessageId(value: string | undefined): string | undefined {
  const id = value?.trim();
  if (!id || /[\r\n]/.test(id)) return undefined;
  return id.startsWith('<') && id.endsWith('>') ? id : `<${id.replace(/^<|>$/g, '')}>`;
}

export function fallbackCriteria(criteria: FindCriteria): FallbackCriteria | undefined {
  const receivedAt = criteria.receivedAt ? new Date(criteria.receivedAt) : undefined;
  if (!criteria.sender || !criteria.subject || !receivedAt || Number.isNaN(receivedAt.getTime()))
    return undefined;
  return { sender: criteria.sender, subject: criteria.subject, receivedAt };
}
