import { createHash } from 'node:crypto';

// Control characters are exactly what this pattern is for.
// eslint-disable-next-line no-control-regex
const forbiddenInKeys = /[/\\#?%\u0000-\u001f\u007f-\u009f]/g;

/**
 * Table keys may not contain `/ \ # ?` or control characters; those (and `%`, so the mapping is
 * reversible) are percent-encoded. Everything else, including `<`, `>` and `@`, is allowed.
 */
export function sanitizeKey(value: string): string {
  return value.replace(
    forbiddenInKeys,
    (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`,
  );
}

export function shortHash(value: string, length = 16): string {
  return createHash('sha256').update(value, 'utf8').digest('hex').slice(0, length);
}

/** RowKey of a `Remediations` row: recipient (lower case) + `|` + a short hash of the message id. */
export function remediationRowKey(recipient: string, internetMessageId: string): string {
  return `${sanitizeKey(recipient.toLowerCase())}|${shortHash(internetMessageId)}`;
}

const maxTimestamp = 9_999_999_999_999;

/** Verdict ids sort newest first as strings: inverted milliseconds, then randomness against collisions. */
export function newVerdictId(
  now: Date = new Date(),
  random: () => string = () =>
    createHash('sha256').update(`${Math.random()}${process.hrtime.bigint()}`).digest('hex'),
): string {
  return `${String(maxTimestamp - now.getTime()).padStart(13, '0')}-${random().slice(0, 10)}`;
}

export function isVerdictId(value: string): boolean {
  return /^\d{13}-[0-9a-f]{10}$/.test(value);
}

/** Partition of a threat in `RemediatedCopies`: the SHA-256, else `url-` and a hash of the URL. */
export function threatKey(threat: { sha256?: string | undefined; url?: string | undefined }): string {
  if (threat.sha256) return threat.sha256.toLowerCase();
  return `url-${shortHash(threat.url ?? '', 40)}`;
}

/** RowKey of a copy in `RemediatedCopies`. */
export function copyRowKey(recipient: string, internetMessageId: string): string {
  return remediationRowKey(recipient, internetMessageId);
}

/**
 * Verdict ids sort newest first by their inverted millisecond prefix, so a time range is a RowKey
 * range: ids at `to` are the smallest, ids at `from` the largest (`~` sorts after every hex digit).
 */
export function verdictIdRange(range: { from: Date; to: Date }): { ge: string; lt: string } {
  return { ge: newVerdictId(range.to, () => ''), lt: `${newVerdictId(range.from, () => '')}~` };
}
