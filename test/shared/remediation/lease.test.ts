import { describe, expect, it } from 'vitest';

import type { RemediationRecord } from '../../../shared/ports/results.js';
import { claimRow, writeAsOwner } from '../../../shared/remediation/lease.js';
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
  it('leases it with the ETag it was created with: no read, and the lease goes with the first write', async () => {
    const { store, reads, message, deps } = await freshRow();
    const claim = await claimRow(message, 'owner-a', deps);
    if (claim.kind !== 'owned') throw new Error(claim.kind);
    expect(reads.count).toBe(0);
    // Nothing written yet: the owner has only the right to try.
    expect((await store.getRemediation(verdictId, rowKey))!.value.status).toBe('pending');
    expect(
      await writeAsOwner(claim.lease, { intent: '{"action":"softDelete","owner":"owner-a"}' }, deps),
    ).toBe(true);
    const stored = (await store.getRemediation(verdictId, rowKey))!;
    expect(stored.value).toMatchObject({ status: 'inProgress', attempts: 1, leaseOwner: 'owner-a' });
    expect(stored.value.intent).toContain('softDelete');
    expect(claim.lease.etag).toBe(stored.etag);
  });

  it('lets exactly one of two concurrent first deliveries write; the other is refused and changed nothing', async () => {
    const { store, message, deps } = await freshRow();
    const claims = await Promise.all([
      claimRow(message, 'owner-a', deps),
      claimRow(message, 'owner-b', deps),
    ]);
    const written = await Promise.all(
      claims.map((c) =>
        c.kind === 'owned' ? writeAsOwner(c.lease, { status: 'notFound' }, deps) : Promise.resolve(false),
      ),
    );
    expect(written.filter(Boolean)).toHaveLength(1);
    const owner = written[0] ? 'owner-a' : 'owner-b';
    expect((await store.getRemediation(verdictId, rowKey))!.value).toMatchObject({
      leaseOwner: owner,
      status: 'notFound',
    });
  });

  it('is refused on a row that changed since it was created, which stays as it was', async () => {
    const { store, message, deps } = await freshRow();
    const now = (await store.getRemediation(verdictId, rowKey))!;
    await store.updateRemediation(verdictId, rowKey, { status: 'succeeded' }, now.etag);
    const claim = await claimRow(message, 'owner-a', deps);
    if (claim.kind !== 'owned') throw new Error(claim.kind);
    expect(await writeAsOwner(claim.lease, { status: 'notFound' }, deps)).toBe(false);
    expect((await store.getRemediation(verdictId, rowKey))!.value.status).toBe('succeeded');
    // Without the creation ETag (what remediate does next), the row is read and found finished.
    expect(await claimRow({ ...message, rowEtag: undefined }, 'owner-a', deps)).toEqual({
      kind: 'skipped',
      why: 'row is already succeeded',
    });
  });

  it('uses the creation ETag only for the first attempt; a retry reads the row', async () => {
    const { store, reads, message, deps } = await freshRow();
    const claim = await claimRow({ ...message, attempt: 2 }, 'owner-a', deps);
    expect(claim.kind).toBe('owned');
    expect(reads.count).toBe(1);
    expect((await store.getRemediation(verdictId, rowKey))!.value.attempts).toBe(2);
  });
});
