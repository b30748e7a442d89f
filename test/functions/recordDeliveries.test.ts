import { HttpRequest, type HttpResponseInit, InvocationContext } from '@azure/functions';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { recordDeliveries } from '../../functions/recordDeliveries.js';
import { type Services, useServices } from '../../shared/composition.js';
import { threatKey } from '../../shared/verdicts/ids.js';
import { InMemoryMailBackend } from '../fakes/inMemoryMailBackend.js';
import { VerdictChangeMother } from '../mothers/verdictChangeMother.js';
import { startHarness, stopHarness } from '../support/harness.js';
import { Pipeline } from '../support/pipeline.js';
import { configDocument } from '../support/services.js';

let services: Services;
let backend: InMemoryMailBackend;
let pipeline: Pipeline;
let n = 0;

afterAll(stopHarness);
beforeEach(async () => {
  ({ backend, services, pipeline } = await startHarness());
});

function post(body: unknown, contentType = 'application/json'): Promise<HttpResponseInit> {
  const request = new HttpRequest({
    method: 'POST',
    url: 'http://localhost:7071/api/deliveries',
    headers: { 'content-type': contentType },
    body: { string: typeof body === 'string' ? body : JSON.stringify(body) },
  });
  return recordDeliveries(request, new InvocationContext({ logHandler: () => undefined }));
}

/** A hash of its own per test, so ledger partitions never meet. */
function sha256(): string {
  n += 1;
  return n.toString(16).padStart(64, 'd');
}

async function ledger(key: string): Promise<number> {
  return (await services.store.listDeliveries(key, { pageSize: 1000 })).items.length;
}

const errorOf = (r: HttpResponseInit) =>
  (r.jsonBody as { error: { code: string; details?: { path: string }[] } }).error;

