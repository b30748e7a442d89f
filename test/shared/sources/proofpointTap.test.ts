import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { detectFormat, normalise } from '../../../shared/sources/index.js';
import { parseAnyVerdictBody } from '../../../shared/verdicts/ingest.js';

type Json = Record<string, unknown>;
const fixture = (name: string): Json =>
  JSON.parse(readFileSync(path.resolve(__dirname, '../../fixtures/sources', `${name}.json`), 'utf8')) as Json;

const sha = '9d4b1e0c7f2a3865c1d0e4f7a9b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4';
const clearedSha = '5d41402abc4b2a76b9719d911017c592ae2c3b7f4e8a1d0c9b8a7f6e5d4c3b2a';

function changes(body: unknown, format?: string): Json[] {
  return parseAnyVerdictBody(body, format).changes;
}

describe('Proofpoint TAP events as the SIEM API really emits them', () => {
  it('accepts a bare single message event, detected without ?format=, with its bracketed messageID kept', () => {
    const event = fixture('proofpoint-event-active');
    expect(detectFormat(event)).toBe('proofpoint-tap');
    expect(changes(event)).toEqual([
      {
        eventId: `Xk3vQ0b9Lr2mTt7pYw1sZc4dNf6gHj8k:${sha}:active`,
        source: 'proofpoint-tap',
        verdict: 'malicious',
        observedAt: '2026-03-04T08:02:38.000Z',
        threat: { sha256: sha, filename: 'Remittance_Q1.xlsm', name: 'malware' },
        messages: [
          {
            internetMessageId: '<CAF8x1q-TzR9eN0v@mail.northwind-billing.example>',
            recipients: ['ana.souza@contoso.com', 'raj.patel@contoso.com'],
            sender: 'billing@northwind-billing.example',
            subject: 'Remittance advice Q1',
            receivedAt: '2026-03-04T07:41:12.000Z',
          },
        ],
      },
    ]);
  });

  it('accepts an array of events, with and without ?format=proofpoint-tap', () => {
    const active = fixture('proofpoint-event-active');
    const cleared = fixture('proofpoint-event-cleared-empty-messageid');
    for (const format of [undefined, 'proofpoint-tap'])
      expect(changes([active, cleared], format).map((c) => c.verdict)).toEqual(['malicious', 'clean']);
  });

  it('turns a lower-case cleared event with an empty messageID into a clean verdict that keeps its recipients', () => {
    const [change] = changes(fixture('proofpoint-event-cleared-empty-messageid'));
    expect(change).toEqual({
      eventId: `f3c1a2b4-77d0-4e52-9b1a-0c5d6e7f8a9b:${clearedSha}:cleared`,
      source: 'proofpoint-tap',
      verdict: 'clean',
      observedAt: '2026-11-30T08:12:40.000Z',
      threat: { sha256: clearedSha, filename: 'shipping-q4.xlsm', name: 'malware' },
      messages: [
        {
          recipients: ['carol@contoso.com'],
          sender: 'reports@tailspin-toys.example',
          subject: 'Q4 shipping report',
          receivedAt: '2026-11-30T07:40:12.000Z',
        },
      ],
    });
  });

  it.each([
    ['falsePositive', 'falsepositive'],
    ['falsepositive', 'falsepositive'],
    ['FALSEPOSITIVE', 'falsepositive'],
    ['Cleared', 'cleared'],
  ])('reads threatStatus %s as clean, whatever its case', (status, key) => {
    const event = fixture('proofpoint-event-active');
    (event.threatsInfoMap as Json[])[0]!.threatStatus = status;
    const [change] = changes(event);
    expect(change).toMatchObject({
      verdict: 'clean',
      eventId: `Xk3vQ0b9Lr2mTt7pYw1sZc4dNf6gHj8k:${sha}:${key}`,
    });
  });

  it('reads threatID or threatId, and campaignID or campaignId, alike', () => {
    const event = fixture('proofpoint-event-active');
    const threat = (event.threatsInfoMap as Json[])[0]!;
    threat.threatId = threat.threatID;
    delete threat.threatID;
    threat.campaignId = threat.campaignID;
    delete threat.campaignID;
    expect(changes(event)[0]?.eventId).toBe(`Xk3vQ0b9Lr2mTt7pYw1sZc4dNf6gHj8k:${sha}:active`);
  });

  it('takes a messageID without angle brackets (as the documentation shows it) into the <id@host> form', () => {
    const event = fixture('proofpoint-event-active');
    event.messageID = 'CAF8x1q-TzR9eN0v@mail.northwind-billing.example';
    expect((changes(event)[0]?.messages as Json[])[0]?.internetMessageId).toBe(
      '<CAF8x1q-TzR9eN0v@mail.northwind-billing.example>',
    );
  });

  it('reads every /v2/siem/* envelope: only delivered messages become verdicts, the rest are noted', () => {
    const event = fixture('proofpoint-event-active');
    const click = {
      GUID: 'b27dbea0-87d5-463b-b93c-4e8b708289ce',
      clickTime: '2026-03-04T09:17:44.000Z',
      url: 'http://badguy.example/',
      recipient: 'ana.souza@contoso.com',
      threatID: sha,
      threatStatus: 'active',
      classification: 'MALWARE',
    };
    for (const [list, verdicts] of [
      ['messagesDelivered', 1],
      ['messagesBlocked', 0],
      ['clicksPermitted', 0],
      ['clicksBlocked', 0],
    ] as const) {
      const body = {
        queryEndTime: '2026-03-04T10:00:00Z',
        [list]: [list.startsWith('clicks') ? click : event],
      };
      const result = normalise('proofpoint-tap', body);
      expect(result.ok, list).toBe(true);
      if (!result.ok) continue;
      expect(result.changes, list).toHaveLength(verdicts);
      if (verdicts === 0) expect(result.notes.map((n) => n.path)).toEqual([list]);
    }
  });

  it('notes a bare click event and a bare blocked message instead of making verdicts of them', () => {
    const blocked = { ...fixture('proofpoint-event-active'), quarantineFolder: 'Attachment Defense' };
    const click = { GUID: 'c1', clickTime: '2026-03-04T09:17:44.000Z', url: 'http://badguy.example/' };
    const result = normalise('proofpoint-tap', [blocked, click]);
    expect(result).toMatchObject({ ok: true, changes: [] });
    if (result.ok)
      expect(result.notes.map((n) => n.path).sort()).toEqual(['clicksPermitted', 'messagesBlocked']);
  });

  it('keeps the messages to the ledger when an empty messageID comes without any recipient', () => {
    const event = fixture('proofpoint-event-cleared-empty-messageid');
    event.recipient = [];
    event.toAddresses = [];
    const [change] = changes(event);
    expect(change?.messages).toBeUndefined();
  });
});
