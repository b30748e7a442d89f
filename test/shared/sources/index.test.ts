import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { detectFormat, isSourceFormat, normalise, type SourceFormat } from '../../../shared/sources/index.js';
import { verdictChangeSchema } from '../../../shared/verdicts/schema.js';
import { VerdictChangeMother } from '../../mothers/verdictChangeMother.js';

const fixtureDir = path.resolve(__dirname, '../../fixtures/sources');

type Json = Record<string, unknown>;

/** A fresh parse each time, the way the ingest function sees a body (64-bit ids rounded included). */
function fixture(name: string): Json {
  return JSON.parse(readFileSync(path.join(fixtureDir, `${name}.json`), 'utf8')) as Json;
}

function changesOf(format: SourceFormat, body: unknown): Json[] {
  const result = normalise(format, body);
  if (!result.ok) throw new Error(`expected changes, got problems: ${JSON.stringify(result.details)}`);
  return result.changes as Json[];
}

function notesOf(format: SourceFormat, body: unknown): { path: string; message: string }[] {
  const result = normalise(format, body);
  if (!result.ok) throw new Error(`expected changes, got problems: ${JSON.stringify(result.details)}`);
  return result.notes;
}

function problemsOf(format: SourceFormat, body: unknown): { path: string; message: string }[] {
  const result = normalise(format, body);
  if (result.ok) throw new Error(`expected problems, got changes: ${JSON.stringify(result.changes)}`);
  return result.details;
}

const sha = {
  remittance: '9d4b1e0c7f2a3865c1d0e4f7a9b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4',
  scan: '4f2c0a9e8d7b6c5a4f3e2d1c0b9a8f7e6d5c4b3a29180716f5e4d3c2b1a09f8e',
  emotet: 'e3b4a1c2d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90',
  qakbot: '5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b',
  paymentPage: '8e1f3a5c7b9d2e4f6a8c0b1d3e5f7a9c2b4d6e8f0a1c3e5b7d9f2a4c6e8b0d1f',
};

describe('format detection', () => {
  it.each<[string, SourceFormat]>([
    ['proofpoint-siem-all', 'proofpoint-tap'],
    ['proofpoint-siem-false-positive', 'proofpoint-tap'],
    ['cisco-secure-endpoint-events', 'cisco-secure-endpoint'],
    ['cisco-secure-endpoint-single', 'cisco-secure-endpoint'],
    ['microsoft-defender-alert', 'microsoft-defender'],
    ['microsoft-defender-alerts-list', 'microsoft-defender'],
    ['microsoft-graph-change-notification', 'microsoft-defender'],
    ['generic-verdict', 'generic'],
  ])('recognises %s as %s', (name, format) => {
    expect(detectFormat(fixture(name))).toBe(format);
  });

  it.each<[string, unknown, SourceFormat]>([
    ['an empty Proofpoint polling window', { queryEndTime: '2026-03-04T10:00:00Z' }, 'proofpoint-tap'],
    [
      'one bare Secure Endpoint event',
      (fixture('cisco-secure-endpoint-events').data as unknown[])[0],
      'cisco-secure-endpoint',
    ],
    [
      'an array of Secure Endpoint events',
      fixture('cisco-secure-endpoint-events').data,
      'cisco-secure-endpoint',
    ],
    ['an array of Graph alerts', [fixture('microsoft-defender-alert')], 'microsoft-defender'],
    ['a generic array', [VerdictChangeMother.malicious(), VerdictChangeMother.malicious()], 'generic'],
    ['a generic verdict missing fields', { source: 'soar', verdict: 'clean' }, 'generic'],
    ['an unknown object', { alarm: 'x', severity: 3 }, 'generic'],
    ['a string', 'malicious', 'generic'],
    ['null', null, 'generic'],
    ['an empty Graph collection without context', { value: [] }, 'generic'],
  ])('detects %s', (_, body, format) => {
    expect(detectFormat(body)).toBe(format);
  });

  it('knows the ?format= names and no others', () => {
    expect(
      ['generic', 'proofpoint-tap', 'cisco-secure-endpoint', 'microsoft-defender'].every(isSourceFormat),
    ).toBe(true);
    expect(isSourceFormat('defender')).toBe(false);
    expect(isSourceFormat('Proofpoint-TAP')).toBe(false);
  });
});

