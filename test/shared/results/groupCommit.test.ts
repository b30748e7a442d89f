import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HttpRequestCounter, tableHost } from '../../../local/bench/measure.js';
import { TableAuditLog } from '../../../shared/audit/tableAuditLog.js';
import type { RemediationRecord } from '../../../shared/ports/results.js';
import { isConflict } from '../../../shared/remediation/storage.js';
import { subResponseFor } from '../../../shared/results/groupCommit.js';
import { TableClients } from '../../../shared/results/tableClients.js';
import { TableRemediatedCopies } from '../../../shared/results/tableRemediatedCopies.js';
import { TableRemediationRows } from '../../../shared/results/tableRemediationRows.js';
import { type RunningAzurite, startAzurite } from '../../support/azurite.js';

let azurite: RunningAzurite;
let requests: HttpRequestCounter;
beforeAll(async () => {
  azurite = await startAzurite();
  requests = new HttpRequestCounter(tableHost(azurite.connectionString));
});
afterAll(async () => {
  requests.close();
  await azurite.stop();
});

const connection = () => ({
  connectionString: azurite.connectionString,
  options: { allowInsecureConnection: true },
});

function row(verdictId: string, i: number): RemediationRecord {
  return {
    verdictId,
    rowKey: `user${i}@contoso.com|abc${i}`,
    recipient: `user${i}@contoso.com`,
    internetMessageId: `<m${i}@x>`,
    action: 'softDelete',
    status: 'pending',
    attempts: 0,
  } as RemediationRecord;
}

async function seeded(verdictId: string, n: number) {
  const rows = new TableRemediationRows(new TableClients(connection()));
  const records = Array.from({ length: n }, (_, i) => row(verdictId, i));
  await rows.createRemediations(records);
  const etags = await Promise.all(
    records.map(async (r) => (await rows.getRemediation(verdictId, r.rowKey))!.etag),
  );
  return { rows, records, etags };
}

