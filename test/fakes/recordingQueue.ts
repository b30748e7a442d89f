import type { QueueSender } from '../../shared/ports/queue.js';
import type { VerdictMessage } from '../../shared/verdicts/messages.js';

/** The `verdicts` queue as Service Bus keeps it: a message id sent twice is one message. */
export function recordingQueue(): QueueSender & { accepted: Map<string, VerdictMessage> } {
  const accepted = new Map<string, VerdictMessage>();
  return {
    accepted,
    send(_queue, messages) {
      for (const m of messages)
        if (!accepted.has(m.messageId)) accepted.set(m.messageId, m.body as VerdictMessage);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}
