import { afterEach, describe, expect, it } from 'vitest';

import { ClawbackError } from '../../../shared/errors.js';
import {
  InMemoryQueue,
  type InMemoryQueueOptions,
  type ReceivedMessage,
} from '../../../shared/queue/index.js';

const queues: InMemoryQueue[] = [];

function newQueue(options: InMemoryQueueOptions = {}): InMemoryQueue {
  const queue = new InMemoryQueue(options);
  queues.push(queue);
  return queue;
}

afterEach(async () => {
  await Promise.all(queues.splice(0).map((queue) => queue.close()));
});

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets other handlers start, so overlapping work can actually overlap. */
const yieldToOthers = () => new Promise<void>((resolve) => setTimeout(resolve, 2));

describe('InMemoryQueue', () => {
  it('holds a message locked while its handler runs and completes it when the handler resolves', async () => {
    const queue = newQueue();
    const gate = deferred();
    const received: ReceivedMessage[] = [];
    queue.process(
      'verdicts',
      async (message) => {
        received.push(message);
        await gate.promise;
      },
      { sessions: false },
    );

    await queue.send('verdicts', [
      { body: { verdictId: 'v-1', at: new Date('2030-01-01T00:00:00Z') }, messageId: 'v-1' },
    ]);
    await yieldToOthers();

    expect(queue.stats('verdicts')).toMatchObject({ active: 0, inFlight: 1, completed: 0 });
    gate.resolve();
    await queue.idle();
    expect(queue.stats('verdicts')).toEqual({
      active: 0,
      scheduled: 0,
      inFlight: 0,
      deadLettered: 0,
      completed: 1,
    });
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      messageId: 'v-1',
      deliveryCount: 1,
      body: { verdictId: 'v-1', at: '2030-01-01T00:00:00.000Z' },
    });
    expect(received[0]?.enqueuedTimeUtc).toBeInstanceOf(Date);
  });

  it('keeps messages sent before a processor starts until it does', async () => {
    const queue = newQueue();
    await queue.send('verdicts', [
      { body: 1, messageId: 'a' },
      { body: 2, messageId: 'b' },
    ]);
    expect(queue.stats('verdicts').active).toBe(2);

    const seen: unknown[] = [];
    queue.process('verdicts', (message) => Promise.resolve(void seen.push(message.body)), {
      sessions: false,
    });
    await queue.idle();

    expect(seen).toEqual([1, 2]);
  });

  it('redelivers a message whose handler throws, counting each delivery, and logs without the body', async () => {
    const lines: string[] = [];
    const queue = newQueue({ log: (line) => lines.push(line) });
    const counts: number[] = [];
    queue.process(
      'verdicts',
      (message) => {
        counts.push(message.deliveryCount);
        return message.deliveryCount < 3
          ? Promise.reject(new Error('Graph answered 503'))
          : Promise.resolve();
      },
      { sessions: false },
    );

    await queue.send('verdicts', [{ body: { secretish: 'BODY-CONTENT' }, messageId: 'v-2' }]);
    await queue.idle();

    expect(counts).toEqual([1, 2, 3]);
    expect(queue.stats('verdicts')).toMatchObject({ completed: 1, deadLettered: 0 });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('v-2');
    expect(lines[0]).toContain('Graph answered 503');
    expect(lines.join('\n')).not.toContain('BODY-CONTENT');
  });

  it('dead-letters a message after maxDeliveryCount failed deliveries, with the reason and the last error', async () => {
    const queue = newQueue({ maxDeliveryCount: 3 });
    let deliveries = 0;
    queue.process(
      'verdicts',
      () => {
        deliveries += 1;
        return Promise.reject(new Error('mailbox backend down'));
      },
      { sessions: false },
    );

    await queue.send('verdicts', [{ body: { verdictId: 'v-3' }, messageId: 'v-3' }]);
    await queue.idle();

    expect(deliveries).toBe(3);
    expect(queue.stats('verdicts')).toMatchObject({ active: 0, deadLettered: 1, completed: 0 });
    expect(queue.deadLetters('verdicts')).toEqual([
      expect.objectContaining({
        messageId: 'v-3',
        body: { verdictId: 'v-3' },
        deliveryCount: 3,
        deadLetterReason: 'MaxDeliveryCountExceeded',
        deadLetterErrorDescription: 'mailbox backend down',
      }),
    ]);

    expect(queue.removeDeadLetter('verdicts', 'v-3')?.messageId).toBe('v-3');
    expect(queue.deadLetters('verdicts')).toEqual([]);
    expect(queue.removeDeadLetter('verdicts', 'v-3')).toBeUndefined();
  });

  it('hands out one message per session at a time in send order, even across a failure, while sessions run side by side', async () => {
    const queue = newQueue();
    const running = new Map<string, number>();
    let overall = 0;
    let maxOverall = 0;
    let maxPerSession = 0;
    const order = new Map<string, string[]>();
    let failedOnce = false;
    queue.process(
      'remediations',
      async (message) => {
        const session = message.sessionId ?? '';
        running.set(session, (running.get(session) ?? 0) + 1);
        overall += 1;
        maxPerSession = Math.max(maxPerSession, running.get(session) ?? 0);
        maxOverall = Math.max(maxOverall, overall);
        try {
          await yieldToOthers();
          if (message.messageId === 'ann-2' && !failedOnce) {
            failedOnce = true;
            throw new Error('transient');
          }
          order.set(session, [...(order.get(session) ?? []), message.messageId]);
        } finally {
          running.set(session, (running.get(session) ?? 1) - 1);
          overall -= 1;
        }
      },
      { sessions: true, maxConcurrentCalls: 8 },
    );

    const mailboxes = ['ann', 'bob', 'cid'];
    await queue.send(
      'remediations',
      [1, 2, 3, 4, 5].flatMap((n) =>
        mailboxes.map((m) => ({ body: { n }, messageId: `${m}-${n}`, sessionId: `${m}@contoso.com` })),
      ),
    );
    await queue.idle();

    expect(failedOnce).toBe(true);
    expect(maxPerSession).toBe(1);
    expect(maxOverall).toBeGreaterThan(1);
    for (const m of mailboxes) {
      expect(order.get(`${m}@contoso.com`)).toEqual([1, 2, 3, 4, 5].map((n) => `${m}-${n}`));
    }
  });

  it('does not deliver a scheduled message before its time, and idle() waits for it', async () => {
    const queue = newQueue();
    const deliveredAt: number[] = [];
    queue.process('remediations', () => Promise.resolve(void deliveredAt.push(Date.now())), {
      sessions: true,
    });
    const due = new Date(Date.now() + 60);

    await queue.send('remediations', [
      { body: {}, messageId: 'later', sessionId: 'ann@contoso.com', scheduledEnqueueTime: due },
    ]);
    await yieldToOthers();

    expect(deliveredAt).toEqual([]);
    expect(queue.stats('remediations')).toMatchObject({ scheduled: 1, active: 0 });
    await queue.idle();
    expect(deliveredAt).toHaveLength(1);
    expect(deliveredAt[0]).toBeGreaterThanOrEqual(due.getTime());
  });

  it('drops a message whose id was already sent within the duplicate detection window, and accepts it after', async () => {
    let now = 1_000_000;
    const queue = newQueue({ duplicateDetectionWindowMs: 10_000, now: () => now });
    const bodies: unknown[] = [];
    queue.process('verdicts', (message) => Promise.resolve(void bodies.push(message.body)), {
      sessions: false,
    });

    await queue.send('verdicts', [
      { body: 'first', messageId: 'same' },
      { body: 'second', messageId: 'same' },
    ]);
    await queue.send('verdicts', [{ body: 'third', messageId: 'same' }]);
    await queue.idle();
    expect(bodies).toEqual(['first']);

    now += 10_000;
    await queue.send('verdicts', [{ body: 'fourth', messageId: 'same' }]);
    await queue.idle();
    expect(bodies).toEqual(['first', 'fourth']);
  });

  it('rejects a send without a session id to a session queue and stores none of the messages', async () => {
    const queue = newQueue();
    queue.declare('remediations', { sessions: true });

    await expect(
      queue.send('remediations', [
        { body: {}, messageId: 'ok', sessionId: 'ann@contoso.com' },
        { body: {}, messageId: 'no-session' },
      ]),
    ).rejects.toMatchObject({
      name: 'ClawbackError',
      message: expect.stringContaining('no-session') as unknown,
    });
    expect(queue.stats('remediations')).toMatchObject({ active: 0, scheduled: 0 });
  });

  it('while refusing, send rejects with the given error and stores nothing; after refuse() it accepts again', async () => {
    const queue = newQueue();
    const down = new ClawbackError('ConnectionError', 'Service Bus did not accept the message: down', {
      retryable: true,
    });
    queue.refuse(down);

    await expect(queue.send('verdicts', [{ body: {}, messageId: 'v-4' }])).rejects.toBe(down);
    expect(queue.stats('verdicts')).toMatchObject({ active: 0, scheduled: 0 });

    queue.refuse();
    await queue.send('verdicts', [{ body: {}, messageId: 'v-4' }]);
    expect(queue.stats('verdicts').active).toBe(1);
  });

  it('redelivers a message whose handler outlives its lock, and discards the late outcome', async () => {
    const lines: string[] = [];
    const queue = newQueue({ lockDurationMs: 30, log: (line) => lines.push(line) });
    const hung = deferred();
    const counts: number[] = [];
    queue.process(
      'remediations',
      async (message) => {
        counts.push(message.deliveryCount);
        if (message.deliveryCount === 1) await hung.promise;
      },
      { sessions: true },
    );

    await queue.send('remediations', [{ body: {}, messageId: 'slow', sessionId: 'ann@contoso.com' }]);
    await queue.idle();

    expect(counts).toEqual([1, 2]);
    expect(queue.stats('remediations')).toMatchObject({ completed: 1, inFlight: 0, active: 0 });
    expect(lines.some((line) => line.includes('slow') && line.includes('lock'))).toBe(true);

    hung.resolve();
    await yieldToOthers();
    expect(queue.stats('remediations')).toMatchObject({ completed: 1, active: 0 });
  });

  it('stop() lets the running handler finish and leaves the rest queued', async () => {
    const queue = newQueue();
    const gate = deferred();
    const seen: string[] = [];
    const processor = queue.process(
      'verdicts',
      async (message) => {
        seen.push(message.messageId);
        await gate.promise;
      },
      { sessions: false, maxConcurrentCalls: 1 },
    );
    await queue.send('verdicts', [
      { body: {}, messageId: 'a' },
      { body: {}, messageId: 'b' },
    ]);
    await yieldToOthers();

    const stopping = processor.stop();
    gate.resolve();
    await stopping;

    expect(seen).toEqual(['a']);
    expect(queue.stats('verdicts')).toMatchObject({ completed: 1, active: 1, inFlight: 0 });
  });
});
