import { queues } from '../bindings.js';
import type { ConfigDocument } from '../config/document.js';
import type { CallOptions } from '../ports/mail.js';
import type { OutgoingMessage, QueueSender } from '../ports/queue.js';
import type { RemediationRecord, ResultStore, VerdictRecord } from '../ports/results.js';
import { decideAction, type Decision } from '../remediation/policy.js';
import { remediationRowKey, threatKey } from '../verdicts/ids.js';
import type { RemediationMessage, VerdictMessage } from '../verdicts/messages.js';
import { acceptedVerdictRecord } from '../verdicts/record.js';
import type { ActionName, Mode, VerdictValue } from '../verdicts/schema.js';
import { chunks, recipientCopies } from './plan.js';

export interface FanOutDeps {
  store: ResultStore;
  queue: QueueSender;
  config: ConfigDocument;
  batchSize: number;
  log?: (line: string) => void;
  /** Issue 13: the approval gate (simulate first above `approvalAbove`) and the policy decision's audit row. */
  gate?: (
    message: VerdictMessage,
    decision: Decision,
    options?: CallOptions,
  ) => Promise<Decision & { verdictPatch?: Partial<VerdictRecord> }>;
}

export interface FanOutResult {
  verdict: VerdictRecord;
  rows: number;
  newRows: number;
}

/** One (recipient, message) to act on, with what the fallback search may need. */
export interface CopyTarget {
  recipient: string;
  internetMessageId: string;
  sender?: string | undefined;
  subject?: string | undefined;
  receivedAt?: string | undefined;
}

/** What every row and message of one verdict shares. */
export interface VerdictWork {
  verdictId: string;
  verdict: VerdictValue;
  action: ActionName;
  mode: Mode;
  threatKey: string;
  sha256?: string | undefined;
  filename?: string | undefined;
}

/**
 * Writes one pending row per copy, then sends one `remediations` message per copy. Rows go first so a
 * remediation never runs without its row; existing rows are left alone and their messages are resent
 * with the same deterministic ids, which duplicate detection drops. Returns how many rows were new.
 */
export async function enqueueCopies(
  work: VerdictWork,
  copies: CopyTarget[],
  deps: Pick<FanOutDeps, 'store' | 'queue'>,
  options?: CallOptions & { beforeSend?: (createdRows: number) => Promise<void> },
): Promise<number> {
  const now = new Date().toISOString();
  const records: RemediationRecord[] = [];
  const outgoing: OutgoingMessage[] = [];
  for (const copy of copies) {
    const rowKey = remediationRowKey(copy.recipient, copy.internetMessageId);
    records.push({
      verdictId: work.verdictId,
      rowKey,
      recipient: copy.recipient,
      internetMessageId: copy.internetMessageId,
      action: work.action,
      status: 'pending',
      attempts: 0,
      sha256: work.sha256,
      filename: work.filename,
      updatedAt: now,
    });
    const body: RemediationMessage = {
      verdictId: work.verdictId,
      rowKey,
      recipient: copy.recipient,
      internetMessageId: copy.internetMessageId,
      verdict: work.verdict,
      action: work.action,
      mode: work.mode,
      threatKey: work.threatKey,
      attempt: 1,
      ...(copy.sender === undefined ? {} : { sender: copy.sender }),
      ...(copy.subject === undefined ? {} : { subject: copy.subject }),
      ...(copy.receivedAt === undefined ? {} : { receivedAt: copy.receivedAt }),
    };
    outgoing.push({ body, messageId: `${work.verdictId}|${rowKey}|1`, sessionId: copy.recipient });
  }
  const created = await deps.store.createRemediations(records, options);
  await options?.beforeSend?.(created);
  await deps.queue.send(queues.remediations.name, outgoing, options);
  return created;
}

/**
 * The copies a verdict is about: the messages it lists; without messages, the delivery ledger's
 * copies of the threat, or for a restore every copy Clawback changed for it — read page by page,
 * never all at once.
 */
async function* copiesOf(
  message: VerdictMessage,
  action: ActionName,
  deps: FanOutDeps,
  options?: CallOptions,
): AsyncGenerator<CopyTarget> {
  const messages = message.change.messages ?? [];
  for (const { recipient, message: delivered } of recipientCopies(messages)) {
    yield {
      recipient,
      internetMessageId: delivered.internetMessageId,
      sender: delivered.sender,
      subject: delivered.subject,
      receivedAt: delivered.receivedAt,
    };
  }
  if (messages.length > 0) return;
  const key = threatKey(message.change.threat);
  const list =
    action === 'restore'
      ? deps.store.listRemediatedCopies.bind(deps.store)
      : deps.store.listDeliveries.bind(deps.store);
  let continuationToken: string | undefined;
  do {
    const page = await list(key, { pageSize: deps.batchSize, continuationToken }, options);
    for (const copy of page.items) yield copy;
    continuationToken = page.continuationToken;
  } while (continuationToken);
}

/**
 * One pending `Remediations` row and one `remediations` message per (recipient, message), written
 * batch by batch, so a 10,000-recipient campaign never sits in one message or one array.
 */
export async function fanOut(
  message: VerdictMessage,
  deps: FanOutDeps,
  options?: CallOptions,
): Promise<FanOutResult> {
  const log = deps.log ?? (() => undefined);
  const { change, verdictId } = message;
  const policyDecision = decideAction(deps.config, change);
  const decision = deps.gate ? await deps.gate(message, policyDecision, options) : policyDecision;
  const gatePatch = ('verdictPatch' in decision ? decision.verdictPatch : undefined) ?? {};
  const base = { ...acceptedVerdictRecord(verdictId, change, message.acceptedAt, decision), ...gatePatch };
  if (!(await deps.store.createVerdict(base, options))) {
    await deps.store.mergeVerdict(
      { verdictId, action: decision.action, mode: decision.mode, ...gatePatch },
      options,
    );
  }
  if (decision.note) log(`verdict ${verdictId}: ${decision.note}`);

  const work: VerdictWork = {
    verdictId,
    verdict: change.verdict,
    action: decision.action,
    mode: decision.mode,
    threatKey: threatKey(change.threat),
    sha256: change.threat.sha256,
    filename: change.threat.filename,
  };
  let rows = 0;
  let newRows = 0;
  for await (const batch of chunks(copiesOf(message, decision.action, deps, options), deps.batchSize)) {
    newRows += await enqueueCopies(work, batch, deps, options);
    rows += batch.length;
    log(`verdict ${verdictId}: fanned out ${rows} rows so far`);
  }
  if (rows === 0) log(`verdict ${verdictId} names no delivered copies; there is nothing to fan out`);
  const verdict = await deps.store.markFannedOut(verdictId, rows, options);
  log(
    `verdict ${verdictId}: fan-out complete, ${rows} rows (${newRows} new), action ${decision.action}, mode ${decision.mode}`,
  );
  return { verdict, rows, newRows };
}
