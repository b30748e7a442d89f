import type { ConfigDocument } from '../config/document.js';
import type { CallOptions } from '../ports/mail.js';
import type { DeliveriesLedger, Page, RemediatedCopies } from '../ports/results.js';
import { routeRecipient } from '../routing/route.js';
import type { ActionName, DeliveredMessage, VerdictChange } from '../verdicts/schema.js';

/** One (recipient, message) to act on; an empty message id means "find it by sender, subject and time". */
export interface ResolvedCopy {
  recipient: string;
  internetMessageId: string;
  sender?: string | undefined;
  subject?: string | undefined;
  receivedAt?: string | undefined;
}

/** Why recipients of a verdict could not be tied to any copy; the verdict's `Note` is built from it. */
export interface Misses {
  /** Recipients named without a message id and with nothing else that finds their copy. */
  recipients: string[];
  /** What would have resolved them. */
  remedies: Set<string>;
}

export function noMisses(): Misses {
  return { recipients: [], remedies: new Set() };
}

interface Deps {
  deliveries: Pick<DeliveriesLedger, 'listDeliveries'>;
  copies: Pick<RemediatedCopies, 'listRemediatedCopies'>;
  config: ConfigDocument;
  batchSize: number;
}

type Lister = (
  key: string,
  page: { pageSize: number; continuationToken?: string | undefined },
  options?: CallOptions,
) => Promise<Page<ResolvedCopy>>;

/**
 * The copies of messages that arrived without a message id (Proofpoint sends `messageID: ""`): for a
 * restore, what Clawback changed for the threat in those mailboxes; otherwise the delivery ledger's
 * copies, and for a recipient the ledger does not know, a search by sender, subject and received
 * time where the recipient's profile allows it. Recipients none of these can reach go to `misses`.
 */
export async function* copiesWithoutMessageId(
  messages: DeliveredMessage[],
  action: ActionName,
  threatKey: string,
  deps: Deps,
  misses: Misses,
  options?: CallOptions,
): AsyncGenerator<ResolvedCopy> {
  const wanted = new Map<string, DeliveredMessage>();
  for (const message of messages) for (const r of message.recipients) wanted.set(r.toLowerCase(), message);
  if (wanted.size === 0) return;
  const restoring = action === 'restore';
  const list: Lister = restoring
    ? deps.copies.listRemediatedCopies.bind(deps.copies)
    : deps.deliveries.listDeliveries.bind(deps.deliveries);
  const covered = new Set<string>();
  let continuationToken: string | undefined;
  do {
    const page = await list(threatKey, { pageSize: deps.batchSize, continuationToken }, options);
    for (const copy of page.items)
      if (wanted.has(copy.recipient)) {
        covered.add(copy.recipient);
        yield copy;
      }
    continuationToken = page.continuationToken;
  } while (continuationToken);

  for (const [recipient, message] of wanted) {
    if (covered.has(recipient)) continue;
    if (restoring) {
      misses.recipients.push(recipient);
      misses.remedies.add(
        'Clawback changed no copy of this threat in these mailboxes, so there is nothing to put back',
      );
      continue;
    }
    const searchable = message.sender && message.subject && message.receivedAt;
    const profiles = routeRecipient(deps.config, recipient)?.profiles ?? [];
    if (searchable && profiles.some((p) => p.fallbackSearch)) {
      yield {
        recipient,
        internetMessageId: '',
        sender: message.sender,
        subject: message.subject,
        receivedAt: message.receivedAt,
      };
      continue;
    }
    misses.recipients.push(recipient);
    misses.remedies.add('record the deliveries of this threat (POST /api/deliveries)');
    misses.remedies.add(
      searchable
        ? `enable fallbackSearch on the profile of ${recipient} (${profiles.map((p) => p.name).join(', ') || 'none mapped'})`
        : 'have the source send the message id, or its sender, subject and received time for a fallback search',
    );
  }
}

/**
 * The `Note` of a verdict that reached fewer copies than it named recipients, or none at all:
 * why, and what would resolve it. Undefined when nothing was missed.
 */
export function unresolvedNote(
  change: VerdictChange,
  action: ActionName,
  rows: number,
  misses: Misses,
): string | undefined {
  const threat = change.threat.sha256 ?? change.threat.url ?? 'the threat';
  if ((change.messages ?? []).length === 0 && rows === 0)
    return action === 'restore'
      ? `The verdict names no messages and Clawback changed no copy of ${threat}, so there is nothing to restore.`
      : `The verdict names no messages and the delivery ledger has no delivery of ${threat}. ` +
          'To resolve it: record deliveries (POST /api/deliveries) from the mail gateway, or have the source send ' +
          'the message id and recipients (or sender, subject and received time, with fallbackSearch enabled on the profile).';
  if (misses.recipients.length === 0) return undefined;
  const shown = misses.recipients.slice(0, 10).join(', ');
  const more = misses.recipients.length > 10 ? ` and ${misses.recipients.length - 10} more` : '';
  return (
    `No copy could be identified for ${misses.recipients.length} recipient(s) named without a message id (${shown}${more}). ` +
    `To resolve it: ${[...misses.remedies].join('; ')}.`
  );
}
