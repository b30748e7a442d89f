import type { MailItem } from '../ports/mail.js';
import type { TerminalStatus } from '../ports/results.js';
import type { ActionName } from '../verdicts/schema.js';

/** Actions after which the copy is out of the user's reach: its exposure ends with them. */
const removing: ReadonlySet<ActionName> = new Set([
  'hardDelete',
  'softDelete',
  'moveToDeletedItems',
  'moveToJunk',
  'quarantine',
  'forwardAndDelete',
]);

/**
 * `DeliveredAt` (the earliest copy's arrival, as the mailbox reports it) and, when this row removed
 * the copies, `ExposureSeconds` from delivery to `removedAt`.
 */
export function exposureOf(
  items: readonly MailItem[],
  action: ActionName,
  status: TerminalStatus,
  removedAt: Date,
): { deliveredAt?: string; exposureSeconds?: number } {
  const times = items
    .map((i) => (i.deliveredAt ? Date.parse(i.deliveredAt) : NaN))
    .filter((t) => Number.isFinite(t));
  if (times.length === 0) return {};
  const delivered = Math.min(...times);
  const deliveredAt = new Date(delivered).toISOString();
  if (status !== 'succeeded' || !removing.has(action)) return { deliveredAt };
  return { deliveredAt, exposureSeconds: Math.max(0, Math.round((removedAt.getTime() - delivered) / 1000)) };
}

/** The median of the values (the mean of the middle two for an even count); undefined for none. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? 0;
  return sorted.length % 2 === 1 ? upper : Math.round(((sorted[middle - 1] ?? upper) + upper) / 2);
}
