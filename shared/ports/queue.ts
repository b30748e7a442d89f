import type { CallOptions } from './mail.js';

export interface OutgoingMessage {
  body: unknown;
  /** Deterministic id, so Service Bus duplicate detection drops a resend of the same message. */
  messageId: string;
  /** Required on session-enabled queues (`remediations`): the recipient mailbox. */
  sessionId?: string;
  /** Not delivered before this time (scheduled retry). */
  scheduledEnqueueTime?: Date;
}

/** Sends messages to a named queue. Implementations batch as their transport allows. */
export interface QueueSender {
  send(queueName: string, messages: OutgoingMessage[], options?: CallOptions): Promise<void>;
  close(): Promise<void>;
}