describe('POST /api/deliveries (the delivery ledger)', () => {
  it('records one row per (threat, recipient) and answers how many', async () => {
    const hash = sha256();
    const response = await post({
      internetMessageId: '<d1@mail.example>',
      recipients: ['alice@contoso.com', 'bob@contoso.com'],
      sha256: [hash],
    });
    expect(response.status).toBe(200);
    expect(response.jsonBody).toEqual({ recorded: 2 });
    expect(await ledger(hash)).toBe(2);
  });

  it('is idempotent: the same delivery reported twice is one row', async () => {
    const hash = sha256();
    const delivery = {
      internetMessageId: '<d2@mail.example>',
      recipients: ['alice@contoso.com'],
      sha256: [hash.toUpperCase()],
    };
    await post(delivery);
    await post([delivery]);
    expect(await ledger(hash)).toBe(1);
  });

  it('lets a verdict that names only the hash find and remediate every delivered copy', async () => {
    const hash = sha256();
    for (const r of ['alice@contoso.com', 'bob@contoso.com']) backend.deliver(r, '<d3@mail.example>');
    await post({
      internetMessageId: '<d3@mail.example>',
      recipients: ['alice@contoso.com', 'bob@contoso.com'],
      sha256: [hash],
      subject: 'Invoice',
    });

    const verdict = await pipeline.fanOut(
      VerdictChangeMother.malicious({ threat: { sha256: hash }, messages: undefined }),
    );
    expect(verdict.messages.map((m) => m.recipient).sort()).toEqual(['alice@contoso.com', 'bob@contoso.com']);
    await pipeline.runAll(verdict.messages);
    expect(await services.store.getVerdict(verdict.verdictId)).toMatchObject({
      status: 'completed',
      succeeded: 2,
      recipients: 2,
    });
  });

  it('reads every page of the ledger: a threat delivered to more mailboxes than one batch fans out to all of them', async () => {
    services = { ...services, settings: { ...services.settings, CLAWBACK_FANOUT_BATCH_SIZE: 7 } };
    useServices(services);
    const hash = sha256();
    const recipients = Array.from({ length: 23 }, (_, i) => `reader${i}@contoso.com`);
    await post({ internetMessageId: '<paged@mail.example>', recipients, sha256: [hash] });

    const verdict = await pipeline.fanOut(
      VerdictChangeMother.malicious({ threat: { sha256: hash }, messages: undefined }),
    );
    expect(verdict.messages.map((m) => m.recipient).sort()).toEqual([...recipients].sort());
  });

  it('restores every page of remediated copies when the verdict flips to clean', async () => {
    services = { ...services, settings: { ...services.settings, CLAWBACK_FANOUT_BATCH_SIZE: 7 } };
    useServices(services);
    await services.configStore.put(
      configDocument({
        policies: [
          { verdict: 'malicious', action: 'moveToJunk' },
          { verdict: 'clean', action: 'restore' },
        ],
      }),
    );
    const hash = sha256();
    const recipients = Array.from({ length: 16 }, (_, i) => `paged${i}@contoso.com`);
    for (const r of recipients) backend.deliver(r, '<restore-paged@mail.example>');
    const malicious = await pipeline.fanOut(
      VerdictChangeMother.malicious({
        threat: { sha256: hash },
        messages: [{ internetMessageId: '<restore-paged@mail.example>', recipients }],
      }),
    );
    await pipeline.runAll(malicious.messages);

    const clean = await pipeline.fanOut(
      VerdictChangeMother.malicious({ verdict: 'clean', threat: { sha256: hash }, messages: undefined }),
    );
    expect(clean.messages.map((m) => m.recipient).sort()).toEqual([...recipients].sort());
  });

  it('finds copies by URL as well', async () => {
    const url = `https://evil.example/payload-${sha256().slice(0, 8)}`;
    backend.deliver('alice@contoso.com', '<d4@mail.example>');
    await post({ internetMessageId: '<d4@mail.example>', recipients: ['alice@contoso.com'], urls: [url] });
    expect(await ledger(threatKey({ url }))).toBe(1);
    const verdict = await pipeline.fanOut(
      VerdictChangeMother.malicious({ threat: { url }, messages: undefined }),
    );
    expect(verdict.messages).toHaveLength(1);
  });

  it.each([
    ['neither sha256 nor urls', { internetMessageId: '<x@y>', recipients: ['a@contoso.com'] }, '$'],
    [
      'a malformed message id',
      { internetMessageId: 'x@y', recipients: ['a@contoso.com'], sha256: ['a'.repeat(64)] },
      'internetMessageId',
    ],
    ['no recipients', { internetMessageId: '<x@y>', recipients: [], sha256: ['a'.repeat(64)] }, 'recipients'],
    [
      'a short hash',
      { internetMessageId: '<x@y>', recipients: ['a@contoso.com'], sha256: ['abc'] },
      'sha256[0]',
    ],
    [
      'an unknown field',
      { internetMessageId: '<x@y>', recipients: ['a@contoso.com'], sha256: ['a'.repeat(64)], note: 'x' },
      '$',
    ],
    ['an empty array', [], '$'],
    [
      '101 deliveries',
      Array.from({ length: 101 }, () => ({
        internetMessageId: '<x@y>',
        recipients: ['a@contoso.com'],
        urls: ['https://x.example'],
      })),
      '$',
    ],
  ])('refuses %s with 400 naming %s and records nothing', async (_name, body, path) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(errorOf(response).code).toBe('ValidationFailed');
    expect(errorOf(response).details?.map((d) => d.path)).toContain(path);
    expect(await ledger('a'.repeat(64))).toBe(0);
    expect(await ledger(threatKey({ url: 'https://x.example' }))).toBe(0);
  });

  it('refuses a body that is not JSON with 415 and an oversize body with 413', async () => {
    expect((await post('internetMessageId=x', 'application/x-www-form-urlencoded')).status).toBe(415);
    const huge = {
      internetMessageId: '<x@y>',
      recipients: ['a@contoso.com'],
      sha256: ['a'.repeat(64)],
      subject: 'x'.repeat(1024 * 1024),
    };
    expect((await post(huge)).status).toBe(413);
  });
});
