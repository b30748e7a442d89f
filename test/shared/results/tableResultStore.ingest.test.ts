import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';
import { TableClient } from '@azure/data-tables';
import { HttpRequest, type HttpResponseInit, InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { ingestVerdict } from '../../../functions/ingestVerdict.js';
import { TableAuditLog } from '../../../shared/audit/tableAuditLog.js';
import { useServices } from '../../../shared/composition.js';
import type { ConfigDocumentInput } from '../../../shared/config/document.js';
import { InMemoryQueue } from '../../../shared/queue/inMemoryQueue.js';
import { TableResultStore } from '../../../shared/results/tableResultStore.js';
import { VerdictChangeMother } from '../../mothers/verdictChangeMother.js';
import { type RunningAzurite, startAzurite } from '../../support/azurite.js';
import { configDocument, tapSecrets, testServices } from '../../support/services.js';

let azurite: RunningAzurite;
let queue: InMemoryQueue;
let sent: { body: unknown; messageId: string }[];
/** Table requests that change data (entity inserts, batches, deletes), table creation left out. */
let tableWrites: number;
/** The same, of the audit trail. */
let auditWrites: number;

/** Runs before each write request of the result store leaves (a test may hold it). */
let beforeStoreWrite: (url: string) => Promise<void>;
/** Runs when a write request of the audit trail leaves. */
let onAuditWrite: () => void;

const countingClient = (count: () => void, before?: (url: string) => Promise<void>): HttpClient => {
  const inner = createDefaultHttpClient();
  return {
    sendRequest: async (request) => {
      if (request.method !== 'GET' && !/\/Tables(\(|$|\?)/.test(new URL(request.url).pathname)) {
        count();
        await before?.(request.url);
      }
      return inner.sendRequest(request);
    },
  };
};

async function install(config: Partial<ConfigDocumentInput> = {}, queueOptions = {}): Promise<void> {
  queue = new InMemoryQueue(queueOptions);
  sent = [];
  const services = testServices({ tablesConnection: azurite.connectionString, queue, secrets: tapSecrets });
  await services.configStore.put(
    configDocument({
      sources: [{ name: 'proofpoint-tap', signingSecret: { env: 'TAP_SECRET' } }, { name: 'soar' }],
      ...config,
    }),
  );
  const store = new TableResultStore({
    connectionString: azurite.connectionString,
    options: {
      allowInsecureConnection: true,
      httpClient: countingClient(
        () => (tableWrites += 1),
        (url) => beforeStoreWrite(url),
      ),
    },
  });
  const audit = new TableAuditLog({
    connectionString: azurite.connectionString,
    options: {
      allowInsecureConnection: true,
      httpClient: countingClient(() => {
        auditWrites += 1;
        onAuditWrite();
      }),
    },
  });
  useServices({
    ...services,
    store,
    audit,
    queue: {
      send: async (name, messages, options) => {
        await queue.send(name, messages, options);
        sent.push(...messages);
      },
      close: () => queue.close(),
    },
  });
  tableWrites = 0;
  auditWrites = 0;
  beforeStoreWrite = () => Promise.resolve();
  onAuditWrite = () => undefined;
}

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  useServices(undefined);
  await azurite.stop();
});
beforeEach(async () => {
  for (const table of ['Verdicts', 'VerdictEvents', 'Audit']) {
    const client = TableClient.fromConnectionString(azurite.connectionString, table, {
      allowInsecureConnection: true,
    });
    await client.deleteTable().catch(() => undefined);
  }
  await install();
});

