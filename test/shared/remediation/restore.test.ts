import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import type { Services } from '../../../shared/composition.js';
import type { ConfigDocumentInput } from '../../../shared/config/document.js';
import { InMemoryMailBackend } from '../../fakes/inMemoryMailBackend.js';
import { VerdictChangeMother } from '../../mothers/verdictChangeMother.js';
import { startHarness, stopHarness } from '../../support/harness.js';
import { Pipeline } from '../../support/pipeline.js';

let services: Services;
let backend: InMemoryMailBackend;
let pipeline: Pipeline;

afterAll(stopHarness);

async function setUp(policies: ConfigDocumentInput['policies']): Promise<void> {
  ({ backend, services, pipeline } = await startHarness({ config: { policies } }));
}

/** A threat of its own per test, so the RemediatedCopies of one test never meet another's. */
let threatNumber = 0;
function threat(): { sha256: string } {
  threatNumber += 1;
  return { sha256: threatNumber.toString(16).padStart(64, 'b') };
}

const copy = (t: { sha256: string }, verdict: string, withMessages = true) =>
  VerdictChangeMother.malicious({
    verdict,
    threat: t,
    ...(withMessages
      ? { messages: [{ internetMessageId: '<m1@mail.example.com>', recipients: ['alice@contoso.com'] }] }
      : { messages: undefined }),
  });

describe('a verdict that flips back to clean', () => {
  beforeEach(() =>
    setUp([
      { verdict: 'malicious', action: 'moveToJunk' },
      { verdict: 'clean', action: 'restore' },
    ]),
  );

  it('puts a moved copy back into its original folder and records the restore', async () => {
    backend.deliver('alice@contoso.com', '<m1@mail.example.com>', 'Invoices');
    const t = threat();
    const malicious = await pipeline.fanOut(copy(t, 'malicious'));
    await pipeline.runAll(malicious.messages);
    expect(backend.items('alice@contoso.com')[0]?.folderId).toBe('junkemail');

    const clean = await pipeline.fanOut(copy(t, 'clean'));
    await pipeline.runAll(clean.messages);
    expect(backend.items('alice@contoso.com')[0]?.folderId).toBe('Invoices');
    expect(await pipeline.row(clean.verdictId, clean.messages[0])).toMatchObject({
      status: 'succeeded',
      action: 'restore',
      originalFolder: 'Invoices',
    });
  });

  it('never moves a copy twice: a second clean verdict finds it already restored', async () => {
    backend.deliver('alice@contoso.com', '<m1@mail.example.com>');
    const t = threat();
    await pipeline.runAll((await pipeline.fanOut(copy(t, 'malicious'))).messages);
    await pipeline.runAll((await pipeline.fanOut(copy(t, 'clean'))).messages);
    const again = await pipeline.fanOut(VerdictChangeMother.malicious({ verdict: 'clean', threat: t }));
    await pipeline.runAll(again.messages);
    expect(await pipeline.row(again.verdictId, again.messages[0])).toMatchObject({
      status: 'alreadyRemediated',
    });
    expect(backend.actions.filter((a) => a.action === 'restore')).toHaveLength(1);
  });

  it('leaves a restored copy where its owner put it afterwards: a later clean verdict moves nothing', async () => {
    backend.deliver('alice@contoso.com', '<m1@mail.example.com>', 'Invoices');
    const t = threat();
    await pipeline.runAll((await pipeline.fanOut(copy(t, 'malicious'))).messages);
    await pipeline.runAll((await pipeline.fanOut(copy(t, 'clean'))).messages);
    const restored = backend.items('alice@contoso.com')[0];
    expect(restored?.folderId).toBe('Invoices');
    // Alice files the message away herself once it is back.
    if (restored) restored.folderId = 'Archive';

    const again = await pipeline.fanOut(VerdictChangeMother.malicious({ verdict: 'clean', threat: t }));
    await pipeline.runAll(again.messages);
    expect(backend.items('alice@contoso.com')[0]?.folderId).toBe('Archive');
    expect(await pipeline.row(again.verdictId, again.messages[0])).toMatchObject({
      status: 'alreadyRemediated',
      detail: expect.stringMatching(/^Already restored at /) as string,
    });
  });

  it('without messages, restores every copy Clawback changed for the same threat', async () => {
    const recipients = ['alice@contoso.com', 'bob@contoso.com', 'carol@contoso.com'];
    for (const r of recipients) backend.deliver(r, '<m1@mail.example.com>');
    const t = threat();
    await pipeline.runAll(
      (
        await pipeline.fanOut(
          VerdictChangeMother.malicious({
            threat: t,
            messages: [{ internetMessageId: '<m1@mail.example.com>', recipients }],
          }),
        )
      ).messages,
    );

    const clean = await pipeline.fanOut(copy(t, 'clean', false));
    expect(clean.messages.map((m) => m.recipient).sort()).toEqual(recipients);
    await pipeline.runAll(clean.messages);
    for (const r of recipients) expect(backend.items(r)[0]?.folderId).toBe('inbox');
    expect(await services.store.getVerdict(clean.verdictId)).toMatchObject({
      status: 'completed',
      succeeded: 3,
      recipients: 3,
    });
  });

  it('reports notFound when the moved copy is gone by the time the verdict flips back', async () => {
    backend.deliver('alice@contoso.com', '<m1@mail.example.com>');
    const t = threat();
    await pipeline.runAll((await pipeline.fanOut(copy(t, 'malicious'))).messages);
    backend.items('alice@contoso.com').splice(0);
    const clean = await pipeline.fanOut(copy(t, 'clean'));
    await pipeline.runAll(clean.messages);
    expect(await pipeline.row(clean.verdictId, clean.messages[0])).toMatchObject({
      status: 'notFound',
      reason: 'MessageNotFound',
    });
  });

  it('reports notFound for a copy Clawback never changed', async () => {
    backend.deliver('alice@contoso.com', '<m1@mail.example.com>');
    const clean = await pipeline.fanOut(copy(threat(), 'clean'));
    await pipeline.runAll(clean.messages);
    expect(await pipeline.row(clean.verdictId, clean.messages[0])).toMatchObject({
      status: 'notFound',
      reason: 'MessageNotFound',
    });
  });
});

