import { HttpRequest, type HttpResponseInit, InvocationContext } from '@azure/functions';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { ingestVerdict } from '../../functions/ingestVerdict.js';
import { useServices } from '../../shared/composition.js';
import type { ConfigDocumentInput } from '../../shared/config/document.js';
import { InMemoryQueue } from '../../shared/queue/inMemoryQueue.js';
import { InMemoryResultStore } from '../../shared/results/memory/inMemoryResultStore.js';
import { signBody } from '../../shared/verdicts/signature.js';
import { VerdictChangeMother } from '../mothers/verdictChangeMother.js';
import { configDocument, tapSecret, tapSecrets, testServices } from '../support/services.js';

let queue: InMemoryQueue;
let store: InMemoryResultStore;
let sent: { body: unknown; messageId: string }[];

async function install(config: Partial<ConfigDocumentInput> = {}, queueOptions = {}): Promise<void> {
  queue = new InMemoryQueue(queueOptions);
  sent = [];
  store = new InMemoryResultStore();
  const services = testServices({ queue, secrets: tapSecrets });
  await services.configStore.put(
    configDocument({
      sources: [{ name: 'proofpoint-tap', signingSecret: { env: 'TAP_SECRET' } }, { name: 'soar' }],
      ...config,
    }),
  );
  useServices({
    ...services,
    store,
    queue: {
      send: async (name, messages, options) => {
        await queue.send(name, messages, options);
        sent.push(...messages);
      },
      close: () => queue.close(),
    },
  });
}

afterAll(() => {
  useServices(undefined);
});
beforeEach(async () => {
  await install();
});

