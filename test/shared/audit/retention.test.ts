import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { applyRetention } from '../../../shared/audit/retention.js';
import { TableAuditLog } from '../../../shared/audit/tableAuditLog.js';
import { type RunningAzurite, startAzurite } from '../../support/azurite.js';

let azurite: RunningAzurite;

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(() => azurite?.stop());

const day = 86_400_000;

describe('retention', () => {
  it('deletes audit rows older than retentionDays and ledger and cursor rows not written since, and audits itself', async () => {
    const connection = {
      connectionString: azurite.connectionString,
      options: { allowInsecureConnection: true },
    };
    const audit = new TableAuditLog(connection);
    const now = new Date();
    await audit.append({
      who: 'key:ingest',
      what: 'accepted',
      verdictId: 'old',
      at: new Date(now.getTime() - 100 * day),
    });
    await audit.append({
      who: 'key:ingest',
      what: 'accepted',
      verdictId: 'recent',
      at: new Date(now.getTime() - 2 * day),
    });

    // The ledger and the cursors have no time in their keys: what counts is when a row was last written.
    const deliveries = TableClient.fromConnectionString(azurite.connectionString, 'Deliveries', {
      allowInsecureConnection: true,
    });
    await deliveries.createTable();
    await deliveries.createEntity({ partitionKey: 'threat', rowKey: 'copy', Recipient: 'a@contoso.com' });

    const kept = await applyRetention({ retention: audit, audit, retentionDays: 90, now: () => now });
    expect(kept).toEqual({ audit: 1, deliveries: 0, sourceCursors: 0 });
    const everything = await audit.list(
      { from: new Date(now.getTime() - 200 * day), to: new Date(now.getTime() + 1000) },
      100,
    );
    expect(everything.map((e) => e.verdictId ?? e.what)).toEqual(['recent', 'retention']);
    expect(everything[1]).toMatchObject({
      who: 'clawback:retention',
      detail: expect.stringContaining('audit 1') as string,
    });

    // Seen from a day far enough ahead, the delivery row is older than the period too.
    const later = new Date(now.getTime() + 91 * day);
    const purged = await applyRetention({ retention: audit, audit, retentionDays: 90, now: () => later });
    expect(purged.deliveries).toBe(1);
    const left = [];
    for await (const e of deliveries.listEntities()) left.push(e);
    expect(left).toHaveLength(0);
  });
});
