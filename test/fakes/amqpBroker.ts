import type { AddressInfo, Server, Socket } from 'node:net';

import rhea, { type AmqpError, type EventContext, type Sender } from 'rhea';

/** One message as Service Bus would store it, whether it arrived alone or inside a batch. */
export interface BrokerMessage {
  queue: string;
  messageId: unknown;
  sessionId: string | undefined;
  contentType: string | undefined;
  body: unknown;
  scheduledEnqueueTime: Date | undefined;
}

export interface FakeAmqpBrokerOptions {
  /** The `max_message_size` the broker puts on sender-link attaches; the SDK sizes batches by it. */
  maxMessageSize?: number;
}

/** Message format of a Service Bus batch: one transfer whose data sections are encoded messages. */
const batchFormat = 0x80013700;
const scheduledAnnotation = 'x-opt-scheduled-enqueue-time';

/**
 * Enough of a Service Bus namespace, speaking AMQP 1.0 on 127.0.0.1, for the SDK's send path: the
 * `$cbs` put-token exchange, sender-link attach with `max_message_size`, and single or batched
 * transfers, which it accepts or — when told to — rejects. It has no `$management` node.
 */
export class FakeAmqpBroker {
  readonly received: BrokerMessage[] = [];
  /** Transfers to queues (a batch is one), so tests can see how sends were grouped. */
  transfers = 0;
  private rejection: AmqpError | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly connectionString: string,
  ) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(options: FakeAmqpBrokerOptions = {}): Promise<FakeAmqpBroker> {
    const maxMessageSize = options.maxMessageSize ?? 262_144;
    const container = rhea.create_container({ id: 'fake-service-bus', autoaccept: false });
    const server = container.listen({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const { port } = server.address() as AddressInfo;
    const broker = new FakeAmqpBroker(
      server,
      `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=RootManageSharedAccessKey;` +
        'SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true',
    );
    const replyLinks = new Map<string, Sender>();

    container.on('sender_open', (context: EventContext) => {
      // The client's receiver for `$cbs` replies; replies go to the link named by `reply_to`.
      const link = context.sender;
      if (!link) return;
      const target = (link.target as { address?: string } | undefined)?.address;
      replyLinks.set(link.name, link);
      if (target) replyLinks.set(target, link);
    });

    container.on('receiver_open', (context: EventContext) => {
      const link = context.receiver;
      if (!link) return;
      const target = (link.target as { address?: string } | undefined)?.address;
      if (target) link.set_target({ address: target });
      (link as unknown as { local: { attach: { max_message_size: number } } }).local.attach.max_message_size =
        maxMessageSize;
    });

    container.on('message', (context: EventContext) => {
      const { receiver, delivery, message } = context;
      if (!receiver || !delivery || !message) return;
      const address = (receiver.target as { address?: string } | undefined)?.address ?? '';
      if (address === '$cbs') {
        delivery.accept();
        replyLinks.get(String(message.reply_to))?.send({
          body: undefined,
          correlation_id: message.message_id ?? '',
          application_properties: { 'status-code': 202, 'status-description': 'Accepted' },
        });
        return;
      }
      if (broker.rejection) {
        delivery.reject(broker.rejection);
        return;
      }
      broker.transfers += 1;
      // rhea decodes only format 0; a batch arrives as the raw envelope, whose data sections are messages.
      const messages: AmqpMessage[] =
        delivery.format === batchFormat && Buffer.isBuffer(message)
          ? dataSections(rhea.message.decode(message) as AmqpMessage).map(
              (data) => rhea.message.decode(data) as AmqpMessage,
            )
          : [message];
      for (const m of messages) broker.received.push(toBrokerMessage(address, m));
      delivery.accept();
    });

    return broker;
  }

  /** While set, every transfer to a queue is rejected with this AMQP error; `rejectDeliveries()` clears it. */
  rejectDeliveries(error?: AmqpError): void {
    this.rejection = error;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The fields read here, common to rhea's received and decoded message types. */
interface AmqpMessage {
  body?: unknown;
  message_id?: unknown;
  group_id?: string;
  content_type?: string;
  message_annotations?: unknown;
}

interface BodySection {
  typecode: number;
  content: unknown;
  multiple?: boolean;
}

function isBodySection(body: unknown): body is BodySection {
  return typeof body === 'object' && body !== null && 'typecode' in body && 'content' in body;
}

function dataSections(message: AmqpMessage): Buffer[] {
  const body: unknown = message.body;
  if (!isBodySection(body)) return [];
  const content = body.multiple ? (body.content as unknown[]) : [body.content];
  return content.filter((item): item is Buffer => Buffer.isBuffer(item));
}

function toBrokerMessage(queue: string, message: AmqpMessage): BrokerMessage {
  const [data] = dataSections(message);
  const scheduled: unknown = (message.message_annotations as Record<string, unknown> | undefined)?.[
    scheduledAnnotation
  ];
  return {
    queue,
    messageId: message.message_id,
    sessionId: message.group_id,
    contentType: message.content_type,
    body: data ? (JSON.parse(data.toString('utf8')) as unknown) : message.body,
    scheduledEnqueueTime:
      scheduled instanceof Date ? scheduled : typeof scheduled === 'number' ? new Date(scheduled) : undefined,
  };
}
