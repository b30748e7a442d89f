import { AsyncLocalStorage } from 'node:async_hooks';

import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fanOutVerdict } from '../../../functions/fanOutVerdict.js';
import { remediateMailbox } from '../../../functions/remediateMailbox.js';
import { tables } from '../../../shared/bindings.js';
import { type Services, useServices } from '../../../shared/composition.js';
import type { VerdictPatch } from '../../../shared/ports/results.js';
import { InMemoryQueue } from '../../../shared/queue/inMemoryQueue.js';
import { countColumn } from '../../../shared/results/columns.js';
import { TableResultStore } from '../../../shared/results/tableResultStore.js';
import type { RemediationMessage } from '../../../shared/verdicts/messages.js';
import { InMemoryMailBackend } from '../../fakes/inMemoryMailBackend.js';
import { VerdictChangeMother } from '../../mothers/verdictChangeMother.js';
import { type RunningAzurite, startAzurite } from '../../support/azurite.js';
import { Pipeline } from '../../support/pipeline.js';
import { configDocument, testServices } from '../../support/services.js';

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  useServices(undefined);
  await azurite.stop();
});

type Entity = Record<string, unknown>;

/** Every entity of a table as the service stores it: `odata=fullmetadata`, read over raw HTTP. */
async function rawEntities(table: string): Promise<Entity[]> {
  const bodies: string[] = [];
  const fullMetadata: PipelinePolicy = {
    name: 'fullMetadata',
    async sendRequest(request, next) {
      request.headers.set('Accept', 'application/json;odata=fullmetadata');
      const response = await next(request);
      if (response.bodyAsText) bodies.push(response.bodyAsText);
      return response;
    },
  };
  const client = TableClient.fromConnectionString(azurite.connectionString, table, {
    allowInsecureConnection: true,
    additionalPolicies: [{ policy: fullMetadata, position: 'perRetry' }],
  });
  for await (const page of client.listEntities().byPage({ maxPageSize: 1000 })) void page;
  return bodies.flatMap((b) => (JSON.parse(b) as { value: Entity[] }).value);
}

const timeColumns: Record<string, string[]> = {
  [tables.verdicts]: ['ReceivedAt', 'CompletedAt'],
  [tables.remediations]: ['UpdatedAt', 'CompletedAt'],
  [tables.remediatedCopies]: ['RemediatedAt'],
  [tables.deliveries]: ['ReceivedAt'],
};
const countColumns: Record<string, string[]> = {
  [tables.verdicts]: ['Recipients', ...Object.values(countColumn)],
  [tables.remediations]: ['Attempts'],
};

/** An Int32 travels as a bare JSON integer (OData never annotates it); an Int64 would say `Edm.Int64`. */
function isInt32(entity: Entity, column: string): boolean {
  const value = entity[column];
  const type = entity[`${column}@odata.type`];
  return Number.isInteger(value) && (type === undefined || type === 'Edm.Int32');
}

