import { ValidationError } from '../errors.js';
import { type DeliveryEntry, deliverySchema } from './deliveries.js';
import { threatKey } from './ids.js';
import { issuesOf } from './issues.js';
import { limits } from './schema.js';

/**
 * One delivery or an array of up to 100 → ledger rows, one per (threat, recipient, message). Every
 * problem of every element is reported in one ValidationError.
 */
export function parseDeliveries(body: unknown): DeliveryEntry[] {
  const elements = Array.isArray(body) ? body : [body];
  if (elements.length === 0)
    throw new ValidationError('The request holds no deliveries.', [
      { path: '$', message: 'must hold at least one delivery' },
    ]);
  if (elements.length > limits.maxVerdictsPerRequest)
    throw new ValidationError('The request holds too many deliveries.', [
      { path: '$', message: `must hold at most ${limits.maxVerdictsPerRequest} deliveries` },
    ]);
  const details: { path: string; message: string }[] = [];
  const entries: DeliveryEntry[] = [];
  elements.forEach((element, index) => {
    const parsed = deliverySchema.safeParse(element);
    if (!parsed.success) {
      details.push(...issuesOf(parsed.error, Array.isArray(body) ? [index] : []));
      return;
    }
    const d = parsed.data;
    const threats = [
      ...(d.sha256 ?? []).map((sha256) => threatKey({ sha256 })),
      ...(d.urls ?? []).map((url) => threatKey({ url })),
    ];
    for (const key of new Set(threats))
      for (const recipient of new Set(d.recipients))
        entries.push({
          threatKey: key,
          internetMessageId: d.internetMessageId,
          recipient,
          sender: d.sender,
          subject: d.subject,
          receivedAt: d.receivedAt,
        });
  });
  if (details.length > 0)
    throw new ValidationError(`${details.length} problem(s) in the deliveries.`, details);
  return entries;
}
