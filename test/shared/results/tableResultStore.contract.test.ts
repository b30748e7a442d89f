import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  emptyCounts,
  type RemediationRecord,
  type ResultStore,
  type VerdictRecord,
} from '../../../shared/ports/results.js';
import { InMemoryResultStore } from '../../../shared/results/memory/inMemoryResultStore.js';
import { TableResultStore } from '../../../shared/results/tableResultStore.js';
import { newVerdictId } from '../../../shared/verdicts/ids.js';
import { type RunningAzurite, startAzurite } from '../../support/azurite.js';

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(() => azurite.stop());

let n = 0;
function verdict(): VerdictRecord {
  n += 1;
  return {
    verdictId: newVerdictId(new Date(Date.UTC(2026, 10, 30, 8, 0, n))),
    source: 'contract',
    eventId: `e${n}`,
    verdict: 'malicious',
    status: 'fannedOut',
    recipients: 0,
    ...emptyCounts(),
    done: 0,
    receivedAt: new Date(Date.UTC(2026, 10, 30, 8, 0, n)).toISOString(),
  };
}

function row(
  verdictId: string,
  rowKey: string,
  status: RemediationRecord['status'] = 'pending',
): RemediationRecord {
  return {
    verdictId,
    rowKey,
    recipient: rowKey,
    internetMessageId: '<m1@x>',
    action: 'softDelete',
    status,
    attempts: 0,
    updatedAt: '2026-11-30T08:00:00.000Z',
  };
}

/** What the component tests rely on from the in-memory store is what Table Storage does. */
const stores: [string, () => ResultStore][] = [
  ['in memory', () => new InMemoryResultStore()],
  [
    'Table Storage (Azurite)',
    () =>
      new TableResultStore({
        connectionString: azurite.connectionString,
        options: { allowInsecureConnection: true },
      }),
  ],
];

