import { queues } from '../bindings.js';
import type { ConfigDocument } from '../config/document.js';
import { ClawbackError, ensureError } from '../errors.js';
import type { AuditLog } from '../ports/audit.js';
import type { CallOptions } from '../ports/mail.js';
import type { OutgoingMessage, QueueSender } from '../ports/queue.js';
import type { RemediationRecord, ResultStore, VerdictPatch, VerdictRecord } from '../ports/results.js';
import { firstCheck } from '../recipients/completion.js';
import { recipientCopies } from '../recipients/plan.js';
import type { Decision } from '../remediation/policy.js';
import { threatKey } from '../verdicts/ids.js';
import type { RemediationMessage, VerdictMessage } from '../verdicts/messages.js';

/** The app's own identity in the audit trail for steps no caller made directly. */
export const systemCaller = (step: string) => `clawback:${step}`;

/** Claims in the event index that make approve, reject and expiry exclusive: one decision per verdict. */
const decisionSource = 'clawback-approval';

export interface GateDeps {
  store: ResultStore;
  config: ConfigDocument;
  audit?: AuditLog | undefined;
  now?: () => Date;
}

export type GatedDecision = Decision & {
  /**
   * Merged into the verdict row at fan-out: `approvalAbove` when the gate holds the verdict, so its
   * completion check ends it `awaitingApproval` instead of completed.
   */
  verdictPatch: Partial<VerdictRecord>;
};

/**
 * The blast-radius gate: a verdict whose policy sets `approvalAbove: N` and that names more than N
 * copies runs in simulate and waits for an admin. Counting stops at N + 1, so a 10,000-recipient
 * campaign is never walked twice in full. A redelivered fan-out of a verdict already decided keeps
 * that decision. Every outcome is audited as the policy decision.
 */
export async function applyApprovalGate(
  message: VerdictMessage,
  decision: Decision,
  deps: GateDeps,
  options?: CallOptions,
): Promise<GatedDecision> {
  const policy = deps.config.policies.find((p) => p.verdict === message.change.verdict);
  const limit = policy?.approvalAbove;
  let gated: GatedDecision = { ...decision, verdictPatch: {} };
  let why = '';
  if (limit !== undefined && decision.mode === 'enforce' && decision.action !== 'none') {
    const existing = await deps.store.getVerdict(message.verdictId, options);
    if (existing?.status === 'rejected') gated = { ...decision, mode: 'simulate', verdictPatch: {} };
    else if (existing?.approvedBy === undefined) {
      const count = await countCopies(message, decision, deps.store, limit + 1, options);
      if (count > limit) {
        gated = { ...decision, mode: 'simulate', verdictPatch: { approvalAbove: limit } };
        why = `; more than ${limit} copies (approvalAbove), so simulated first and awaiting approval`;
      }
    }
  }
  await deps.audit
    ?.append(
      {
        who: systemCaller('fanOutVerdict'),
        what: 'policyDecision',
        verdictId: message.verdictId,
        detail: `${message.change.verdict} from ${message.change.source}: action ${gated.action}, mode ${gated.mode}${why}${decision.note ? ` (${decision.note})` : ''}`,
        at: (deps.now ?? (() => new Date()))(),
      },
      options,
    )
    .catch(() => undefined);
  return gated;
}

async function countCopies(
  message: VerdictMessage,
  decision: Decision,
  store: ResultStore,
  enough: number,
  options?: CallOptions,
): Promise<number> {
  let count = 0;
  const copies = recipientCopies(message.change.messages ?? []);
  while (count < enough && !copies.next().done) count += 1;
  if (count >= enough) return count;
  if ((message.change.messages ?? []).length > 0) return count;
  const key = threatKey(message.change.threat);
  const list =
    decision.action === 'restore' ? store.listRemediatedCopies.bind(store) : store.listDeliveries.bind(store);
  let continuationToken: string | undefined;
  do {
    const page = await list(key, { pageSize: 1000, continuationToken }, options);
    count += page.items.length;
    continuationToken = page.continuationToken;
  } while (continuationToken && count < enough);
  return count;
}

export interface ApprovalDeps {
  store: ResultStore;
  queue: QueueSender;
  config: ConfigDocument;
  /** Delay of the completion check an approval starts (`CLAWBACK_COMPLETION_CHECK_MS`). */
  checkDelayMs: number;
  audit?: AuditLog | undefined;
  now?: () => Date;
}

export type ApprovalResult =
  | { kind: 'notFound' }
  | { kind: 'notWaiting'; status: VerdictRecord['status']; decidedBy?: string | undefined }
  | { kind: 'stillSimulating'; done: number; recipients: number }
  | { kind: 'expired'; deadline: string }
  | { kind: 'approved'; verdict: VerdictRecord; queued: number }
  | { kind: 'rejected'; verdict: VerdictRecord };

