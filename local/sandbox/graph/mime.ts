import type { Message } from './store.js';

/** An RFC 5322 message built from the item's fields, for items seeded without MIME. */
export function generateMime(message: Message): string {
  const date = new Date(message.receivedDateTime);
  return [
    `From: ${message.from}`,
    `To: ${message.toRecipients.join(', ')}`,
    `Subject: ${message.subject}`,
    `Date: ${(Number.isNaN(date.getTime()) ? new Date() : date).toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${message.internetMessageId}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset="utf-8"',
    'Content-Transfer-Encoding: 7bit',
    '',
    `This is the sandbox copy of "${message.subject}".`,
    '',
  ].join('\r\n');
}

/** The header fields of an RFC 5322 message, names lower-cased, folded lines unfolded. */
export function parseMimeHeaders(mime: string): Map<string, string> {
  const end = mime.search(/\r?\n\r?\n/);
  const block = (end === -1 ? mime : mime.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return headers;
}

/** `"Name" <a@b.c>` or `a@b.c` -> `a@b.c`. */
export function addressOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const angle = /<([^>]+)>/.exec(header);
  return (angle?.[1] ?? header).trim();
}

const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;

/** Graph rejects a MIME import body that is not strict base64. */
export function decodeStrictBase64(text: string): string | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !base64Pattern.test(compact)) return undefined;
  return Buffer.from(compact, 'base64').toString('utf8');
}