describe('TableResultStore over Azurite', () => {
  it('after a mixed run, types every time Edm.DateTime and every count Edm.Int32, counts equal to the rows, each verdict completed once with 1 table operation per untouched row', async () => {
    const queue = new InMemoryQueue();
    queue.declare('remediations', { sessions: true });
    const backend = new InMemoryMailBackend();
    const worker = new AsyncLocalStorage<{ ops: number }>();
    const countOps: PipelinePolicy = {
      name: 'countTableOperations',
      sendRequest(request, next) {
        // Creating a table happens once per table and worker process, not per recipient.
        const calls = worker.getStore();
        if (calls && !new URL(request.url).pathname.endsWith('/Tables')) calls.ops += 1;
        return next(request);
      },
    };
    const base = testServices({
      tablesConnection: azurite.connectionString,
      queue,
      backendFor: () => backend,
    });
    const store = new TableResultStore({
      connectionString: azurite.connectionString,
      options: {
        allowInsecureConnection: true,
        additionalPolicies: [{ policy: countOps, position: 'perCall' }],
      },
    });
    // One terminal row write "crashes" after it is stored, and so does the first completion: the
    // handlers throw and their messages are delivered again.
    let rowCrashed = false;
    let verdictCrashed = false;
    const completions: VerdictPatch[] = [];
    const services: Services = {
      ...base,
      store: Object.assign(Object.create(store) as TableResultStore, {
        updateRemediation: async (...args: Parameters<TableResultStore['updateRemediation']>) => {
          const etag = await store.updateRemediation(...args);
          if (args[2].completedAt && !rowCrashed) {
            rowCrashed = true;
            throw new Error('crash after record');
          }
          return etag;
        },
        updateVerdict: async (...args: Parameters<TableResultStore['updateVerdict']>) => {
          const written = await store.updateVerdict(...args);
          if (written && args[0].status?.startsWith('completed')) {
            completions.push(args[0]);
            if (!verdictCrashed) {
              verdictCrashed = true;
              throw new Error('crash after completing');
            }
          }
          return written;
        },
      }),
    };
    await services.configStore.put(
      configDocument({
        domains: { 'contoso.com': 'contoso-online' },
        policies: [
          { verdict: 'malicious', action: 'moveToJunk' },
          { verdict: 'suspicious', action: 'moveToJunk', mode: 'simulate' },
        ],
      }),
    );
    useServices(services);
    const pipeline = new Pipeline(services, queue);
    backend
      .deliver('alice@contoso.com', '<m1@mail.example.com>')
      .deliver('bob@contoso.com', '<m1@mail.example.com>', 'junkemail')
      .deliver('carol@contoso.com', '<other@mail.example.com>')
      .deliver('dan@contoso.com', '<m1@mail.example.com>')
      .deliver('erin@contoso.com', '<m1@mail.example.com>');
    const recipients = ['alice', 'bob', 'carol', 'eve'].map((n) => `${n}@contoso.com`);
    const enforce = await pipeline.fanOut(
      VerdictChangeMother.malicious({
        messages: [
          {
            internetMessageId: '<m1@mail.example.com>',
            recipients: [...recipients, 'mallory@unmapped.example'],
          },
        ],
      }),
    );
    const simulate = await pipeline.fanOut(
      VerdictChangeMother.malicious({
        verdict: 'suspicious',
        threat: { sha256: 'b'.repeat(64) },
        messages: [
          { internetMessageId: '<m1@mail.example.com>', recipients: ['dan@contoso.com', 'erin@contoso.com'] },
        ],
      }),
    );
    await services.store.recordDeliveries([
      {
        threatKey: 'c'.repeat(64),
        internetMessageId: '<m9@mail.example.com>',
        recipient: 'alice@contoso.com',
        receivedAt: '2026-11-30T07:00:00Z',
      },
    ]);

    const ops: number[] = [];
    // Table operations of each delivery that ran to its end (a crashed one is cut short anyway).
    const deliver = async (m: RemediationMessage) => {
      const calls = { ops: 0 };
      await worker.run(calls, () => remediateMailbox(m, pipeline.quiet()));
      ops.push(calls.ops);
    };
    // Service Bus delivers a message again when its handler threw.
    for (const m of [...enforce.messages, ...simulate.messages]) await deliver(m).catch(() => deliver(m));
    const checks = await pipeline.checks();
    expect(checks).toHaveLength(2);
    // Each check delivered twice at once; the first completion crashes after its write.
    for (const c of checks)
      await Promise.allSettled([fanOutVerdict(c, pipeline.quiet()), fanOutVerdict(c, pipeline.quiet())]);
    for (const c of checks) await fanOutVerdict(c, pipeline.quiet());
    await pipeline.check();

    expect(rowCrashed && verdictCrashed).toBe(true);
    expect(ops).toHaveLength(7);
    // The first delivery holds its row by the ETag fan-out created it with (no read) and its lease goes
    // with its first write: 1 for a row whose copy is not changed (notFound, failed, simulated). An
    // action that changes a copy writes lease and intent before the effect (bob's copy was already in
    // Junk: 2), then the restore record (alice: 3); alice's delivery also met the crash injected after
    // its row write, and its redelivery reads the row it finds already finished by itself (4).
    expect([...ops].sort()).toEqual([1, 1, 1, 1, 1, 2, 4]);
    expect(completions.map((c) => c.verdictId).sort()).toEqual(
      [enforce.verdictId, simulate.verdictId].sort(),
    );

    const verdictRows = await rawEntities(tables.verdicts);
    const rowEntities = await rawEntities(tables.remediations);
    for (const { verdictId } of [enforce, simulate]) {
      const verdict = verdictRows.find((v) => v.RowKey === verdictId);
      const rows = rowEntities.filter((r) => r.PartitionKey === verdictId);
      expect(verdict?.Recipients).toBe(rows.length);
      for (const [status, column] of Object.entries(countColumn))
        expect(verdict?.[column], column).toBe(rows.filter((r) => r.Status === status).length);
    }
    const enforced = verdictRows.find((v) => v.RowKey === enforce.verdictId);
    expect(enforced).toMatchObject({
      Status: 'completedWithFailures',
      Succeeded: 1,
      AlreadyRemediated: 1,
      NotFound: 1,
      Failed: 2,
    });
    expect(verdictRows.find((v) => v.RowKey === simulate.verdictId)).toMatchObject({
      Status: 'completed',
      Simulated: 2,
    });

    for (const table of [tables.verdicts, tables.remediations, tables.remediatedCopies, tables.deliveries]) {
      const entities = await rawEntities(table);
      expect(entities.length, table).toBeGreaterThan(0);
      for (const entity of entities) {
        for (const column of timeColumns[table] ?? []) {
          if (column === 'CompletedAt' && entity.Status === 'pending') continue;
          expect(entity[`${column}@odata.type`], `${table}.${column}`).toBe('Edm.DateTime');
        }
        for (const column of countColumns[table] ?? [])
          expect(isInt32(entity, column), `${table}.${column} = ${JSON.stringify(entity[column])}`).toBe(
            true,
          );
      }
    }
  }, 120_000);

  it('reads rows written before typed columns (times as strings, counts as Int64)', async () => {
    const client = TableClient.fromConnectionString(azurite.connectionString, tables.verdicts, {
      allowInsecureConnection: true,
    });
    await client.createTable();
    const verdictId = '7000000000000-0123456789';
    await client.createEntity({
      partitionKey: 'verdict',
      rowKey: verdictId,
      Source: 'test',
      EventId: 'legacy',
      Verdict: 'malicious',
      Status: 'completed',
      Recipients: { value: '3', type: 'Int64' },
      Succeeded: { value: '2', type: 'Int64' },
      Failed: { value: '1', type: 'Int64' },
      Done: { value: '3', type: 'Int64' },
      ReceivedAt: '2026-11-01T08:00:00.000Z',
      CompletedAt: '2026-11-01T08:05:00.000Z',
    });
    const store = new TableResultStore({
      connectionString: azurite.connectionString,
      options: { allowInsecureConnection: true },
    });
    expect(await store.getVerdict(verdictId)).toMatchObject({
      status: 'completed',
      recipients: 3,
      succeeded: 2,
      failed: 1,
      notFound: 0,
      done: 3,
      receivedAt: '2026-11-01T08:00:00.000Z',
      completedAt: '2026-11-01T08:05:00.000Z',
    });
  });
});