function post(
  body: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<HttpResponseInit> {
  const request = new HttpRequest({
    method: 'POST',
    url: 'http://localhost:7071/api/verdicts',
    headers,
    body: typeof body === 'string' ? { string: body } : { bytes: body },
  });
  return ingestVerdict(request, new InvocationContext({ logHandler: () => undefined }));
}

async function rows(table: string): Promise<number> {
  const client = TableClient.fromConnectionString(azurite.connectionString, table, {
    allowInsecureConnection: true,
  });
  let n = 0;
  try {
    for await (const page of client.listEntities().byPage()) n += page.length;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return 0;
    throw error;
  }
  return n;
}

const queued = () => queue.stats('verdicts').active;

describe('claims through the Table adapter', () => {
  it('starts nothing for a repeat that comes after the queue forgot the first message id', async () => {
    await install({}, { duplicateDetectionWindowMs: 0 });
    const change = JSON.stringify(VerdictChangeMother.malicious());
    const first = await post(change);
    const writesAfterFirst = tableWrites;
    const late = await post(change);
    expect(late.status).toBe(200);
    expect((late.jsonBody as { verdictId: string }).verdictId).toBe(
      (first.jsonBody as { verdictId: string }).verdictId,
    );
    expect(sent).toHaveLength(1);
    expect(queued()).toBe(1);
    expect(await rows('Verdicts')).toBe(1);
    expect(await rows('VerdictEvents')).toBe(1);
    // The repeat's claim attempt is its only write request, and it writes nothing.
    expect(tableWrites).toBe(writesAfterFirst + 1);
  });
});

describe('table writes per accepted verdict', () => {
  it('writes two rows for one verdict: its claim and its Verdicts row', async () => {
    expect((await post(JSON.stringify(VerdictChangeMother.malicious()))).status).toBe(202);
    expect(tableWrites).toBe(2);
  });

  it('writes an array of 20 verdicts from one source with two table requests', async () => {
    const body = Array.from({ length: 20 }, () => VerdictChangeMother.malicious());
    expect((await post(JSON.stringify(body))).status).toBe(202);
    expect(tableWrites).toBe(2);
    expect(await rows('Verdicts')).toBe(20);
    expect(await rows('VerdictEvents')).toBe(20);
  });

  it('writes at most two table requests per verdict when 20 requests arrive at once', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => post(JSON.stringify(VerdictChangeMother.malicious()))),
    );
    expect(responses.every((r) => r.status === 202)).toBe(true);
    expect(tableWrites).toBeLessThanOrEqual(40);
    expect(await rows('Verdicts')).toBe(20);
    expect(queued()).toBe(20);
  });

  it("writes a flush's accepted audit rows in one request, beside its claim and its record", async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => post(JSON.stringify(VerdictChangeMother.malicious()))),
    );
    expect(responses.every((r) => r.status === 202)).toBe(true);
    expect(await rows('Audit')).toBe(20);
    // Every flush makes one claim request, one record request and one audit request, however many
    // requests it carries; audit rows written per request would make more.
    expect(auditWrites * 2).toBe(tableWrites);
    expect(auditWrites).toBeLessThan(20);
  });

  it('writes the accepted audit row while the verdict is being recorded, not after', async () => {
    let auditSent!: () => void;
    const audited = new Promise<'audit'>((resolve) => (auditSent = () => resolve('audit')));
    onAuditWrite = () => auditSent();
    const opened: string[] = [];
    // The Verdicts write is held until the audit row has left (a fallback ends the wait of a build
    // that audits only after the record; the test then fails on what opened it).
    beforeStoreWrite = async (url) => {
      if (!new URL(url).pathname.includes('Verdicts') || new URL(url).pathname.includes('VerdictEvents'))
        return;
      let fallback: NodeJS.Timeout | undefined;
      opened.push(
        await Promise.race([
          audited,
          new Promise<'fallback'>((resolve) => (fallback = setTimeout(() => resolve('fallback'), 3000))),
        ]),
      );
      clearTimeout(fallback);
    };
    expect((await post(JSON.stringify(VerdictChangeMother.malicious()))).status).toBe(202);
    expect(opened).toEqual(['audit']);
    expect(await rows('Audit')).toBe(1);
  });
});
