import { afterEach, describe, expect, it, vi } from 'vitest';

import {
  ConcurrencyConflictError,
  type RemediationPatch,
  type RemediationRecord,
} from '../../../shared/ports/results.js';
import {
  claimRow,
  parseIntent,
  recordIntent,
  releaseLease,
  writeAsOwner,
} from '../../../shared/remediation/lease.js';
import { InMemoryResultStore } from '../../../shared/results/memory/inMemoryResultStore.js';
import type { RemediationMessage } from '../../../shared/verdicts/messages.js';

const verdictId = 'v1';
const rowKey = 'ann@contoso.com|abc';
const t0 = new Date('2026-01-01T10:00:00.000Z');

/** A row as fan-out created it, then changed by `patch` (unconditionally, as a test set-up). */
async function row(patch: RemediationPatch = {}) {
  const store = new InMemoryResultStore();
  const record: RemediationRecord = {
    verdictId,
    rowKey,
    recipient: 'ann@contoso.com',
    internetMessageId: '<m@x>',
    action: 'softDelete',
    status: 'pending',
    attempts: 0,
    updatedAt: t0.toISOString(),
  };
  const etags = new Map<string, string>();
  await store.createRemediations([record], undefined, etags);
  if (Object.keys(patch).length > 0) {
    const current = (await store.getRemediation(verdictId, rowKey))!;
    await store.updateRemediation(verdictId, rowKey, patch, current.etag);
  }
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
  const deps = { store, now: () => t0, leaseMs: 60_000, sleep: () => Promise.resolve() };
  const stored = async () => (await store.getRemediation(verdictId, rowKey))!;
  return { store, message, deps, stored };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('parseIntent', () => {
  it('accepts an intent only with both a string action and a string owner', () => {
    expect(parseIntent('{"action":"softDelete","owner":"a","at":"x"}')).toEqual({
      action: 'softDelete',
      owner: 'a',
      at: 'x',
    });
    expect(parseIntent('{"owner":"a"}')).toBeUndefined();
    expect(parseIntent('{"action":"softDelete"}')).toBeUndefined();
    expect(parseIntent('{"action":1,"owner":2}')).toBeUndefined();
    expect(parseIntent('not json')).toBeUndefined();
  });

  it('hands a taken-over row no earlier intent when the recorded one lacks its owner', async () => {
    const { message, deps } = await row({
      status: 'inProgress',
      attempts: 1,
      intent: '{"action":"softDelete"}',
    });
    const claim = await claimRow({ ...message, rowEtag: undefined }, 'owner-b', deps);
    if (claim.kind !== 'owned') throw new Error(claim.kind);
    expect(claim.lease.earlier).toBeUndefined();
  });
});

describe('claimRow when it reads the row', () => {
  it('skips a row that does not exist, saying so', async () => {
    const { store, message, deps } = await row();
    expect(await claimRow({ ...message, rowKey: 'nobody|x', rowEtag: undefined }, 'a', deps)).toEqual({
      kind: 'skipped',
      why: 'no such remediation row',
    });
    expect(await store.getRemediation(verdictId, 'nobody|x')).toBeUndefined();
  });

  it('skips a stale copy of an attempt a pending row already counted, and leaves the row alone', async () => {
    const { message, deps, stored } = await row({ attempts: 2 });
    const before = await stored();
    expect(await claimRow({ ...message, attempt: 2 }, 'owner-a', deps)).toEqual({
      kind: 'skipped',
      why: 'attempt 2 was already made',
    });
    const after = await stored();
    expect(after.etag).toBe(before.etag);
    expect(after.value.leaseOwner).toBeUndefined();
    expect(after.value.status).toBe('pending');
  });

  it('skips an attempt an in-progress row has already moved past, and leaves the row alone', async () => {
    const { message, deps, stored } = await row({
      status: 'inProgress',
      attempts: 3,
      leaseOwner: 'owner-x',
      leaseExpiresAt: new Date(t0.getTime() - 1).toISOString(),
    });
    const before = await stored();
    expect(await claimRow({ ...message, attempt: 2 }, 'owner-a', deps)).toEqual({
      kind: 'skipped',
      why: 'attempt 3 supersedes 2',
    });
    const after = await stored();
    expect(after.etag).toBe(before.etag);
    expect(after.value.leaseOwner).toBe('owner-x');
  });

  it('takes over an in-progress row at the same attempt once its lease expired', async () => {
    const { message, deps, stored } = await row({
      status: 'inProgress',
      attempts: 2,
      leaseOwner: 'owner-x',
      leaseExpiresAt: new Date(t0.getTime() - 1).toISOString(),
    });
    const claim = await claimRow({ ...message, attempt: 2 }, 'owner-a', deps);
    expect(claim.kind).toBe('owned');
    expect((await stored()).value).toMatchObject({ leaseOwner: 'owner-a', attempts: 2 });
  });

  it('defers to a live lease of another owner, naming it, and writes nothing', async () => {
    const until = new Date(t0.getTime() + 1).toISOString();
    const { message, deps, stored } = await row({
      status: 'inProgress',
      attempts: 1,
      leaseOwner: 'owner-x',
      leaseExpiresAt: until,
    });
    const before = await stored();
    expect(await claimRow({ ...message, rowEtag: undefined }, 'owner-a', deps)).toEqual({
      kind: 'deferred',
      until: new Date(until),
      why: `another delivery (owner-x) holds the row until ${until}`,
    });
    expect((await stored()).etag).toBe(before.etag);
  });

  it('takes over a lease that expires exactly now', async () => {
    const { message, deps, stored } = await row({
      status: 'inProgress',
      attempts: 1,
      leaseOwner: 'owner-x',
      leaseExpiresAt: t0.toISOString(),
    });
    const claim = await claimRow({ ...message, rowEtag: undefined }, 'owner-a', deps);
    expect(claim.kind).toBe('owned');
    expect((await stored()).value).toMatchObject({
      leaseOwner: 'owner-a',
      leaseExpiresAt: new Date(t0.getTime() + 60_000).toISOString(),
    });
  });

  it('gives up after five refused claims, having tried exactly five times', async () => {
    const { store, message, deps, stored } = await row();
    let writes = 0;
    store.updateRemediation = () => {
      writes += 1;
      if (writes > 6) return Promise.reject(new Error('looping'));
      return Promise.reject(new ConcurrencyConflictError('changed'));
    };
    expect(await claimRow({ ...message, rowEtag: undefined }, 'owner-a', deps)).toEqual({
      kind: 'skipped',
      why: 'the row kept changing while it was being claimed',
    });
    expect(writes).toBe(5);
    expect((await stored()).value.leaseOwner).toBeUndefined();
  });

  it('lets a storage failure that is not a conflict propagate instead of retrying the claim', async () => {
    const { store, message, deps } = await row();
    const get = vi.spyOn(store, 'getRemediation');
    store.updateRemediation = () => Promise.reject(new Error('table down'));
    await expect(claimRow({ ...message, rowEtag: undefined }, 'owner-a', deps)).rejects.toMatchObject({
      name: 'StorageStepError',
    });
    expect(get).toHaveBeenCalledTimes(1);
  });
});

describe('the lease signal', () => {
  it('fires when the caller aborts', async () => {
    const { message, deps } = await row();
    const controller = new AbortController();
    const claim = await claimRow(message, 'owner-a', deps, { abortSignal: controller.signal });
    if (claim.kind !== 'owned') throw new Error(claim.kind);
    expect(claim.lease.signal.aborted).toBe(false);
    controller.abort();
    expect(claim.lease.signal.aborted).toBe(true);
  });

  it('is timed to run out the safety margin before the lease does', async () => {
    const { message, deps } = await row();
    const timeout = vi.spyOn(AbortSignal, 'timeout');
    await claimRow(message, 'owner-a', deps);
    expect(timeout).toHaveBeenCalledWith(59_500);
  });
});

describe('recordIntent', () => {
  it('writes no folders when there are none', async () => {
    const { message, deps, stored } = await row();
    const claim = await claimRow(message, 'owner-a', deps);
    if (claim.kind !== 'owned') throw new Error(claim.kind);
    expect(await recordIntent(claim.lease, { action: 'softDelete', folders: [] }, deps)).toBe(true);
    expect(JSON.parse((await stored()).value.intent!)).toEqual({
      action: 'softDelete',
      owner: 'owner-a',
      at: t0.toISOString(),
    });
  });
});

describe('releaseLease', () => {
  it('writes nothing for a lease never written: the fresh row stays pending and unleased', async () => {
    const { message, deps, stored } = await row();
    const before = await stored();
    const claim = await claimRow(message, 'owner-a', deps);
    if (claim.kind !== 'owned') throw new Error(claim.kind);
    await releaseLease(claim.lease, deps);
    const after = await stored();
    expect(after.etag).toBe(before.etag);
    expect(after.value.status).toBe('pending');
    expect(after.value.leaseOwner).toBeUndefined();
    // The lease can still make its first write: nothing took its creation ETag.
    expect(await writeAsOwner(claim.lease, { status: 'notFound' }, deps)).toBe(true);
  });

  it('sets the lease expiry of a written lease to now, so the next delivery need not wait', async () => {
    const { message, deps, stored } = await row();
    const claim = await claimRow({ ...message, rowEtag: undefined }, 'owner-a', deps);
    if (claim.kind !== 'owned') throw new Error(claim.kind);
    expect((await stored()).value.leaseExpiresAt).toBe(new Date(t0.getTime() + 60_000).toISOString());
    const later = new Date(t0.getTime() + 1_000);
    await releaseLease(claim.lease, { ...deps, now: () => later });
    expect((await stored()).value).toMatchObject({
      leaseOwner: 'owner-a',
      leaseExpiresAt: later.toISOString(),
    });
    const next = await claimRow({ ...message, rowEtag: undefined }, 'owner-b', {
      ...deps,
      now: () => later,
    });
    expect(next.kind).toBe('owned');
  });
});
