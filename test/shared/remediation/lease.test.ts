import { describe, expect, it } from 'vitest';

import type { RemediationRecord } from '../../../shared/ports/results.js';
import { claimRow } from '../../../shared/remediation/lease.js';
import { InMemoryResultStore } from '../../../shared/results/memory/inMemoryResultStore.js';
import type { RemediationMessage } from '../../../shared/verdicts/messages.js';

const verdictId = 'v1';
const rowKey = 'ann@contoso.com|abc';

async function freshRow() {
  const store = new InMemoryResultStore();
  const reads = { count: 0 };
  const getRemediation = store.getRemediation;
  store.getRemediation = (...a) => {
    reads.count += 1;
    return getRemediation(...a);
  };
  const record: RemediationRecord = {
    verdictId,
    rowKey,
    recipient: 'ann@contoso.com',
    internetMessageId: '<m@x>',
    action: 'softDelete',
    status: 'pending',
    attempts: 0,
    updatedAt: new Date().toISOString(),
  };
  const etags = new Map<string, string>();
  await store.createRemediations([record], undefined, etags);
  const message: RemediationMessage = {
    verdictId,
    rowKey,
    recipient: record.recipient,
    internetMessageId: record.internetMessageId,
    verdict: 'malicious',
    action: 'softDelete',
    mode: 'enforce',
    threatKey: 'sha256-x',
    attempt: 1,
    rowEtag: etags.get(rowKey)!,
  };
  const deps = { store, now: () => new Date(), leaseMs: 60_000 };
  return { store, reads, message, deps };
}

describe('leasing a row fan-out just created', () => {
  it('leases it with the ETag it was created with, reading nothing', async () => {
    const { store, reads, message, deps } = await freshRow();
    const claim = await claimRow(message, 'owner-a', deps);
    expect(claim.kind).toBe('owned');
    expect(reads.count).toBe(0);
    const stored = (await store.getRemediation(verdictId, rowKey))!;
    expect(stored.value).toMatchObject({ status: 'inProgress', attempts: 1, leaseOwner: 'owner-a' });
    // The lease's ETag is the row's current one: the owner's next write lands.
    expect(claim.kind === 'owned' && claim.lease.etag).toBe(stored.etag);
  });

  it('gives the row to exactly one of two concurrent first deliveries; the other defers after reading it', async () => {
    const { store, reads, message, deps } = await freshRow();
    const claims = await Promise.all([
      claimRow(message, 'owner-a', deps),
      claimRow(message, 'owner-b', deps),
    ]);
    expect(claims.map((c) => c.kind).sort()).toEqual(['deferred', 'owned']);
    expect(reads.count).toBe(1);
    const owner = claims.findIndex((c) => c.kind === 'owned') === 0 ? 'owner-a' : 'owner-b';
    expect((await store.getRemediation(verdictId, rowKey))!.value.leaseOwner).toBe(owner);
  });

  it('reads a row that changed since it was created, and honours what it finds', async () => {
    const { store, reads, message, deps } = await freshRow();
    const now = (await store.getRemediation(verdictId, rowKey))!;
    await store.updateRemediation(verdictId, rowKey, { status: 'succeeded' }, now.etag);
    reads.count = 0;
    const claim = await claimRow(message, 'owner-a', deps);
    expect(claim).toEqual({ kind: 'skipped', why: 'row is already succeeded' });
    expect(reads.count).toBe(1);
  });

  it('uses the creation ETag only for the first attempt; a retry reads the row', async () => {
    const { store, reads, message, deps } = await freshRow();
    const claim = await claimRow({ ...message, attempt: 2 }, 'owner-a', deps);
    expect(claim.kind).toBe('owned');
    expect(reads.count).toBe(1);
    expect((await store.getRemediation(verdictId, rowKey))!.value.attempts).toBe(2);
  });
});