describe.each(stores)('the results store %s', (_name, make) => {
  it('creates a verdict once and updates it only with the ETag it was read with', async () => {
    const store = make();
    const v = verdict();
    expect(await store.createVerdict(v)).toBe(true);
    expect(await store.createVerdict({ ...v, status: 'accepted' })).toBe(false);
    const read = await store.readVerdict(v.verdictId);
    if (!read) throw new Error('verdict missing');
    expect(await store.updateVerdict({ verdictId: v.verdictId, succeeded: 2 }, read.etag)).toBe(true);
    expect(await store.updateVerdict({ verdictId: v.verdictId, succeeded: 9 }, read.etag)).toBe(false);
    expect(await store.updateVerdict({ verdictId: newVerdictId(), status: 'completed' }, read.etag)).toBe(
      false,
    );
    expect(await store.getVerdict(v.verdictId)).toMatchObject({ status: 'fannedOut', succeeded: 2, done: 2 });
  });

  it('lists verdicts of a time range newest first', async () => {
    const store = make();
    const older = verdict();
    const newer = verdict();
    await store.createVerdict(older);
    await store.createVerdict(newer);
    const range = { from: new Date(older.receivedAt), to: new Date(Date.parse(newer.receivedAt) + 1) };
    const ids = (await store.listVerdicts(range, 10)).map((v) => v.verdictId);
    expect(ids.filter((id) => id === older.verdictId || id === newer.verdictId)).toEqual([
      newer.verdictId,
      older.verdictId,
    ]);
  });

  it('leaves existing rows as they are when the same rows are created again', async () => {
    const store = make();
    const { verdictId } = verdict();
    expect(await store.createRemediations([row(verdictId, 'a'), row(verdictId, 'b')])).toBe(2);
    const a = await store.getRemediation(verdictId, 'a');
    if (!a) throw new Error('row missing');
    await store.updateRemediation(verdictId, 'a', { status: 'succeeded' }, a.etag);
    expect(
      await store.createRemediations([row(verdictId, 'a'), row(verdictId, 'b'), row(verdictId, 'c')]),
    ).toBe(1);
    expect((await store.getRemediation(verdictId, 'a'))?.value.status).toBe('succeeded');
  });

  it('refuses a row update with a stale ETag', async () => {
    const store = make();
    const { verdictId } = verdict();
    await store.createRemediations([row(verdictId, 'a')]);
    const first = await store.getRemediation(verdictId, 'a');
    if (!first) throw new Error('row missing');
    await store.updateRemediation(verdictId, 'a', { status: 'inProgress' }, first.etag);
    await expect(
      store.updateRemediation(verdictId, 'a', { status: 'failed' }, first.etag),
    ).rejects.toMatchObject({
      name: 'ConcurrencyConflictError',
    });
  });

  it('pages statuses in RowKey order, and a row inserted behind the position is not seen by that reader', async () => {
    const store = make();
    const { verdictId } = verdict();
    await store.createRemediations(
      ['b', 'd', 'f', 'h'].map((k) => row(verdictId, k, k === 'd' ? 'failed' : 'pending')),
    );
    const first = await store.listRemediationOutcomes(verdictId, { pageSize: 2 });
    expect(first.items.map((o) => o.status)).toEqual(['pending', 'failed']);
    await store.createRemediations([row(verdictId, 'a', 'succeeded')]);
    const second = await store.listRemediationOutcomes(verdictId, {
      pageSize: 2,
      continuationToken: first.continuationToken,
    });
    expect(second.items.map((o) => o.status)).toEqual(['pending', 'pending']);
    expect(second.continuationToken).toBeUndefined();
  });

  it('replaces a remediated copy (dropping an earlier restore) and marks a missing copy restored without error', async () => {
    const store = make();
    const copy = {
      threatKey: 'd'.repeat(64),
      recipient: 'alice@contoso.com',
      internetMessageId: `<c${n}@x>`,
      action: 'quarantine' as const,
      profile: 'p',
      backend: 'graph' as const,
      verdictId: verdict().verdictId,
      originalFolder: 'inbox',
      remediatedAt: '2026-11-30T08:00:00.000Z',
    };
    await store.recordRemediatedCopy(copy);
    await store.markRestored(
      copy.threatKey,
      copy.recipient,
      copy.internetMessageId,
      '2026-11-30T09:00:00.000Z',
    );
    expect(
      (await store.getRemediatedCopy(copy.threatKey, copy.recipient, copy.internetMessageId))?.restoredAt,
    ).toBe('2026-11-30T09:00:00.000Z');
    await store.recordRemediatedCopy(copy);
    expect(
      (await store.getRemediatedCopy(copy.threatKey, copy.recipient, copy.internetMessageId))?.restoredAt,
    ).toBeUndefined();
    await store.markRestored(copy.threatKey, 'nobody@contoso.com', '<none@x>', '2026-11-30T09:00:00.000Z');
  });

  it('records the same delivery twice as one ledger row', async () => {
    const store = make();
    const threatKey = `url-${'e'.repeat(36)}${n}`;
    const entry = { threatKey, internetMessageId: '<d1@x>', recipient: 'Bob@contoso.com' };
    await store.recordDeliveries([entry]);
    await store.recordDeliveries([entry]);
    const page = await store.listDeliveries(threatKey, { pageSize: 10 });
    expect(page.items.map((d) => d.recipient)).toEqual(['bob@contoso.com']);
  });

  it('gives an event to its first claimant until the claim is released', async () => {
    const store = make();
    const eventId = `evt-${n}-${Math.random()}`;
    expect(await store.claimEvent('contract', eventId, 'v1')).toEqual({ verdictId: 'v1', created: true });
    expect(await store.claimEvent('contract', eventId, 'v2')).toEqual({ verdictId: 'v1', created: false });
    await store.releaseEvent('contract', eventId);
    expect(await store.claimEvent('contract', eventId, 'v3')).toEqual({ verdictId: 'v3', created: true });
  });
});
