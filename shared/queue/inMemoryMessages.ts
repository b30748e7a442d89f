/** The in-memory queue's messages and state, and how a body travels (as JSON, as over the wire). */

/** What a handler receives: the fields a Service Bus trigger exposes as trigger metadata. */
export interface ReceivedMessage {
  body: unknown;
  messageId: string;
  sessionId?: string;
  deliveryCount: number;
  enqueuedTimeUtc: Date;
  scheduledEnqueueTimeUtc?: Date;
}

export type MessageHandler = (message: ReceivedMessage) => Promise<void>;

export interface DeadLetteredMessage extends ReceivedMessage {
  deadLetterReason: string;
  deadLetterErrorDescription: string;
}

export interface InMemoryQueueOptions {
  /** Deliveries before a message is dead-lettered (Service Bus `maxDeliveryCount`). Default 10. */
  maxDeliveryCount?: number;
  /** A handler still running after this loses its lock and the message is redelivered. Default 60000. */
  lockDurationMs?: number;
  /** A messageId seen within this window is dropped on send. Default 10 minutes. */
  duplicateDetectionWindowMs?: number;
  log?: (line: string) => void;
  now?: () => number;
  /**
   * Fault injection (SPEC §6): `redeliver` hands a delivery to a second handler at the same time;
   * `lockLost` expires the lock while the handler runs, so another delivery starts.
   */
  chaos?: { roll(fault: 'redeliver' | 'lockLost'): boolean } | undefined;
}

export interface ProcessOptions {
  sessions: boolean;
  /** Handlers running at once; on a session queue also the number of sessions served at once. Default 16. */
  maxConcurrentCalls?: number;
}

export interface QueueStats {
  active: number;
  scheduled: number;
  inFlight: number;
  deadLettered: number;
  completed: number;
}

export interface StoredMessage {
  body: unknown;
  messageId: string;
  sessionId: string | undefined;
  deliveryCount: number;
  enqueuedTimeUtc: Date;
  scheduledEnqueueTimeUtc: Date | undefined;
  /** Position in the queue; kept across abandon so a redelivered message keeps its place in its session. */
  order: number;
}

export interface Lock {
  message: StoredMessage;
  timer: NodeJS.Timeout;
  lost: boolean;
}

export interface Processor {
  handler: MessageHandler;
  maxConcurrentCalls: number;
  running: number;
  stopping: boolean;
}

export interface QueueState {
  name: string;
  sessions: boolean | undefined;
  active: StoredMessage[];
  scheduled: Map<StoredMessage, NodeJS.Timeout>;
  inFlight: Set<Lock>;
  /** Chaos duplicates still running: they hold no lock, but the queue is not idle while they run. */
  duplicates: number;
  lockedSessions: Set<string>;
  deadLettered: DeadLetteredMessage[];
  completed: number;
  /** messageId -> time it was accepted, oldest first (insertion order), for duplicate detection. */
  seen: Map<string, number>;
  processor: Processor | undefined;
  /** Resolved when no message of this queue is locked any more (a stopping processor waits on them). */
  drainWaiters: (() => void)[];
}

export function snapshot(message: StoredMessage): ReceivedMessage {
  const received: ReceivedMessage = {
    body: roundTripJson(message.body),
    messageId: message.messageId,
    deliveryCount: message.deliveryCount,
    enqueuedTimeUtc: new Date(message.enqueuedTimeUtc),
  };
  if (message.sessionId !== undefined) received.sessionId = message.sessionId;
  if (message.scheduledEnqueueTimeUtc)
    received.scheduledEnqueueTimeUtc = new Date(message.scheduledEnqueueTimeUtc);
  return received;
}

/** What survives the wire: Service Bus carries the body as JSON bytes. */
export function roundTripJson(body: unknown): unknown {
  const text = JSON.stringify(body);
  return text === undefined ? undefined : (JSON.parse(text) as unknown);
}
