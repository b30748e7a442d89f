import { queues } from '../bindings.js';
import type { ConfigDocument } from '../config/document.js';
import { ensureError } from '../errors.js';
import type { AuditLog } from '../ports/audit.js';
import type { CallOptions } from '../ports/mail.js';
import type { OutgoingMessage, QueueSender } from '../ports/queue.js';
import type { RemediationRecord, ResultStore, VerdictRecord } from '../ports/results.js';
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
  /** Merged into the verdict row at fan-out: `awaitingApproval` when the gate holds the verdict. */
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
        gated = { ...decision, mode: 'simulate', verdictPatch: { status: 'awaitingApproval' } };
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
    if (decision === 'approve' && (verdict.recipients === 0 || verdict.done < verdict.recipients))
      return { kind: 'stillSimulating', done: verdict.done, recipients: verdict.recipients };
    const claim = await deps.store.claimEvent(decisionSource, verdictId, decision, options);
    if (claim.verdictId !== decision) return { kind: 'notWaiting', status: verdict.status };
    return settle(verdict, decision, who, comment, deps, false, options);
  }
  // Already decided: the same decision again completes an approval a crash interrupted.
  const same =
    (decision === 'approve' && verdict.approvedBy !== undefined && verdict.status !== 'rejected') ||
    (decision === 'reject' && verdict.status === 'rejected');
  if (!same || verdict.source === undoSource)
    return { kind: 'notWaiting', status: verdict.status, decidedBy: verdict.approvedBy };
  if (decision === 'reject') return { kind: 'rejected', verdict };
  return settle(verdict, decision, verdict.approvedBy ?? who, undefined, deps, true, options);
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
    verdict,
    'reject',
    systemCaller('approvalWindow'),
    `the approval window of ${deps.config.settings.approvalHours} h passed`,
    deps,
    false,
    options,
  );
  return true;
}

async function settle(
  verdict: VerdictRecord,
  decision: 'approve' | 'reject',
  who: string,
  comment: string | undefined,
  deps: ApprovalDeps,
  repeat: boolean,
  options?: CallOptions,
): Promise<ApprovalResult> {
  const at = (deps.now ?? (() => new Date()))();
  const { verdictId } = verdict;
  const audit = async (what: 'approved' | 'rejected', detail: string) =>
    deps.audit?.append(
      { who, what, verdictId, detail: comment ? `${detail}; comment: ${comment}` : detail, at },
      options,
    );
  if (decision === 'reject') {
    const patch = { status: 'rejected' as const, approvedBy: who, completedAt: at.toISOString() };
    await deps.store.mergeVerdict({ verdictId, ...patch }, options);
    await audit('rejected', `rejected after simulating ${verdict.recipients} copies; no mailbox was changed`);
    return { kind: 'rejected', verdict: { ...verdict, ...patch } };
  }
  const rows = await allRows(deps.store, verdictId, options);
  const simulated = rows.filter((r) => r.value.status === 'simulated');
  if (!repeat) {
    // Counters restart from the rows that stay as they are, before any approved row can finish.
    const others = rows.filter((r) => r.value.status !== 'simulated').map((r) => r.value.status);
    const count = (...statuses: string[]) => others.filter((s) => statuses.includes(s)).length;
    await deps.store.mergeVerdict(
      {
        verdictId,
        status: simulated.length === 0 ? 'completed' : 'fannedOut',
        mode: 'enforce',
        approvedBy: who,
        done: others.length,
        succeeded: count('succeeded', 'alreadyRemediated'),
        failed: count('failed'),
        notFound: count('notFound'),
        ...(simulated.length === 0 ? { completedAt: at.toISOString() } : {}),
      },
      options,
    );
  }
  const key = threatKey({ sha256: verdict.sha256, url: verdict.url });
  let queued = 0;
  for (let i = 0; i < simulated.length; i += 100) {
    const outgoing: OutgoingMessage[] = [];
    for (const { value: row, etag } of simulated.slice(i, i + 100)) {
      try {
        await deps.store.updateRemediation(
          verdictId,
          row.rowKey,
          {
            status: 'pending',
            attempts: 0,
            detail: `Approved by ${who}; queued for ${row.action}.`,
            updatedAt: at.toISOString(),
          },
          etag,
          options,
        );
      } catch (error) {
        // Another delivery of the same approval took this row: it queues it, not us.
        if (!isConflict(error)) throw error;
        continue;
      }
      outgoing.push({
        body: approvedMessage(verdict, row, key),
        messageId: `${verdictId}|${row.rowKey}|approved`,
        sessionId: row.recipient,
      });
    }
    if (outgoing.length > 0) await deps.queue.send(queues.remediations.name, outgoing, options);
    queued += outgoing.length;
  }
  if (!repeat)
    await audit(
      'approved',
      `approved: ${simulated.length} simulated copies queued for ${verdict.action ?? 'the policy action'}`,
    );
  return {
    kind: 'approved',
    verdict: { ...verdict, status: 'fannedOut', mode: 'enforce', approvedBy: who },
    queued,
  };
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
