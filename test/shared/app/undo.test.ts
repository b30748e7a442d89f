import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { sampleMessageId } from '../../../local/sampleTenant.js';
import { foldersOf, type SafetyRuntime, startSafetyRuntime } from '../../support/safetyRuntime.js';

let run: SafetyRuntime;

beforeAll(async () => {
  run = await startSafetyRuntime();
  await run.reconfigure((doc) => {
    doc.policies = [
      { verdict: 'malicious', action: 'hardDelete' },
      { verdict: 'clean', action: 'none' },
    ];
  });
}, 120_000);
afterAll(() => run?.stop());

const recipients = ['alice@contoso.com', 'bob@contoso.com'];

async function remediate(eventId: string, action: string): Promise<string> {
  const accepted = await run.call('POST', 'verdicts', 'ingest', {
    eventId,
    source: 'soar',
    verdict: 'malicious',
    action,
    threat: { sha256: 'e'.repeat(63) + String(eventId.length % 10) },
    messages: [{ internetMessageId: sampleMessageId, recipients }],
  });
  expect(accepted.status).toBe(202);
  await run.settle();
  return String(accepted.body.verdictId);
}

type Status = { verdict: Record<string, unknown>; remediations: { recipient: string; status: string }[] };
const status = async (id: string) => (await run.call('GET', `verdicts/${id}`, 'ingest')).body as Status;

describe('undo', () => {
  it('puts back every copy the verdict moved, as a new verdict that records who asked, even where the clean policy restores nothing', async () => {
    const before = foldersOf(run.runtime, recipients, sampleMessageId);
    const id = await remediate('undo-1', 'quarantine');
    expect(foldersOf(run.runtime, recipients, sampleMessageId)).not.toEqual(before);

    const undone = await run.call('POST', `verdicts/${id}/undo`, 'admin', { comment: 'false positive' });
    expect(undone).toMatchObject({ status: 202, body: { undoOf: id, copies: 2 } });
    const undoId = String(undone.body.verdictId);
    await run.settle();

    expect(foldersOf(run.runtime, recipients, sampleMessageId)).toEqual(before);
    const result = await status(undoId);
    expect(result.verdict).toMatchObject({
      source: 'clawback-undo',
      eventId: id,
      verdict: 'clean',
      action: 'restore',
      status: 'completed',
      approvedBy: 'key:soc-admin',
      succeeded: 2,
    });
    expect(result.remediations.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);

    // Asking again returns the same undo and moves nothing twice.
    const again = await run.call('POST', `verdicts/${id}/undo`, 'admin');
    expect(again).toMatchObject({ status: 200, body: { verdictId: undoId } });
    await run.settle();
    expect(foldersOf(run.runtime, recipients, sampleMessageId)).toEqual(before);
    // An undo is a restore: there is nothing it moved to undo in turn.
    expect((await run.call('POST', `verdicts/${undoId}/undo`, 'admin')).body).toMatchObject({
      error: { code: 'NothingToUndo' },
    });
  }, 120_000);

  it('records hard-deleted copies as not reversible', async () => {
    const id = await remediate('undo-22', 'hardDelete');
    const undone = await run.call('POST', `verdicts/${id}/undo`, 'admin');
    expect(undone.status).toBe(202);
    await run.settle();
    const result = await status(String(undone.body.verdictId));
    expect(result.remediations.map((r) => r.status)).toEqual(['notReversible', 'notReversible']);
    expect(foldersOf(run.runtime, recipients, sampleMessageId)).toEqual({
      'alice@contoso.com': ['recoverableitemspurges'],
      'bob@contoso.com': ['recoverableitemspurges', 'recoverableitemspurges'],
    });
  }, 120_000);

  it('answers 404 for a verdict that does not exist', async () => {
    expect((await run.call('POST', 'verdicts/0000000000000-0000000000/undo', 'admin')).status).toBe(404);
  });
});
