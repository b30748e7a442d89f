import { describe, expect, it } from 'vitest';

import { undoSource } from '../../../shared/app/approval.js';
import { type UndoDeps, undoVerdict } from '../../../shared/app/undo.js';
import { InMemoryAuditLog } from '../../../shared/audit/inMemoryAuditLog.js';
import type { OutgoingMessage, QueueSender } from '../../../shared/ports/queue.js';
import {
  emptyCounts,
  type RemediationRecord,
  type RemediationStatus,
  type VerdictRecord,
} from '../../../shared/ports/results.js';
import { InMemoryResultStore } from '../../../shared/results/memory/inMemoryResultStore.js';
import { newVerdictId, remediationRowKey, threatKey } from '../../../shared/verdicts/ids.js';
import type { RemediationMessage } from '../../../shared/verdicts/messages.js';
import type { ActionName } from '../../../shared/verdicts/schema.js';

const now = new Date('2026-11-30T10:00:00.000Z');
const sha = 'cd'.repeat(32);
const messageId = '<payroll@evil.example>';

function recordingQueue() {
  const sent: { queue: string; message: OutgoingMessage }[] = [];
  const queue: QueueSender = {
    send: (name, messages) => {
      sent.push(...messages.map((message) => ({ queue: name, message })));
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  return { queue, sent };
}

const original = (overrides: Partial<VerdictRecord> = {}): VerdictRecord => ({
  verdictId: newVerdictId(new Date(now.getTime() - 3_600_000), () => 'aaaaaaaaaa'),
  source: 'soar',
  eventId: 'evt-1',
  verdict: 'malicious',
  sha256: sha,
  filename: 'payroll.xlsm',
  url: 'https://evil.example/payroll',
  action: 'quarantine',
  mode: 'enforce',
  status: 'completed',
  recipients: 0,
  ...emptyCounts(),
  done: 0,
  receivedAt: new Date(now.getTime() - 3_600_000).toISOString(),
  ...overrides,
});

const row = (
  verdictId: string,
  recipient: string,
  status: RemediationStatus,
  action: ActionName = 'quarantine',
): RemediationRecord => ({
  verdictId,
  rowKey: remediationRowKey(recipient, messageId),
  recipient,
  internetMessageId: messageId,
  action,
  status,
  attempts: 1,
  updatedAt: now.toISOString(),
});

async function setUp(
  verdict: VerdictRecord,
  rows: [string, RemediationStatus, ActionName?][] = [],
  deps: Partial<UndoDeps> = {},
) {
  const store = new InMemoryResultStore();
  await store.createVerdict(verdict);
  await store.createRemediations(rows.map(([r, s, a]) => row(verdict.verdictId, r, s, a)));
  const { queue, sent } = recordingQueue();
  const audit = new InMemoryAuditLog();
  return { store, sent, audit, deps: { store, queue, audit, checkDelayMs: 250, now: () => now, ...deps } };
}

const moved: [string, RemediationStatus, ActionName?][] = [
  ['alice@contoso.com', 'succeeded'],
  ['bob@contoso.com', 'succeeded'],
  ['carol@contoso.com', 'failed'],
  ['dave@contoso.com', 'notFound'],
  ['erin@contoso.com', 'succeeded', 'none'],
  ['frank@contoso.com', 'succeeded', 'restore'],
  ['gina@contoso.com', 'succeeded'],
  ['hank@contoso.com', 'alreadyRemediated'],
];

describe('undoVerdict', () => {
  it('an unknown verdict is not found and nothing is written', async () => {
    const { store, sent, audit, deps } = await setUp(original());

    expect(await undoVerdict('8227633599999-0000000000', 'key:ops', undefined, deps)).toEqual({
      kind: 'notFound',
    });
    expect(await store.listVerdicts({ from: new Date(0), to: now }, 10)).toHaveLength(1);
    expect(sent).toEqual([]);
    expect(audit.entries).toEqual([]);
  });

  it('refuses, saying why, to undo a verdict that moved nothing or has not run yet', async () => {
    const cases: [Partial<VerdictRecord>, string][] = [
      [{ status: 'awaitingApproval' }, 'the verdict is awaitingApproval: it changed no mailbox'],
      [{ status: 'rejected' }, 'the verdict is rejected: it changed no mailbox'],
      [{ mode: 'simulate' }, 'the verdict ran in simulate mode: it changed no mailbox'],
      [{ action: undefined }, "the verdict's action is none: there is nothing it moved"],
      [{ action: 'none' }, "the verdict's action is none: there is nothing it moved"],
      [{ action: 'restore' }, "the verdict's action is restore: there is nothing it moved"],
      [{ status: 'accepted' }, 'the verdict has not been fanned out yet; undo it once it has run'],
    ];
    for (const [overrides, why] of cases) {
      const verdict = original(overrides);
      const { store, sent, audit, deps } = await setUp(verdict, moved);

      expect(await undoVerdict(verdict.verdictId, 'key:ops', undefined, deps)).toEqual({
        kind: 'nothingToUndo',
        why,
      });
      expect((await store.listVerdicts({ from: new Date(0), to: now }, 10)).map((v) => v.verdictId)).toEqual([
        verdict.verdictId,
      ]);
      expect(await store.claimEvent(undoSource, verdict.verdictId, 'probe')).toEqual({
        verdictId: 'probe',
        created: true,
      });
      expect(sent).toEqual([]);
      expect(audit.entries).toEqual([]);
    }
  });

  it('creates a restore verdict with a row and a message per copy the verdict moved, reading every page', async () => {
    const verdict = original();
    const { store, sent, audit, deps } = await setUp(verdict, moved, { batchSize: 2 });

    const result = await undoVerdict(verdict.verdictId, 'key:ops', 'false positive', deps);
    expect(result).toMatchObject({ kind: 'undone', created: true, copies: 3 });
    const undoId = result.kind === 'undone' ? result.undoVerdictId : '';
    expect(undoId).toMatch(new RegExp(`^${newVerdictId(now, () => '')}[0-9a-f]{10}$`));

    expect(await store.getVerdict(undoId)).toEqual({
      verdictId: undoId,
      source: undoSource,
      eventId: verdict.verdictId,
      verdict: 'clean',
      previousVerdict: 'malicious',
      sha256: sha,
      filename: 'payroll.xlsm',
      url: 'https://evil.example/payroll',
      action: 'restore',
      mode: 'enforce',
      status: 'fannedOut',
      recipients: 3,
      ...emptyCounts(),
      done: 0,
      receivedAt: now.toISOString(),
      approvedBy: 'key:ops',
    });
    const rows = (await store.listRemediations(undoId, { pageSize: 100 })).items;
    expect(rows.map((r) => [r.recipient, r.action, r.status, r.sha256, r.filename])).toEqual(
      ['alice@contoso.com', 'bob@contoso.com', 'gina@contoso.com'].map((r) => [
        r,
        'restore',
        'pending',
        sha,
        'payroll.xlsm',
      ]),
    );

    const remediations = sent
      .filter((s) => s.queue === 'remediations')
      .map((s) => s.message.body as RemediationMessage);
    expect(
      remediations.map((m) => [m.recipient, m.verdictId, m.verdict, m.action, m.mode, m.threatKey]),
    ).toEqual(
      ['alice@contoso.com', 'bob@contoso.com', 'gina@contoso.com'].map((r) => [
        r,
        undoId,
        'clean',
        'restore',
        'enforce',
        threatKey({ sha256: sha }),
      ]),
    );
    expect(sent.filter((s) => s.queue === 'verdicts').map((s) => s.message)).toEqual([
      {
        body: { kind: 'completionCheck', verdictId: undoId, round: 0 },
        messageId: `${undoId}|check|0`,
        scheduledEnqueueTime: new Date(now.getTime() + 250),
      },
    ]);

    expect(audit.entries).toEqual([
      {
        who: 'key:ops',
        what: 'undo',
        verdictId: verdict.verdictId,
        detail: `undo of quarantine requested: 3 copies to restore as verdict ${undoId}; comment: false positive`,
        at: now,
      },
    ]);
  });

  it('reads the rows a hundred at a time unless told otherwise', async () => {
    const verdict = original();
    const many = Array.from({ length: 150 }, (_, i): [string, RemediationStatus] => [
      `u${i}@contoso.com`,
      'succeeded',
    ]);
    const { store, deps } = await setUp(verdict, many);
    const pages: number[] = [];
    const list = store.listRemediations.bind(store);
    store.listRemediations = (id, page, options) => {
      if (id === verdict.verdictId) pages.push(page.pageSize);
      return list(id, page, options);
    };

    expect(await undoVerdict(verdict.verdictId, 'key:ops', undefined, deps)).toMatchObject({ copies: 150 });
    expect(pages).toEqual([100, 100]);
  });

  it('undoing twice answers the first undo and audits once; the completion check is sent again', async () => {
    const verdict = original();
    const { store, sent, audit, deps } = await setUp(verdict, moved);

    const first = await undoVerdict(verdict.verdictId, 'key:ops', undefined, deps);
    const again = await undoVerdict(verdict.verdictId, 'key:someone-else', undefined, deps);
    expect(again).toEqual({
      kind: 'undone',
      undoVerdictId: first.kind === 'undone' ? first.undoVerdictId : '',
      created: false,
      copies: 3,
    });
    expect(await store.listVerdicts({ from: new Date(0), to: now }, 10)).toHaveLength(2);
    expect(audit.entries).toHaveLength(1);
    expect(audit.entries[0]?.detail).toMatch(
      /^undo of quarantine requested: 3 copies to restore as verdict \S+$/,
    );
    expect(sent.filter((s) => s.queue === 'verdicts')).toHaveLength(2);
  });

  it('a verdict whose copies were all found gone has nothing to restore: the undo completes at once, with no check', async () => {
    const verdict = original();
    const { store, sent, audit, deps } = await setUp(verdict, [['carol@contoso.com', 'notFound']]);

    const result = await undoVerdict(verdict.verdictId, 'key:ops', undefined, deps);
    expect(result).toMatchObject({ kind: 'undone', created: true, copies: 0 });
    const undoId = result.kind === 'undone' ? result.undoVerdictId : '';
    expect(await store.getVerdict(undoId)).toMatchObject({ status: 'completed', recipients: 0 });
    expect(sent).toEqual([]);
    expect(audit.entries.map((e) => e.detail)).toEqual([
      `undo of quarantine requested: 0 copies to restore as verdict ${undoId}`,
    ]);
  });

  it('one copy is audited as one copy, and an empty comment adds nothing', async () => {
    const verdict = original();
    const { audit, deps } = await setUp(verdict, [['alice@contoso.com', 'succeeded']]);

    const result = await undoVerdict(verdict.verdictId, 'key:ops', '', deps);
    const undoId = result.kind === 'undone' ? result.undoVerdictId : '';
    expect(audit.entries.map((e) => e.detail)).toEqual([
      `undo of quarantine requested: 1 copy to restore as verdict ${undoId}`,
    ]);
  });
});

describe('undoVerdict, sends', () => {
  it('a page of rows with no moved copy sends nothing for it', async () => {
    const verdict = original();
    const { deps } = await setUp(verdict, [
      ['alice@contoso.com', 'succeeded'],
      ['bob@contoso.com', 'failed'],
      ['carol@contoso.com', 'notFound'],
    ]);
    const calls: { queue: string; count: number }[] = [];
    deps.queue = {
      send: (name, messages) => {
        calls.push({ queue: name, count: messages.length });
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    };

    expect(
      await undoVerdict(verdict.verdictId, 'key:ops', undefined, { ...deps, batchSize: 1 }),
    ).toMatchObject({
      copies: 1,
    });
    expect(calls).toEqual([
      { queue: 'remediations', count: 1 },
      { queue: 'verdicts', count: 1 },
    ]);
  });
});
