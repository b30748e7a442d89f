import type { TokenCredential } from '@azure/identity';
import {
  ServiceBusClient,
  type ServiceBusClientOptions,
  type ServiceBusMessage,
  type ServiceBusMessageBatch,
  type ServiceBusSender,
} from '@azure/service-bus';

import { ClawbackError, ensureError, isClawbackError } from '../errors.js';
import type { CallOptions } from '../ports/mail.js';
import type { OutgoingMessage, QueueSender } from '../ports/queue.js';

export interface ServiceBusQueueSettings {
  /** Local development and tests (`ServiceBusConnection`). */
  connectionString?: string;
  /** Azure, with a managed identity (`ServiceBusConnection__fullyQualifiedNamespace`). */
  fullyQualifiedNamespace?: string;
  credential?: TokenCredential;
  clientOptions?: ServiceBusClientOptions;
}

/**
 * Sends to Service Bus queues in as few round trips as the link's maximum message size allows. A batch
 * may mix session ids, which Service Bus accepts on non-partitioned entities only: the queues must not
 * be partitioned. When a later batch fails, earlier ones have gone out; the caller's retry resends them
 * and duplicate detection drops them, because message ids are deterministic.
 */
export class ServiceBusQueue implements QueueSender {
  private readonly senders = new Map<string, ServiceBusSender>();

  constructor(private readonly client: ServiceBusClient) {}

  static fromSettings(settings: ServiceBusQueueSettings): ServiceBusQueue {
    const { connectionString, fullyQualifiedNamespace, credential, clientOptions } = settings;
    try {
      if (connectionString) return new ServiceBusQueue(new ServiceBusClient(connectionString, clientOptions));
      if (fullyQualifiedNamespace && credential) {
        return new ServiceBusQueue(new ServiceBusClient(fullyQualifiedNamespace, credential, clientOptions));
      }
    } catch (error) {
      throw new ClawbackError(
        'ConfigurationError',
        `The Service Bus connection setting is not usable: ${redact(ensureError(error).message)}`,
        { cause: error },
      );
    }
    throw new ClawbackError(
      'ConfigurationError',
      'Service Bus needs a connection string, or a fully qualified namespace together with a credential.',
    );
  }

  async send(queueName: string, messages: OutgoingMessage[], options: CallOptions = {}): Promise<void> {
    if (messages.length === 0) return;
    const operation = options.abortSignal ? { abortSignal: options.abortSignal } : {};
    try {
      const sender = this.sender(queueName);
      let batch = await sender.createMessageBatch(operation);
      for (const message of messages) {
        const outgoing = toServiceBusMessage(message);
        if (batch.tryAddMessage(outgoing)) continue;
        if (batch.count === 0) throw tooLarge(message, batch);
        await sender.sendMessages(batch, operation);
        batch = await sender.createMessageBatch(operation);
        if (!batch.tryAddMessage(outgoing)) throw tooLarge(message, batch);
      }
      await sender.sendMessages(batch, operation);
    } catch (error) {
      if (isClawbackError(error)) throw error;
      const cause = ensureError(error);
      const code = (cause as { code?: unknown }).code;
      throw new ClawbackError(
        'ConnectionError',
        `Service Bus did not accept the message: ${typeof code === 'string' ? `${code}: ` : ''}${redact(cause.message)}`,
        { retryable: true, cause },
      );
    }
  }

  async close(): Promise<void> {
    const senders = [...this.senders.values()];
    this.senders.clear();
    await Promise.allSettled(senders.map((sender) => sender.close()));
    await this.client.close();
  }

  private sender(queueName: string): ServiceBusSender {
    let sender = this.senders.get(queueName);
    if (!sender || sender.isClosed) {
      sender = this.client.createSender(queueName);
      this.senders.set(queueName, sender);
    }
    return sender;
  }
}

function toServiceBusMessage(message: OutgoingMessage): ServiceBusMessage {
  const outgoing: ServiceBusMessage = {
    body: message.body,
    contentType: 'application/json',
    messageId: message.messageId,
  };
  if (message.sessionId !== undefined) outgoing.sessionId = message.sessionId;
  if (message.scheduledEnqueueTime) outgoing.scheduledEnqueueTimeUtc = message.scheduledEnqueueTime;
  return outgoing;
}

function tooLarge(message: OutgoingMessage, batch: ServiceBusMessageBatch): ClawbackError {
  return new ClawbackError(
    'Unknown',
    `Message ${message.messageId} is larger than Service Bus accepts (${batch.maxSizeInBytes} bytes per message).`,
  );
}

/** SDK messages can echo connection details; keys and signatures never reach a log or a result row. */
function redact(text: string): string {
  return text
    .replace(/(SharedAccessKey|SharedAccessSignature|sig)=[^;&\s"']+/gi, '$1=***')
    .replace(/SharedAccessSignature\s+[^\s"']+/g, 'SharedAccessSignature ***');
}
