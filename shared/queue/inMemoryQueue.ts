import { isSimulatedCrash } from '../chaos/crash.js';
import { ClawbackError, ensureError } from '../errors.js';
import type { CallOptions } from '../ports/mail.js';
import type { OutgoingMessage, QueueSender } from '../ports/queue.js';
import {
  type DeadLetteredMessage,
  type InMemoryQueueOptions,
  type Lock,
  type MessageHandler,
  type ProcessOptions,
  type Processor,
  type QueueState,
  type QueueStats,
  roundTripJson,
  snapshot,
  type StoredMessage,
} from './inMemoryMessages.js';

export type {
  DeadLetteredMessage,
  InMemoryQueueOptions,
  MessageHandler,
  ProcessOptions,
  QueueStats,
  ReceivedMessage,
} from './inMemoryMessages.js';

/**
 * A queue with the Service Bus semantics the functions rely on — peek-lock, delivery count,
 * dead-lettering, sessions, scheduled messages, duplicate detection — for the local runtime and the
 * component tests. Bodies go through JSON on send, as they do over the wire, so handlers never see
 * objects that Service Bus could not have carried.
 */
export class InMemoryQueue implements QueueSender {
  private readonly maxDeliveryCount: number;
  private readonly lockDurationMs: number;
  private readonly duplicateWindowMs: number;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private readonly chaos: InMemoryQueueOptions['chaos'];
  private readonly queues = new Map<string, QueueState>();
  private readonly idleWaiters: (() => void)[] = [];
  private nextOrder = 0;
  private refusal: Error | undefined;
  private closed = false;

  constructor(options: InMemoryQueueOptions = {}) {
    this.maxDeliveryCount = options.maxDeliveryCount ?? 10;
    this.lockDurationMs = options.lockDurationMs ?? 60_000;
    this.duplicateWindowMs = options.duplicateDetectionWindowMs ?? 10 * 60_000;
    this.log = options.log ?? (() => undefined);
    this.now = options.now ?? Date.now;
    this.chaos = options.chaos;
  }

  /** Marks a queue as session-enabled (or not) before anything is sent to it, as the entity definition does. */
  declare(queueName: string, options: { sessions: boolean }): void {
    const queue = this.queue(queueName);
    if (queue.sessions !== undefined && queue.sessions !== options.sessions) {
      throw new Error(
        `Queue ${queueName} is already declared with sessions ${queue.sessions ? 'on' : 'off'}.`,
      );
    }
    if (
      options.sessions &&
      [...queue.active, ...queue.scheduled.keys()].some((m) => m.sessionId === undefined)
    ) {
      throw new Error(`Queue ${queueName} already holds messages without a session id.`);
    }
    queue.sessions = options.sessions;
  }

  send(queueName: string, messages: OutgoingMessage[], options: CallOptions = {}): Promise<void> {
    try {
      this.accept(queueName, messages, options);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(ensureError(error));
    }
  }

  process(queueName: string, handler: MessageHandler, options: ProcessOptions): { stop(): Promise<void> } {
    if (this.closed) throw new Error('The queue is closed.');
    this.declare(queueName, { sessions: options.sessions });
    const queue = this.queue(queueName);
    if (queue.processor) throw new Error(`Queue ${queueName} already has a processor.`);
    const processor: Processor = {
      handler,
      maxConcurrentCalls: options.maxConcurrentCalls ?? 16,
      running: 0,
      stopping: false,
    };
    queue.processor = processor;
    this.pump(queue);
    return { stop: () => this.stop(queue, processor) };
  }

  deadLetters(queueName: string): DeadLetteredMessage[] {
    return [...(this.queues.get(queueName)?.deadLettered ?? [])];
  }

  removeDeadLetter(queueName: string, messageId: string): DeadLetteredMessage | undefined {
    const list = this.queues.get(queueName)?.deadLettered;
    const index = list?.findIndex((m) => m.messageId === messageId) ?? -1;
    return index < 0 ? undefined : list?.splice(index, 1)[0];
  }

  stats(queueName: string): QueueStats {
    const queue = this.queues.get(queueName);
    return {
      active: queue?.active.length ?? 0,
      scheduled: queue?.scheduled.size ?? 0,
      inFlight: queue?.inFlight.size ?? 0,
      deadLettered: queue?.deadLettered.length ?? 0,
      completed: queue?.completed ?? 0,
    };
  }

