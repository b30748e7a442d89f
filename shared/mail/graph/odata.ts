/**
 * OData query building for Graph. Message ids carry `+`, `/`, `'`, `%`, `&` and non-ASCII characters;
 * an unencoded `+` reaches Graph as a space and the search silently finds nothing, so every value is
 * quoted for OData first and then percent-encoded as RFC 3986 data.
 */

/** An OData string literal: the value in single quotes, with single quotes inside doubled. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** RFC 3986 percent-encoding: `encodeURIComponent` plus the sub-delimiters it leaves alone. */
export function encodeQueryValue(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function messageIdFilter(internetMessageId: string): string {
  return `internetMessageId eq ${odataString(internetMessageId)}`;
}

export interface FallbackCriteria {
  sender: string;
  subject: string;
  receivedAt: Date;
}

const fallbackWindowMs = 24 * 60 * 60 * 1000;

/** Sender + exact subject + received within a day either side of the reported time. */
export function fallbackFilter(criteria: FallbackCriteria): string {
  const from = new Date(criteria.receivedAt.getTime() - fallbackWindowMs).toISOString();
  const to = new Date(criteria.receivedAt.getTime() + fallbackWindowMs).toISOString();
  return [
    `receivedDateTime ge ${from}`,
    `receivedDateTime le ${to}`,
    `from/emailAddress/address eq ${odataString(criteria.sender)}`,
    `subject eq ${odataString(criteria.subject)}`,
  ].join(' and ');
}

/** What a row and a later restore need of each copy: where it is, whether it was read, when it arrived (exposure). */
export const messageSelect = 'id,internetMessageId,parentFolderId,isRead,receivedDateTime';
/** Graph serves up to 1,000 messages a page: a mailbox holding hundreds of copies is found in one round trip. */
export const messagePageSize = 1000;

/** The query string of a message search; built here because the SDK's `.filter()` does not encode. */
export function messageSearchQuery(filter: string, select: string = messageSelect): string {
  return `$filter=${encodeQueryValue(filter)}&$select=${select}&$top=${messagePageSize}`;
}

/** Child folders with that display name, hidden ones included (Exchange compares names ignoring case). */
export function childFolderQuery(displayName: string): string {
  return `$filter=${encodeQueryValue(`displayName eq ${odataString(displayName)}`)}&includeHiddenFolders=true&$select=id,displayName,isHidden`;
}

/** The mail-enabled group whose primary address is `address`. */
export function groupByMailQuery(address: string): string {
  return `$filter=${encodeQueryValue(`mail eq ${odataString(address)}`)}&$select=id,displayName,mail`;
}

/** `/users/{mailbox}` with the address encoded as one path segment. */
export function userPath(mailbox: string): string {
  return `/users/${encodeURIComponent(mailbox)}`;
}
