import { randomUUID } from 'node:crypto';

import { isSimulatedCrash } from '../chaos/crash.js';
import type { ConfigDocument, Profile } from '../config/document.js';
import { ensureError, toClawbackError } from '../errors.js';
import type { CallOptions, MailBackend } from '../ports/mail.js';
import type { OutgoingMessage } from '../ports/queue.js';
import type { ResultStore, VerdictStatus } from '../ports/results.js';
import type { CrashPoint } from '../remediation/record.js';
import { remediate, type RemediateDeps, type RemediateResult } from '../remediation/remediate.js';
import type { RemediationMessage } from '../verdicts/messages.js';

export interface RemediateMailboxDeps {
  store: ResultStore;
  config: ConfigDocument;
  backendFor(profile: Profile): MailBackend;
  /** Sends to the `remediations` queue (retries, deferred and rescheduled deliveries). */
  send(messages: OutgoingMessage[], options?: CallOptions): Promise<void>;
  expandGroup?(members: string[], options?: CallOptions): Promise<number>;
  log(line: string): void;
  leaseMs?: number | undefined;
  crash?: ((point: CrashPoint) => void) | undefined;
  now?: () => Date;
  /** Issue 13: remediates the forwards and replies of a removed copy. */
  followForwards?: RemediateDeps['followForwards'];
  /** Who the mailbox actions are done for (the audit trail). */
  audit?: RemediateDeps['audit'];
}

/** The queue delivery as the trigger saw it. */
export interface Delivery {
  /** 1 for the first delivery of this queue message (Service Bus `deliveryCount`). */
  deliveryCount: number;
  maxDeliveryCount: number;
  /** Names this delivery on the row's lease (the invocation id). */
  owner?: string | undefined;
}

export type RemediateMailboxResult =
  RemediateResult | { kind: 'rescheduled'; delayMs: number; error: string };

/** Exceptions rescheduled with backoff before the queue's own redelivery (and then its dead-letter) takes over. */
export const reschedulesAfterException = 5;

/**
 * One `remediations` delivery: remediate the row; a delivery that finds the row leased by another
 * comes back after the lease; an exception is rescheduled with backoff like a transient failure, and
 * once those are used up it goes back to the queue, whose last delivery marks the verdict
 * `deadLettered` with the reason before the message goes to the dead-letter queue.
 */
export async function remediateMailbox(
  message: RemediationMessage,
  delivery: Delivery,
  deps: RemediateMailboxDeps,
): Promise<RemediateMailboxResult> {
  const now = deps.now ?? (() => new Date());
  const sendLater = (body: RemediationMessage, messageId: string, at: Date) =>
    deps.send([{ body, messageId, sessionId: body.recipient, scheduledEnqueueTime: at }]);
  const id = `${message.verdictId}|${message.rowKey}|${message.attempt}`;
  try {
    const result = await remediate(message, {
      store: deps.store,
      config: deps.config,
      backendFor: (profile) => deps.backendFor(profile),
      audit: deps.audit,
      scheduleRetry: (next, at, options) =>
        deps.send(
          [
            {
              body: next,
              messageId: `${next.verdictId}|${next.rowKey}|${next.attempt}`,
              sessionId: next.recipient,
              scheduledEnqueueTime: at,
            },
          ],
          options,
        ),
      ...(deps.expandGroup
        ? { expandGroup: (members: string[], options?: CallOptions) => deps.expandGroup!(members, options) }
        : {}),
      log: (line) => deps.log(line),
      owner: delivery.owner ?? randomUUID(),
      ...(deps.leaseMs ? { leaseMs: deps.leaseMs } : {}),
      ...(deps.crash ? { crash: deps.crash } : {}),
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.followForwards ? { followForwards: deps.followForwards } : {}),
    });
    if (result.kind === 'deferred') {
      // Deliveries deferred to the same lease share one id, so the queue keeps one of them.
      const at = new Date(result.until.getTime() + 250);
      await sendLater({ ...message, failures: 0 }, `${id}|after|${result.until.getTime()}`, at);
      deps.log(`remediation deferred verdict=${message.verdictId} row=${message.rowKey}: ${result.why}`);
    }
    return result;
  } catch (caught) {
    if (isSimulatedCrash(caught)) throw caught;
    const error = toClawbackError(caught);
    const failures = (message.failures ?? 0) + 1;
    if (failures < reschedulesAfterException) {
      const delayMs = Math.round(Math.min(300_000, 1000 * 2 ** (failures - 1)) * (0.8 + 0.4 * Math.random()));
      try {
        await sendLater(
          { ...message, failures },
          `${id}|failure|${failures}`,
          new Date(now().getTime() + delayMs),
        );
        deps.log(
          `remediation rescheduled verdict=${message.verdictId} row=${message.rowKey} failure=${failures} delayMs=${delayMs}: ${error.detail}`,
        );
        return { kind: 'rescheduled', delayMs, error: error.detail };
      } catch (sendError) {
        deps.log(
          `remediation could not be rescheduled (${ensureError(sendError).message}); the queue redelivers it`,
        );
      }
    }
    if (delivery.deliveryCount >= delivery.maxDeliveryCount) {
      const note = `Remediation of ${message.recipient} (row ${message.rowKey}) gave up after ${failures} failed attempts and ${delivery.deliveryCount} deliveries: ${error.detail} The message is in the remediations dead-letter queue; replay it with the CLI once the cause is fixed.`;
      await markDeadLettered(deps.store, message.verdictId, note, (line) => deps.log(line)).catch(
        (e: unknown) =>
          deps.log(`could not mark verdict ${message.verdictId} dead-lettered: ${ensureError(e).message}`),
      );
    }
    throw caught;
  }
}

/** Verdict statuses a row that gave up may turn into `deadLettered`: the verdict is still being worked on. */
const openStatuses: ReadonlySet<VerdictStatus> = new Set(['accepted', 'fannedOut', 'deadLettered']);

/** The longest `Note` a dead-lettered verdict collects (a table property holds 32 K characters). */
export const maxDeadLetterNoteLength = 8000;

/**
 * Marks the verdict `deadLettered` with `note`, conditional on the row read just before: a verdict
 * that another delivery completed meanwhile stays as it is (this delivery was a stale duplicate), and
 * the notes of several rows that gave up are kept side by side instead of the last one winning.
 */
export async function markDeadLettered(
  store: Pick<ResultStore, 'readVerdict' | 'updateVerdict'>,
  verdictId: string,
  note: string,
  log: (line: string) => void,
): Promise<void> {
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const read = await store.readVerdict(verdictId);
    if (!read) {
      log(`verdict ${verdictId} is not recorded; it cannot be marked dead-lettered`);
      return;
    }
    const { status, note: earlier } = read.value;
    if (!openStatuses.has(status)) {
      log(`verdict ${verdictId} is already ${status}; a row that gave up does not change it`);
      return;
    }
    const kept = status === 'deadLettered' ? earlier : undefined;
    if (kept?.includes(note)) return;
    const notes = kept ? `${kept} | ${note}` : note;
    const capped =
      notes.length > maxDeadLetterNoteLength ? `${notes.slice(0, maxDeadLetterNoteLength - 1)}…` : notes;
    if (await store.updateVerdict({ verdictId, status: 'deadLettered', note: capped }, read.etag)) return;
  }
  log(`could not mark verdict ${verdictId} dead-lettered: it changed on every one of 3 attempts`);
}
