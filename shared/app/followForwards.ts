import { queues } from '../bindings.js';
import type { ConfigDocument } from '../config/document.js';
import { normalizeDomain } from '../config/document.js';
import { toClawbackError } from '../errors.js';
import type { CallOptions } from '../ports/mail.js';
import type { OutgoingMessage, QueueSender } from '../ports/queue.js';
import type { RemediationRecord, RemediationRows } from '../ports/results.js';
import type { RemovedCopy } from '../remediation/remediate.js';
import { remediationRowKey } from '../verdicts/ids.js';
import type { RemediationMessage } from '../verdicts/messages.js';
import type { ActionName } from '../verdicts/schema.js';

/** Forwards of forwards are followed once more; beyond that a chain is left to the SOC. */
export const maxDerivedDepth = 2;
/** Sent Items messages looked at per remediated copy, and new rows per copy. */
export const derivedLimits = { messages: 20, rows: 100 } as const;

/** Only copies that were taken away are followed: a copy found, restored or forwarded to the SOC stays put. */
const followed: ReadonlySet<ActionName> = new Set([
  'hardDelete',
  'softDelete',
  'moveToDeletedItems',
  'moveToJunk',
  'quarantine',
  'forwardAndDelete',
]);

export interface FollowForwardsDeps {
  rows: Pick<RemediationRows, 'createRemediations'>;
  queue: QueueSender;
  config: ConfigDocument;
  log?: (line: string) => void;
}

/** `<recipient> <message id>`: what a derived row's `DerivedFrom` says. */
export function derivedFrom(recipient: string, internetMessageId: string): string {
  return `${recipient} ${internetMessageId}`;
}

/** Inside the organisation: a domain the configuration maps by name (the `ALL` catch-all is not proof). */
function isInternal(config: ConfigDocument, address: string): boolean {
  const domain = normalizeDomain(address.slice(address.lastIndexOf('@') + 1));
  return domain !== undefined && Object.prototype.hasOwnProperty.call(config.domains, domain);
}

/**
 * After a copy was removed from a mailbox whose profile has `followForwards`: the messages its
 * recipient forwarded or replied with (found in Sent Items by the backend) are remediated in every
 * internal recipient's mailbox with the same action, on rows of the same verdict that say in
 * `DerivedFrom` where they came from. The rows exist before this copy's row turns terminal, so the
 * completion check (two all-terminal passes with the same row count) cannot complete ahead of them.
 * Returns how many new rows were added.
 */
export async function followForwards(
  copy: RemovedCopy,
  deps: FollowForwardsDeps,
  options?: CallOptions,
): Promise<number> {
  const { message, profile, backend } = copy;
  const depth = message.derivedDepth ?? 0;
  if (
    !profile.followForwards ||
    message.mode !== 'enforce' ||
    !followed.has(message.action) ||
    depth >= maxDerivedDepth ||
    !backend.findDerivedMessages
  )
    return 0;
  const found = await backend.findDerivedMessages(
    message.recipient,
    {
      internetMessageId: message.internetMessageId,
      deliveredAt: copy.deliveredAt,
      sha256: /^[0-9a-f]{64}$/.test(message.threatKey) ? message.threatKey : undefined,
      limit: derivedLimits.messages,
    },
    options,
  );
  const seen = new Set<string>();
  const now = new Date().toISOString();
  const records: RemediationRecord[] = [];
  const outgoing: OutgoingMessage[] = [];
  for (const derived of found) {
    for (const recipient of derived.recipients.map((r) => r.toLowerCase())) {
      const rowKey = remediationRowKey(recipient, derived.internetMessageId);
      if (recipient === message.recipient || !isInternal(deps.config, recipient) || seen.has(rowKey))
        continue;
      if (records.length >= derivedLimits.rows) break;
      seen.add(rowKey);
      records.push({
        verdictId: message.verdictId,
        rowKey,
        recipient,
        internetMessageId: derived.internetMessageId,
        action: message.action,
        status: 'pending',
        attempts: 0,
        derivedFrom: derivedFrom(message.recipient, message.internetMessageId),
        updatedAt: now,
      });
      const body: RemediationMessage = {
        verdictId: message.verdictId,
        rowKey,
        recipient,
        internetMessageId: derived.internetMessageId,
        verdict: message.verdict,
        action: message.action,
        mode: message.mode,
        threatKey: message.threatKey,
        attempt: 1,
        derivedDepth: depth + 1,
      };
      outgoing.push({ body, messageId: `${message.verdictId}|${rowKey}|1`, sessionId: recipient });
    }
  }
  if (records.length === 0) return 0;
  const created = await deps.rows.createRemediations(records, options);
  await deps.queue.send(queues.remediations.name, outgoing, options);
  deps.log?.(
    `verdict ${message.verdictId}: ${message.recipient} forwarded or replied to ${message.internetMessageId}; ${records.length} derived copies queued (${created} new rows)`,
  );
  return created;
}

/**
 * The hook remediation calls: a failed search for forwards is logged and reported as none found,
 * never turned into a failure of the copy that was just removed.
 */
export function followForwardsHook(
  deps: FollowForwardsDeps,
): (copy: RemovedCopy, options?: CallOptions) => Promise<number> {
  return (copy, options) =>
    followForwards(copy, deps, options).catch((error: unknown) => {
      deps.log?.(
        `verdict ${copy.message.verdictId}: forwards of ${copy.message.internetMessageId} in ${copy.message.recipient} not followed: ${toClawbackError(error).detail}`,
      );
      return 0;
    });
}
