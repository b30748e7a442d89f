import { createHash } from 'node:crypto';

/** The fields of a header block, folded lines unfolded, names lower-cased; repeated fields joined by commas. */
function headerFields(head: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name) ?? ''}, ${value}` : value);
  }
  return headers;
}

/** The header fields of a MIME entity: the lines before its first blank line. */
export function parseHeaders(mime: string): Map<string, string> {
  const end = mime.search(/\r?\n\r?\n/);
  return headerFields(end === -1 ? mime : mime.slice(0, end));
}

/** Multiparts and attached messages nested deeper than this are not opened (a hostile MIME's recursion). */
const maxMimeDepth = 8;

/**
 * SHA-256 of every base64-encoded entity of a message (its attachments): the parts of a multipart,
 * of multiparts nested in it and of messages attached to it (a forward as attachment), and a
 * message that is itself one base64 entity. Both backends use it: EWS on each Sent Items message's
 * MIME, Graph on the MIME of each item attachment (`…/attachments/{id}/$value`).
 */
export function attachmentHashes(mime: string, depth = 0): string[] {
  const blank = /\r?\n\r?\n/.exec(mime);
  // Headers with no body after them carry no file.
  if (!blank) return [];
  // The blank line is found once: the headers are the text before it, the body the text after it.
  const headers = headerFields(mime.slice(0, blank.index));
  const body = mime.slice(blank.index + blank[0].length);
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
