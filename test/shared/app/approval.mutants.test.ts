import { describe, expect, it } from 'vitest';

import {
  applyApprovalGate,
  approvalDeadline,
  type ApprovalDeps,
  decideApproval,
  expire,
  expireWaiting,
  isConflict,
  systemCaller,
  undoSource,
} from '../../../shared/app/approval.js';
import { InMemoryAuditLog } from '../../../shared/audit/inMemoryAuditLog.js';
import type { ConfigDocumentInput } from '../../../shared/config/document.js';
import { ClawbackError } from '../../../shared/errors.js';
import type { OutgoingMessage, QueueSender } from '../../../shared/ports/queue.js';
import {
  ConcurrencyConflictError,
  emptyCounts,
  type RemediationRecord,
  type RemediationStatus,
  type VerdictRecord,
} from '../../../shared/ports/results.js';
import type { Decision } from '../../../shared/remediation/policy.js';
import { InMemoryResultStore } from '../../../shared/results/memory/inMemoryResultStore.js';
import { newVerdictId, threatKey } from '../../../shared/verdicts/ids.js';
import type { RemediationMessage, VerdictMessage } from '../../../shared/verdicts/messages.js';
import { rejection } from '../../support/identity.js';
import { configDocument } from '../../support/services.js';

const now = new Date('2026-11-30T12:00:00.000Z');
const hour = 3_600_000;
const sha = 'ef'.repeat(32);
const key = threatKey({ sha256: sha });