describe('generic bodies', () => {
  it('passes one verdict change through as the only change', () => {
    const body = fixture('generic-verdict');
    expect(changesOf('generic', body)).toEqual([body]);
  });

  it('passes an array through element by element, for the schema to judge each', () => {
    const body = [VerdictChangeMother.malicious(), { eventId: 'x' }];
    expect(changesOf('generic', body)).toEqual(body);
  });

  it('names the expected shapes and the keys it found when an object is nothing it knows', () => {
    const [problem, ...rest] = problemsOf('generic', { alarm: 'x', severity: 3 });
    expect(rest).toEqual([]);
    expect(problem?.path).toBe('$');
    expect(problem?.message).toMatch(/eventId, source, verdict, threat/);
    expect(problem?.message).toMatch(/\?format=proofpoint-tap\|cisco-secure-endpoint\|microsoft-defender/);
    expect(problem?.message).toMatch(/keys are alarm, severity/);
  });

  it.each<[string, Json]>([
    ['a lone key of the generic shape', { verdict: 'malicious', deliveryAction: 'delivered' }],
    ['a Graph remediation request', { action: 'softDelete', analyzedEmails: [{ id: 'a-1' }] }],
  ])('treats %s as an unknown shape, not as a verdict change', (_, body) => {
    expect(problemsOf('generic', body)).toEqual([
      { path: '$', message: expect.stringMatching(/is no verdict change Clawback recognises/) as string },
    ]);
  });

  it('leaves a verdict change with missing fields to the schema, which names them', () => {
    const body = { source: 'soar', verdict: 'clean' };
    const [change] = changesOf('generic', body);
    const parsed = verdictChangeSchema.safeParse(change);
    expect(parsed.success ? [] : parsed.error.issues.map((i) => i.path.join('.'))).toEqual([
      'eventId',
      'threat',
    ]);
  });

  it.each([
    ['a number', 42, /got number/],
    ['null', null, /got null/],
  ])('says what it got when the body is %s', (_, body, message) => {
    expect(problemsOf('generic', body)).toEqual([
      { path: '$', message: expect.stringMatching(message) as string },
    ]);
  });
});

