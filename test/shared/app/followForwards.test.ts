import { createHash } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SandboxMailbox, SandboxMessage } from '../../../local/sandbox/types.js';
import { foldersOf, type SafetyRuntime, startSafetyRuntime } from '../../support/safetyRuntime.js';

const original = '<orig-fw@evil.example>';
const forward = '<fw-1@contoso.com>';
const unrelated = '<lunch@contoso.com>';
const payload = Buffer.from('MZ not really a dropper').toString('base64');
const payloadSha = createHash('sha256').update(Buffer.from(payload, 'base64')).digest('hex');

const inbox = (
  internetMessageId: string,
  at: string,
  extra: Partial<SandboxMessage> = {},
): SandboxMessage => ({
  internetMessageId,
  subject: 'Quarterly bonus',
  from: 'hr@evil.example',
  receivedDateTime: at,
  ...extra,
});
const sent = (
  internetMessageId: string,
  at: string,
  to: string[],
  extra: Partial<SandboxMessage> = {},
): SandboxMessage => ({
  internetMessageId,
  subject: 'FW: Quarterly bonus',
  receivedDateTime: at,
  folder: 'sentitems',
  toRecipients: to,
  ...extra,
});
/** The original as attached to a forward (an itemAttachment): its MIME carries the file as a base64 part. */
const attachedOriginal = (internetMessageId: string) => ({
  name: 'Quarterly bonus',
  mime: [
    'From: hr@evil.example',
    'Subject: Quarterly bonus',
    `Message-ID: ${internetMessageId}`,
    'Content-Type: multipart/mixed; boundary="part"',
    '',
    '--part',
    'Content-Type: text/plain',
    '',
    'Open the attachment.',
    '--part',
    'Content-Type: application/vnd.ms-excel.sheet.macroEnabled.12; name="bonus.xlsm"',
    'Content-Transfer-Encoding: base64',
    '',
    payload,
    '--part--',
    '',
  ].join('\r\n'),
});
const refersTo = (id: string) => ({
  internetMessageHeaders: [
    { name: 'References', value: id },
    { name: 'In-Reply-To', value: id },
  ],
});

function mailboxes(): SandboxMailbox[] {
  return [
    {
      address: 'fw-alice@contoso.com',
      messages: [
        inbox(original, '2026-11-29T08:00:00Z'),
        sent(
          forward,
          '2026-11-29T09:00:00Z',
          ['fw-bob@contoso.com', 'fw-carol@contoso.com', 'partner@fabrikam.example'],
          refersTo(original),
        ),
        sent(unrelated, '2026-11-29T10:00:00Z', ['fw-dave@contoso.com']),
      ],
    },
    { address: 'fw-bob@contoso.com', messages: [inbox(forward, '2026-11-29T09:00:01Z')] },
    { address: 'fw-carol@contoso.com', messages: [inbox(forward, '2026-11-29T09:00:02Z')] },
    { address: 'fw-dave@contoso.com', messages: [inbox(unrelated, '2026-11-29T10:00:01Z')] },
    // A chain found by the attachment's hash, then forwarded twice more: depth 2 is followed, depth 3 is not.
    {
      address: 'att-gina@contoso.com',
      messages: [
        inbox('<orig-att@evil.example>', '2026-11-29T08:00:00Z', {
          attachments: [{ name: 'bonus.xlsm', contentBase64: payload }],
        }),
        sent('<reply-1@contoso.com>', '2026-11-29T09:00:00Z', ['att-hank@contoso.com'], {
          attachments: [{ name: 'bonus.xlsm', contentBase64: payload }],
        }),
      ],
    },
    {
      address: 'att-hank@contoso.com',
      messages: [
        inbox('<reply-1@contoso.com>', '2026-11-29T09:00:01Z'),
        sent(
          '<fw-2@contoso.com>',
          '2026-11-29T09:30:00Z',
          ['att-ivy@contoso.com'],
          refersTo('<reply-1@contoso.com>'),
        ),
      ],
    },
    {
      address: 'att-ivy@contoso.com',
      messages: [
        inbox('<fw-2@contoso.com>', '2026-11-29T09:30:01Z'),
        sent(
          '<fw-3@contoso.com>',
          '2026-11-29T10:00:00Z',
          ['att-jack@contoso.com'],
          refersTo('<fw-2@contoso.com>'),
        ),
      ],
    },
    { address: 'att-jack@contoso.com', messages: [inbox('<fw-3@contoso.com>', '2026-11-29T10:00:01Z')] },
    // Forwarded as attachment, without References: found only by the hash inside the attached message.
    {
      address: 'item-kim@contoso.com',
      messages: [
        inbox('<orig-item@evil.example>', '2026-11-29T08:00:00Z', {
          attachments: [{ name: 'bonus.xlsm', contentBase64: payload }],
        }),
        sent('<fw-as-att@contoso.com>', '2026-11-29T09:00:00Z', ['item-lee@contoso.com'], {
          itemAttachments: [attachedOriginal('<orig-item@evil.example>')],
        }),
      ],
    },
    {
      address: 'item-lee@contoso.com',
      messages: [
        inbox('<fw-as-att@contoso.com>', '2026-11-29T09:00:01Z', {
          itemAttachments: [attachedOriginal('<orig-item@evil.example>')],
        }),
      ],
    },
  ];
}

