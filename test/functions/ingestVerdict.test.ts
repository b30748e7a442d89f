import { HttpRequest, type HttpResponseInit, InvocationContext } from '@azure/functions';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { ingestVerdict } from '../../functions/ingestVerdict.js';
import { InMemoryQueue } from '../../shared/queue/inMemoryQueue.js';
import { InMemoryResultStore } from '../../shared/results/memory/inMemoryResultStore.js';
import { VerdictChangeMother } from '../mothers/verdictChangeMother.js';
import { startHarness, stopHarness } from '../support/harness.js';

let queue: InMemoryQueue;
let store: InMemoryResultStore;

afterAll(stopHarness);
beforeEach(async () => {
  store = new InMemoryResultStore();
  ({ queue } = await startHarness({ config: null, store }));
});

function post(body: string | Buffer, contentType = 'application/json'): Promise<HttpResponseInit> {
  const request = new HttpRequest({
    method: 'POST',
    url: 'http://localhost:7071/api/verdicts',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? { string: body } : { bytes: body },
  });
  return ingestVerdict(
    request,
    new InvocationContext({ functionName: 'ingestVerdict', logHandler: () => undefined }),
  );
}

function verdictRows(): number {
  return store.verdicts.table.scan('verdict').length;
}

const queued = () => queue.stats('verdicts').active;
const bodyOf = (r: HttpResponseInit) =>
  r.jsonBody as Record<string, unknown> & {
    error: { code: string; message: string; details: { path: string; message: string }[] };
  };