describe('Proofpoint TAP SIEM', () => {
  const malwareGuid = 'Xk3vQ0b9Lr2mTt7pYw1sZc4dNf6gHj8k';

  it('turns a retroactive attachment detection on a delivered message into a malicious verdict for its envelope recipients', () => {
    const [change] = changesOf('proofpoint-tap', fixture('proofpoint-siem-all'));
    expect(change).toEqual({
      eventId: `${malwareGuid}:${sha.remittance}:active`,
      source: 'proofpoint-tap',
      verdict: 'malicious',
      observedAt: '2026-03-04T08:52:30.000Z',
      threat: { sha256: sha.remittance, filename: 'Remittance_Q1.xlsm', name: 'malware' },
      messages: [
        {
          internetMessageId: '<CAF8x1q-TzR9eN0v@mail.northwind-billing.example>',
          recipients: ['ana.souza@contoso.com', 'raj.patel@contoso.com'],
          sender: 'billing@northwind-billing.example',
          subject: 'Remittance advice Q1 — please review',
          receivedAt: '2026-03-04T07:41:12.000Z',
        },
      ],
    });
  });

  it('turns an active phish URL into a malicious URL verdict, whatever the case of threatID, threatType and classification', () => {
    const change = changesOf('proofpoint-tap', fixture('proofpoint-siem-all'))[1];
    expect(change).toMatchObject({
      eventId: `Pq7wEr5tYu3iOp1aSd9fGh2jKl4zXc6v:${'b3'.repeat(32)}:active`,
      verdict: 'malicious',
      threat: { url: 'https://docs-share.fabrikam-notify.example/view?d=8812', name: 'phish' },
      messages: [
        {
          internetMessageId: '<0100018e0b2f6a1c-7d3e@eu-west-1.mailer.fabrikam-notify.example>',
          recipients: ['lena.fischer@contoso.com'],
          sender: 'no-reply@fabrikam-notify.example',
        },
      ],
    });
  });

  it('keeps the recipients, sender, subject and time, without an id, when TAP sends an empty messageID', () => {
    const body = fixture('proofpoint-siem-all');
    const change = changesOf('proofpoint-tap', body).find((c) => (c.threat as Json).sha256 === sha.scan);
    expect(change).toEqual({
      eventId: `Lk2jHg4fDs6aPo8iUy0tRe1wQz3xCv5b:${sha.scan}:active`,
      source: 'proofpoint-tap',
      verdict: 'malicious',
      observedAt: '2026-03-04T08:40:00.000Z',
      threat: { sha256: sha.scan, filename: 'scan_0304.zip', name: 'malware' },
      messages: [
        {
          recipients: ['it-helpdesk@contoso.com'],
          sender: 'scanner@wide-world-importers.example',
          subject: 'Scanned document',
          receivedAt: '2026-03-04T05:02:10.000Z',
        },
      ],
    });
    expect(verdictChangeSchema.safeParse(change).success).toBe(true);
    expect(notesOf('proofpoint-tap', body)).toContainEqual({
      path: 'messagesDelivered[3]',
      message: expect.stringMatching(/no usable messageID/) as string,
    });
  });

  it('makes no verdict of spam, blocked messages or clicks, and notes each', () => {
    const body = fixture('proofpoint-siem-all');
    expect(changesOf('proofpoint-tap', body)).toHaveLength(4);
    const notes = notesOf('proofpoint-tap', body);
    expect(notes.map((n) => n.path)).toEqual(
      expect.arrayContaining([
        'messagesDelivered[0].threatsInfoMap[1]',
        'messagesBlocked',
        'clicksPermitted',
      ]),
    );
    expect(notes.find((n) => n.path === 'messagesDelivered[0].threatsInfoMap[1]')?.message).toMatch(
      /threatStatus "active" with classification "spam"/,
    );
    expect(notes.find((n) => n.path === 'messagesBlocked')?.message).toMatch(/never reached a mailbox/);
    expect(notes.map((n) => n.path)).not.toContain('clicksBlocked');
  });

  it('turns a later falsePositive on the same message and threat into a clean verdict with its own event id', () => {
    const [malicious] = changesOf('proofpoint-tap', fixture('proofpoint-siem-all'));
    const [clean] = changesOf('proofpoint-tap', fixture('proofpoint-siem-false-positive'));
    expect(clean).toMatchObject({
      eventId: `${malwareGuid}:${sha.remittance}:falsepositive`,
      verdict: 'clean',
      threat: { sha256: sha.remittance },
      messages: [{ recipients: ['ana.souza@contoso.com', 'raj.patel@contoso.com'] }],
    });
    expect(clean?.eventId).not.toBe(malicious?.eventId);
  });

  it('falls back to the To and Cc header addresses when the envelope recipients are missing', () => {
    const body = fixture('proofpoint-siem-false-positive');
    const event = (body.messagesDelivered as Json[])[0]!;
    delete event.recipient;
    event.toAddresses = 'Ana.Souza@contoso.com';
    event.ccAddresses = ['raj.patel@contoso.com', 'not an address'];
    const [change] = changesOf('proofpoint-tap', body);
    expect((change?.messages as Json[])[0]?.recipients).toEqual([
      'ana.souza@contoso.com',
      'raj.patel@contoso.com',
    ]);
  });

  it('sends an event that appears twice in one body once', () => {
    const body = fixture('proofpoint-siem-false-positive');
    const events = body.messagesDelivered as Json[];
    events.push(structuredClone(events[0]!));
    expect(changesOf('proofpoint-tap', body)).toHaveLength(1);
  });

  const withThreat = (threat: Json, event: Json = {}): Json => {
    const body = fixture('proofpoint-siem-false-positive');
    const original = (body.messagesDelivered as Json[])[0]!;
    body.messagesDelivered = [{ ...original, threatsInfoMap: [threat], ...event }];
    return body;
  };
  const activeAttachment = {
    threatId: sha.remittance,
    threat: sha.remittance,
    threatType: 'attachment',
    classification: 'malware',
    threatStatus: 'active',
  };

  it.each<[string, Json, string, RegExp]>([
    [
      'an attachment threat without a SHA-256',
      withThreat({ ...activeAttachment, threat: 'Remittance_Q1.xlsm' }),
      'messagesDelivered[0].threatsInfoMap[0].threat',
      /must carry the attachment SHA-256/,
    ],
    [
      'a URL threat that is a bare host name',
      withThreat({
        ...activeAttachment,
        threatType: 'url',
        classification: 'phish',
        threat: 'badsite.example',
      }),
      'messagesDelivered[0].threatsInfoMap[0].threat',
      /absolute URL .*does not guess a scheme/,
    ],
    [
      'an active phish in the message text',
      withThreat({
        ...activeAttachment,
        threatType: 'MESSAGETEXT',
        classification: 'PHISH',
        threat: 'Dear user',
      }),
      'messagesDelivered[0].threatsInfoMap[0].threatType',
      /"messagetext" names no attachment SHA-256 or URL.*threatType=attachment&threatType=url/,
    ],
    [
      'a threat without a threatStatus type',
      withThreat({ ...activeAttachment, threatType: undefined, threatStatus: 'falsePositive' }),
      'messagesDelivered[0].threatsInfoMap[0].threatType',
      /"\(none\)" names no attachment SHA-256 or URL/,
    ],
    [
      'an event without a GUID',
      withThreat(activeAttachment, { GUID: '' }),
      'messagesDelivered[0]',
      /has no GUID/,
    ],
    [
      'a threat without a threatID',
      withThreat({ ...activeAttachment, threatId: undefined }),
      'messagesDelivered[0].threatsInfoMap[0]',
      /has no threatID/,
    ],
    [
      'threatsInfoMap that is not an array',
      withThreat(activeAttachment, { threatsInfoMap: { threatId: 'x' } }),
      'messagesDelivered[0].threatsInfoMap',
      /must be an array/,
    ],
    [
      'messagesDelivered that is not an array',
      { messagesDelivered: {} },
      'messagesDelivered',
      /must be an array/,
    ],
    [
      'an event that is not an object',
      { messagesDelivered: ['GUID'] },
      'messagesDelivered[0]',
      /must be an object/,
    ],
    ['a body of another format', fixture('microsoft-defender-alert'), '$', /not a Proofpoint TAP SIEM event/],
  ])('rejects %s with a problem at its path', (_, body, problemPath, message) => {
    expect(problemsOf('proofpoint-tap', body)).toContainEqual({
      path: problemPath,
      message: expect.stringMatching(message) as string,
    });
  });

  it('reports every problem of a batch, not only the first', () => {
    const body = fixture('proofpoint-siem-all');
    const events = body.messagesDelivered as Json[];
    delete events[0]!.GUID;
    delete events[1]!.GUID;
    expect(problemsOf('proofpoint-tap', body).map((p) => p.path)).toEqual([
      'messagesDelivered[0]',
      'messagesDelivered[1]',
    ]);
  });

  it('says which native event a verdict change it could not build came from', () => {
    const body = withThreat(activeAttachment, { GUID: 'g'.repeat(180) });
    expect(problemsOf('proofpoint-tap', body)).toEqual([
      {
        path: 'messagesDelivered[0].threatsInfoMap[0]',
        message: expect.stringMatching(/the verdict change built from it is invalid: eventId/) as string,
      },
    ]);
  });
});