export function approvalDeadline(verdict: VerdictRecord, config: ConfigDocument): Date {
  return new Date(Date.parse(verdict.receivedAt) + config.settings.approvalHours * 3_600_000);
}

/**
 * The approval's completion checks start at this round: the simulation's own chain used the rounds
 * from 0, and a check id seen within the duplicate-detection window would be dropped.
 */
const approvalRound = 1_000_000;

/**
 * Approve or reject a verdict awaiting approval. Approval remediates exactly the rows the simulation
 * left `simulated`, in enforce mode; rejection ends the verdict with nothing changed. One decision
 * per verdict (a claim in the event index): the same decision repeated finishes one that was
 * interrupted, a different one is refused.
 */
export async function decideApproval(
  verdictId: string,
  decision: 'approve' | 'reject',
  who: string,
  comment: string | undefined,
  deps: ApprovalDeps,
  options?: CallOptions,
): Promise<ApprovalResult> {
  const now = deps.now ?? (() => new Date());
  const verdict = await deps.store.getVerdict(verdictId, options);
  if (!verdict) return { kind: 'notFound' };
  if (verdict.status === 'awaitingApproval') {
    const deadline = approvalDeadline(verdict, deps.config);
    if (now() > deadline) {
      await expire(verdict, deps, options);
      return { kind: 'expired', deadline: deadline.toISOString() };
    }
    const claim = await deps.store.claimEvent(decisionSource, verdictId, decision, options);
    if (claim.verdictId !== decision) return { kind: 'notWaiting', status: verdict.status };
    return settle(verdictId, decision, who, comment, deps, options);
  }
  // Held by the gate and still simulating: the completion check has not counted every row yet.
  if (
    verdict.status === 'fannedOut' &&
    verdict.approvalAbove !== undefined &&
    verdict.approvedBy === undefined
  )
    return { kind: 'stillSimulating', done: verdict.done, recipients: verdict.recipients };
  // Already decided: the same decision again completes an approval a crash interrupted.
  const same =
    (decision === 'approve' && verdict.approvedBy !== undefined && verdict.status !== 'rejected') ||
    (decision === 'reject' && verdict.status === 'rejected');
  if (!same || verdict.source === undoSource)
    return { kind: 'notWaiting', status: verdict.status, decidedBy: verdict.approvedBy };
  if (decision === 'reject') return { kind: 'rejected', verdict };
  return settle(verdictId, decision, verdict.approvedBy ?? who, undefined, deps, options);
}

/** Source of the verdicts an undo creates (they carry `approvedBy` = who asked, never wait for approval). */
export const undoSource = 'clawback-undo';

/** Rejects a verdict whose approval window has passed, unless someone decided first. */
export async function expire(
  verdict: VerdictRecord,
  deps: ApprovalDeps,
  options?: CallOptions,
): Promise<boolean> {
  const claim = await deps.store.claimEvent(decisionSource, verdict.verdictId, 'reject', options);
  if (claim.verdictId !== 'reject') return false;
  await settle(
    verdict.verdictId,
    'reject',
    systemCaller('approvalWindow'),
    `the approval window of ${deps.config.settings.approvalHours} h passed`,
    deps,
    options,
  );
  return true;
}

/**
 * Writes the decision on the verdict's row, conditional on its ETag (the completion check writes it
 * too). Returns false when the row is no longer waiting and nobody wrote this decision on it.
 */
async function writeDecision(
  verdictId: string,
  patch: VerdictPatch,
  deps: ApprovalDeps,
  options?: CallOptions,
): Promise<{ wrote: boolean; verdict: VerdictRecord }> {
  const read = await deps.store.readVerdict(verdictId, options);
  if (!read) throw new ClawbackError('Unknown', `Verdict ${verdictId} vanished while being decided.`);
  if (read.value.status === 'awaitingApproval' && (await deps.store.updateVerdict(patch, read.etag, options)))
    return { wrote: true, verdict: { ...read.value, ...patch } };
  const fresh = (await deps.store.getVerdict(verdictId, options)) ?? read.value;
  // A repeat of this decision (or a concurrent delivery of it) wrote it first: carry on from there.
  if (fresh.status !== 'awaitingApproval' && fresh.approvedBy !== undefined)
    return { wrote: false, verdict: fresh };
  throw new ClawbackError('Unknown', `Verdict ${verdictId} changed while being decided; try again.`, {
    retryable: true,
  });
}

