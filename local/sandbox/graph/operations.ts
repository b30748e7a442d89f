import type { SandboxRequestRecord } from '../types.js';

/**
 * What a Graph request did, in the words the benchmark and the request-economy tests count by.
 * `segments` are the percent-decoded path segments under the Graph root (`v1.0`, `users`, …).
 */
export function operationOf(method: string, segments: string[]): string {
  const [, collection, , sub, , leaf, leafId, action] = segments.map((s) => s.toLowerCase());
  if (collection === '$batch') return 'batch';
  if (collection === 'groups') return 'directory';
  if (collection !== 'users') return 'other';
  if (sub === undefined) return 'directory';
  if (sub === 'messages') {
    if (segments.length <= 4) return method === 'POST' ? 'import' : 'search';
    // One attachment (`attachments/{id}`), or an item attachment's MIME (`attachments/{id}/$value`).
    if (leaf === 'attachments' && leafId !== undefined)
      return action === '$value' ? 'attachmentMime' : 'attachment';
    return itemOperation(method, leaf);
  }
  if (sub === 'mailfolders') {
    if (leaf === 'messages') {
      if (leafId === undefined) return method === 'POST' ? 'import' : 'search';
      return itemOperation(method, action);
    }
    if (leaf === 'childfolders' && method === 'POST') return 'folderCreate';
    return 'folder';
  }
  return 'other';
}

function itemOperation(method: string, action: string | undefined): string {
  if (action === undefined) {
    if (method === 'DELETE') return 'delete';
    if (method === 'PATCH') return 'update';
    return 'read';
  }
  if (action === '$value') return 'mime';
  if (action === 'permanentdelete') return 'permanentDelete';
  return action;
}

/** Operations by kind, for one mailbox (lower-cased) or every request. */
export function countOperations(
  requests: readonly SandboxRequestRecord[],
  mailbox?: string,
): Record<string, number> {
  const wanted = mailbox?.toLowerCase();
  const counts: Record<string, number> = {};
  for (const request of requests)
    if (wanted === undefined || request.mailbox === wanted)
      counts[request.operation] = (counts[request.operation] ?? 0) + 1;
  return counts;
}