describe('Cisco Secure Endpoint', () => {
  it('turns a retrospective detection into a malicious file verdict without messages, for the delivery ledger', () => {
    const [change] = changesOf('cisco-secure-endpoint', fixture('cisco-secure-endpoint-events'));
    expect(change).toEqual({
      eventId: expect.stringMatching(new RegExp(`^\\d+:${sha.emotet}:1772611200\\.118000000$`)) as string,
      source: 'cisco-secure-endpoint',
      verdict: 'malicious',
      observedAt: '2026-03-04T08:00:00+00:00',
      threat: { sha256: sha.emotet, filename: 'Remittance_Q1.xlsm', name: 'W97M.Downloader.Emotet::sbx.tg' },
    });
  });

  it('turns a threat detection into a malicious verdict keyed on its event id, with the hash in lower case', () => {
    const change = changesOf('cisco-secure-endpoint', fixture('cisco-secure-endpoint-events')).find(
      (c) => (c.threat as Json).sha256 === sha.qakbot,
    );
    expect(change).toMatchObject({
      eventId: '7011293381',
      verdict: 'malicious',
      threat: { name: 'Win.Trojan.Qakbot::1201' },
    });
  });

  it('turns a retrospective detection whose disposition flipped to Clean into a clean verdict', () => {
    const change = changesOf('cisco-secure-endpoint', fixture('cisco-secure-endpoint-events')).find(
      (c) => (c.threat as Json).sha256 === '1c'.repeat(32),
    );
    expect(change).toMatchObject({ verdict: 'clean', threat: { filename: 'vendor_tool.exe' } });
  });

  it('keeps distinct events apart when JSON rounding gives their 64-bit ids the same value', () => {
    const body = fixture('cisco-secure-endpoint-events');
    const [first, , , , clean] = body.data as Json[];
    expect(first?.id).toBe(clean?.id);
    const changes = changesOf('cisco-secure-endpoint', body);
    expect(new Set(changes.map((c) => c.eventId)).size).toBe(changes.length);
    expect(changes.map((c) => c.verdict)).toEqual(['malicious', 'malicious', 'clean']);
  });

  it('sends the same file judged at the same moment on two computers once', () => {
    const changes = changesOf('cisco-secure-endpoint', fixture('cisco-secure-endpoint-events'));
    expect(changes.filter((c) => (c.threat as Json).sha256 === sha.emotet)).toHaveLength(1);
  });

  it('notes events that are no file verdict', () => {
    expect(notesOf('cisco-secure-endpoint', fixture('cisco-secure-endpoint-events'))).toEqual([
      {
        path: 'data[3]',
        message: expect.stringMatching(/"Threat Quarantined" is no file verdict/) as string,
      },
    ]);
  });

  it('reads a response whose data is one event, keeping a string id exactly', () => {
    expect(changesOf('cisco-secure-endpoint', fixture('cisco-secure-endpoint-single'))).toEqual([
      expect.objectContaining({
        eventId: '7011293381226620012',
        verdict: 'malicious',
        threat: expect.objectContaining({ sha256: sha.qakbot }) as Json,
      }),
    ]);
  });

  it('reads one bare event and an array of events, recognising the event type by its id alone', () => {
    const event = structuredClone((fixture('cisco-secure-endpoint-events').data as Json[])[2]!);
    delete event.event_type;
    expect(changesOf('cisco-secure-endpoint', event)).toHaveLength(1);
    expect(
      changesOf('cisco-secure-endpoint', [event, { ...event, id: 7011293382 }]).map((c) => c.eventId),
    ).toEqual(['7011293381', '7011293382']);
  });

  const eventWith = (change: (event: Json) => void): Json => {
    const body = fixture('cisco-secure-endpoint-single');
    change(body.data as Json);
    return body;
  };

  it.each<[string, unknown, string, RegExp]>([
    [
      'an event without a file hash',
      eventWith((e) => delete ((e.file as Json).identity as Json).sha256),
      'data.file.identity.sha256',
      /reaches mail only through the file's SHA-256/,
    ],
    [
      'an event whose hash is a SHA-1',
      eventWith(
        (e) => (((e.file as Json).identity as Json).sha256 = '3f786850e387550fdab836ed7e6dc881de23001b'),
      ),
      'data.file.identity.sha256',
      /not 64 hexadecimal characters/,
    ],
    ['an event without an id', eventWith((e) => delete e.id), 'data.id', /needs it as its event id/],
    ['an event that is not an object', { version: 'v1.2.0', data: ['x'] }, 'data[0]', /must be an object/],
    ['a body of another format', fixture('proofpoint-siem-all'), '$', /not a Cisco Secure Endpoint event/],
  ])('rejects %s with a problem at its path', (_, body, problemPath, message) => {
    expect(problemsOf('cisco-secure-endpoint', body)).toContainEqual({
      path: problemPath,
      message: expect.stringMatching(message) as string,
    });
  });
});

