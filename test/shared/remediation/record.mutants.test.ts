import { describe, expect, it } from 'vitest';

import { ConcurrencyConflictError, type RemediationRecord } from '../../../shared/ports/results.js';
import { claimRow, type Lease, recordIntent } from '../../../shared/remediation/lease.js';
import { finishRow, type Outcome } from '../../../shared/remediation/record.js';
import { InMemoryResultStore } from '../../../shared/results/memory/inMemoryResultStore.js';
import type { RemediationMessage } from '../../../shared/verdicts/messages.js';

const verdictId = 'v-record';
const rowKey = 'ann@contoso.com|rec';

/** A leased row whose lease is on the stored row (the intent was written), as finishRow meets it. */
async function leasedRow() {
  const store = new InMemoryResultStore();
  const record: RemediationRecord = {
    verdictId,
    rowKey,
    recipient: 'ann@contoso.com',
    internetMessageId: '<m@x>',
    action: 'moveToJunk',
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
    action: 'moveToJunk',
    mode: 'enforce',
    threatKey: 'sha256-rec',
    attempt: 1,
    rowEtag: etags.get(rowKey)!,
  };
  const lines: string[] = [];
  const deps = { store, now: () => new Date(), leaseMs: 60_000, log: (l: string) => lines.push(l) };
  const claim = await claimRow(message, 'owner-a', deps);
  if (claim.kind !== 'owned') throw new Error(claim.kind);
  const lease: Lease = claim.lease;
  expect(await recordIntent(lease, { action: 'moveToJunk' }, deps)).toBe(true);
  return { store, deps, lease, lines };
}

const stored = async (store: InMemoryResultStore) => (await store.getRemediation(verdictId, rowKey))!.value;

describe('finishRow when the terminal write comes back as a conflict', () => {
  it('counts the row as its own when the write landed before the conflict (same owner, same status)', async () => {
    const { store, deps, lease, lines } = await leasedRow();
    const update = store.updateRemediation.bind(store);
    store.updateRemediation = async (...a) => {
      await update(...a);
      throw new ConcurrencyConflictError('landed, then lost the answer');
    };
    const outcome: Outcome = { status: 'succeeded', fields: { detail: 'moved' } };
    expect(await finishRow(lease, outcome, deps)).toBe(true);
    expect(await stored(store)).toMatchObject({ status: 'succeeded', leaseOwner: 'owner-a' });
    expect(lines).toEqual([`remediation finished status=succeeded verdict=${verdictId} row=${rowKey}`]);
  });

  it('hands the row over when the write never landed: the row is still inProgress under this owner', async () => {
    const { store, deps, lease, lines } = await leasedRow();
    store.updateRemediation = () => Promise.reject(new ConcurrencyConflictError('changed'));
    const outcome: Outcome = { status: 'succeeded', fields: {} };
    expect(await finishRow(lease, outcome, deps)).toBe(false);
    expect(await stored(store)).toMatchObject({ status: 'inProgress', leaseOwner: 'owner-a' });
    expect(lines).toEqual([
      `remediation handed over verdict=${verdictId} row=${rowKey}: another delivery took the row`,
    ]);
  });

  it('hands the row over when another owner finished it', async () => {
    const { store, deps, lease, lines } = await leasedRow();
    const update = store.updateRemediation.bind(store);
    store.updateRemediation = async (v, r, patch, etag, o) => {
      await update(v, r, { ...patch, leaseOwner: 'owner-b' }, etag, o);
      throw new ConcurrencyConflictError('taken over');
    };
    expect(await finishRow(lease, { status: 'succeeded', fields: {} }, deps)).toBe(false);
    expect(await stored(store)).toMatchObject({ leaseOwner: 'owner-b' });
    expect(lines[0]).toContain('remediation handed over');
  });
});

describe('the log line of a finished row (alert rules match it)', () => {
  it('names the reason of a failed row', async () => {
    const { store, deps, lease, lines } = await leasedRow();
    const outcome: Outcome = { status: 'failed', fields: { reason: 'PermissionError' } };
    expect(await finishRow(lease, outcome, deps)).toBe(true);
    expect(await stored(store)).toMatchObject({ status: 'failed', reason: 'PermissionError' });
    expect(lines).toEqual([`remediation failed reason=PermissionError verdict=${verdictId} row=${rowKey}`]);
  });

  it('says Unknown for a failed row without a reason', async () => {
    const { store, deps, lease, lines } = await leasedRow();
    expect(await finishRow(lease, { status: 'failed', fields: {} }, deps)).toBe(true);
    expect(await stored(store)).toMatchObject({ status: 'failed' });
    expect(lines).toEqual([`remediation failed reason=Unknown verdict=${verdictId} row=${rowKey}`]);
  });

  it('says finished with the status for any other outcome', async () => {
    const { store, deps, lease, lines } = await leasedRow();
    expect(await finishRow(lease, { status: 'notFound', fields: { reason: 'MessageNotFound' } }, deps)).toBe(
      true,
    );
    expect(await stored(store)).toMatchObject({ status: 'notFound' });
    expect(lines).toEqual([`remediation finished status=notFound verdict=${verdictId} row=${rowKey}`]);
  });
});
