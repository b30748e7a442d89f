import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type RunningAzurite, startAzurite } from '../support/azurite.js';

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite.stop();
});

describe('Azurite on a thread of its own, with point operations by key', () => {
  it('finds, merges and guards each entity by its own PartitionKey and RowKey when keys repeat across partitions', async () => {
    const client = TableClient.fromConnectionString(azurite.connectionString, 'PointOps', {
      allowInsecureConnection: true,
    });
    await client.createTable();
    // The same RowKeys in three partitions: the lookup asks by RowKey first and must still honour the partition.
    for (const p of ['a', 'b', 'c'])
      await client.submitTransaction(
        Array.from(
          { length: 50 },
          (_, i) => ['create', { partitionKey: p, rowKey: `r${i}`, Owner: p }] as const,
        ),
      );
    for (const p of ['a', 'b', 'c'])
      expect((await client.getEntity<{ Owner: string }>(p, 'r7')).Owner).toBe(p);
    const b7 = await client.getEntity('b', 'r7');
    await client.updateEntity({ partitionKey: 'b', rowKey: 'r7', Owner: 'b2' }, 'Merge', { etag: b7.etag });
    expect((await client.getEntity<{ Owner: string }>('a', 'r7')).Owner).toBe('a');
    expect((await client.getEntity<{ Owner: string }>('b', 'r7')).Owner).toBe('b2');
    // The stale ETag is refused for the entity it belonged to.
    await expect(
      client.updateEntity({ partitionKey: 'b', rowKey: 'r7', Owner: 'b3' }, 'Merge', { etag: b7.etag }),
    ).rejects.toMatchObject({ statusCode: 412 });
    await expect(client.getEntity('d', 'r7')).rejects.toMatchObject({ statusCode: 404 });
  });

  it('reports how long its thread has worked, which grows with the work it is given', async () => {
    const client = TableClient.fromConnectionString(azurite.connectionString, 'Busy', {
      allowInsecureConnection: true,
    });
    await client.createTable();
    const before = await azurite.cpuMs();
    // Enough work to cross the clock's 10 ms resolution whatever the machine.
    for (let i = 0; i < 300; i++) await client.upsertEntity({ partitionKey: 'p', rowKey: `r${i}`, N: i });
    expect(await azurite.cpuMs()).toBeGreaterThan(before);
  });

  it('stops its thread, and a second stop is harmless', async () => {
    const other = await startAzurite();
    const client = TableClient.fromConnectionString(other.connectionString, 'Stopped', {
      allowInsecureConnection: true,
      retryOptions: { maxRetries: 0 },
    });
    await client.createTable();
    await other.stop();
    await other.stop();
    await expect(client.createTable()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