  /**
   * Resolves once every queue with a running processor has nothing active, scheduled or locked. Scheduled
   * messages count even when far in the future, so tests schedule with short delays.
   */
  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.notifyIfIdle();
    });
  }

  /** While an error is set, `send` rejects with it and stores nothing ("queue down"); `refuse()` clears it. */
  refuse(error?: Error): void {
    this.refusal = error;
  }

  /** Stops every processor, waiting for running handlers (at most one lock duration), and drops timers. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      [...this.queues.values()].map((queue) =>
        queue.processor ? this.stop(queue, queue.processor) : Promise.resolve(),
      ),
    );
    for (const queue of this.queues.values()) {
      for (const timer of queue.scheduled.values()) clearTimeout(timer);
      for (const lock of queue.inFlight) clearTimeout(lock.timer);
    }
    this.notifyIfIdle();
  }

  private accept(queueName: string, messages: OutgoingMessage[], options: CallOptions): void {
    if (options.abortSignal?.aborted) throw notAccepted('the operation was aborted');
    if (this.closed) throw notAccepted('the queue is closed');
    if (this.refusal) throw this.refusal;
    const queue = this.queue(queueName);
    if (queue.sessions === true) {
      const missing = messages.find((m) => m.sessionId === undefined);
      if (missing) {
        throw new ClawbackError(
          'Unknown',
          `Message ${missing.messageId} has no session id, and queue ${queueName} requires sessions.`,
        );
      }
    }
    // Serialise all first, so a body that cannot travel rejects the whole send and nothing is stored.
    const bodies = messages.map((m) => {
      try {
        return roundTripJson(m.body);
      } catch (error) {
        throw new ClawbackError(
          'Unknown',
          `Message ${m.messageId} has a body that is not JSON: ${ensureError(error).message}`,
        );
      }
    });
    const now = this.now();
    this.forgetExpiredIds(queue, now);
    messages.forEach((m, index) => {
      if (queue.seen.has(m.messageId)) return;
      queue.seen.set(m.messageId, now);
      const dueAt = m.scheduledEnqueueTime?.getTime();
      const stored: StoredMessage = {
        body: bodies[index],
        messageId: m.messageId,
        sessionId: m.sessionId,
        deliveryCount: 0,
        enqueuedTimeUtc: new Date(now),
        scheduledEnqueueTimeUtc: m.scheduledEnqueueTime ? new Date(m.scheduledEnqueueTime) : undefined,
        order: 0,
      };
      if (dueAt !== undefined && dueAt > now) {
        this.schedule(queue, stored, dueAt);
      } else {
        this.enqueue(queue, stored);
      }
    });
    this.pump(queue);
  }

  private queue(name: string): QueueState {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = {
        name,
        sessions: undefined,
        active: [],
        scheduled: new Map(),
        inFlight: new Set(),
        duplicates: 0,
        lockedSessions: new Set(),
        deadLettered: [],
        completed: 0,
        seen: new Map(),
        processor: undefined,
        drainWaiters: [],
      };
      this.queues.set(name, queue);
    }
    return queue;
  }

  private forgetExpiredIds(queue: QueueState, now: number): void {
    for (const [id, acceptedAt] of queue.seen) {
      if (now - acceptedAt < this.duplicateWindowMs) break;
      queue.seen.delete(id);
    }
  }

  private schedule(queue: QueueState, message: StoredMessage, dueAt: number): void {
    const timer = setTimeout(() => this.activateScheduled(queue, message, dueAt), dueAt - this.now());
    queue.scheduled.set(message, timer);
  }

  private activateScheduled(queue: QueueState, message: StoredMessage, dueAt: number): void {
    // Timers may fire a millisecond early; a scheduled message is never visible before its time.
    if (this.now() < dueAt) {
      this.schedule(queue, message, dueAt);
      return;
    }
    queue.scheduled.delete(message);
    message.enqueuedTimeUtc = new Date(this.now());
    this.enqueue(queue, message);
    this.pump(queue);
  }

  private enqueue(queue: QueueState, message: StoredMessage): void {
    message.order = this.nextOrder++;
    queue.active.push(message);
  }

  private pump(queue: QueueState): void {
    if (queue.inFlight.size === 0) for (const resolve of queue.drainWaiters.splice(0)) resolve();
    const processor = queue.processor;
    while (processor && !processor.stopping && processor.running < processor.maxConcurrentCalls) {
      const index = queue.sessions
        ? queue.active.findIndex((m) => m.sessionId !== undefined && !queue.lockedSessions.has(m.sessionId))
        : queue.active.length > 0
          ? 0
          : -1;
      const message = index < 0 ? undefined : queue.active.splice(index, 1)[0];
      if (!message) break;
      this.deliver(queue, processor, message);
    }
    this.notifyIfIdle();
  }

  private deliver(queue: QueueState, processor: Processor, message: StoredMessage): void {
    message.deliveryCount += 1;
    processor.running += 1;
    if (queue.sessions && message.sessionId !== undefined) queue.lockedSessions.add(message.sessionId);
    const lock: Lock = {
      message,
      lost: false,
      timer: setTimeout(() => this.expireLock(queue, lock), this.lockDurationMs),
    };
    queue.inFlight.add(lock);
    const received = snapshot(message);
    // A microtask, so a handler that sends to this queue never re-enters the pump loop that called it.
    Promise.resolve()
      .then(() => processor.handler(received))
      .then(
        () => this.settle(queue, processor, lock, undefined),
        (error: unknown) => this.settle(queue, processor, lock, ensureError(error)),
      );
    if (this.chaos?.roll('redeliver')) {
      this.log(`queue ${queue.name}: chaos: message ${message.messageId} delivered twice at once`);
      // The duplicate holds no lock: whatever it does, the queue only settles the first delivery.
      queue.duplicates += 1;
      Promise.resolve()
        .then(() => processor.handler(snapshot(message)))
        .catch((error: unknown) =>
          this.log(
            `queue ${queue.name}: duplicate delivery of ${message.messageId} failed: ${ensureError(error).message}`,
          ),
        )
        .finally(() => {
          queue.duplicates -= 1;
          this.pump(queue);
        });
    }
    if (this.chaos?.roll('lockLost'))
      setImmediate(() => {
        if (!queue.inFlight.has(lock)) return;
        this.log(`queue ${queue.name}: chaos: lost the lock on message ${message.messageId}`);
        clearTimeout(lock.timer);
        this.expireLock(queue, lock);
      });
  }

  private settle(queue: QueueState, processor: Processor, lock: Lock, error: Error | undefined): void {
    processor.running -= 1;
    const { message } = lock;
    if (lock.lost) {
      this.log(
        `queue ${queue.name}: message ${message.messageId} finished after its lock expired; ` +
          `the outcome (${error ? 'failed' : 'succeeded'}) is discarded`,
      );
    } else if (error && isSimulatedCrash(error)) {
      // A dead worker settles nothing: the message stays locked and comes back when the lock expires.
      this.log(
        `queue ${queue.name}: the handler of message ${message.messageId} crashed (${error.message}); it returns when its lock expires`,
      );
    } else {
      clearTimeout(lock.timer);
      queue.inFlight.delete(lock);
      if (error) {
        this.log(
          `queue ${queue.name}: delivery ${message.deliveryCount}/${this.maxDeliveryCount} of message ` +
            `${message.messageId} failed: ${error.message}`,
        );
        this.abandon(queue, message, error.message);
      } else {
        queue.completed += 1;
        this.releaseSession(queue, message);
      }
    }
    this.pump(queue);
  }

  private expireLock(queue: QueueState, lock: Lock): void {
    lock.lost = true;
    queue.inFlight.delete(lock);
    const { message } = lock;
    this.log(
      `queue ${queue.name}: lock on message ${message.messageId} expired after ${this.lockDurationMs} ms ` +
        `(delivery ${message.deliveryCount}/${this.maxDeliveryCount})`,
    );
    this.abandon(queue, message, `The lock expired after ${this.lockDurationMs} ms.`);
    this.pump(queue);
  }

  /** Back to its place in the queue, or to the dead-letter list once it has used up its deliveries. */
  private abandon(queue: QueueState, message: StoredMessage, description: string): void {
    if (message.deliveryCount >= this.maxDeliveryCount) {
      queue.deadLettered.push({
        ...snapshot(message),
        deadLetterReason: 'MaxDeliveryCountExceeded',
        deadLetterErrorDescription: description,
      });
    } else {
      const at = queue.active.findIndex((m) => m.order > message.order);
      queue.active.splice(at < 0 ? queue.active.length : at, 0, message);
    }
    this.releaseSession(queue, message);
  }

  private releaseSession(queue: QueueState, message: StoredMessage): void {
    if (message.sessionId !== undefined) queue.lockedSessions.delete(message.sessionId);
  }

  private async stop(queue: QueueState, processor: Processor): Promise<void> {
    processor.stopping = true;
    // Waits for handlers that still hold a lock; one that outlives its lock no longer holds the message.
    if (queue.inFlight.size > 0) await new Promise<void>((resolve) => queue.drainWaiters.push(resolve));
    if (queue.processor === processor) queue.processor = undefined;
    this.notifyIfIdle();
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.length === 0) return;
    const busy =
      !this.closed &&
      [...this.queues.values()].some(
        (q) =>
          q.processor !== undefined &&
          !q.processor.stopping &&
          (q.active.length > 0 || q.scheduled.size > 0 || q.inFlight.size > 0 || q.duplicates > 0),
      );
    if (busy) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

function notAccepted(why: string): ClawbackError {
  return new ClawbackError('ConnectionError', `Service Bus did not accept the message: ${why}.`, {
    retryable: true,
  });
}