describe('Microsoft Defender alerts (Graph security alert v2)', () => {
  const alertId = 'fa8a3c1e77-2b1d-4a5c-a9e0-08dc3c2b1a0f';

  it('turns a true positive e-mail alert into one malicious verdict with each delivered message and all its recipients', () => {
    expect(changesOf('microsoft-defender', fixture('microsoft-defender-alert'))).toEqual([
      {
        eventId: `${alertId}:malicious:${sha.paymentPage}`,
        source: 'defender',
        verdict: 'malicious',
        observedAt: '2026-03-04T10:02:17.61Z',
        threat: { sha256: sha.paymentPage, name: 'phishing' },
        messages: [
          {
            internetMessageId:
              '<PH0PR11MB4823C1D6F0E0A3B5E2B7C9D4A1F2E3B4@PH0PR11MB4823.namprd11.prod.outlook.example>',
            recipients: ['ana.souza@contoso.com', 'raj.patel@contoso.com'],
            sender: 'finance@fabrikam-payments.example',
            subject: 'Updated payment details for March',
            receivedAt: '2026-03-04T07:58:10Z',
          },
          {
            internetMessageId: '<PH0PR11MB48239F0A@PH0PR11MB4823.namprd11.prod.outlook.example>',
            recipients: ['lena.fischer@contoso.com'],
            sender: 'bounces+9922@mailer.fabrikam-payments.example',
            subject: 'Updated payment details for March',
            receivedAt: '2026-03-04T07:58:10Z',
          },
        ],
      },
    ]);
  });

  it('makes one verdict per threat of the alert, each with its own event id', () => {
    const alert = fixture('microsoft-defender-alert');
    (alert.evidence as Json[]).push({
      '@odata.type': '#microsoft.graph.security.urlEvidence',
      url: 'https://pay.fabrikam-payments.example/update',
      verdict: 'malicious',
    });
    const changes = changesOf('microsoft-defender', alert);
    expect(changes.map((c) => c.threat)).toEqual([
      { sha256: sha.paymentPage, name: 'phishing' },
      { url: 'https://pay.fabrikam-payments.example/update', name: 'phishing' },
    ]);
    expect(changes[1]?.eventId).toMatch(new RegExp(`^${alertId}:malicious:url-[0-9a-f]{40}$`));
    expect(changes[1]?.messages).toEqual(changes[0]?.messages);
  });

  it('turns a false positive into clean verdicts, one per URL of its messages, each for the messages that carry it', () => {
    const changes = changesOf('microsoft-defender', fixture('microsoft-defender-alerts-list'));
    expect(changes).toHaveLength(2);
    expect(changes[0]).toMatchObject({
      verdict: 'clean',
      threat: { url: 'https://adventure-works.example/newsletter/march' },
    });
    expect(changes.map((c) => (c.messages as Json[]).map((m) => m.internetMessageId))).toEqual([
      ['<CAL0v3-Xy2@mail.adventure-works.example>', '<CAL0v3-Zq9@mail.adventure-works.example>'],
      ['<CAL0v3-Xy2@mail.adventure-works.example>'],
    ]);
    expect(
      changes.every((c) => (c.eventId as string).startsWith('fa1d2c3b4a-5e6f-4a7b-8c9d-08dc3d000001:clean:')),
    ).toBe(true);
  });

  it('makes no verdict of an untriaged alert or an alert without e-mail evidence, and notes why', () => {
    expect(notesOf('microsoft-defender', fixture('microsoft-defender-alerts-list'))).toEqual([
      {
        path: 'value[1]',
        message: expect.stringMatching(/classification "\(none\)" is no verdict yet/) as string,
      },
      { path: 'value[2]', message: expect.stringMatching(/no analyzedMessageEvidence/) as string },
    ]);
  });

  it('gives the reclassified alert a different event id than the original detection', () => {
    const alert = fixture('microsoft-defender-alert');
    const [malicious] = changesOf('microsoft-defender', alert);
    const [clean] = changesOf('microsoft-defender', { ...alert, classification: 'falsePositive' });
    expect(clean?.verdict).toBe('clean');
    expect(clean?.eventId).not.toBe(malicious?.eventId);
  });

  it('leaves the messages to the delivery ledger when the evidence has no usable Message-ID', () => {
    const alert = fixture('microsoft-defender-alert');
    for (const e of alert.evidence as Json[]) if ('internetMessageId' in e) e.internetMessageId = '';
    const [change] = changesOf('microsoft-defender', alert);
    expect(change).not.toHaveProperty('messages');
    expect(change?.threat).toEqual({ sha256: sha.paymentPage, name: 'phishing' });
  });

  it('makes no verdict when every message was blocked or quarantined', () => {
    const alert = fixture('microsoft-defender-alert');
    for (const e of alert.evidence as Json[]) if ('deliveryAction' in e) e.deliveryAction = 'blocked';
    expect(changesOf('microsoft-defender', alert)).toEqual([]);
    expect(notesOf('microsoft-defender', alert)[0]?.message).toMatch(/none reached a mailbox/);
  });

  const alertWith = (change: (alert: Json) => void): Json => {
    const alert = fixture('microsoft-defender-alert');
    change(alert);
    return alert;
  };

  it.each<[string, unknown, string, RegExp]>([
    [
      'a true positive whose evidence names no file hash or URL',
      alertWith((a) => (a.evidence = (a.evidence as Json[]).filter((e) => !('fileDetails' in e)))),
      '$',
      /no attachment SHA-256 .* although its messages report 4 attachment\(s\); .*does not guess it/,
    ],
    ['an alert without an id', alertWith((a) => delete a.id), 'id', /needs it as its event id/],
    [
      'evidence that is not an array',
      {
        '@odata.type': '#microsoft.graph.security.alert',
        id: 'a1',
        classification: 'truePositive',
        evidence: {},
      },
      'evidence',
      /must be an array/,
    ],
    [
      'a Graph change notification',
      fixture('microsoft-graph-change-notification'),
      'value[0]',
      /change notification \(changeType "created"\).*carries no alert.*GET \/security\/alerts_v2\/\{id\}/,
    ],
    [
      'a body of another format',
      fixture('cisco-secure-endpoint-single'),
      '$',
      /not a Microsoft Graph security alert/,
    ],
  ])('rejects %s with a problem at its path', (_, body, problemPath, message) => {
    expect(problemsOf('microsoft-defender', body)).toContainEqual({
      path: problemPath,
      message: expect.stringMatching(message) as string,
    });
  });

  it('never repeats the subscription client state of a change notification in a problem', () => {
    const problems = problemsOf('microsoft-defender', fixture('microsoft-graph-change-notification'));
    expect(JSON.stringify(problems)).not.toContain('not-the-real-secret');
  });
});

describe('every normalised change is a valid generic verdict change', () => {
  const fixtures = readdirSync(fixtureDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.replace(/\.json$/, ''));

  it('covers every fixture that yields changes', () => {
    const yielding = fixtures.filter((name) => {
      const body = fixture(name);
      const result = normalise(detectFormat(body), body);
      return result.ok && result.changes.length > 0;
    });
    expect(yielding).toHaveLength(fixtures.length - 1);
  });

  it.each(fixtures)('%s', (name) => {
    const body = fixture(name);
    const result = normalise(detectFormat(body), body);
    if (!result.ok) return expect(name).toBe('microsoft-graph-change-notification');
    expect(result.changes.length).toBeGreaterThan(0);
    for (const change of result.changes) {
      const parsed = verdictChangeSchema.safeParse(change);
      expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
    }
  });
});
