import type { CallOptions } from './mail.js';

/** A message Service Bus gave up on after `maxDeliveryCount` deliveries, with the reason it recorded. */
export interface DeadLetter {
  queue: string;
  messageId: string;
  sessionId?: string | undefined;
  deliveryCount: number;
  enqueuedTimeUtc?: string | undefined;
  reason: string;
  description: string;
  body: unknown;
}

export interface ReplayResult {
  /** Dead letters put back on their queue (and removed from the dead-letter queue). */
  replayed: string[];
  /** Requested ids that were not in the dead-letter queue. */
  missing: string[];
}

/** Reads and replays a queue's dead letters: the local queue's list, or `<queue>/$deadletterqueue` in Service Bus. */
export interface DeadLetterQueue {
  list(queue: string, max: number, options?: CallOptions): Promise<DeadLetter[]>;
  /** Replays the given message ids, or every dead letter (up to `max`) when `messageIds` is undefined. */
  replay(
    queue: string,
    messageIds: string[] | undefined,
    max: number,
    options?: CallOptions,
  ): Promise<ReplayResult>;
}