describe('group commit of the writes every remediation makes', () => {
  it('sends concurrent updates of one verdict together, each caller getting an ETag that works', async () => {
    const { rows, records, etags } = await seeded('v-batch', 60);
    requests.reset();
    const next = await Promise.all(
      records.map((r, i) =>
        rows.updateRemediation('v-batch', r.rowKey, { status: 'inProgress', attempts: 1 }, etags[i]!),
      ),
    );
    // 60 writes issued in one turn to an idle partition: one transaction carries them all.
    expect(requests.requests).toBe(1);
    expect(rows.updates.stats).toEqual({ transactions: 1, batchedWrites: 60 });
    // Each returned ETag is the row's new one: a write conditional on it succeeds, on the old one fails.
    await Promise.all(
      records.map((r, i) => rows.updateRemediation('v-batch', r.rowKey, { status: 'succeeded' }, next[i]!)),
    );
    for (const r of records)
      expect((await rows.getRemediation('v-batch', r.rowKey))!.value.status).toBe('succeeded');
    await expect(
      rows.updateRemediation('v-batch', records[0]!.rowKey, { status: 'failed' }, next[0]!),
    ).rejects.toSatisfy(isConflict);
  });

  it('fails only the write whose ETag is stale; the others of its transaction land', async () => {
    const { rows, records, etags } = await seeded('v-stale', 12);
    // Row 5 changes under its writer.
    await rows.updateRemediation('v-stale', records[5]!.rowKey, { attempts: 9 }, etags[5]!);
    const settled = await Promise.allSettled(
      records.map((r, i) => rows.updateRemediation('v-stale', r.rowKey, { status: 'inProgress' }, etags[i]!)),
    );
    expect(settled.map((s) => s.status)).toEqual(records.map((_, i) => (i === 5 ? 'rejected' : 'fulfilled')));
    const rejected = settled[5] as PromiseRejectedResult;
    expect(isConflict(rejected.reason)).toBe(true);
    for (const [i, r] of records.entries()) {
      const stored = (await rows.getRemediation('v-stale', r.rowKey))!.value;
      expect(stored.status).toBe(i === 5 ? 'pending' : 'inProgress');
    }
  });

  it('lets exactly one of two racing writers with the same ETag win a row (a duplicate delivery)', async () => {
    const { rows, records, etags } = await seeded('v-race', 3);
    // Keep the partition busy so both racers wait and meet in the same queue.
    const busy = rows.updateRemediation('v-race', records[0]!.rowKey, { attempts: 1 }, etags[0]!);
    const racers = await Promise.allSettled(
      ['a', 'b'].map((owner) =>
        rows.updateRemediation(
          'v-race',
          records[1]!.rowKey,
          { leaseOwner: owner, status: 'inProgress' },
          etags[1]!,
        ),
      ),
    );
    await busy;
    expect(racers.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const stored = (await rows.getRemediation('v-race', records[1]!.rowKey))!.value;
    const winner = racers.findIndex((r) => r.status === 'fulfilled');
    expect(stored.leaseOwner).toBe(['a', 'b'][winner]);
  });

  it('sends writes that arrive while the partition is busy together, after the one in flight', async () => {
    const { rows, records, etags } = await seeded('v-busy', 21);
    requests.reset();
    const first = rows.updateRemediation('v-busy', records[0]!.rowKey, { attempts: 1 }, etags[0]!);
    // The first write has left: the partition is busy until its answer comes.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([
      first,
      ...records
        .slice(1)
        .map((r, i) => rows.updateRemediation('v-busy', r.rowKey, { attempts: 1 }, etags[i + 1]!)),
    ]);
    expect(requests.requests).toBe(2);
    expect(rows.updates.stats).toEqual({ transactions: 1, batchedWrites: 20 });
  });

  it('writes a lone update on its own, not as a transaction', async () => {
    const { rows, records, etags } = await seeded('v-lone', 1);
    await rows.updateRemediation('v-lone', records[0]!.rowKey, { attempts: 2 }, etags[0]!);
    expect(rows.updates.stats.transactions).toBe(0);
  });

  it('records concurrent remediated copies and audit rows in transactions, every one of them stored', async () => {
    const copies = new TableRemediatedCopies(new TableClients(connection()));
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        copies.recordRemediatedCopy({
          threatKey: 'sha256-groupcommit',
          recipient: `user${i}@contoso.com`,
          internetMessageId: `<m${i}@x>`,
          action: 'softDelete',
          profile: 'p',
          backend: 'graph',
          verdictId: 'v1',
          remediatedAt: new Date().toISOString(),
        }),
      ),
    );
    expect(copies.records.stats).toEqual({ transactions: 1, batchedWrites: 30 });
    const page = await copies.listRemediatedCopies('sha256-groupcommit', { pageSize: 100 });
    expect(page.items.map((c) => c.recipient).sort()).toEqual(
      Array.from({ length: 30 }, (_, i) => `user${i}@contoso.com`).sort(),
    );

    const audit = new TableAuditLog(connection());
    const at = new Date();
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        audit.append({ who: 'clawback:test', what: 'mailboxAction', mailbox: `user${i}@contoso.com`, at }),
      ),
    );
    expect(audit.appends.stats.batchedWrites).toBeGreaterThan(0);
    const listed = await audit.list(
      { from: new Date(at.getTime() - 1000), to: new Date(at.getTime() + 1000) },
      100,
    );
    expect(listed.map((e) => e.mailbox).sort()).toEqual(
      Array.from({ length: 25 }, (_, i) => `user${i}@contoso.com`).sort(),
    );
  });

  it("matches a transaction's sub-responses to its rows by their decoded RowKey, else by position", () => {
    const responses = [
      { status: 204, rowKey: 'bob%40contoso.com%7Cb1', etag: 'e-bob' },
      { status: 204, rowKey: 'ann%40contoso.com%7Ca1', etag: 'e-ann' },
      { status: 204, etag: 'e-third' },
    ];
    expect(subResponseFor(responses, 'ann@contoso.com|a1', 0)?.etag).toBe('e-ann');
    expect(subResponseFor(responses, 'bob@contoso.com|b1', 1)?.etag).toBe('e-bob');
    expect(subResponseFor(responses, 'carol@contoso.com|c1', 2)?.etag).toBe('e-third');
  });
});