function post(
  body: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<HttpResponseInit> {
  const request = new HttpRequest({
    method: 'POST',
    url: 'http://localhost:7071/api/verdicts',
    headers,
    body: typeof body === 'string' ? { string: body } : { bytes: body },
  });
  return ingestVerdict(request, new InvocationContext({ logHandler: () => undefined }));
}

function rows(table: 'Verdicts' | 'VerdictEvents'): number {
  return table === 'Verdicts' ? store.verdicts.table.scan('verdict').length : store.events.table.size();
}

const error = (r: HttpResponseInit) =>
  (r.jsonBody as { error: { code: string; message: string; details?: { path: string }[] } }).error;
const queued = () => queue.stats('verdicts').active;
const withRecipient = (recipient: string) =>
  JSON.stringify(
    VerdictChangeMother.malicious({
      messages: [{ internetMessageId: '<m1@mail.example.com>', recipients: [recipient] }],
    }),
  );

function expectNothingRecorded(): void {
  expect(queued()).toBe(0);
  expect(rows('Verdicts')).toBe(0);
  expect(rows('VerdictEvents')).toBe(0);
}

describe('input hygiene (SPEC §2)', () => {
  it.each([
    ['NUL', 'alice\u0000@contoso.com'],
    ['ESC', 'alice\u001b@contoso.com'],
    ['DEL', 'alice\u007f@contoso.com'],
    ['a C1 control', 'alice\u0085@contoso.com'],
    ['a lone surrogate', 'alice\ud800@contoso.com'],
    ['a trailing newline', 'alice@contoso.com\n'],
  ])('refuses a recipient holding %s with 400 naming it, and records nothing', async (_what, recipient) => {
    const response = await post(withRecipient(recipient));
    expect(response.status).toBe(400);
    expect(error(response).details?.map((d) => d.path)).toContain('messages[0].recipients[0]');
    expectNothingRecorded();
  });

  it.each([
    ['eventId', { eventId: 'evt\u00001' }],
    ['source', { source: 'soar\u001b' }],
    ['threat.filename', { threat: { sha256: 'a'.repeat(64), filename: 'x\u0007.exe' } }],
    ['threat.name', { threat: { sha256: 'a'.repeat(64), name: 'W32\ud83d' } }],
    ['threat.url', { threat: { url: 'https://evil.example/\tpath' } }],
  ])('refuses a control character in %s with 400 naming it', async (path, overrides) => {
    const response = await post(JSON.stringify(VerdictChangeMother.malicious(overrides)));
    expect(response.status).toBe(400);
    expect(error(response).details?.map((d) => d.path)).toContain(path);
    expectNothingRecorded();
  });

  it('accepts a subject with control characters and enqueues it with spaces in their place', async () => {
    const body = VerdictChangeMother.malicious({
      messages: [
        {
          internetMessageId: '<m1@mail.example.com>',
          recipients: ['alice@contoso.com'],
          subject: 'Invoice\u0000 due\r\nnow\ud800',
        },
      ],
    });
    expect((await post(JSON.stringify(body))).status).toBe(202);
    const message = sent[0]?.body as { change: { messages: { subject: string }[] } };
    expect(message.change.messages[0]?.subject).toBe('Invoice  due  now ');
  });

  it.each(['latin1', 'iso-8859-1', 'utf-16', '"windows-1252"'])(
    'refuses a body declared as charset=%s with 415',
    async (charset) => {
      const response = await post(JSON.stringify(VerdictChangeMother.malicious()), {
        'content-type': `application/json; charset=${charset}`,
      });
      expect(response.status).toBe(415);
      expect(error(response).code).toBe('UnsupportedMediaType');
      expectNothingRecorded();
    },
  );

  it('accepts a body declared as charset=utf-8 in any spelling', async () => {
    for (const charset of ['utf-8', 'UTF-8', 'utf8', '"utf-8"'])
      expect(
        (
          await post(JSON.stringify(VerdictChangeMother.malicious()), {
            'content-type': `application/json; charset=${charset}`,
          })
        ).status,
      ).toBe(202);
  });

  it('refuses a body whose bytes are not UTF-8 with 400 InvalidEncoding', async () => {
    const latin1 = Buffer.from(
      JSON.stringify(VerdictChangeMother.malicious({ eventId: 'caf\u00e9' })),
      'latin1',
    );
    const response = await post(latin1);
    expect(response.status).toBe(400);
    expect(error(response).code).toBe('InvalidEncoding');
    expectNothingRecorded();
  });
});

describe('signatures by source name (SPEC §2)', () => {
  it.each(['Proofpoint-TAP', ' proofpoint-tap ', 'PROOFPOINT-TAP'])(
    'asks "%s" for the signature of proofpoint-tap: renaming the source does not bypass it',
    async (source) => {
      const response = await post(JSON.stringify(VerdictChangeMother.malicious({ source })));
      expect(response.status).toBe(401);
      expectNothingRecorded();
    },
  );

  it('records a renamed source under its trimmed lower-case name, so a repeat in another spelling is a repeat', async () => {
    const change = VerdictChangeMother.malicious({ source: 'SOAR' });
    const first = await post(JSON.stringify(change));
    const again = await post(JSON.stringify({ ...change, source: ' soar ' }));
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect((again.jsonBody as { verdictId: string }).verdictId).toBe(
      (first.jsonBody as { verdictId: string }).verdictId,
    );
    expect((sent[0]?.body as { change: { source: string } }).change.source).toBe('soar');
  });

  describe('with settings.requireSignature', () => {
    beforeEach(async () => {
      await install({
        settings: { requireSignature: true },
        sources: [{ name: 'Proofpoint-TAP', signingSecret: { env: 'TAP_SECRET' } }, { name: 'soar' }],
      });
    });

    it('refuses a source not declared in sources with 401', async () => {
      const body = JSON.stringify(VerdictChangeMother.malicious({ source: 'someone-else' }));
      const response = await post(body, {
        'content-type': 'application/json',
        'x-clawback-signature': signBody(body, tapSecret),
      });
      expect(response.status).toBe(401);
      expect(error(response).message).toMatch(/not declared/);
      expectNothingRecorded();
    });

    it('refuses a declared source that has no signing secret with 401', async () => {
      const response = await post(JSON.stringify(VerdictChangeMother.malicious({ source: 'soar' })));
      expect(response.status).toBe(401);
      expectNothingRecorded();
    });

    it('refuses an unsigned request from a declared signing source with 401', async () => {
      const response = await post(
        JSON.stringify(VerdictChangeMother.malicious({ source: 'proofpoint-tap' })),
      );
      expect(response.status).toBe(401);
      expectNothingRecorded();
    });

    it('accepts a request signed by a declared source', async () => {
      const body = JSON.stringify(VerdictChangeMother.malicious({ source: 'proofpoint-tap' }));
      const response = await post(body, {
        'content-type': 'application/json',
        'x-clawback-signature': signBody(body, tapSecret),
      });
      expect(response.status).toBe(202);
      expect(queued()).toBe(1);
    });
  });
});

describe('claims: exactly one verdict per (source, eventId)', () => {
  it('enqueues and records a claimed event whose first request died before it was enqueued', async () => {
    const change = VerdictChangeMother.malicious();
    const orphan = await store.claimEvent(
      'cisco-secure-endpoint',
      String(change.eventId),
      '8000000000000-0123456789',
    );
    expect(orphan.created).toBe(true);
    const retry = await post(JSON.stringify(change));
    expect(retry.status).toBe(200);
    expect((retry.jsonBody as { verdictId: string }).verdictId).toBe('8000000000000-0123456789');
    expect(queued()).toBe(1);
    expect(await store.getVerdict('8000000000000-0123456789')).toMatchObject({ status: 'accepted' });
  });

  it('answers concurrent duplicates with one verdict: one 202, the others 200 with its id, one message', async () => {
    const change = JSON.stringify(VerdictChangeMother.malicious());
    const responses = await Promise.all(Array.from({ length: 8 }, () => post(change)));
    expect(responses.filter((r) => r.status === 202)).toHaveLength(1);
    expect(responses.filter((r) => r.status === 200)).toHaveLength(7);
    expect(new Set(responses.map((r) => (r.jsonBody as { verdictId: string }).verdictId)).size).toBe(1);
    expect(queued()).toBe(1);
    expect(rows('Verdicts')).toBe(1);
  });

  it('accepts the new verdicts of an array that repeats an earlier one, and starts nothing for the repeat', async () => {
    const earlier = VerdictChangeMother.malicious();
    const first = await post(JSON.stringify(earlier));
    const fresh = [VerdictChangeMother.malicious(), VerdictChangeMother.malicious()];
    const mixed = await post(JSON.stringify([fresh[0], earlier, fresh[1]]));
    expect(mixed.status).toBe(202);
    const ids = (mixed.jsonBody as { verdicts: { verdictId: string }[] }).verdicts.map((v) => v.verdictId);
    expect(ids[1]).toBe((first.jsonBody as { verdictId: string }).verdictId);
    expect(new Set(ids).size).toBe(3);
    expect(sent).toHaveLength(3);
    expect(rows('Verdicts')).toBe(3);
    expect(rows('VerdictEvents')).toBe(3);
  });

  it('leaves nothing claimed when the queue refuses, so a retry is accepted as new', async () => {
    queue.refuse(new Error('Service Bus is unreachable'));
    const change = JSON.stringify(VerdictChangeMother.malicious());
    expect((await post(change)).status).toBe(503);
    expectNothingRecorded();
    queue.refuse(undefined);
    expect((await post(change)).status).toBe(202);
  });
});