let run: SafetyRuntime;

beforeAll(async () => {
  run = await startSafetyRuntime(mailboxes());
  await run.reconfigure((doc) => {
    for (const profile of doc.profiles) profile.followForwards = true;
    doc.policies = [{ verdict: 'malicious', action: 'moveToDeletedItems' }];
  });
}, 120_000);
afterAll(() => run?.stop());

type Row = {
  completedAt?: string;
  recipient: string;
  internetMessageId: string;
  status: string;
  derivedFrom?: string;
  deliveredAt?: string;
  exposureSeconds?: number;
};

async function runVerdict(eventId: string, sha256: string, internetMessageId: string, recipient: string) {
  const accepted = await run.call('POST', 'verdicts', 'ingest', {
    eventId,
    source: 'cisco-secure-endpoint',
    verdict: 'malicious',
    threat: { sha256 },
    messages: [{ internetMessageId, recipients: [recipient] }],
  });
  expect(accepted.status).toBe(202);
  await run.settle();
  return (await run.call('GET', `verdicts/${String(accepted.body.verdictId)}`, 'ingest')).body as {
    verdict: Record<string, unknown>;
    remediations: Row[];
  };
}

describe('follow forwards', () => {
  it('remediates a message forwarded by one recipient to two colleagues in all three mailboxes, the derived rows saying where they came from', async () => {
    const result = await runVerdict('fw-1', 'c'.repeat(64), original, 'fw-alice@contoso.com');

    expect(foldersOf(run.runtime, ['fw-alice@contoso.com'], original)).toEqual({
      'fw-alice@contoso.com': ['deleteditems'],
    });
    expect(
      foldersOf(run.runtime, ['fw-bob@contoso.com', 'fw-carol@contoso.com', 'fw-alice@contoso.com'], forward),
    ).toEqual({
      'fw-bob@contoso.com': ['deleteditems'],
      'fw-carol@contoso.com': ['deleteditems'],
      // The sender's own Sent Items copy is not one the forward produced in a colleague's mailbox.
      'fw-alice@contoso.com': ['sentitems'],
    });
    expect(foldersOf(run.runtime, ['fw-dave@contoso.com'], unrelated)).toEqual({
      'fw-dave@contoso.com': ['inbox'],
    });

    const rows = Object.fromEntries(result.remediations.map((r) => [r.recipient, r]));
    expect(Object.keys(rows).sort()).toEqual([
      'fw-alice@contoso.com',
      'fw-bob@contoso.com',
      'fw-carol@contoso.com',
    ]);
    for (const colleague of ['fw-bob@contoso.com', 'fw-carol@contoso.com'])
      expect(rows[colleague]).toMatchObject({
        status: 'succeeded',
        internetMessageId: forward,
        derivedFrom: `fw-alice@contoso.com ${original}`,
      });
    expect(rows['fw-alice@contoso.com']?.derivedFrom).toBeUndefined();
    expect(rows['fw-alice@contoso.com']).toMatchObject({
      status: 'succeeded',
      deliveredAt: '2026-11-29T08:00:00.000Z',
    });
    expect(rows['fw-alice@contoso.com']?.exposureSeconds).toBeGreaterThan(0);
    expect(result.verdict).toMatchObject({ status: 'completed', recipients: 3, done: 3 });
    expect(result.verdict.medianExposureSeconds).toBeGreaterThan(0);

    const report = (await run.call('GET', 'report', 'ingest')).body as {
      exposure: {
        bySourceAndDay: { day: string; source: string; copies: number; medianExposureSeconds: number }[];
      };
    };
    expect(report.exposure.bySourceAndDay).toContainEqual(
      expect.objectContaining({
        source: 'cisco-secure-endpoint',
        day: rows['fw-alice@contoso.com']?.completedAt?.slice(0, 10),
        copies: 3,
      }),
    );
  }, 120_000);

  it('follows a copy that carries the same attachment, and a forward of that copy, but stops after two steps', async () => {
    const result = await runVerdict('att-1', payloadSha, '<orig-att@evil.example>', 'att-gina@contoso.com');

    expect(foldersOf(run.runtime, ['att-gina@contoso.com'], '<orig-att@evil.example>')).toEqual({
      'att-gina@contoso.com': ['deleteditems'],
    });
    expect(foldersOf(run.runtime, ['att-hank@contoso.com'], '<reply-1@contoso.com>')).toEqual({
      'att-hank@contoso.com': ['deleteditems'],
    });
    expect(foldersOf(run.runtime, ['att-ivy@contoso.com'], '<fw-2@contoso.com>')).toEqual({
      'att-ivy@contoso.com': ['deleteditems'],
    });
    expect(foldersOf(run.runtime, ['att-jack@contoso.com'], '<fw-3@contoso.com>')).toEqual({
      'att-jack@contoso.com': ['inbox'],
    });
    const rows = Object.fromEntries(result.remediations.map((r) => [r.recipient, r]));
    expect(rows['att-hank@contoso.com']?.derivedFrom).toBe('att-gina@contoso.com <orig-att@evil.example>');
    expect(rows['att-ivy@contoso.com']?.derivedFrom).toBe('att-hank@contoso.com <reply-1@contoso.com>');
    expect(result.verdict).toMatchObject({ status: 'completed', recipients: 3 });
  }, 120_000);

  it('follows a forward as attachment by the hash of the file inside the attached message', async () => {
    const result = await runVerdict('item-1', payloadSha, '<orig-item@evil.example>', 'item-kim@contoso.com');

    expect(foldersOf(run.runtime, ['item-kim@contoso.com'], '<orig-item@evil.example>')).toEqual({
      'item-kim@contoso.com': ['deleteditems'],
    });
    expect(
      foldersOf(run.runtime, ['item-lee@contoso.com', 'item-kim@contoso.com'], '<fw-as-att@contoso.com>'),
    ).toEqual({
      'item-lee@contoso.com': ['deleteditems'],
      'item-kim@contoso.com': ['sentitems'],
    });
    const rows = Object.fromEntries(result.remediations.map((r) => [r.recipient, r]));
    expect(rows['item-lee@contoso.com']).toMatchObject({
      status: 'succeeded',
      internetMessageId: '<fw-as-att@contoso.com>',
      derivedFrom: 'item-kim@contoso.com <orig-item@evil.example>',
    });
    expect(result.verdict).toMatchObject({ status: 'completed', recipients: 2 });
  }, 120_000);
});
