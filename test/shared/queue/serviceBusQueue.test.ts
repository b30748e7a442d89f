import { afterEach, describe, expect, it } from 'vitest';

import type { OutgoingMessage } from '../../../shared/ports/queue.js';
import { ServiceBusQueue } from '../../../shared/queue/index.js';
import { FakeAmqpBroker, type FakeAmqpBrokerOptions } from '../../fakes/amqpBroker.js';

const clientOptions = { retryOptions: { maxRetries: 0, timeoutInMs: 3000 } };

const running: { broker: FakeAmqpBroker; queue: ServiceBusQueue }[] = [];

async function start(
  options: FakeAmqpBrokerOptions = {},
): Promise<{ broker: FakeAmqpBroker; queue: ServiceBusQueue }> {
  const broker = await FakeAmqpBroker.start(options);
  const queue = ServiceBusQueue.fromSettings({ connectionString: broker.connectionString, clientOptions });
  running.push({ broker, queue });
  return { broker, queue };
}

afterEach(async () => {
  for (const { broker, queue } of running.splice(0)) {
    await queue.close();
    await broker.close();
  }
});

describe('ServiceBusQueue against an AMQP broker', () => {
  it('sends a message with its id, session id, JSON content type and JSON body', async () => {
    const { broker, queue } = await start();

    await queue.send('remediations', [
      {
        body: { verdictId: 'v-1', mailbox: 'ann@contoso.com', attempt: 1 },
        messageId: 'v-1:ann@contoso.com',
        sessionId: 'ann@contoso.com',
      },
    ]);

    expect(broker.received).toEqual([
      {
        queue: 'remediations',
        messageId: 'v-1:ann@contoso.com',
        sessionId: 'ann@contoso.com',
        contentType: 'application/json',
        body: { verdictId: 'v-1', mailbox: 'ann@contoso.com', attempt: 1 },
        scheduledEnqueueTime: undefined,
      },
    ]);
  });

  it('splits 250 messages into several batches when the link allows small messages, and each arrives once', async () => {
    const { broker, queue } = await start({ maxMessageSize: 4096 });
    const messages: OutgoingMessage[] = Array.from({ length: 250 }, (_, i) => ({
      body: { verdictId: 'v-2', recipient: `user${i}@contoso.com` },
      messageId: `v-2:${i}`,
      sessionId: `user${i}@contoso.com`,
    }));

    await queue.send('remediations', messages);

    expect(broker.transfers).toBeGreaterThan(1);
    expect(broker.transfers).toBeLessThan(250);
    expect(broker.received.map((m) => m.messageId)).toEqual(messages.map((m) => m.messageId));
    expect(broker.received[249]).toMatchObject({
      sessionId: 'user249@contoso.com',
      body: { verdictId: 'v-2', recipient: 'user249@contoso.com' },
    });
  });

  it('carries the scheduled enqueue time as the x-opt-scheduled-enqueue-time annotation', async () => {
    const { broker, queue } = await start();
    const at = new Date('2030-01-02T03:04:05.000Z');

    await queue.send('remediations', [
      {
        body: { retry: 2 },
        messageId: 'v-3:bob@contoso.com:2',
        sessionId: 'bob@contoso.com',
        scheduledEnqueueTime: at,
      },
    ]);

    expect(broker.received[0]?.scheduledEnqueueTime?.toISOString()).toBe(at.toISOString());
  });

  it('when the broker rejects the delivery, the send fails with a retryable ConnectionError that leaks no key', async () => {
    const { broker, queue } = await start();
    broker.rejectDeliveries({
      condition: 'amqp:internal-error',
      description: 'The fake broker refuses this message.',
    });

    const sending = queue.send('verdicts', [{ body: { id: 'v-4' }, messageId: 'v-4' }]);

    const error = await sending.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: 'ClawbackError', code: 'ConnectionError', retryable: true });
    expect((error as Error).message).toMatch(
      /^Service Bus did not accept the message: .*refuses this message/,
    );
    expect((error as Error).message).not.toContain('SAS_KEY_VALUE');
    expect(broker.received).toEqual([]);
  });

  it('a message too large for an empty batch is refused with its message id, and nothing is sent', async () => {
    const { broker, queue } = await start({ maxMessageSize: 1024 });

    await expect(
      queue.send('verdicts', [{ body: { padding: 'x'.repeat(4000) }, messageId: 'v-5-huge' }]),
    ).rejects.toMatchObject({
      name: 'ClawbackError',
      message: expect.stringContaining('v-5-huge') as unknown,
    });
    expect(broker.transfers).toBe(0);
  });

  it('an aborted send fails with a retryable ConnectionError', async () => {
    const { queue } = await start();

    await expect(
      queue.send('verdicts', [{ body: {}, messageId: 'v-6' }], { abortSignal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ name: 'ClawbackError', code: 'ConnectionError', retryable: true });
  });

  it('without a connection string or a namespace with a credential, construction fails with ConfigurationError', () => {
    expect(() =>
      ServiceBusQueue.fromSettings({ fullyQualifiedNamespace: 'sb-clawback.servicebus.windows.net' }),
    ).toThrow(expect.objectContaining({ code: 'ConfigurationError' }));
  });
});