async function settle(
  verdictId: string,
  decision: 'approve' | 'reject',
  who: string,
  comment: string | undefined,
  deps: ApprovalDeps,
  options?: CallOptions,
): Promise<ApprovalResult> {
  const at = (deps.now ?? (() => new Date()))();
  const audit = async (what: 'approved' | 'rejected', detail: string) =>
    deps.audit?.append(
      { who, what, verdictId, detail: comment ? `${detail}; comment: ${comment}` : detail, at },
      options,
    );
  if (decision === 'reject') {
    const note = `Rejected by ${who}${comment ? `: ${comment}` : ''}; no mailbox was changed.`;
    const patch = {
      verdictId,
      status: 'rejected' as const,
      approvedBy: who,
      note,
      completedAt: at.toISOString(),
    };
    const { wrote, verdict } = await writeDecision(verdictId, patch, deps, options);
    if (wrote)
      await audit(
        'rejected',
        `rejected after simulating ${verdict.recipients} copies; no mailbox was changed`,
      );
    return { kind: 'rejected', verdict };
  }
  // Rows reopen before the verdict leaves awaitingApproval, so no completion check can find them
  // all terminal in between; a repeat resends what an interrupted approval reopened.
  const rows = await allRows(deps.store, verdictId, options);
  const simulated = rows.filter((r) => r.value.status === 'simulated').length;
  const reopened: RemediationRecord[] = rows
    .filter((r) => r.value.status === 'pending' && r.value.attempts === 0 && !r.value.derivedFrom)
    .map((r) => r.value);
  for (const { value: row, etag } of rows.filter((r) => r.value.status === 'simulated')) {
    const patch = {
      status: 'pending' as const,
      attempts: 0,
      detail: `Approved by ${who}; queued for ${row.action}.`,
      updatedAt: at.toISOString(),
    };
    try {
      await deps.store.updateRemediation(verdictId, row.rowKey, patch, etag, options);
      reopened.push({ ...row, ...patch });
    } catch (error) {
      // Another delivery of the same approval took this row and queues it.
      if (!isConflict(error)) throw error;
    }
  }
  const { wrote, verdict } = await writeDecision(
    verdictId,
    { verdictId, status: 'fannedOut', mode: 'enforce', approvedBy: who },
    deps,
    options,
  );
  const key = threatKey({ sha256: verdict.sha256, url: verdict.url });
  for (let i = 0; i < reopened.length; i += 100) {
    const outgoing: OutgoingMessage[] = reopened.slice(i, i + 100).map((row) => ({
      body: approvedMessage(verdict, row, key),
      messageId: `${verdictId}|${row.rowKey}|approved`,
      sessionId: row.recipient,
    }));
    await deps.queue.send(queues.remediations.name, outgoing, options);
  }
  await firstCheck(verdictId, { queue: deps.queue, firstDelayMs: deps.checkDelayMs }, options, approvalRound);
  if (wrote)
    await audit(
      'approved',
      `approved: ${simulated} simulated copies queued for ${verdict.action ?? 'the policy action'}`,
    );
  return { kind: 'approved', verdict, queued: reopened.length };
}

function approvedMessage(verdict: VerdictRecord, row: RemediationRecord, key: string): RemediationMessage {
  return {
    verdictId: verdict.verdictId,
    rowKey: row.rowKey,
    recipient: row.recipient,
    internetMessageId: row.internetMessageId,
    verdict: verdict.verdict,
    action: row.action,
    mode: 'enforce',
    threatKey: key,
    attempt: 1,
  };
}

async function allRows(store: ResultStore, verdictId: string, options?: CallOptions) {
  const rows: { value: RemediationRecord; etag: string }[] = [];
  let continuationToken: string | undefined;
  do {
    const page = await store.listRemediations(verdictId, { pageSize: 1000, continuationToken }, options);
    for (const row of page.items) {
      const current = await store.getRemediation(verdictId, row.rowKey, options);
      if (current) rows.push(current);
    }
    continuationToken = page.continuationToken;
  } while (continuationToken);
  return rows;
}

/** A conditional row update lost to a concurrent writer (told apart by name, as the store throws it). */
export function isConflict(error: unknown): boolean {
  const e = ensureError(error) as Error & { code?: unknown };
  return e.name === 'ConcurrencyConflictError' || e.code === 'ConcurrencyConflict';
}

/** The timer's use case: every verdict past its approval window is rejected. Returns how many. */
export async function expireWaiting(deps: ApprovalDeps, options?: CallOptions): Promise<number> {
  const now = (deps.now ?? (() => new Date()))();
  const to = new Date(now.getTime() - deps.config.settings.approvalHours * 3_600_000);
  const from = new Date(to.getTime() - 30 * 24 * 3_600_000);
  let expired = 0;
  for (const verdict of await deps.store.listVerdicts({ from, to }, 5000, options))
    if (verdict.status === 'awaitingApproval' && (await expire(verdict, deps, options))) expired += 1;
  return expired;
}
