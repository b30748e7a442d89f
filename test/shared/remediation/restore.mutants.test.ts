import { describe, expect, it } from 'vitest';

import type { ActionOutcome, CallOptions, MailBackend } from '../../../shared/ports/mail.js';
import type { RemediatedCopy, RemediationRecord } from '../../../shared/ports/results.js';
import { claimRow, type Lease } from '../../../shared/remediation/lease.js';
import { restoreCopies, restoreWithoutMailbox } from '../../../shared/remediation/restore.js';
import { InMemoryResultStore } from '../../../shared/results/memory/inMemoryResultStore.js';
import type { RemediationMessage } from '../../../shared/verdicts/messages.js';
import { InMemoryMailBackend } from '../../fakes/inMemoryMailBackend.js';

const verdictId = 'v-clean';
const recipient = 'alice@contoso.com';
const internetMessageId = '<m1@mail.example.com>';
const threatKey = 'sha256-restore';
const rowKey = `${recipient}|restore`;

const copyOf = (over: Partial<RemediatedCopy> = {}): RemediatedCopy => ({
  threatKey,
  recipient,
  internetMessageId,
  action: 'moveToJunk',
  profile: 'default',
  backend: 'graph',
  verdictId: 'v-malicious',
  originalFolder: 'Invoices',
  remediatedAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

async function setUp(mode: 'enforce' | 'simulate', previous: RemediatedCopy, earlier?: 'restore') {
  const store = new InMemoryResultStore();
  await store.recordRemediatedCopy(previous);
  const record: RemediationRecord = {
    verdictId,
    rowKey,
    recipient,
    internetMessageId,
    action: 'restore',
    status: 'pending',
    attempts: 0,
    updatedAt: new Date().toISOString(),
    ...(earlier ? { intent: JSON.stringify({ action: earlier, owner: 'owner-old', at: 'x' }) } : {}),
  };
  const etags = new Map<string, string>();
  await store.createRemediations([record], undefined, etags);
  const message: RemediationMessage = {
    verdictId,
    rowKey,
    recipient,
    internetMessageId,
    verdict: 'clean',
    action: 'restore',
    mode,
    threatKey,
    attempt: 1,
    rowEtag: earlier ? undefined : etags.get(rowKey),
  };
  const writes: Promise<void>[] = [];
  const deps = {
    store,
    now: () => new Date('2026-02-02T00:00:00.000Z'),
    leaseMs: 60_000,
    log: () => undefined,
    audit: { who: 'clawback', verdictId, writes },
  };
  const claim = await claimRow(message, 'owner-a', deps);
  if (claim.kind !== 'owned') throw new Error(claim.kind);
  const lease: Lease = claim.lease;
  const backend = new InMemoryMailBackend();
  const ctx = (b: MailBackend = backend) => ({
    message,
    lease,
    previous,
    who: { profile: previous.profile, backend: previous.backend },
    backend: b,
    deps,
    options: {},
  });
  const restored = async () =>
    (await store.getRemediatedCopy(threatKey, recipient, internetMessageId))?.restoredAt;
  return { store, deps, lease, backend, ctx, restored };
}

/** A backend whose restore answers as scripted, and remembers the options it was called with. */
function scripted(answer: ActionOutcome) {
  const seen: CallOptions[] = [];
  const backend: MailBackend = Object.assign(new InMemoryMailBackend(), {
    restoreMessage: (_m: string, _c: unknown, _p: unknown, options?: CallOptions) => {
      seen.push(options ?? {});
      return Promise.resolve(answer);
    },
  });
  return { backend, seen };
}

describe('restoreWithoutMailbox', () => {
  it('explains a copy Clawback never changed', () => {
    expect(restoreWithoutMailbox(undefined)).toEqual({
      status: 'notFound',
      fields: {
        reason: 'MessageNotFound',
        detail:
          'Clawback has no record of changing this copy for this threat, so there is nothing to restore.',
      },
    });
  });

  it.each([
    ['hardDelete', 'permanently deleted'],
    ['forward', 'forwarded (the original was left in place)'],
    ['forwardAndDelete', 'forwarded and deleted'],
  ] as const)('names the profile and backend of a %s copy that cannot be undone', (action, words) => {
    expect(restoreWithoutMailbox(copyOf({ action, profile: 'p1', backend: 'ews' }))).toEqual({
      status: 'notReversible',
      fields: {
        profile: 'p1',
        backend: 'ews',
        detail: `This copy was ${words} by verdict v-malicious; that cannot be undone.`,
      },
    });
  });
});

describe('restoreCopies in simulate mode', () => {
  it('moves nothing, marks nothing restored and says where it would have put the copy', async () => {
    const { backend, ctx, restored, store } = await setUp('simulate', copyOf());
    backend.deliver(recipient, internetMessageId, 'junkemail');
    const outcome = await restoreCopies(ctx());
    expect(backend.items(recipient)[0]?.folderId).toBe('junkemail');
    expect(backend.actions).toEqual([]);
    expect(await restored()).toBeUndefined();
    expect((await store.getRemediation(verdictId, rowKey))!.value.intent).toBeUndefined();
    expect(outcome).toEqual({
      status: 'simulated',
      fields: {
        profile: 'default',
        backend: 'graph',
        originalFolder: 'Invoices',
        quarantineLocation: undefined,
        reason: undefined,
        detail: 'Would restore the copy to Invoices; simulate mode changed nothing.',
      },
    });
  });

  it('says "its original folder" when the record has none', async () => {
    const { ctx } = await setUp('simulate', copyOf({ originalFolder: undefined }));
    const outcome = await restoreCopies(ctx());
    expect(outcome?.fields.detail).toBe(
      'Would restore the copy to its original folder; simulate mode changed nothing.',
    );
  });
});

describe('restoreCopies in enforce mode', () => {
  it('refuses a backend that cannot restore, naming the profile and backend kind', async () => {
    const { ctx, restored } = await setUp('enforce', copyOf({ profile: 'p-ews' }));
    const noRestore = Object.assign(new InMemoryMailBackend('ews'), { restoreMessage: undefined });
    await expect(
      restoreCopies({ ...ctx(noRestore), who: { profile: 'p-ews', backend: 'ews' } }),
    ).rejects.toThrow('Profile p-ews (ews) cannot restore messages.');
    expect(await restored()).toBeUndefined();
  });

  it('puts the copy back, marks the record restored and says what it undid', async () => {
    const { backend, ctx, restored } = await setUp('enforce', copyOf());
    backend.deliver(recipient, internetMessageId, 'junkemail');
    const outcome = await restoreCopies(ctx());
    expect(backend.items(recipient)[0]?.folderId).toBe('Invoices');
    expect(await restored()).toBe('2026-02-02T00:00:00.000Z');
    expect(outcome).toMatchObject({
      status: 'succeeded',
      fields: { detail: 'Restored to Invoices (undoing moveToJunk).' },
    });
  });

  it('says "its original folder" for a restored copy whose record names none', async () => {
    const { backend, ctx } = await setUp('enforce', copyOf({ originalFolder: undefined }));
    backend.deliver(recipient, internetMessageId, 'junkemail');
    const outcome = await restoreCopies(ctx());
    expect(backend.items(recipient)[0]?.folderId).toBe('inbox');
    expect(outcome).toMatchObject({
      status: 'succeeded',
      fields: { detail: 'Restored to its original folder (undoing moveToJunk).' },
    });
  });

  it('finds the copy already back: alreadyRemediated, nothing moved', async () => {
    const { backend, ctx, restored } = await setUp('enforce', copyOf());
    backend.deliver(recipient, internetMessageId, 'Invoices');
    const outcome = await restoreCopies(ctx());
    expect(backend.actions).toEqual([]);
    expect(await restored()).toBe('2026-02-02T00:00:00.000Z');
    expect(outcome).toMatchObject({
      status: 'alreadyRemediated',
      fields: { detail: 'The copy was already back.' },
    });
  });

  it('counts a copy already back as succeeded when an earlier owner of the row was restoring it', async () => {
    const { backend, ctx, lease } = await setUp('enforce', copyOf(), 'restore');
    expect(lease.earlier?.action).toBe('restore');
    backend.deliver(recipient, internetMessageId, 'Invoices');
    const outcome = await restoreCopies(ctx());
    expect(backend.actions).toEqual([]);
    expect(outcome).toMatchObject({ status: 'succeeded', fields: { detail: 'The copy was already back.' } });
  });

  it("keeps the backend's own detail", async () => {
    const { ctx } = await setUp('enforce', copyOf());
    const { backend } = scripted({ status: 'succeeded', detail: 'imported from MIME' });
    const outcome = await restoreCopies(ctx(backend));
    expect(outcome).toMatchObject({ status: 'succeeded', fields: { detail: 'imported from MIME' } });
  });

  it('passes the lease signal and the audit scope to the mailbox call', async () => {
    const { ctx, lease, deps } = await setUp('enforce', copyOf());
    const { backend, seen } = scripted({ status: 'succeeded' });
    await restoreCopies(ctx(backend));
    expect(seen).toHaveLength(1);
    expect(seen[0]?.abortSignal).toBe(lease.signal);
    expect(seen[0]?.audit).toBe(deps.audit);
  });

  it('ends partiallyRestored with what stayed behind', async () => {
    const { ctx, restored } = await setUp('enforce', copyOf());
    const { backend } = scripted({
      status: 'succeeded',
      detail: '2 of 3 back',
      notRestored: 'item-3 (locked)',
    });
    const outcome = await restoreCopies(ctx(backend));
    expect(await restored()).toBe('2026-02-02T00:00:00.000Z');
    expect(outcome).toEqual({
      status: 'partiallyRestored',
      fields: {
        profile: 'default',
        backend: 'graph',
        originalFolder: 'Invoices',
        quarantineLocation: undefined,
        reason: undefined,
        detail: '2 of 3 back; not restored: item-3 (locked)',
      },
    });
  });

  it('says "Some copies were restored" when the backend gives no detail for a partial restore', async () => {
    const { ctx } = await setUp('enforce', copyOf());
    const { backend } = scripted({ status: 'succeeded', notRestored: 'item-3' });
    const outcome = await restoreCopies(ctx(backend));
    expect(outcome).toMatchObject({
      status: 'partiallyRestored',
      fields: { detail: 'Some copies were restored; not restored: item-3' },
    });
  });
});
