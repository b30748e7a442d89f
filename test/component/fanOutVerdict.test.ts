import { InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { fanOutVerdict } from '../../functions/fanOutVerdict.js';
import { type Services, useServices } from '../../shared/composition.js';
import type { RemediationRecord } from '../../shared/ports/results.js';
import { InMemoryQueue } from '../../shared/queue/inMemoryQueue.js';
import type { RemediationMessage, VerdictMessage } from '../../shared/verdicts/messages.js';
import { verdictChangeSchema } from '../../shared/verdicts/schema.js';
import { VerdictChangeMother } from '../mothers/verdictChangeMother.js';
import { type RunningAzurite, startAzurite } from '../support/azurite.js';
import { configDocument, testServices } from '../support/services.js';

let azurite: RunningAzurite;
let queue: InMemoryQueue;
let services: Services;
let sequence = 0;

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  useServices(undefined);
  await azurite.stop();
});
beforeEach(async () => {
  queue = new InMemoryQueue();
  queue.declare('remediations', { sessions: true });
  services = testServices({ tablesConnection: azurite.connectionString, queue });
  await services.configStore.put(configDocument());
  useServices(services);
});

function verdictMessage(change: Record<string, unknown>): VerdictMessage {
  sequence += 1;
  return {
    verdictId: `${String(9_000_000_000_000 - sequence).padStart(13, '0')}-abcdef0123`,
    acceptedAt: new Date().toISOString(),
    change: verdictChangeSchema.parse(change),
  };
}

const context = () => new InvocationContext({ functionName: 'fanOutVerdict', logHandler: () => undefined });

async function allRows(verdictId: string): Promise<RemediationRecord[]> {
  const rows: RemediationRecord[] = [];
  let token: string | undefined;
  do {
    const page = await services.store.listRemediations(verdictId, {
      pageSize: 1000,
      continuationToken: token,
    });
    rows.push(...page.items);
    token = page.continuationToken;
  } while (token);
  return rows;
}

describe('fanOutVerdict', () => {
  it('writes exactly one pending row and one remediations message per (recipient, message), with the mailbox as session id', async () => {
    const message = verdictMessage(VerdictChangeMother.withRecipients(4, 3));
    await fanOutVerdict(message, context());

    const rows = await allRows(message.verdictId);
    expect(rows).toHaveLength(12);
    expect(rows.every((r) => r.status === 'pending' && r.action === 'softDelete' && r.attempts === 0)).toBe(
      true,
    );
    expect(new Set(rows.map((r) => r.rowKey)).size).toBe(12);
    expect(queue.stats('remediations').active).toBe(12);

    const delivered: { sessionId: string | undefined; body: RemediationMessage }[] = [];
    const processor = queue.process(
      'remediations',
      (m) => {
        delivered.push({ sessionId: m.sessionId, body: m.body as RemediationMessage });
        return Promise.resolve();
      },
      { sessions: true },
    );
    await queue.idle();
    await processor.stop();
    expect(delivered).toHaveLength(12);
    for (const d of delivered) expect(d.sessionId).toBe(d.body.recipient);
    expect(new Set(delivered.map((d) => `${d.body.recipient} ${d.body.internetMessageId}`)).size).toBe(12);

    const verdict = await services.store.getVerdict(message.verdictId);
    expect(verdict).toMatchObject({
      status: 'fannedOut',
      recipients: 12,
      action: 'softDelete',
      mode: 'enforce',
    });
  });

  it('creates no second row and no second message when the verdicts message is redelivered', async () => {
    const message = verdictMessage(VerdictChangeMother.withRecipients(4, 3));
    await fanOutVerdict(message, context());
    await fanOutVerdict(message, context());
    expect(await allRows(message.verdictId)).toHaveLength(12);
    expect(queue.stats('remediations').active).toBe(12);
    expect((await services.store.getVerdict(message.verdictId))?.recipients).toBe(12);
  });

  it('walks a 10,000-recipient campaign in batches: no write or send holds more than the batch size', async () => {
    const rowBatches: number[] = [];
    const sendBatches: number[] = [];
    const store = services.store;
    useServices({
      ...services,
      settings: { ...services.settings, CLAWBACK_FANOUT_BATCH_SIZE: 100 },
      store: Object.assign(Object.create(store) as typeof store, {
        createRemediations: (records: RemediationRecord[]) => {
          rowBatches.push(records.length);
          return store.createRemediations(records);
        },
      }),
      queue: {
        send: (name: string, messages: Parameters<InMemoryQueue['send']>[1]) => {
          sendBatches.push(messages.length);
          return queue.send(name, messages);
        },
        close: () => queue.close(),
      },
    });
    const message = verdictMessage(VerdictChangeMother.withRecipients(10_000));
    await fanOutVerdict(message, context());
    expect(rowBatches.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(Math.max(...rowBatches)).toBe(100);
    expect(Math.max(...sendBatches)).toBe(100);
    expect(queue.stats('remediations').active).toBe(10_000);
    expect((await services.store.getVerdict(message.verdictId))?.recipients).toBe(10_000);
  });

  it('counts a recipient listed twice for the same message once', async () => {
    const message = verdictMessage(
      VerdictChangeMother.malicious({
        messages: [
          {
            internetMessageId: '<m1@x>',
            recipients: ['Alice@contoso.com', 'alice@contoso.com', 'bob@contoso.com'],
          },
        ],
      }),
    );
    await fanOutVerdict(message, context());
    expect((await allRows(message.verdictId)).map((r) => r.recipient).sort()).toEqual([
      'alice@contoso.com',
      'bob@contoso.com',
    ]);
  });

  it('ends a verdict without messages and without a ledger match as unresolved, with a Note saying why', async () => {
    const message = verdictMessage(VerdictChangeMother.malicious({ messages: undefined }));
    await fanOutVerdict(message, context());
    expect(await services.store.getVerdict(message.verdictId)).toMatchObject({
      status: 'unresolved',
      recipients: 0,
      note: expect.stringMatching(/delivery ledger has no delivery/) as string,
    });
  });

  it('fails the delivery (for redelivery, then dead-letter and replay) while no configuration has been applied', async () => {
    const fresh = testServices({ tablesConnection: azurite.connectionString, queue });
    const unconfigured: Services = {
      ...fresh,
      configStore: {
        get: () => Promise.resolve(undefined),
        put: () => Promise.reject(new Error('read only')),
      },
    };
    useServices(unconfigured);
    await expect(fanOutVerdict(verdictMessage(VerdictChangeMother.malicious()), context())).rejects.toThrow(
      /No configuration document/,
    );
  });

  it('refuses a message that is not a verdict, so it ends in the dead-letter queue', async () => {
    await expect(fanOutVerdict({ hello: 'world' }, context())).rejects.toThrow(/not a verdict/);
  });
});
