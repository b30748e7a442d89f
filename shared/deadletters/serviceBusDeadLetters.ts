import type { TokenCredential } from '@azure/identity';
import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';

import { withSignal } from '../callOptions.js';
import { ClawbackError, ensureError } from '../errors.js';
import type { DeadLetter, DeadLetterQueue, ReplayResult } from '../ports/deadLetters.js';
import type { CallOptions } from '../ports/mail.js';

function toDeadLetter(queue: string, m: ServiceBusReceivedMessage): DeadLetter {
  return {
    queue,
    messageId: String(m.messageId ?? m.sequenceNumber?.toString() ?? ''),
    sessionId: m.sessionId,
    deliveryCount: m.deliveryCount ?? 0,
    enqueuedTimeUtc: m.enqueuedTimeUtc?.toISOString(),
    reason: m.deadLetterReason ?? '',
    description: m.deadLetterErrorDescription ?? '',
    body: m.body as unknown,
  };
}

function failure(operation: string, error: unknown): ClawbackError {
  return new ClawbackError(
    'ConnectionError',
    `Service Bus ${operation} failed: ${ensureError(error).message.split('\n')[0] ?? ''}`,
    {
      retryable: true,
      cause: error,
    },
  );
}

/**
 * Dead letters in Service Bus (`<queue>/$deadletterqueue`, which is never session-enabled). Listing
 * peeks; replaying receives under a lock, sends a copy to the queue (same body and session) and
 * completes the dead letter only after the copy is accepted, so a failure leaves it where it was.
 */
export class ServiceBusDeadLetters implements DeadLetterQueue {
  constructor(private readonly client: ServiceBusClient) {}

  static fromSettings(settings: {
    connectionString?: string | undefined;
    fullyQualifiedNamespace?: string | undefined;
    credential?: () => TokenCredential;
  }): ServiceBusDeadLetters {
    if (settings.connectionString)
      return new ServiceBusDeadLetters(new ServiceBusClient(settings.connectionString));
    if (settings.fullyQualifiedNamespace && settings.credential)
      return new ServiceBusDeadLetters(
        new ServiceBusClient(settings.fullyQualifiedNamespace, settings.credential()),
      );
    throw new ClawbackError(
      'ConfigurationError',
      'Reading dead letters needs the Service Bus connection settings.',
    );
  }

  async list(queue: string, max: number, options?: CallOptions): Promise<DeadLetter[]> {
    const receiver = this.client.createReceiver(queue, { subQueueType: 'deadLetter' });
    try {
      const messages = await receiver.peekMessages(max, withSignal(options));
      return messages.map((m) => toDeadLetter(queue, m));
    } catch (error) {
      throw failure('reading the dead-letter queue', error);
    } finally {
      await receiver.close();
    }
  }

  async replay(
    queue: string,
    messageIds: string[] | undefined,
    max: number,
    options?: CallOptions,
  ): Promise<ReplayResult> {
    const receiver = this.client.createReceiver(queue, {
      subQueueType: 'deadLetter',
      receiveMode: 'peekLock',
    });
    const sender = this.client.createSender(queue);
    const wanted = messageIds ? new Set(messageIds) : undefined;
    const result: ReplayResult = { replayed: [], missing: [] };
    const skipped: ServiceBusReceivedMessage[] = [];
    try {
      while (result.replayed.length < max && (wanted === undefined || result.replayed.length < wanted.size)) {
        const batch = await receiver.receiveMessages(Math.min(50, max), {
          maxWaitTimeInMs: 2000,
          ...withSignal(options),
        });
        if (batch.length === 0) break;
        for (const m of batch) {
          const id = String(m.messageId ?? '');
          if (wanted && !wanted.has(id)) {
            skipped.push(m);
            continue;
          }
          await sender.sendMessages(
            {
              body: m.body as unknown,
              contentType: m.contentType,
              messageId: `${id}|replay-${Date.now()}`,
              ...(m.sessionId ? { sessionId: m.sessionId } : {}),
            },
            withSignal(options),
          );
          await receiver.completeMessage(m);
          result.replayed.push(id);
        }
      }
      for (const m of skipped) await receiver.abandonMessage(m);
    } catch (error) {
      throw failure('replaying dead letters', error);
    } finally {
      await sender.close();
      await receiver.close();
    }
    if (wanted) result.missing = [...wanted].filter((id) => !result.replayed.includes(id));
    return result;
  }
}
