import type { HttpClient } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../../../local/sandbox/index.js';
import type { ClawbackError } from '../../../../shared/errors.js';
import {
  type BatchRequest,
  type BatchResponse,
  type BatchResult,
  GraphBatchItemError,
} from '../../../../shared/mail/graph/batch.js';
import { GraphClient } from '../../../../shared/mail/graph/client.js';
import { ProfileMother } from '../../../mothers/profileMother.js';
import { pemSecrets, rewritingClient } from '../../../support/identity.js';
import { type RecordingGraph, startRecordingGraph } from './recordingGraph.js';

const tenantId = '6a1f0c2e-58b4-4d0c-9a51-0f3c6a7d2b10';
const clientId = '0b8f7a3c-2d4e-4f61-8a9b-1c2d3e4f5a6b';
const appCert = createAppCertificate('clawback-graph-batch-mutants');
const user = 'lena@contoso.com';

const get = (url: string): BatchRequest => ({ method: 'GET', url });
const batchesOf = (front: RecordingGraph) =>
  front.seen
    .filter((r) => r.url.endsWith('/$batch'))
    .map((r) => (JSON.parse(r.body) as { requests: { id: string }[] }).requests.map((q) => q.id));

describe('runBatch (batch.ts) through GraphClient and a recording front of the sandbox tenant', () => {
  let tenant: SandboxTenant;
  let front: RecordingGraph;
  let identityHttpClient: HttpClient;

  const client = () =>
    new GraphClient(
      ProfileMother.sandboxGraph(
        { tenantId, clientId },
        { authorityHost: tenant.publicAuthorityHost, graphEndpoint: front.graphEndpoint },
      ),
      { secrets: pemSecrets(appCert.pemBundle), identityHttpClient, timeoutSeconds: 15, maxAttempts: 1 },
    );
  /** The front answers every `$batch` itself: each item id gets `answer(id)`, or no response when undefined. */
  const answerBatch = (answer: (id: string) => Omit<BatchResponse, 'id'> | undefined) =>
    front.answer('/$batch', (seen, res) => {
      const { requests } = JSON.parse(seen.body) as { requests: { id: string }[] };
      const responses = requests.flatMap((r) => {
        const a = answer(r.id);
        return a === undefined ? [] : [{ id: r.id, ...a }];
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ responses }));
    });
  const errorOf = (result: BatchResult | undefined): ClawbackError | undefined =>
    result?.ok === false ? result.error : undefined;
  const itemErrorOf = (result: BatchResult | undefined) => errorOf(result)?.cause as GraphBatchItemError;

  beforeAll(async () => {
    tenant = await startSandboxTenant({
      apps: [{ tenantId, clientId, certificatePem: appCert.certPem }],
      mailboxes: [{ address: user }],
    });
    front = await startRecordingGraph(tenant.baseUrl);
    identityHttpClient = rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost);
  });
  afterAll(async () => {
    await front.close();
    await tenant.close();
  });
  beforeEach(() => {
    front.clear();
    tenant.clearScripts();
  });

  it('sends exactly 20 requests as one envelope the sandbox accepts, and no empty envelope after it', async () => {
    const requests = Array.from({ length: 20 }, () => get(`/users/${user}/mailFolders/inbox`));
    const results = await client().batch('folder lookup', user, requests, undefined);
    expect(results.map((r) => r.status)).toEqual(requests.map(() => 200));
    expect(batchesOf(front)).toEqual([requests.map((_, i) => String(i + 1))]);
  });

  it('reports the request the answer left out by its position in the batch', async () => {
    answerBatch((id) => (id === '2' ? undefined : { status: 200, body: {} }));
    const results = await client().batch('search', user, [get('/a'), get('/b'), get('/c')], undefined);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[1]).toMatchObject({ ok: false, status: 0 });
    expect(errorOf(results[1])?.code).toBe('Unknown');
    expect(errorOf(results[1])?.message).toBe("Graph's batch answer had no response for request 2.");
    expect(batchesOf(front)).toEqual([['1', '2', '3']]);
  });

  it('counts only 200 to 299 as success: 199 and 300 are failed items', async () => {
    const statuses: Record<string, number> = { '1': 199, '2': 200, '3': 299, '4': 300 };
    answerBatch((id) => ({ status: statuses[id] ?? 500, body: { n: id } }));
    const results = await client().batch('search', user, ['/a', '/b', '/c', '/d'].map(get), undefined);
    expect(results.map((r) => [r.ok, r.status])).toEqual([
      [false, 199],
      [true, 200],
      [true, 299],
      [false, 300],
    ]);
    expect(batchesOf(front)).toEqual([['1', '2', '3', '4']]);
  });

  it("gives the translation Graph's error code and message, and the item's headers by any case", async () => {
    answerBatch(() => ({
      status: 404,
      headers: { 'X-Trace': 'abc', 'retry-after': '7' },
      body: { error: { code: 'ErrorItemNotFound', message: 'The item is gone.' } },
    }));
    const [result] = await client().batch('search', user, [get('/a'), get('/b')], undefined);
    const error = itemErrorOf(result);
    expect(error).toBeInstanceOf(GraphBatchItemError);
    expect(error).toMatchObject({ name: 'GraphError', statusCode: 404, code: 'ErrorItemNotFound' });
    expect(error.message).toBe('The item is gone.');
    expect([
      error.headers.get('x-trace'),
      error.headers.get('Retry-After'),
      error.headers.get('ETag'),
    ]).toEqual(['abc', '7', null]);
    expect(errorOf(result)?.code).toBe('MessageNotFound');
  });

  it('names the status when a failed item carries no Graph error, and reads no headers it lacks', async () => {
    answerBatch((id) =>
      id === '1' ? { status: 409 } : { status: 410, body: { error: { code: 7, message: 8 } } },
    );
    const [bare, odd] = await client().batch('search', user, [get('/a'), get('/b')], undefined);
    expect(itemErrorOf(bare)).toMatchObject({ statusCode: 409, code: null, body: undefined });
    expect(itemErrorOf(bare).message).toBe('batch item answered 409');
    expect(itemErrorOf(bare).headers.get('Retry-After')).toBeNull();
    expect(itemErrorOf(odd)).toMatchObject({ statusCode: 410, code: null });
    expect(itemErrorOf(odd).message).toBe('batch item answered 410');
  });

  it('names the status when a failed item has a body without an error, and finds no header it lacks', async () => {
    answerBatch(() => ({
      status: 409,
      headers: { undefined: 'not a header Graph sends' },
      body: { detail: 'none' },
    }));
    const [result] = await client().batch('search', user, [get('/a'), get('/b')], undefined);
    expect(itemErrorOf(result)).toMatchObject({ statusCode: 409, code: null });
    expect(itemErrorOf(result).message).toBe('batch item answered 409');
    expect(itemErrorOf(result).headers.get('Retry-After')).toBeNull();
  });
});
