import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { useServices } from '../../shared/composition.js';
import { loadSettings } from '../../shared/config/settings.js';
import { TableConfigStore } from '../../shared/config/tableConfigStore.js';
import { InMemoryQueue } from '../../shared/queue/inMemoryQueue.js';
import { ConfigMother } from '../mothers/configMother.js';
import { type RunningAzurite, startAzurite } from '../support/azurite.js';
import { configApiBody as bodyOf, putConfigDocument as put } from '../support/configApi.js';
import { testServices } from '../support/services.js';

let azurite: RunningAzurite;
let runtime: 'local' | 'azure' = 'local';

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  useServices(undefined);
  await azurite.stop();
});
beforeEach(async () => {
  await TableClient.fromConnectionString(azurite.connectionString, 'Configuration', {
    allowInsecureConnection: true,
  })
    .deleteTable()
    .catch(() => undefined);
  runtime = 'local';
  install();
});

function install(): void {
  const services = testServices({ tablesConnection: azurite.connectionString, queue: new InMemoryQueue() });
  useServices({
    ...services,
    settings: loadSettings({
      CLAWBACK_RUNTIME: runtime,
      CLAWBACK_TABLES_CONNECTION: azurite.connectionString,
      ServiceBusConnection__fullyQualifiedNamespace: 'sb.example.net',
    }),
  });
}

/** A valid document using every part once; each test changes its own copy. */
function example(): Record<string, unknown> {
  return ConfigMother.hybrid().build();
}

describe('GET and PUT /api/config over the Table configuration store', () => {
  it('stores one readable row per profile, chain, domain, policy and source, plus the version row', async () => {
    const version = bodyOf(await put(example())).version;
    const table = TableClient.fromConnectionString(azurite.connectionString, 'Configuration', {
      allowInsecureConnection: true,
    });
    const rows: Record<string, unknown>[] = [];
    for await (const row of table.listEntities<Record<string, unknown>>()) rows.push(row);
    const pointer = rows.find((r) => r.partitionKey === 'current');
    expect(pointer).toMatchObject({ Version: version, Generation: `v-${version}` });
    const generation = rows.filter((r) => r.partitionKey === `v-${version}`);
    expect(generation.map((r) => r.rowKey).sort()).toEqual(
      [
        'chain|hybrid',
        'document',
        'domain|ALL',
        'domain|contoso.com',
        'domain|xn--bcher-kva.example',
        'policy|clean',
        'policy|malicious',
        'profile|contoso-online',
        'profile|contoso-onprem',
        'settings|settings',
        'source|proofpoint-tap',
      ].sort(),
    );
    expect(generation.find((r) => r.rowKey === 'profile|contoso-online')).toMatchObject({
      Type: 'graph',
      TenantId: 'contoso.onmicrosoft.com',
      Certificate: '{"keyVaultSecret":"contoso-graph-cert"}',
    });
    expect(generation.find((r) => r.rowKey === 'chain|hybrid')).toMatchObject({
      Profiles: 'contoso-online, contoso-onprem',
    });
    expect(generation.find((r) => r.rowKey === 'domain|contoso.com')).toMatchObject({ Target: 'hybrid' });
  });

  it("removes the previous version's rows once a new version is current", async () => {
    const v1 = bodyOf(await put(example())).version;
    const changed = example();
    changed.forwardTo = 'cert@contoso.com';
    await put(changed);
    const table = TableClient.fromConnectionString(azurite.connectionString, 'Configuration', {
      allowInsecureConnection: true,
    });
    const partitions = new Set<string>();
    for await (const row of table.listEntities<Record<string, unknown>>())
      partitions.add(String(row.partitionKey));
    expect(partitions.has(`v-${v1}`)).toBe(false);
    expect(partitions.size).toBe(2);
  });

  it('a second worker reads the document another worker applied', async () => {
    await put(example());
    const connection = {
      connectionString: azurite.connectionString,
      options: { allowInsecureConnection: true },
    };
    const other = await new TableConfigStore(connection, 0).get();
    expect(other?.document.profiles.map((p) => p.name)).toEqual(['contoso-online', 'contoso-onprem']);
    expect(other?.document.policies).toEqual([
      { verdict: 'malicious', action: 'quarantine' },
      { verdict: 'clean', action: 'restore' },
    ]);
  });
});