describe('copies that cannot be put back', () => {
  it('records notReversible for a hard-deleted copy', async () => {
    await setUp([
      { verdict: 'malicious', action: 'hardDelete' },
      { verdict: 'clean', action: 'restore' },
    ]);
    backend.deliver('alice@contoso.com', '<m1@mail.example.com>');
    const t = threat();
    await pipeline.runAll((await pipeline.fanOut(copy(t, 'malicious'))).messages);
    const clean = await pipeline.fanOut(copy(t, 'clean'));
    await pipeline.runAll(clean.messages);
    const row = await pipeline.row(clean.verdictId, clean.messages[0]);
    expect(row.status).toBe('notReversible');
    expect(row.detail).toMatch(/permanently deleted/);
  });
});

describe('a recipient that is a group', () => {
  it('is expanded into one row per member mailbox, each remediated, and the verdict counts them', async () => {
    await setUp([{ verdict: 'malicious', action: 'softDelete' }]);
    const members = ['m1@contoso.com', 'm2@contoso.com', 'm3@contoso.com'];
    for (const m of members) backend.deliver(m, '<m1@mail.example.com>');
    backend.group('finance@contoso.com', members);
    const verdict = await pipeline.fanOut(
      VerdictChangeMother.malicious({
        messages: [{ internetMessageId: '<m1@mail.example.com>', recipients: ['finance@contoso.com'] }],
      }),
    );
    await pipeline.runAll(verdict.messages);

    const rows = await pipeline.rows(verdict.verdictId);
    expect(rows.map((r) => r.recipient).sort()).toEqual(['finance@contoso.com', ...members]);
    expect(rows.find((r) => r.recipient === 'finance@contoso.com')?.detail).toMatch(
      /is a group "finance": expanded into 3 member mailboxes/,
    );
    for (const m of members) expect(backend.items(m)[0]?.folderId).toBe('recoverableitemsdeletions');
    expect(await services.store.getVerdict(verdict.verdictId)).toMatchObject({
      status: 'completed',
      recipients: 4,
      done: 4,
    });
  });
});
