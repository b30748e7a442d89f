import { queues } from '../bindings.js';
import type { ConfigDocument } from '../config/document.js';
import type { CallOptions } from '../ports/mail.js';
import type { OutgoingMessage, QueueSender } from '../ports/queue.js';
import type { RemediationRecord, ResultStore, VerdictRecord } from '../ports/results.js';
import { decideAction } from '../remediation/policy.js';
import { remediationRowKey } from '../verdicts/ids.js';
import type { RemediationMessage, VerdictMessage } from '../verdicts/messages.js';
import { chunks, recipientCopies } from './plan.js';

export interface FanOutDeps {
  store: ResultStore;
  queue: QueueSender;
  config: ConfigDocument;
  batchSize: number;
  log?: (line: string) => void;
}

export interface FanOutResult {
  verdict: VerdictRecord;
  rows: number;
  newRows: number;
}

/**
 * One pending `Remediations` row and one `remediations` message per (recipient, message), written
 * batch by batch. Rows go first so a remediation never runs without its row; a redelivered verdict
 * message re-sends the same deterministic message ids, which duplicate detection drops.
 */
export async function fanOut(
  message: VerdictMessage,
  deps: FanOutDeps,
  options?: CallOptions,
): Promise<FanOutResult> {
  const log = deps.log ?? (() => undefined);
  const { change, verdictId } = message;
  const decision = decideAction(deps.config, change);
  const base: VerdictRecord = {
    verdictId,
    source: change.source,
    eventId: change.eventId,
    verdict: change.verdict,
    previousVerdict: change.previousVerdict,
    sha256: change.threat.sha256,
    filename: change.threat.filename,
    url: change.threat.url,
    action: decision.action,
    mode: decision.mode,
    status: 'accepted',
    recipients: 0,
    succeeded: 0,
    failed: 0,
    notFound: 0,
    done: 0,
    receivedAt: message.acceptedAt,
  };
  if (!(await deps.store.createVerdict(base, options))) {
    await deps.store.mergeVerdict({ verdictId, action: decision.action, mode: decision.mode }, options);
  }
  if (decision.note) log(`verdict ${verdictId}: ${decision.note}`);

  const messages = change.messages ?? [];
  if (messages.length === 0) log(`verdict ${verdictId} lists no messages; there is nothing to fan out`);
  const now = new Date().toISOString();
  let rows = 0;
  let newRows = 0;
  for (const batch of chunks(recipientCopies(messages), deps.batchSize)) {
    const records: RemediationRecord[] = [];
    const outgoing: OutgoingMessage[] = [];
    for (const { recipient, message: delivered } of batch) {
      const rowKey = remediationRowKey(recipient, delivered.internetMessageId);
      records.push({
        verdictId,
        rowKey,
        recipient,
        internetMessageId: delivered.internetMessageId,
        action: decision.action,
        status: 'pending',
        attempts: 0,
        sha256: change.threat.sha256,
        filename: change.threat.filename,
        updatedAt: now,
      });
      const body: RemediationMessage = {
        verdictId,
        rowKey,
        recipient,
        internetMessageId: delivered.internetMessageId,
        verdict: change.verdict,
        action: decision.action,
        mode: decision.mode,
        attempt: 1,
        ...(delivered.sender === undefined ? {} : { sender: delivered.sender }),
        ...(delivered.subject === undefined ? {} : { subject: delivered.subject }),
        ...(delivered.receivedAt === undefined ? {} : { receivedAt: delivered.receivedAt }),
      };
      outgoing.push({ body, messageId: `${verdictId}|${rowKey}|1`, sessionId: recipient });
    }
    newRows += await deps.store.createRemediations(records, options);
    await deps.queue.send(queues.remediations.name, outgoing, options);
    rows += batch.length;
    log(`verdict ${verdictId}: fanned out ${rows} rows so far`);
  }
  const verdict = await deps.store.markFannedOut(verdictId, rows, options);
  log(
    `verdict ${verdictId}: fan-out complete, ${rows} rows (${newRows} new), action ${decision.action}, mode ${decision.mode}`,
  );
  return { verdict, rows, newRows };
}
