import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type SafetyRuntime, startSafetyRuntime } from '../../support/safetyRuntime.js';

const original = '<orig-ews@evil.example>';
const forward = '<fw-ews-1@contoso.com>';

let run: SafetyRuntime;

function forwardMime(): string {
  return [
    'From: ews-erin@contoso.com',
    'To: "Fred" <ews-fred@contoso.com>',
    'Cc: ews-gail@contoso.com, partner@fabrikam.example',
    'Subject: FW: Shipping notice',
    `Message-ID: ${forward}`,
    `References: ${original}`,
    `In-Reply-To: ${original}`,
    'Date: Sun, 29 Nov 2026 09:00:00 GMT',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'See below.',
    '',
  ].join('\r\n');
}

beforeAll(async () => {
  run = await startSafetyRuntime();
  const onprem = run.runtime.onprem;
  for (const address of ['ews-erin@contoso.com', 'ews-fred@contoso.com', 'ews-gail@contoso.com'])
    onprem.addMailbox(address);
  onprem.addMessage('ews-erin@contoso.com', {
    internetMessageId: original,
    receivedAt: '2026-11-29T08:00:00Z',
  });
  onprem.addMessage('ews-erin@contoso.com', {
    internetMessageId: forward,
    folder: 'sentitems',
    receivedAt: '2026-11-29T09:00:00Z',
    mime: forwardMime(),
  });
  for (const colleague of ['ews-fred@contoso.com', 'ews-gail@contoso.com'])
    onprem.addMessage(colleague, { internetMessageId: forward, receivedAt: '2026-11-29T09:00:01Z' });
  await run.reconfigure((doc) => {
    for (const profile of doc.profiles) profile.followForwards = true;
    doc.policies = [{ verdict: 'malicious', action: 'moveToDeletedItems' }];
  });
}, 120_000);
afterAll(() => run?.stop());

const folderOf = (mailbox: string, id: string) =>
  run.runtime.onprem
    .mailboxView(mailbox)
    .messages.filter((m) => m.internetMessageId === id)
    .map((m) => m.folder);

describe('follow forwards on Exchange Server (EWS)', () => {
  it('remediates the forward in both colleagues’ on-premises mailboxes, rows saying where it came from', async () => {
    const accepted = await run.call('POST', 'verdicts', 'ingest', {
      eventId: 'ews-fw-1',
      source: 'proofpoint-tap',
      verdict: 'malicious',
      threat: { sha256: 'f'.repeat(64) },
      messages: [{ internetMessageId: original, recipients: ['ews-erin@contoso.com'] }],
    });
    expect(accepted.status).toBe(202);
    await run.settle();

    expect(folderOf('ews-erin@contoso.com', original)).toEqual(['Deleted Items']);
    expect(folderOf('ews-fred@contoso.com', forward)).toEqual(['Deleted Items']);
    expect(folderOf('ews-gail@contoso.com', forward)).toEqual(['Deleted Items']);
    expect(folderOf('ews-erin@contoso.com', forward)).toEqual(['Sent Items']);

    const status = (await run.call('GET', `verdicts/${String(accepted.body.verdictId)}`, 'ingest')).body as {
      verdict: Record<string, unknown>;
      remediations: {
        recipient: string;
        status: string;
        backend?: string;
        derivedFrom?: string;
        deliveredAt?: string;
      }[];
    };
    const rows = Object.fromEntries(status.remediations.map((r) => [r.recipient, r]));
    expect(Object.keys(rows).sort()).toEqual([
      'ews-erin@contoso.com',
      'ews-fred@contoso.com',
      'ews-gail@contoso.com',
    ]);
    for (const colleague of ['ews-fred@contoso.com', 'ews-gail@contoso.com'])
      expect(rows[colleague]).toMatchObject({
        status: 'succeeded',
        backend: 'ews',
        derivedFrom: `ews-erin@contoso.com ${original}`,
      });
    expect(rows['ews-erin@contoso.com']?.deliveredAt).toBe('2026-11-29T08:00:00.000Z');
    expect(status.verdict).toMatchObject({ status: 'completed', recipients: 3 });
  }, 120_000);
});
