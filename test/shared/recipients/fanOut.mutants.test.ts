import { describe, expect, it } from 'vitest';

import { isError } from '../../../shared/errors.js';
import type { OutgoingMessage, QueueSender } from '../../../shared/ports/queue.js';
import { fanOut, type FanOutDeps, markFannedOut } from '../../../shared/recipients/fanOut.js';
import { InMemoryDeliveries } from '../../../shared/results/memory/inMemoryDeliveries.js';
import { InMemoryRemediatedCopies } from '../../../shared/results/memory/inMemoryRemediatedCopies.js';
import { InMemoryRemediationRows } from '../../../shared/results/memory/inMemoryRemediationRows.js';
import { InMemoryVerdicts } from '../../../shared/results/memory/inMemoryVerdicts.js';
import { remediationRowKey } from '../../../shared/verdicts/ids.js';
import type { VerdictMessage } from '../../../shared/verdicts/messages.js';
import { acceptedVerdictRecord } from '../../../shared/verdicts/record.js';
import { verdictChangeSchema } from '../../../shared/verdicts/schema.js';
import { configDocument } from '../../support/services.js';

const hash = 'ab'.repeat(32);
const verdictId = '8235000000000-0123456789';
const acceptedAt = '2026-11-30T10:00:00.000Z';