function recordingQueue() {
  const sends: { queue: string; messages: OutgoingMessage[] }[] = [];
  const queue: QueueSender = {
    send: (name, messages) => {
      sends.push({ queue: name, messages });
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  return { queue, sends };
}

const gatedConfig = (policy: Partial<NonNullable<ConfigDocumentInput['policies']>[number]> = {}) =>
  configDocument({
    policies: [
      { verdict: 'malicious', action: 'softDelete', approvalAbove: 2, ...policy },
      { verdict: 'clean', action: 'restore', approvalAbove: 2 },
    ],
  });

// ---------------------------------------------------------------------------------------------------
// The blast-radius gate

function verdictMessage(
  recipients: string[] | undefined,
  verdict: 'malicious' | 'clean' = 'malicious',
): VerdictMessage {
  return {
    verdictId: newVerdictId(now, () => '0000000001'),
    acceptedAt: now.toISOString(),
    change: {
      eventId: 'evt-gate',
      source: 'soar',
      verdict,
      threat: { sha256: sha },
      ...(recipients === undefined
        ? {}
        : { messages: [{ internetMessageId: '<m1@evil.example>', recipients }] }),
    },
  };
}

const enforce: Decision = { action: 'softDelete', mode: 'enforce' };

async function gate(
  message: VerdictMessage,
  decision: Decision,
  options: {
    config?: ReturnType<typeof configDocument>;
    store?: InMemoryResultStore;
    withClock?: boolean;
  } = {},
) {
  const store = options.store ?? new InMemoryResultStore();
  const audit = new InMemoryAuditLog();
  const gated = await applyApprovalGate(message, decision, {
    store,
    config: options.config ?? gatedConfig(),
    audit,
    ...(options.withClock === false ? {} : { now: () => now }),
  });
  return { gated, audit, store };
}

const recipients = (n: number) => Array.from({ length: n }, (_, i) => `user${i}@contoso.com`);

describe('applyApprovalGate', () => {
  it('lets a verdict through unchanged when its policy sets no approvalAbove, and audits the decision', async () => {
    const { gated, audit } = await gate(
      verdictMessage(recipients(50)),
      { ...enforce, note: 'requested hardDelete' },
      {
        config: configDocument(),
      },
    );
    expect(gated).toEqual({ ...enforce, note: 'requested hardDelete', verdictPatch: {} });
    expect(audit.entries).toEqual([
      {
        who: 'clawback:fanOutVerdict',
        what: 'policyDecision',
        verdictId: verdictMessage(undefined).verdictId,
        detail: 'malicious from soar: action softDelete, mode enforce (requested hardDelete)',
        at: now,
      },
    ]);
  });

  it('holds a verdict naming more copies than approvalAbove: simulated first, awaiting approval', async () => {
    const { gated, audit } = await gate(verdictMessage(recipients(3)), enforce);
    expect(gated).toEqual({ action: 'softDelete', mode: 'simulate', verdictPatch: { approvalAbove: 2 } });
    expect(audit.entries.map((e) => e.detail)).toEqual([
      'malicious from soar: action softDelete, mode simulate; more than 2 copies (approvalAbove), so simulated first and awaiting approval',
    ]);
  });

  it('lets through a verdict with exactly approvalAbove copies, counting a recipient once', async () => {
    const { gated, audit } = await gate(
      verdictMessage(['a@contoso.com', 'B@contoso.com', 'b@contoso.com', 'a@contoso.com']),
      enforce,
    );
    expect(gated).toEqual({ ...enforce, verdictPatch: {} });
    expect(audit.entries[0]?.detail).toBe('malicious from soar: action softDelete, mode enforce');
  });

  it('does not hold what changes nothing: a simulation or the action none', async () => {
    for (const decision of [
      { action: 'softDelete', mode: 'simulate' },
      { action: 'none', mode: 'enforce' },
    ] as Decision[]) {
      const { gated } = await gate(verdictMessage(recipients(10)), decision);
      expect(gated).toEqual({ ...decision, verdictPatch: {} });
    }
  });

  it('a redelivered fan-out keeps the decision made: rejected stays simulated, approved runs enforced', async () => {
    const message = verdictMessage(recipients(10));
    const base: VerdictRecord = {
      verdictId: message.verdictId,
      source: 'soar',
      eventId: 'evt-gate',
      verdict: 'malicious',
      status: 'rejected',
      recipients: 10,
      ...emptyCounts(),
      done: 0,
      receivedAt: now.toISOString(),
      approvedBy: 'key:ops',
    };

    const rejectedStore = new InMemoryResultStore();
    await rejectedStore.createVerdict(base);
    const rejected = await gate(message, enforce, { store: rejectedStore });
    expect(rejected.gated).toEqual({ ...enforce, mode: 'simulate', verdictPatch: {} });
    expect(rejected.audit.entries[0]?.detail).toBe('malicious from soar: action softDelete, mode simulate');

    const approvedStore = new InMemoryResultStore();
    await approvedStore.createVerdict({ ...base, status: 'fannedOut' });
    expect((await gate(message, enforce, { store: approvedStore })).gated).toEqual({
      ...enforce,
      verdictPatch: {},
    });
  });

  it('without messages in the verdict, counts the delivery ledger, page after page', async () => {
    const store = new InMemoryResultStore();
    const delivered = recipients(1600).map((recipient) => ({
      threatKey: key,
      internetMessageId: '<m1@evil.example>',
      recipient,
    }));
    await store.recordDeliveries(delivered);
    const pages: (string | undefined)[] = [];
    const list = store.listDeliveries.bind(store);
    store.listDeliveries = (k, page, options) => {
      pages.push(page.continuationToken);
      return list(k, page, options);
    };

    const held = await gate(verdictMessage(undefined), enforce, {
      store,
      config: gatedConfig({ approvalAbove: 1500 }),
    });
    expect(held.gated.verdictPatch).toEqual({ approvalAbove: 1500 });
    expect(pages).toHaveLength(2);

    pages.length = 0;
    const enough = await gate(verdictMessage(undefined), enforce, {
      store,
      config: gatedConfig({ approvalAbove: 5 }),
    });
    expect(enough.gated.verdictPatch).toEqual({ approvalAbove: 5 });
    // Counting stops at approvalAbove + 1: one page was enough.
    expect(pages).toEqual([undefined]);

    const under = await gate(verdictMessage([]), enforce, {
      store,
      config: gatedConfig({ approvalAbove: 1600 }),
    });
    expect(under.gated).toEqual({ ...enforce, verdictPatch: {} });
  });

  it('a verdict that names its messages is counted from them alone, not from the ledger', async () => {
    const store = new InMemoryResultStore();
    await store.recordDeliveries(
      recipients(10).map((recipient) => ({
        threatKey: key,
        internetMessageId: '<m1@evil.example>',
        recipient,
      })),
    );
    const { gated } = await gate(verdictMessage(['a@contoso.com']), enforce, { store });
    expect(gated).toEqual({ ...enforce, verdictPatch: {} });
  });

  it('a restore is counted from the copies Clawback changed, not from the ledger', async () => {
    const store = new InMemoryResultStore();
    await store.recordDeliveries(
      recipients(10).map((recipient) => ({
        threatKey: key,
        internetMessageId: '<m1@evil.example>',
        recipient,
      })),
    );
    const restore: Decision = { action: 'restore', mode: 'enforce' };
    expect((await gate(verdictMessage(undefined, 'clean'), restore, { store })).gated.verdictPatch).toEqual(
      {},
    );

    for (const recipient of recipients(3))
      await store.recordRemediatedCopy({
        threatKey: key,
        recipient,
        internetMessageId: '<m1@evil.example>',
        action: 'softDelete',
        profile: 'contoso-online',
        backend: 'graph',
        verdictId: 'v',
        remediatedAt: now.toISOString(),
      });
    expect((await gate(verdictMessage(undefined, 'clean'), restore, { store })).gated).toEqual({
      ...restore,
      mode: 'simulate',
      verdictPatch: { approvalAbove: 2 },
    });
  });

  it('a failing audit write does not fail the gate; without a clock of its own it audits the time now', async () => {
    const failing = await applyApprovalGate(verdictMessage(recipients(3)), enforce, {
      store: new InMemoryResultStore(),
      config: gatedConfig(),
      audit: { append: () => Promise.reject(new Error('table down')), list: () => Promise.resolve([]) },
    });
    expect(failing.mode).toBe('simulate');

    const before = Date.now();
    const { audit } = await gate(verdictMessage(recipients(1)), enforce, { withClock: false });
    expect(audit.entries[0]?.at.getTime()).toBeGreaterThanOrEqual(before);
  });
});

// ---------------------------------------------------------------------------------------------------
// Approve, reject, expire

const verdictId = newVerdictId(new Date(now.getTime() - hour), () => '0123456789');

function heldVerdict(overrides: Partial<VerdictRecord> = {}): VerdictRecord {
  return {
    verdictId,
    source: 'soar',
    eventId: 'evt-held',
    verdict: 'malicious',
    sha256: sha,
    action: 'softDelete',
    mode: 'simulate',
    status: 'awaitingApproval',
    approvalAbove: 2,
    recipients: 5,
    ...emptyCounts(),
    done: 0,
    receivedAt: new Date(now.getTime() - hour).toISOString(),
    ...overrides,
  };
}

function row(
  recipient: string,
  status: RemediationStatus,
  extra: Partial<RemediationRecord> = {},
): RemediationRecord {
  return {
    verdictId,
    rowKey: `${recipient}|k`,
    recipient,
    internetMessageId: '<m1@evil.example>',
    action: 'softDelete',
    status,
    attempts: status === 'pending' ? 0 : 1,
    updatedAt: '2026-11-30T10:00:00.000Z',
    ...extra,
  };
}

const simulationRows = [
  row('a@contoso.com', 'simulated'),
  row('b@contoso.com', 'simulated'),
  row('c@contoso.com', 'simulated'),
  row('d@contoso.com', 'notFound'),
  row('e@contoso.com', 'pending', { derivedFrom: 'a@contoso.com <m0@x>' }),
  row('f@contoso.com', 'pending', { attempts: 2 }),
];

async function held(
  verdict: VerdictRecord = heldVerdict(),
  rows: RemediationRecord[] = simulationRows,
  clock: Date | null = now,
) {
  const store = new InMemoryResultStore();
  await store.createVerdict(verdict);
  await store.createRemediations(rows);
  const { queue, sends } = recordingQueue();
  const audit = new InMemoryAuditLog();
  const deps: ApprovalDeps = {
    store,
    queue,
    config: configDocument({ settings: { approvalHours: 24 } }),
    checkDelayMs: 500,
    audit,
    ...(clock ? { now: () => clock } : {}),
  };
  const rowsNow = async () =>
    Object.fromEntries(
      (await store.listRemediations(verdictId, { pageSize: 1000 })).items.map((r) => [r.recipient, r.status]),
    );
  return { store, sends, audit, deps, rowsNow };
}

const remediationsSent = (sends: { queue: string; messages: OutgoingMessage[] }[]) =>
  sends.filter((s) => s.queue === 'remediations').flatMap((s) => s.messages);
const checksSent = (sends: { queue: string; messages: OutgoingMessage[] }[]) =>
  sends.filter((s) => s.queue === 'verdicts').flatMap((s) => s.messages);

describe('decideApproval', () => {
  it('an unknown verdict is not found', async () => {
    const { deps, sends, audit } = await held();
    expect(await decideApproval('8000000000000-ffffffffff', 'approve', 'key:ops', undefined, deps)).toEqual({
      kind: 'notFound',
    });
    expect(sends).toEqual([]);
    expect(audit.entries).toEqual([]);
  });

  it('approval reopens exactly the simulated rows, queues them enforced, and starts a new chain of checks', async () => {
    const { store, deps, sends, audit, rowsNow } = await held();

    const before = Date.now();
    const result = await decideApproval(verdictId, 'approve', 'key:ops', 'checked with HR', deps);
    const after = Date.now();

    const verdict = await store.getVerdict(verdictId);
    expect(verdict).toMatchObject({ status: 'fannedOut', mode: 'enforce', approvedBy: 'key:ops' });
    expect(result).toEqual({ kind: 'approved', verdict, queued: 3 });
    expect(await rowsNow()).toEqual({
      'a@contoso.com': 'pending',
      'b@contoso.com': 'pending',
      'c@contoso.com': 'pending',
      'd@contoso.com': 'notFound',
      'e@contoso.com': 'pending',
      'f@contoso.com': 'pending',
    });
    const a = (await store.getRemediation(verdictId, 'a@contoso.com|k'))?.value;
    expect(a).toMatchObject({
      attempts: 0,
      detail: 'Approved by key:ops; queued for softDelete.',
      updatedAt: now.toISOString(),
    });
    expect((await store.getRemediation(verdictId, 'f@contoso.com|k'))?.value.attempts).toBe(2);

    expect(remediationsSent(sends)).toEqual(
      ['a', 'b', 'c'].map((r) => ({
        body: {
          verdictId,
          rowKey: `${r}@contoso.com|k`,
          recipient: `${r}@contoso.com`,
          internetMessageId: '<m1@evil.example>',
          verdict: 'malicious',
          action: 'softDelete',
          mode: 'enforce',
          threatKey: key,
          attempt: 1,
        } satisfies RemediationMessage,
        messageId: `${verdictId}|${r}@contoso.com|k|approved`,
        sessionId: `${r}@contoso.com`,
      })),
    );
    expect(checksSent(sends)).toEqual([
      {
        body: { kind: 'completionCheck', verdictId, round: 1_000_000 },
        messageId: `${verdictId}|check|1000000`,
        scheduledEnqueueTime: expect.any(Date) as unknown,
      },
    ]);
    // The check is scheduled from the wall clock (not the injected one), checkDelayMs later.
    const due = checksSent(sends)[0]?.scheduledEnqueueTime?.getTime() ?? Number.NaN;
    expect(due).toBeGreaterThanOrEqual(before + 500);
    expect(due).toBeLessThanOrEqual(after + 500);
    expect(audit.entries).toEqual([
      {
        who: 'key:ops',
        what: 'approved',
        verdictId,
        detail: 'approved: 3 simulated copies queued for softDelete; comment: checked with HR',
        at: now,
      },
    ]);
  });

  it('approval sends the reopened rows a hundred to a message batch and reads every page of rows', async () => {
    const many = Array.from({ length: 1001 }, (_, i) =>
      row(`u${String(i).padStart(4, '0')}@contoso.com`, 'simulated'),
    );
    const { deps, sends, rowsNow } = await held(heldVerdict({ recipients: 1001, action: undefined }), many);

    expect(await decideApproval(verdictId, 'approve', 'key:ops', undefined, deps)).toMatchObject({
      queued: 1001,
    });
    expect(sends.filter((s) => s.queue === 'remediations').map((s) => s.messages.length)).toEqual([
      ...Array.from({ length: 10 }, () => 100),
      1,
    ]);
    expect(Object.values(await rowsNow()).every((s) => s === 'pending')).toBe(true);
  });

  it('an approval whose rows another delivery took over queues only the rows it reopened itself', async () => {
    const { store, deps, sends } = await held();
    const update = store.updateRemediation.bind(store);
    store.updateRemediation = (id, rowKey, patch, etag, options) =>
      rowKey === 'b@contoso.com|k'
        ? Promise.reject(new ConcurrencyConflictError('taken'))
        : update(id, rowKey, patch, etag, options);

    expect(await decideApproval(verdictId, 'approve', 'key:ops', undefined, deps)).toMatchObject({
      queued: 2,
    });
    expect(remediationsSent(sends).map((m) => m.sessionId)).toEqual(['a@contoso.com', 'c@contoso.com']);
  });

  it('an approval that fails to reopen a row for another reason fails, and decides nothing', async () => {
    const { store, deps, sends } = await held();
    store.updateRemediation = () => Promise.reject(new ClawbackError('ConnectionError', 'table down'));

    await expect(decideApproval(verdictId, 'approve', 'key:ops', undefined, deps)).rejects.toThrow(
      'table down',
    );
    expect(await store.getVerdict(verdictId)).toMatchObject({ status: 'awaitingApproval' });
    expect(sends).toEqual([]);
  });

  it('rejection ends the verdict with nothing changed, and says who rejected it and why', async () => {
    const { store, deps, sends, audit, rowsNow } = await held();

    const result = await decideApproval(verdictId, 'reject', 'key:ops', 'a drill', deps);
    const verdict = await store.getVerdict(verdictId);
    expect(verdict).toMatchObject({
      status: 'rejected',
      approvedBy: 'key:ops',
      note: 'Rejected by key:ops: a drill; no mailbox was changed.',
      completedAt: now.toISOString(),
    });
    expect(result).toEqual({ kind: 'rejected', verdict });
    expect(await rowsNow()).toMatchObject({ 'a@contoso.com': 'simulated', 'd@contoso.com': 'notFound' });
    expect(sends).toEqual([]);
    expect(audit.entries).toEqual([
      {
        who: 'key:ops',
        what: 'rejected',
        verdictId,
        detail: 'rejected after simulating 5 copies; no mailbox was changed; comment: a drill',
        at: now,
      },
    ]);
  });

  it('a rejection without a comment says only who', async () => {
    const { store, deps, audit } = await held(heldVerdict(), simulationRows, null);
    const before = Date.now();
    await decideApproval(verdictId, 'reject', 'key:ops', undefined, deps);
    expect((await store.getVerdict(verdictId))?.note).toBe('Rejected by key:ops; no mailbox was changed.');
    expect(audit.entries.map((e) => e.detail)).toEqual([
      'rejected after simulating 5 copies; no mailbox was changed',
    ]);
    expect(audit.entries[0]?.at.getTime()).toBeGreaterThanOrEqual(before);
  });

  it('after the approval window, a decision expires the verdict as rejected by the app', async () => {
    const deadline = new Date(now.getTime() - hour + 24 * hour);
    const late = new Date(deadline.getTime() + 1);
    const { store, deps, sends, audit } = await held(heldVerdict(), simulationRows, late);

    expect(await decideApproval(verdictId, 'approve', 'key:ops', undefined, deps)).toEqual({
      kind: 'expired',
      deadline: deadline.toISOString(),
    });
    expect(await store.getVerdict(verdictId)).toMatchObject({
      status: 'rejected',
      approvedBy: 'clawback:approvalWindow',
      note: 'Rejected by clawback:approvalWindow: the approval window of 24 h passed; no mailbox was changed.',
    });
    expect(sends).toEqual([]);
    expect(audit.entries.map((e) => [e.who, e.what, e.detail])).toEqual([
      [
        'clawback:approvalWindow',
        'rejected',
        'rejected after simulating 5 copies; no mailbox was changed; comment: the approval window of 24 h passed',
      ],
    ]);
  });

  it('at the very end of the window a decision still counts', async () => {
    const deadline = new Date(now.getTime() - hour + 24 * hour);
    const { deps } = await held(heldVerdict(), simulationRows, deadline);
    expect(await decideApproval(verdictId, 'approve', 'key:ops', undefined, deps)).toMatchObject({
      kind: 'approved',
    });
  });

  it('one decision per verdict: a different decision claimed first refuses this one and changes nothing', async () => {
    const { store, deps, sends, audit } = await held();
    await store.claimEvent('clawback-approval', verdictId, 'reject');

    expect(await decideApproval(verdictId, 'approve', 'key:ops', undefined, deps)).toEqual({
      kind: 'notWaiting',
      status: 'awaitingApproval',
    });
    expect(await store.getVerdict(verdictId)).toMatchObject({ status: 'awaitingApproval' });
    expect(sends).toEqual([]);
    expect(audit.entries).toEqual([]);
  });

  it('a verdict the gate holds that is still simulating answers how far the simulation got', async () => {
    const { deps, sends } = await held(heldVerdict({ status: 'fannedOut', simulated: 2, notFound: 1 }));
    expect(await decideApproval(verdictId, 'approve', 'key:ops', undefined, deps)).toEqual({
      kind: 'stillSimulating',
      done: 3,
      recipients: 5,
    });
    expect(sends).toEqual([]);
  });

  it('the same approval again finishes what an interrupted one started, without a second audit row', async () => {
    const { store, deps, sends, audit } = await held();
    await decideApproval(verdictId, 'approve', 'key:ops', undefined, deps);
    sends.length = 0;

    const again = await decideApproval(verdictId, 'approve', 'key:other', 'again', deps);
    expect(again).toMatchObject({ kind: 'approved', queued: 3, verdict: { approvedBy: 'key:ops' } });
    expect((await store.getVerdict(verdictId))?.approvedBy).toBe('key:ops');
    expect(remediationsSent(sends)).toHaveLength(3);
    expect(checksSent(sends)).toHaveLength(1);
    expect(audit.entries).toHaveLength(1);
  });

  it('the same rejection again answers the rejection and writes nothing', async () => {
    const { store, deps, audit } = await held();
    const first = await decideApproval(verdictId, 'reject', 'key:ops', undefined, deps);
    const again = await decideApproval(verdictId, 'reject', 'key:other', undefined, deps);
    expect(again).toEqual(first);
    expect((await store.getVerdict(verdictId))?.approvedBy).toBe('key:ops');
    expect(audit.entries).toHaveLength(1);
  });

  it('a verdict decided otherwise, never held, or created by an undo is not waiting', async () => {
    const cases: [Partial<VerdictRecord>, 'approve' | 'reject', string | undefined][] = [
      [{ status: 'rejected', approvedBy: 'key:ops' }, 'approve', 'key:ops'],
      [{ status: 'fannedOut', approvedBy: 'key:ops', mode: 'enforce' }, 'reject', 'key:ops'],
      [{ status: 'completed', approvedBy: 'key:ops', mode: 'enforce' }, 'reject', 'key:ops'],
      [{ status: 'completed', approvalAbove: undefined, mode: 'enforce' }, 'approve', undefined],
      [{ status: 'fannedOut', approvalAbove: undefined, mode: 'enforce' }, 'approve', undefined],
      [
        { status: 'completed', source: undoSource, approvedBy: 'key:ops', approvalAbove: undefined },
        'approve',
        'key:ops',
      ],
    ];
    for (const [overrides, decision, decidedBy] of cases) {
      const { store, deps, sends, audit, rowsNow } = await held(heldVerdict(overrides));
      const before = await store.getVerdict(verdictId);
      expect(await decideApproval(verdictId, decision, 'key:other', undefined, deps)).toEqual({
        kind: 'notWaiting',
        status: overrides.status,
        decidedBy,
      });
      expect(await store.getVerdict(verdictId)).toEqual(before);
      expect(await rowsNow()).toMatchObject({ 'a@contoso.com': 'simulated' });
      expect(sends).toEqual([]);
      expect(audit.entries).toEqual([]);
    }
  });

  it('a decision written by a concurrent delivery first is carried on from, not written twice', async () => {
    const { store, deps, audit } = await held();
    const update = store.updateVerdict.bind(store);
    store.updateVerdict = async (patch, etag, options) => {
      // The other delivery of the same rejection lands between this one's read and write.
      await store.mergeVerdict({ verdictId, status: 'rejected', approvedBy: 'key:ops', note: 'first' });
      return update(patch, etag, options);
    };

    const result = await decideApproval(verdictId, 'reject', 'key:ops', undefined, deps);
    expect(result).toMatchObject({ kind: 'rejected', verdict: { note: 'first' } });
    expect((await store.getVerdict(verdictId))?.note).toBe('first');
    expect(audit.entries).toEqual([]);
  });

  it('a verdict row changed meanwhile in another way is a retryable failure', async () => {
    for (const change of [
      { status: 'awaitingApproval' as const, simulated: 3 },
      { status: 'deadLettered' as const },
    ]) {
      const { store, deps, audit } = await held();
      const update = store.updateVerdict.bind(store);
      store.updateVerdict = async (patch, etag, options) => {
        await store.mergeVerdict({ verdictId, ...change });
        return update(patch, etag, options);
      };
      const error = await rejection(decideApproval(verdictId, 'reject', 'key:ops', undefined, deps));
      expect(error.message).toBe(`Verdict ${verdictId} changed while being decided; try again.`);
      expect(error.retryable).toBe(true);
      expect(audit.entries).toEqual([]);
    }
  });

  it('a verdict that vanishes while being decided is a failure that names it', async () => {
    const { store, deps } = await held();
    store.readVerdict = () => Promise.resolve(undefined);
    const error = await rejection(decideApproval(verdictId, 'reject', 'key:ops', undefined, deps));
    expect(error.message).toBe(`Verdict ${verdictId} vanished while being decided.`);
    expect(error.code).toBe('Unknown');
  });
});

describe('expire and expireWaiting', () => {
  it('expire rejects a waiting verdict unless a decision was claimed first', async () => {
    const { store, deps } = await held();
    expect(await expire(heldVerdict(), deps)).toBe(true);
    expect(await store.getVerdict(verdictId)).toMatchObject({
      status: 'rejected',
      approvedBy: systemCaller('approvalWindow'),
    });

    const approved = await held();
    await approved.store.claimEvent('clawback-approval', verdictId, 'approve');
    expect(await expire(heldVerdict(), approved.deps)).toBe(false);
    expect(await approved.store.getVerdict(verdictId)).toMatchObject({ status: 'awaitingApproval' });
  });

  it('rejects every verdict still waiting past its window, and nothing else', async () => {
    const store = new InMemoryResultStore();
    const at = (hoursAgo: number, tag: string, overrides: Partial<VerdictRecord> = {}) =>
      heldVerdict({
        verdictId: newVerdictId(new Date(now.getTime() - hoursAgo * hour), () => tag.repeat(10)),
        receivedAt: new Date(now.getTime() - hoursAgo * hour).toISOString(),
        ...overrides,
      });
    const verdicts = {
      late: at(25, 'a'),
      justLate: at(24, 'b'),
      inTime: at(23, 'c'),
      completed: at(30, 'd', { status: 'completed' }),
      decided: at(26, 'e'),
      tooOld: at(24 + 30 * 24 + 1, 'f'),
    };
    for (const v of Object.values(verdicts)) await store.createVerdict(v);
    await store.claimEvent('clawback-approval', verdicts.decided.verdictId, 'approve');
    const { queue } = recordingQueue();
    const deps: ApprovalDeps = {
      store,
      queue,
      config: configDocument({ settings: { approvalHours: 24 } }),
      checkDelayMs: 500,
      now: () => now,
    };

    expect(await expireWaiting(deps)).toBe(2);
    const status = async (v: VerdictRecord) => (await store.getVerdict(v.verdictId))?.status;
    expect({
      late: await status(verdicts.late),
      justLate: await status(verdicts.justLate),
      inTime: await status(verdicts.inTime),
      completed: await status(verdicts.completed),
      decided: await status(verdicts.decided),
      tooOld: await status(verdicts.tooOld),
    }).toEqual({
      late: 'rejected',
      justLate: 'rejected',
      inTime: 'awaitingApproval',
      completed: 'completed',
      decided: 'awaitingApproval',
      tooOld: 'awaitingApproval',
    });
  });

  it('without a clock of its own, expires by the time now', async () => {
    const { deps } = await held(
      heldVerdict({
        receivedAt: new Date(Date.now() - 25 * hour).toISOString(),
        verdictId: newVerdictId(new Date(Date.now() - 25 * hour), () => '0123456789'),
      }),
      [],
      null,
    );
    expect(await expireWaiting(deps)).toBe(1);
  });
});

describe('approvalDeadline and isConflict', () => {
  it('the deadline is the receipt time plus the configured hours', () => {
    const config = configDocument({ settings: { approvalHours: 2 } });
    expect(approvalDeadline(heldVerdict(), config)).toEqual(new Date(now.getTime() - hour + 2 * hour));
  });

  it('tells a lost conditional update by name or by code, and nothing else', () => {
    expect(isConflict(new ConcurrencyConflictError('x'))).toBe(true);
    expect(isConflict(Object.assign(new Error('x'), { code: 'ConcurrencyConflict' }))).toBe(true);
    expect(isConflict(new Error('ConcurrencyConflictError'))).toBe(false);
    expect(isConflict(Object.assign(new Error('x'), { code: 'Conflict' }))).toBe(false);
    expect(isConflict('ConcurrencyConflict')).toBe(false);
  });
});

describe('approval, the remaining corners', () => {
  it('the gate reads the approvalAbove of the policy for this verdict, not of the first policy', async () => {
    const config = configDocument({
      policies: [
        { verdict: 'clean', action: 'restore', approvalAbove: 0 },
        { verdict: 'malicious', action: 'softDelete' },
      ],
    });
    expect((await gate(verdictMessage(recipients(3)), enforce, { config })).gated).toEqual({
      ...enforce,
      verdictPatch: {},
    });
  });

  it('counting the ledger stops at a page that reaches approvalAbove + 1 exactly', async () => {
    const store = new InMemoryResultStore();
    await store.recordDeliveries(
      recipients(1600).map((recipient) => ({
        threatKey: key,
        internetMessageId: '<m1@evil.example>',
        recipient,
      })),
    );
    const pages: (string | undefined)[] = [];
    const list = store.listDeliveries.bind(store);
    store.listDeliveries = (k, page, options) => {
      pages.push(page.continuationToken);
      return list(k, page, options);
    };
    const held = await gate(verdictMessage(undefined), enforce, {
      store,
      config: gatedConfig({ approvalAbove: 999 }),
    });
    expect(held.gated.verdictPatch).toEqual({ approvalAbove: 999 });
    expect(pages).toEqual([undefined]);
  });

  it('a held verdict that ended otherwise (dead-lettered, say) is not waiting, not still simulating', async () => {
    const { deps, sends } = await held(heldVerdict({ status: 'deadLettered' }));
    expect(await decideApproval(verdictId, 'approve', 'key:ops', undefined, deps)).toEqual({
      kind: 'notWaiting',
      status: 'deadLettered',
      decidedBy: undefined,
    });
    expect(sends).toEqual([]);
  });

  it('a row found still waiting after a lost write is retried, whatever else it says', async () => {
    const { store, deps } = await held();
    const update = store.updateVerdict.bind(store);
    store.updateVerdict = async (patch, etag, options) => {
      await store.mergeVerdict({ verdictId, status: 'awaitingApproval', approvedBy: 'key:someone' });
      return update(patch, etag, options);
    };
    const error = await rejection(decideApproval(verdictId, 'reject', 'key:ops', undefined, deps));
    expect(error.retryable).toBe(true);
  });

  it('approval counts only simulated rows, reopens only pending rows never tried, and without an action names the policy', async () => {
    const { deps, sends, audit } = await held(heldVerdict({ action: undefined }), [
      row('a@contoso.com', 'simulated'),
      row('b@contoso.com', 'simulated'),
      row('c@contoso.com', 'notFound', { attempts: 0 }),
      row('d@contoso.com', 'failed', { attempts: 0 }),
      row('e@contoso.com', 'notFound'),
    ]);
    expect(await decideApproval(verdictId, 'approve', 'key:ops', undefined, deps)).toMatchObject({
      queued: 2,
    });
    expect(remediationsSent(sends).map((m) => m.sessionId)).toEqual(['a@contoso.com', 'b@contoso.com']);
    expect(audit.entries.map((e) => e.detail)).toEqual([
      'approved: 2 simulated copies queued for the policy action',
    ]);
  });

  it('an approval with nothing to reopen sends no empty batch, only the check', async () => {
    const { deps, sends } = await held(heldVerdict(), [row('a@contoso.com', 'notFound')]);
    expect(await decideApproval(verdictId, 'approve', 'key:ops', undefined, deps)).toMatchObject({
      queued: 0,
    });
    expect(sends.map((s) => s.queue)).toEqual(['verdicts']);
  });

  it('expiry looks back thirty days past the window, not less', async () => {
    const store = new InMemoryResultStore();
    const twoDays = heldVerdict({
      verdictId: newVerdictId(new Date(now.getTime() - 48 * hour), () => '0000000002'),
      receivedAt: new Date(now.getTime() - 48 * hour).toISOString(),
    });
    await store.createVerdict(twoDays);
    const { queue } = recordingQueue();
    expect(
      await expireWaiting({
        store,
        queue,
        config: configDocument({ settings: { approvalHours: 24 } }),
        checkDelayMs: 500,
        now: () => now,
      }),
    ).toBe(1);
    expect((await store.getVerdict(twoDays.verdictId))?.status).toBe('rejected');
  });
});
