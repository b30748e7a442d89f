import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { type RunningAzurite, startAzurite } from '../support/azurite.js';

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite.stop();
});

it('starts Azurite in process on a free loopback port that the Tables SDK can use', async () => {
  const client = TableClient.fromConnectionString(azurite.connectionString, 'Smoke', {
    allowInsecureConnection: true,
  });
  await client.createTable();
  await client.upsertEntity({ partitionKey: 'p', rowKey: 'r', Value: 'x' });
  const entity = await client.getEntity<{ Value: string }>('p', 'r');
  expect(entity.Value).toBe('x');
  expect(azurite.port).toBeGreaterThan(0);
});
