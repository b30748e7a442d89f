import { queues } from '../bindings.js';
import type { ConfigDocument } from '../config/document.js';
import { ClawbackError } from '../errors.js';
import type { CallOptions } from '../ports/mail.js';
import type { OutgoingMessage, QueueSender } from '../ports/queue.js';
import type {
  DeliveriesLedger,
  RemediatedCopies,
  RemediationRecord,
  RemediationRows,
  VerdictRecord,
  Verdicts,
} from '../ports/results.js';
import { decideAction, type Decision } from '../remediation/policy.js';
import { remediationRowKey, threatKey } from '../verdicts/ids.js';
import type { RemediationMessage, VerdictMessage } from '../verdicts/messages.js';
import { acceptedVerdictRecord } from '../verdicts/record.js';
import type { ActionName, Mode, VerdictValue } from '../verdicts/schema.js';
import { firstCheck } from './completion.js';
import { chunks, recipientCopies } from './plan.js';
import { copiesWithoutMessageId, type Misses, noMisses, unresolvedNote } from './unresolved.js';

export interface FanOutDeps {
  verdicts: Verdicts;
  rows: Pick<RemediationRows, 'createRemediations'>;
  deliveries: Pick<DeliveriesLedger, 'listDeliveries'>;
  copies: Pick<RemediatedCopies, 'listRemediatedCopies'>;
  queue: QueueSender;
  config: ConfigDocument;
  batchSize: number;
  /** Delay of the verdict's first completion check. */
  checkDelayMs: number;
  now?: () => Date;
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
  deps: Pick<FanOutDeps, 'rows' | 'queue'>,
  options?: CallOptions,
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
  const etags = new Map<string, string>();
  const created = await deps.rows.createRemediations(records, options, etags);
  // A row this fan-out created is leased by its first delivery with the ETag it was created with.
  for (const [i, m] of outgoing.entries()) {
    const etag = etags.get(records[i]?.rowKey ?? '');
    if (etag !== undefined) m.body = { ...(m.body as RemediationMessage), rowEtag: etag };
  }
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
  misses: Misses,
  options?: CallOptions,
): AsyncGenerator<CopyTarget> {
  const messages = message.change.messages ?? [];
  const identified = messages.filter((m) => m.internetMessageId !== undefined);
  for (const { recipient, message: delivered } of recipientCopies(identified)) {
    yield {
      recipient,
      internetMessageId: delivered.internetMessageId ?? '',
      sender: delivered.sender,
      subject: delivered.subject,
      receivedAt: delivered.receivedAt,
    };
  }
  const key = threatKey(message.change.threat);
  if (messages.length > 0) {
    const idless = messages.filter((m) => m.internetMessageId === undefined);
    yield* copiesWithoutMessageId(idless, action, key, deps, misses, options);
    return;
  }
  const list =
    action === 'restore'
      ? deps.copies.listRemediatedCopies.bind(deps.copies)
      : deps.deliveries.listDeliveries.bind(deps.deliveries);
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
  if (!(await deps.verdicts.createVerdict(base, options))) {
    await deps.verdicts.mergeVerdict(
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
  const misses = noMisses();
  for await (const batch of chunks(
    copiesOf(message, decision.action, deps, misses, options),
    deps.batchSize,
  )) {
    newRows += await enqueueCopies(work, batch, deps, options);
    rows += batch.length;
    log(`verdict ${verdictId}: fanned out ${rows} rows so far`);
  }
  if (rows === 0) log(`verdict ${verdictId} names no delivered copies; there is nothing to fan out`);
  const note = unresolvedNote(change, decision.action, rows, misses);
  if (note !== undefined)
    log(`verdict ${verdictId} ${rows === 0 ? 'unresolved' : 'partly resolved'}: ${note}`);
  const verdict = await markFannedOut(verdictId, rows, decision.action, note, deps.verdicts, options);
  // Sent even when the verdict was already fanned out: a redelivery may follow a crash right here.
  if (verdict.status === 'fannedOut')
    await firstCheck(verdictId, { ...deps, firstDelayMs: deps.checkDelayMs }, options);
  log(
    `verdict ${verdictId}: fan-out complete, ${rows} rows (${newRows} new), action ${decision.action}, mode ${decision.mode}`,
  );
  return { verdict, rows, newRows };
}

/**
 * `accepted → fannedOut` with the number of rows, once: a redelivered fan-out leaves a verdict that
 * moved on as it is. Without rows there is nothing to wait for, and the verdict ends at once.
 * Exported for undo (issue 13), which writes its own rows and then fans out the same way.
 */
export async function markFannedOut(
  verdictId: string,
  rows: number,
  action: ActionName,
  /** Why some or all named copies could not be identified, and what would resolve it. */
  note: string | undefined,
  verdicts: Verdicts,
  options?: CallOptions,
): Promise<VerdictRecord> {
  const read = await verdicts.readVerdict(verdictId, options);
  if (!read)
    throw new ClawbackError('Unknown', `Verdict ${verdictId} vanished during fan-out.`, { retryable: true });
  if (read.value.status !== 'accepted') return read.value;
  const next: Partial<VerdictRecord> & { verdictId: string } =
    rows > 0
      ? {
          verdictId,
          status: 'fannedOut',
          // Rows a worker added meanwhile (group members, follow forwards) are never counted away.
          recipients: Math.max(rows, read.value.recipients),
          ...(note === undefined ? {} : { note }),
        }
      : action === 'restore'
        ? {
            verdictId,
            status: 'completed',
            recipients: 0,
            completedAt: new Date().toISOString(),
            note: note ?? noCopiesToRestore,
          }
        : {
            verdictId,
            status: 'unresolved',
            recipients: 0,
            completedAt: new Date().toISOString(),
            note: note ?? noCopiesFound,
          };
  if (await verdicts.updateVerdict(next, read.etag, options)) return { ...read.value, ...next };
  // Something else (a dead-letter record, an operator) wrote the row meanwhile: its word stands.
  return (await verdicts.getVerdict(verdictId, options)) ?? read.value;
}

const noCopiesFound =
  'No delivered copy could be identified: the verdict lists no messages and the delivery ledger has no copy of this threat.';
const noCopiesToRestore = 'Clawback changed no copy for this threat, so there is nothing to restore.';
