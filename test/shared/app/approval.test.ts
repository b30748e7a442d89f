import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { run as runCli } from '../../../cli/clawback.js';
import type { SandboxMailbox } from '../../../local/sandbox/types.js';
import { expireWaiting } from '../../../shared/app/approval.js';
import { foldersOf, type SafetyRuntime, startSafetyRuntime } from '../../support/safetyRuntime.js';

const campaign = '<campaign-approval-1@evil.example>';
const second = '<campaign-approval-2@evil.example>';
const third = '<campaign-approval-3@evil.example>';
const recipients = Array.from({ length: 500 }, (_, i) => `r${String(i).padStart(3, '0')}@contoso.com`);
/** Ten recipients never received the first campaign: the simulation finds nothing there. */
const withoutCopy = new Set(recipients.slice(490));
const bystander = 'bystander@contoso.com';

function mailboxes(): SandboxMailbox[] {
  const campaignCopy = (id: string) => ({
    internetMessageId: id,
    subject: 'Payroll update',
    from: 'hr@evil.example',
  });
  return [
    ...recipients.map((address, i) => ({
      address,
      messages: [
        ...(withoutCopy.has(address) ? [] : [campaignCopy(campaign)]),
        ...(i < 150 ? [campaignCopy(second), campaignCopy(third)] : []),
      ],
    })),
    { address: bystander, messages: [campaignCopy(campaign)] },
  ];
}

let run: SafetyRuntime;

/** The operator's CLI against this runtime, with the admin key. */
async function cli(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await runCli(argv, {
    stdout: (t) => (out += t),
    stderr: (t) => (out += t),
    env: { CLAWBACK_URL: run.api, CLAWBACK_KEY: run.keys.admin },
    isTty: false,
  });
  return { code, out };
}

beforeAll(async () => {
  run = await startSafetyRuntime(mailboxes());
  await run.reconfigure((doc) => {
    doc.policies = [
      { verdict: 'malicious', action: 'moveToDeletedItems', approvalAbove: 100 },
      { verdict: 'clean', action: 'restore' },
    ];
  });
}, 120_000);
afterAll(() => run?.stop());

function verdictFor(eventId: string, internetMessageId: string, to: string[]) {
  return {
    eventId,
    source: 'proofpoint-tap',
    verdict: 'malicious',
    threat: {
      sha256: eventId
        .padEnd(64, '0')
        .replace(/[^0-9a-f]/g, 'a')
        .slice(0, 64),
    },
    messages: [{ internetMessageId, recipients: to }],
  };
}

async function accept(body: unknown): Promise<string> {
  const response = await run.call('POST', 'verdicts', 'ingest', body);
  expect(response.status).toBe(202);
  return response.body.verdictId as string;
}

async function verdict(id: string) {
  return (await run.call('GET', `verdicts/${id}?pageSize=1000`, 'ingest')).body as {
    verdict: Record<string, unknown>;
    remediations: { recipient: string; status: string }[];
  };
}

describe('a verdict above approvalAbove', () => {
  it('changes no mailbox until approved, then exactly the copies the simulation found', async () => {
    const before = foldersOf(run.runtime, [...recipients, bystander], campaign);
    const id = await accept(verdictFor('approval-500', campaign, recipients));
    await run.settle();

    const waiting = await verdict(id);
    expect(waiting.verdict).toMatchObject({
      status: 'awaitingApproval',
      mode: 'simulate',
      recipients: 500,
      done: 500,
    });
    expect(waiting.remediations.filter((r) => r.status === 'simulated')).toHaveLength(490);
    expect(waiting.remediations.filter((r) => r.status === 'notFound')).toHaveLength(10);
    expect(foldersOf(run.runtime, [...recipients, bystander], campaign)).toEqual(before);

    // A copy that arrives after the simulation was not part of what the admin approved.
    const late = [...withoutCopy][0] ?? '';
    run.runtime.tenant.addMessage(late, { internetMessageId: campaign, subject: 'Payroll update' });

    const approved = await run.call('POST', `verdicts/${id}/approve`, 'admin', {
      comment: 'checked with HR',
    });
    expect(approved).toMatchObject({ status: 200, body: { approvedBy: 'key:soc-admin', queued: 490 } });
    await run.settle();

    const after = foldersOf(run.runtime, [...recipients, bystander], campaign);
    for (const address of recipients) {
      if (address === late) expect(after[address]).toEqual(['inbox']);
      else if (withoutCopy.has(address)) expect(after[address]).toEqual([]);
      else expect(after[address]).toEqual(['deleteditems']);
    }
    expect(after[bystander]).toEqual(['inbox']);
    expect((await verdict(id)).verdict).toMatchObject({
      status: 'completed',
      mode: 'enforce',
      approvedBy: 'key:soc-admin',
      recipients: 500,
      done: 500,
    });
    expect((await run.call('POST', `verdicts/${id}/reject`, 'admin')).status).toBe(409);
  }, 240_000);

  it('when rejected, changes nothing and cannot be approved afterwards', async () => {
    const to = recipients.slice(0, 150);
    const before = foldersOf(run.runtime, to, second);
    const id = await accept(verdictFor('approval-reject', second, to));
    await run.settle();
    expect((await verdict(id)).verdict).toMatchObject({ status: 'awaitingApproval', done: 150 });

    const listed = await cli(['verdicts', 'list', '--waiting']);
    expect(listed.code).toBe(0);
    expect(listed.out).toContain(id);
    expect(listed.out).toMatch(/would apply: moveToDeletedItems 150/);
    expect(listed.out).toMatch(/found in: +inbox 150/i);

    const rejected = await cli(['verdicts', 'reject', id, '--comment', 'false alarm']);
    expect(rejected).toMatchObject({ code: 0, out: expect.stringContaining('key:soc-admin') as string });
    expect((await run.call('POST', `verdicts/${id}/approve`, 'admin')).body).toMatchObject({
      error: { code: 'NotAwaitingApproval' },
    });
    await run.settle();
    expect(foldersOf(run.runtime, to, second)).toEqual(before);
    expect((await verdict(id)).verdict).toMatchObject({ status: 'rejected' });
  }, 240_000);

  it('expires as rejected when nobody decides within the approval window', async () => {
    const to = recipients.slice(0, 150);
    const before = foldersOf(run.runtime, to, third);
    const id = await accept(verdictFor('approval-expire', third, to));
    await run.settle();
    const stored = await run.runtime.services.configStore.get();
    if (!stored) throw new Error('no configuration');
    const later = new Date(Date.now() + 25 * 3_600_000);
    expect(
      await expireWaiting({
        ...run.runtime.services,
        config: stored.document,
        checkDelayMs: 1000,
        now: () => later,
      }),
    ).toBe(1);

    expect((await verdict(id)).verdict).toMatchObject({
      status: 'rejected',
      approvedBy: 'clawback:approvalWindow',
    });
    expect((await run.call('POST', `verdicts/${id}/approve`, 'admin')).status).toBe(409);
    await run.settle();
    expect(foldersOf(run.runtime, to, third)).toEqual(before);
  }, 240_000);

  it('refuses a decision on an unknown verdict or with a comment that is not text', async () => {
    expect((await run.call('POST', 'verdicts/0000000000000-0000000000/approve', 'admin')).status).toBe(404);
    const id = await accept(verdictFor('approval-small', campaign, ['bystander@contoso.com']));
    expect((await run.call('POST', `verdicts/${id}/approve`, 'admin', { comment: 42 })).body).toMatchObject({
      error: { code: 'ValidationFailed' },
    });
  });
});