describe('POST /api/verdicts', () => {
  it('answers 202 with a verdict id and status URL once the verdict is on the queue, and records it as accepted', async () => {
    const response = await post(JSON.stringify(VerdictChangeMother.malicious()));
    expect(response.status).toBe(202);
    const body = bodyOf(response);
    expect(body.status).toBe('accepted');
    expect(body.verdictId).toMatch(/^\d{13}-[0-9a-f]{10}$/);
    expect(body.statusUrl).toBe(`http://localhost:7071/api/verdicts/${String(body.verdictId)}`);
    expect(queued()).toBe(1);
    expect(verdictRows()).toBe(1);
  });

  it('answers a repeat of the same source and eventId with 200 and the first verdict id, without a second verdict', async () => {
    const change = VerdictChangeMother.malicious();
    const first = bodyOf(await post(JSON.stringify(change)));
    const again = await post(JSON.stringify(change));
    expect(again.status).toBe(200);
    expect(bodyOf(again).verdictId).toBe(first.verdictId);
    expect(queued()).toBe(1);
    expect(verdictRows()).toBe(1);
  });

  it('accepts an array of verdicts and answers with one entry each', async () => {
    const response = await post(
      JSON.stringify([VerdictChangeMother.malicious(), VerdictChangeMother.malicious()]),
    );
    expect(response.status).toBe(202);
    expect((bodyOf(response).verdicts as unknown[]).length).toBe(2);
    expect(queued()).toBe(2);
  });

  const invalid: [string, Record<string, unknown> | unknown[], string][] = [
    ['eventId missing', VerdictChangeMother.malicious({ eventId: undefined }), 'eventId'],
    ['eventId longer than 200', VerdictChangeMother.malicious({ eventId: 'e'.repeat(201) }), 'eventId'],
    ['source empty', VerdictChangeMother.malicious({ source: '' }), 'source'],
    ['source longer than 64', VerdictChangeMother.malicious({ source: 's'.repeat(65) }), 'source'],
    ['verdict unknown', VerdictChangeMother.malicious({ verdict: 'evil' }), 'verdict'],
    ['previousVerdict unknown', VerdictChangeMother.malicious({ previousVerdict: 'meh' }), 'previousVerdict'],
    ['observedAt not ISO 8601', VerdictChangeMother.malicious({ observedAt: 'yesterday' }), 'observedAt'],
    [
      'threat without sha256 or url',
      VerdictChangeMother.malicious({ threat: { filename: 'x.exe' } }),
      'threat',
    ],
    [
      'sha256 of 63 hex digits',
      VerdictChangeMother.malicious({ threat: { sha256: 'a'.repeat(63) } }),
      'threat.sha256',
    ],
    [
      'sha256 not hex',
      VerdictChangeMother.malicious({ threat: { sha256: 'g'.repeat(64) } }),
      'threat.sha256',
    ],
    ['url not a URL', VerdictChangeMother.malicious({ threat: { url: 'not a url' } }), 'threat.url'],
    [
      'more than 1,000 messages',
      VerdictChangeMother.malicious({
        messages: Array.from({ length: 1001 }, (_, i) => ({
          internetMessageId: `<m${i}@x>`,
          recipients: ['a@contoso.com'],
        })),
      }),
      'messages',
    ],
    [
      'message id without angle brackets',
      VerdictChangeMother.malicious({
        messages: [{ internetMessageId: 'm1@x', recipients: ['a@contoso.com'] }],
      }),
      'messages[0].internetMessageId',
    ],
    [
      'message id with CR/LF',
      VerdictChangeMother.malicious({
        messages: [{ internetMessageId: '<m1@x>\r\nBcc: x@y', recipients: ['a@contoso.com'] }],
      }),
      'messages[0].internetMessageId',
    ],
    [
      'message id longer than 998',
      VerdictChangeMother.malicious({
        messages: [{ internetMessageId: `<${'m'.repeat(995)}@x>`, recipients: ['a@contoso.com'] }],
      }),
      'messages[0].internetMessageId',
    ],
    [
      'no recipients',
      VerdictChangeMother.malicious({ messages: [{ internetMessageId: '<m1@x>', recipients: [] }] }),
      'messages[0].recipients',
    ],
    [
      'more than 10,000 recipients',
      VerdictChangeMother.malicious({
        messages: [
          {
            internetMessageId: '<m1@x>',
            recipients: Array.from({ length: 10_001 }, (_, i) => `u${i}@contoso.com`),
          },
        ],
      }),
      'messages[0].recipients',
    ],
    [
      'recipient not an address',
      VerdictChangeMother.malicious({ messages: [{ internetMessageId: '<m1@x>', recipients: ['alice'] }] }),
      'messages[0].recipients[0]',
    ],
    ['action unknown', VerdictChangeMother.malicious({ action: 'nuke' }), 'action'],
    ['unknown field', VerdictChangeMother.malicious({ callbackUrl: 'https://evil.example' }), '$'],
    ['array of 101', Array.from({ length: 101 }, () => VerdictChangeMother.malicious()), '$'],
    ['empty array', [], '$'],
    [
      'second element of an array invalid',
      [VerdictChangeMother.malicious(), VerdictChangeMother.malicious({ verdict: 'evil' })],
      '[1].verdict',
    ],
  ];
  it.each(invalid)(
    'refuses a body with %s: 400 naming %s, nothing enqueued or written',
    async (_name, body, path) => {
      const response = await post(JSON.stringify(body));
      expect(response.status).toBe(400);
      const { error } = bodyOf(response);
      expect(error.code).toBe('ValidationFailed');
      expect(error.details.map((d) => d.path)).toContain(path);
      expect(error.details.every((d) => d.message.length > 0)).toBe(true);
      expect(queued()).toBe(0);
      expect(verdictRows()).toBe(0);
    },
  );

  it('lists every problem of a body at once', async () => {
    const response = await post(
      JSON.stringify(VerdictChangeMother.malicious({ eventId: '', verdict: 'evil', threat: {} })),
    );
    expect(
      bodyOf(response)
        .error.details.map((d) => d.path)
        .sort(),
    ).toEqual(['eventId', 'threat', 'verdict']);
  });

  it('refuses a body above 1 MiB with 413', async () => {
    const big = VerdictChangeMother.malicious({
      messages: [
        { internetMessageId: '<m1@x>', recipients: ['a@contoso.com'], subject: 'x'.repeat(1024 * 1024) },
      ],
    });
    const response = await post(JSON.stringify(big));
    expect(response.status).toBe(413);
    expect(bodyOf(response).error.code).toBe('PayloadTooLarge');
    expect(queued()).toBe(0);
  });

  it('refuses a body that is not JSON by content type with 415', async () => {
    const response = await post(JSON.stringify(VerdictChangeMother.malicious()), 'text/plain');
    expect(response.status).toBe(415);
    expect(bodyOf(response).error.code).toBe('UnsupportedMediaType');
    expect(queued()).toBe(0);
  });

  it('refuses malformed JSON with 400 InvalidJson', async () => {
    const response = await post('{"eventId": ');
    expect(response.status).toBe(400);
    expect(bodyOf(response).error.code).toBe('InvalidJson');
    expect(verdictRows()).toBe(0);
  });

  it('answers 503 when the queue refuses, records nothing as accepted, and accepts the same event once the queue is back', async () => {
    const change = VerdictChangeMother.malicious();
    queue.refuse(new Error('Service Bus is unreachable'));
    const refused = await post(JSON.stringify(change));
    expect(refused.status).toBe(503);
    expect(bodyOf(refused).error.code).toBe('QueueUnavailable');
    expect(queued()).toBe(0);
    expect(verdictRows()).toBe(0);

    queue.refuse(undefined);
    const accepted = await post(JSON.stringify(change));
    expect(accepted.status).toBe(202);
    expect(queued()).toBe(1);
  });
});
