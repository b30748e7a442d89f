import { HttpRequest, type HttpResponseInit, InvocationContext } from '@azure/functions';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { ingestVerdict } from '../../functions/ingestVerdict.js';
import { InMemoryQueue } from '../../shared/queue/inMemoryQueue.js';
import { signBody } from '../../shared/verdicts/signature.js';
import { VerdictChangeMother } from '../mothers/verdictChangeMother.js';
import { startHarness, stopHarness } from '../support/harness.js';
import { tapSecret, tapSecrets } from '../support/services.js';

let queue: InMemoryQueue;

afterAll(stopHarness);
beforeEach(async () => {
  ({ queue } = await startHarness({
    secrets: tapSecrets,
    config: { sources: [{ name: 'proofpoint-tap', signingSecret: { env: 'TAP_SECRET' } }, { name: 'soar' }] },
  }));
});

function post(body: string, signature?: string): Promise<HttpResponseInit> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signature) headers['x-clawback-signature'] = signature;
  const request = new HttpRequest({
    method: 'POST',
    url: 'http://localhost:7071/api/verdicts',
    headers,
    body: { string: body },
  });
  return ingestVerdict(request, new InvocationContext({ logHandler: () => undefined }));
}

const tapVerdict = () => JSON.stringify(VerdictChangeMother.malicious({ source: 'proofpoint-tap' }));
const errorCode = (r: HttpResponseInit) => (r.jsonBody as { error: { code: string } }).error.code;

describe('X-Clawback-Signature for sources with a signing secret', () => {
  it('accepts a body signed with the source secret', async () => {
    const body = tapVerdict();
    expect((await post(body, signBody(body, tapSecret))).status).toBe(202);
    expect(queue.stats('verdicts').active).toBe(1);
  });

  it('refuses a missing signature with 401 and enqueues nothing', async () => {
    const response = await post(tapVerdict());
    expect(response.status).toBe(401);
    expect(errorCode(response)).toBe('InvalidSignature');
    expect(queue.stats('verdicts').active).toBe(0);
  });

  it('refuses a signature made with another secret or over another body', async () => {
    const body = tapVerdict();
    expect((await post(body, signBody(body, 'not-the-secret'))).status).toBe(401);
    expect((await post(body, signBody(tapVerdict(), tapSecret))).status).toBe(401);
    expect(queue.stats('verdicts').active).toBe(0);
  });

  it('refuses a signature older than five minutes', async () => {
    const body = tapVerdict();
    const sixMinutesAgo = Math.floor(Date.now() / 1000) - 6 * 60;
    const response = await post(body, signBody(body, tapSecret, sixMinutesAgo));
    expect(response.status).toBe(401);
    expect((response.jsonBody as { error: { message: string } }).error.message).toMatch(
      /older than 5 minutes/,
    );
  });

  it('needs no signature from a source without a signing secret', async () => {
    expect((await post(JSON.stringify(VerdictChangeMother.malicious({ source: 'soar' })))).status).toBe(202);
  });

  it('answers 503 and enqueues nothing when the signing secret cannot be read', async () => {
    ({ queue } = await startHarness({
      secrets: tapSecrets,
      config: { sources: [{ name: 'proofpoint-tap', signingSecret: { env: 'MISSING' } }] },
    }));
    const body = tapVerdict();
    const response = await post(body, signBody(body, tapSecret));
    expect(response.status).toBe(503);
    expect(errorCode(response)).toBe('SecretUnavailable');
    expect(queue.stats('verdicts').active).toBe(0);
  });

  it('refuses a malformed signature header', async () => {
    expect((await post(tapVerdict(), 't=abc,v1=xyz')).status).toBe(401);
  });
});