/** What was sent, queue by queue, in order. */
class RecordingQueue implements QueueSender {
  readonly sent: { queue: string; messages: OutgoingMessage[] }[] = [];
  send(queue: string, messages: OutgoingMessage[]): Promise<void> {
    this.sent.push({ queue, messages: JSON.parse(JSON.stringify(messages)) as OutgoingMessage[] });
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  to(queue: string): OutgoingMessage[] {
    return this.sent.filter((s) => s.queue === queue).flatMap((s) => s.messages);
  }
}

function world(gate?: FanOutDeps['gate']) {
  const lines: string[] = [];
  const deps = {
    verdicts: new InMemoryVerdicts(),
    rows: new InMemoryRemediationRows(),
    deliveries: new InMemoryDeliveries(),
    copies: new InMemoryRemediatedCopies(),
    queue: new RecordingQueue(),
    config: configDocument({
      policies: [
        { verdict: 'malicious', action: 'softDelete' },
        { verdict: 'clean', action: 'restore' },
      ],
    }),
    batchSize: 2,
    checkDelayMs: 60_000,
    now: () => new Date(acceptedAt),
    log: (line: string) => lines.push(line),
    ...(gate === undefined ? {} : { gate }),
  };
  return { deps, lines };
}

function message(change: Record<string, unknown>): VerdictMessage {
  return {
    verdictId,
    acceptedAt,
    change: verdictChangeSchema.parse({
      eventId: 'e1',
      source: 'soar',
      verdict: 'malicious',
      threat: { sha256: hash, filename: 'x.exe' },
      ...change,
    }),
  };
}

describe('fanOut', () => {
  it('writes one pending row and sends one remediation per copy, carrying what the search needs only when known', async () => {
    const { deps, lines } = world();
    const withSearch = {
      internetMessageId: '<m1@x>',
      recipients: ['Alice@Contoso.com'],
      sender: 'billing@northwind.example',
      subject: 'Invoice',
      receivedAt: '2026-11-30T09:00:00Z',
    };
    const result = await fanOut(
      message({ messages: [withSearch, { internetMessageId: '<m2@x>', recipients: ['bob@contoso.com'] }] }),
      deps,
    );
    expect(result).toMatchObject({ rows: 2, newRows: 2, verdict: { status: 'fannedOut', recipients: 2 } });
    const aliceKey = remediationRowKey('alice@contoso.com', '<m1@x>');
    const bobKey = remediationRowKey('bob@contoso.com', '<m2@x>');
    const common = {
      verdictId,
      verdict: 'malicious',
      action: 'softDelete',
      mode: 'enforce',
      threatKey: hash,
      attempt: 1,
    };
    // Each row's first message carries the ETag the row was created with (its first delivery leases with it).
    const etagOf = async (rowKey: string) => (await deps.rows.getRemediation(verdictId, rowKey))?.etag;
    const [aliceEtag, bobEtag] = [await etagOf(aliceKey), await etagOf(bobKey)];
    expect(aliceEtag).toBeTruthy();
    expect(deps.queue.to('remediations')).toEqual([
      {
        messageId: `${verdictId}|${aliceKey}|1`,
        sessionId: 'alice@contoso.com',
        body: {
          ...common,
          rowKey: aliceKey,
          recipient: 'alice@contoso.com',
          internetMessageId: '<m1@x>',
          sender: 'billing@northwind.example',
          subject: 'Invoice',
          receivedAt: '2026-11-30T09:00:00Z',
          rowEtag: aliceEtag,
        },
      },
      {
        messageId: `${verdictId}|${bobKey}|1`,
        sessionId: 'bob@contoso.com',
        body: {
          ...common,
          rowKey: bobKey,
          recipient: 'bob@contoso.com',
          internetMessageId: '<m2@x>',
          rowEtag: bobEtag,
        },
      },
    ]);
    const row = await deps.rows.getRemediation(verdictId, bobKey);
    expect(row?.value).toMatchObject({
      verdictId,
      rowKey: bobKey,
      recipient: 'bob@contoso.com',
      internetMessageId: '<m2@x>',
      action: 'softDelete',
      status: 'pending',
      attempts: 0,
      sha256: hash,
      filename: 'x.exe',
    });
    expect(lines).toEqual([
      `verdict ${verdictId}: fanned out 2 rows so far`,
      `verdict ${verdictId}: fan-out complete, 2 rows (2 new), action softDelete, mode enforce`,
    ]);
  });

  it('schedules the first completion check after the configured delay, once fanned out', async () => {
    const { deps } = world();
    await fanOut(
      message({ messages: [{ internetMessageId: '<m1@x>', recipients: ['a@contoso.com'] }] }),
      deps,
    );
    const checks = deps.queue.to('verdicts');
    expect(checks).toHaveLength(1);
    expect(checks[0]?.body).toMatchObject({ kind: 'completionCheck', verdictId, round: 0 });
    expect(new Date(String(checks[0]?.scheduledEnqueueTime)).getTime()).toBe(Date.parse(acceptedAt) + 60_000);
  });

  it('without messages reads every page of the ledger, and for a restore every page of what it changed', async () => {
    const { deps } = world();
    await deps.deliveries.recordDeliveries(
      ['a', 'b', 'c'].map((n) => ({
        threatKey: hash,
        internetMessageId: `<${n}@x>`,
        recipient: `${n}@contoso.com`,
      })),
    );
    expect((await fanOut(message({}), deps)).rows).toBe(3);

    const restore = world();
    for (const n of ['a', 'b', 'c'])
      await restore.deps.copies.recordRemediatedCopy({
        threatKey: hash,
        recipient: `${n}@contoso.com`,
        internetMessageId: `<${n}@x>`,
        action: 'softDelete',
        profile: 'contoso-online',
        backend: 'graph',
        verdictId: 'earlier',
        remediatedAt: acceptedAt,
      });
    await restore.deps.deliveries.recordDeliveries([
      { threatKey: hash, internetMessageId: '<z@x>', recipient: 'z@contoso.com' },
    ]);
    const restored = await fanOut(message({ verdict: 'clean' }), restore.deps);
    expect(restored.rows).toBe(3);
    expect(restore.deps.queue.to('remediations').map((m) => (m.body as { action: string }).action)).toEqual([
      'restore',
      'restore',
      'restore',
    ]);
  });

  it('ends a verdict with nothing to act on as unresolved, or as completed for a restore, saying why', async () => {
    const unresolved = world();
    const result = await fanOut(message({}), unresolved.deps);
    expect(result.verdict).toMatchObject({ status: 'unresolved', recipients: 0 });
    expect(result.verdict.note).toMatch(/delivery ledger has no delivery of/);
    expect(unresolved.deps.queue.to('verdicts')).toEqual([]);
    expect(unresolved.lines).toContain(
      `verdict ${verdictId} names no delivered copies; there is nothing to fan out`,
    );
    expect(unresolved.lines.some((l) => l.startsWith(`verdict ${verdictId} unresolved: `))).toBe(true);

    const restore = world();
    const restored = await fanOut(message({ verdict: 'clean' }), restore.deps);
    expect(restored.verdict).toMatchObject({ status: 'completed', recipients: 0 });
    expect(restored.verdict.note).toMatch(/so there is nothing to restore/);
  });

  it('notes a partly resolved verdict: the copies it found are fanned out, the recipients it could not are named', async () => {
    const { deps, lines } = world();
    const result = await fanOut(
      message({
        messages: [
          { internetMessageId: '<m1@x>', recipients: ['a@contoso.com'] },
          { recipients: ['ghost@contoso.com'] },
        ],
      }),
      deps,
    );
    expect(result.verdict).toMatchObject({ status: 'fannedOut', recipients: 1 });
    expect(result.verdict.note).toMatch(
      /^No copy could be identified for 1 recipient\(s\) named without a message id \(ghost@contoso.com\)/,
    );
    expect(lines.some((l) => l.startsWith(`verdict ${verdictId} partly resolved: `))).toBe(true);
  });

  it('records the policy decision, logs why a requested action was refused, and lets the gate amend the verdict', async () => {
    const { deps, lines } = world((_m, decision) =>
      Promise.resolve({ ...decision, mode: 'simulate', verdictPatch: { status: 'awaitingApproval' } }),
    );
    await fanOut(
      message({
        action: 'hardDelete',
        messages: [{ internetMessageId: '<m1@x>', recipients: ['a@contoso.com'] }],
      }),
      deps,
    );
    const stored = await deps.verdicts.getVerdict(verdictId);
    expect(stored).toMatchObject({ action: 'softDelete', mode: 'simulate' });
    expect(lines).toContain(
      `verdict ${verdictId}: requested action "hardDelete" is not allowed by policy; "softDelete" applied`,
    );
    expect(deps.queue.to('remediations')[0]?.body).toMatchObject({ action: 'softDelete', mode: 'simulate' });
  });

  it('on a redelivery merges the decision into the existing verdict and creates no second row', async () => {
    const { deps } = world();
    const m = message({ messages: [{ internetMessageId: '<m1@x>', recipients: ['a@contoso.com'] }] });
    await deps.verdicts.createVerdict(acceptedVerdictRecord(verdictId, m.change, acceptedAt));
    const first = await fanOut(m, deps);
    expect(first).toMatchObject({ rows: 1, newRows: 1 });
    expect(await deps.verdicts.getVerdict(verdictId)).toMatchObject({
      action: 'softDelete',
      mode: 'enforce',
    });
    const again = await fanOut(m, deps);
    expect(again).toMatchObject({ rows: 1, newRows: 0, verdict: { status: 'fannedOut' } });
  });
});

describe('markFannedOut', () => {
  async function accepted(recipients = 0) {
    const verdicts = new InMemoryVerdicts();
    const change = message({}).change;
    await verdicts.createVerdict({ ...acceptedVerdictRecord(verdictId, change, acceptedAt), recipients });
    return verdicts;
  }

  it('fails retryably when the verdict vanished', async () => {
    const error: unknown = await markFannedOut(
      verdictId,
      1,
      'softDelete',
      undefined,
      new InMemoryVerdicts(),
    ).catch((e: unknown) => e);
    expect(isError(error) && error.message).toBe(`Verdict ${verdictId} vanished during fan-out.`);
    expect(error).toMatchObject({ code: 'Unknown', retryable: true });
  });

  it('never counts away rows a worker added meanwhile, and keeps no note when there is none', async () => {
    const verdicts = await accepted(5);
    const marked = await markFannedOut(verdictId, 3, 'softDelete', undefined, verdicts);
    expect(marked).toMatchObject({ status: 'fannedOut', recipients: 5 });
    expect(marked.note).toBeUndefined();
    expect((await markFannedOut(verdictId, 9, 'softDelete', 'n', await accepted(5))).recipients).toBe(9);
  });

  it('keeps the note a verdict already has when fan-out brings none', async () => {
    const verdicts = await accepted();
    await verdicts.mergeVerdict({ verdictId, note: 'held for approval' });
    const marked = await markFannedOut(verdictId, 1, 'softDelete', undefined, verdicts);
    expect(marked).toMatchObject({ status: 'fannedOut', note: 'held for approval' });
    expect((await verdicts.getVerdict(verdictId))?.note).toBe('held for approval');
  });

  it('leaves a verdict that moved on as it is', async () => {
    const verdicts = await accepted();
    await verdicts.mergeVerdict({ verdictId, status: 'completed' });
    const marked = await markFannedOut(verdictId, 3, 'softDelete', undefined, verdicts);
    expect(marked.status).toBe('completed');
    expect(await verdicts.getVerdict(verdictId)).toMatchObject({ status: 'completed', recipients: 0 });
  });

  it('ends a verdict without rows with the given note, or the default one', async () => {
    const restore = await markFannedOut(verdictId, 0, 'restore', undefined, await accepted());
    expect(restore).toMatchObject({
      status: 'completed',
      recipients: 0,
      note: 'Clawback changed no copy for this threat, so there is nothing to restore.',
    });
    expect(restore.completedAt).toEqual(expect.any(String));
    const none = await markFannedOut(verdictId, 0, 'softDelete', undefined, await accepted());
    expect(none).toMatchObject({
      status: 'unresolved',
      note: 'No delivered copy could be identified: the verdict lists no messages and the delivery ledger has no copy of this threat.',
    });
    expect(none.completedAt).toEqual(expect.any(String));
    expect((await markFannedOut(verdictId, 0, 'restore', 'why', await accepted())).note).toBe('why');
    expect((await markFannedOut(verdictId, 0, 'softDelete', 'why', await accepted())).note).toBe('why');
  });

  it('lets a write that landed meanwhile stand', async () => {
    const verdicts = await accepted();
    const racing: typeof verdicts = Object.assign(Object.create(verdicts) as typeof verdicts, {
      updateVerdict: async () => {
        await verdicts.mergeVerdict({ verdictId, status: 'deadLettered', note: 'dead-lettered' });
        return false;
      },
    });
    const marked = await markFannedOut(verdictId, 2, 'softDelete', undefined, racing);
    expect(marked).toMatchObject({ status: 'deadLettered', note: 'dead-lettered' });
  });
});
