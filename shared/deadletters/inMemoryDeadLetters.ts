import type { DeadLetter, DeadLetterQueue, ReplayResult } from '../ports/deadLetters.js';
import type { CallOptions } from '../ports/mail.js';
import type { DeadLetteredMessage, InMemoryQueue } from '../queue/inMemoryQueue.js';

export type DeadLetterStore = Pick<InMemoryQueue, 'deadLetters' | 'removeDeadLetter' | 'send'>;

export function hasDeadLetterStore(queue: object): queue is DeadLetterStore {
  return (
    typeof (queue as Partial<DeadLetterStore>).deadLetters === 'function' &&
    typeof (queue as Partial<DeadLetterStore>).removeDeadLetter === 'function'
  );
}

function toDeadLetter(queue: string, m: DeadLetteredMessage): DeadLetter {
  return {
    queue,
    messageId: m.messageId,
    sessionId: m.sessionId,
    deliveryCount: m.deliveryCount,
    enqueuedTimeUtc: m.enqueuedTimeUtc.toISOString(),
    reason: m.deadLetterReason,
    description: m.deadLetterErrorDescription,
    body: m.body,
  };
}

/**
 * The local runtime's dead letters. A replay sends the body again under a new message id: the
 * original id is still inside the duplicate-detection window, and the handlers are idempotent.
 */
export class InMemoryDeadLetters implements DeadLetterQueue {
  constructor(
    private readonly queue: DeadLetterStore,
    private readonly now: () => number = Date.now,
  ) {}

  list(queue: string, max: number, _options?: CallOptions): Promise<DeadLetter[]> {
    return Promise.resolve(
      this.queue
        .deadLetters(queue)
        .slice(0, max)
        .map((m) => toDeadLetter(queue, m)),
    );
  }

  async replay(
    queue: string,
    messageIds: string[] | undefined,
    max: number,
    options?: CallOptions,
  ): Promise<ReplayResult> {
    const available = this.queue.deadLetters(queue);
    const wanted = messageIds ?? available.slice(0, max).map((m) => m.messageId);
    const result: ReplayResult = { replayed: [], missing: [] };
    for (const id of wanted) {
      const message = this.queue.removeDeadLetter(queue, id);
      if (!message) {
        result.missing.push(id);
        continue;
      }
      await this.queue.send(
        queue,
        [
          {
            body: message.body,
            messageId: `${id}|replay-${this.now()}`,
            ...(message.sessionId ? { sessionId: message.sessionId } : {}),
          },
        ],
        options,
      );
      result.replayed.push(id);
    }
    return result;
  }
}
