import type { HttpClient } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  createDevCertificateAuthority,
  issueServerCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../../../local/sandbox/index.js';
import type { GraphProfile, SecretRef } from '../../../../shared/config/document.js';
import { isClawbackError } from '../../../../shared/errors.js';
import { GraphClient, type GraphMailBackendDeps } from '../../../../shared/mail/graph/client.js';
import { graphMailboxLimiter } from '../../../../shared/mail/graph/mailboxLimiter.js';
import { agentTrusting, identityClientTrusting } from '../../../../shared/mail/graph/trustedCa.js';
import type { SecretSource } from '../../../../shared/ports/secrets.js';
import { ProfileMother } from '../../../mothers/profileMother.js';
import { pemSecrets, rejection, rewritingClient } from '../../../support/identity.js';
import { eventually, type RecordingGraph, settle, startRecordingGraph } from './recordingGraph.js';

const tenantId = '6a1f0c2e-58b4-4d0c-9a51-0f3c6a7d2b10';
const clientId = '0b8f7a3c-2d4e-4f61-8a9b-1c2d3e4f5a6b';
const appCert = createAppCertificate('clawback-graph-client-mutants');
const user = 'kim@contoso.com';
const day = 86_400_000;

describe('GraphClient (client.ts) through a recording front of the sandbox tenant', () => {
  let tenant: SandboxTenant;
  let front: RecordingGraph;

  const profileFor = (overrides: Partial<GraphProfile> = {}): GraphProfile =>
    ProfileMother.sandboxGraph(
      { tenantId, clientId },
      { authorityHost: tenant.publicAuthorityHost, graphEndpoint: front.graphEndpoint },
      overrides,
    );
  /** A fresh identity client per client: token providers are per identity client, so counts start at 0. */
  const identity = (): HttpClient => rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost);
  const clientFor = (overrides: Partial<GraphProfile> = {}, deps: Partial<GraphMailBackendDeps> = {}) =>
    new GraphClient(profileFor(overrides), {
      secrets: pemSecrets(appCert.pemBundle),
      identityHttpClient: identity(),
      timeoutSeconds: 15,
      maxAttempts: 1,
      ...deps,
    });
  const get = (client: GraphClient, path: string, options?: { abortSignal?: AbortSignal }) =>
    client.call('connection test', user, path, options, (r) => r.get() as Promise<unknown>);
  const root = `/users/${user}/mailFolders/msgfolderroot`;

  beforeAll(async () => {
    tenant = await startSandboxTenant({
      apps: [{ tenantId, clientId, certificatePem: appCert.certPem }],
      mailboxes: [{ address: user }, { address: 'slots@contoso.com' }],
    });
    front = await startRecordingGraph(tenant.baseUrl);
  });
  afterAll(async () => {
    await front.close();
    await tenant.close();
  });
  beforeEach(() => {
    front.clear();
    tenant.clearScripts();
  });

  describe('requests', () => {
    it('sends v1.0 requests under the Graph endpoint with a bearer token', async () => {
      const answer = (await get(clientFor(), root)) as { id: string };
      expect(answer.id).toBe(
        tenant.mailbox(user).folders.find((f) => f.wellKnownName === 'msgfolderroot')?.id,
      );
      expect(front.seen.map((r) => `${r.method} ${r.url}`)).toEqual([
        `GET /graph/v1.0/users/${encodeURIComponent(user).replace('%40', '@')}/mailFolders/msgfolderroot`,
      ]);
      expect(front.seen[0]?.headers.authorization).toMatch(/^Bearer \S+$/);
    });

    it('retries a throttled request at most ten times, whatever maxAttempts says', async () => {
      front.answerJson(
        '/throttled',
        429,
        { error: { code: 'TooManyRequests', message: 'Slow down.' } },
        {
          'Retry-After': '0',
        },
      );
      const error = await rejection(
        get(clientFor({}, { maxAttempts: 15 }), '/users/kim@contoso.com/throttled'),
      );
      expect(error).toMatchObject({ code: 'Throttled', retryable: true });
      expect(front.seen).toHaveLength(11);
    });

    it('retries a throttled request until maxAttempts are spent', async () => {
      front.answerJson(
        '/throttled',
        429,
        { error: { code: 'TooManyRequests', message: 'Slow.' } },
        { 'Retry-After': '0' },
      );
      await rejection(get(clientFor({}, { maxAttempts: 3 }), '/users/kim@contoso.com/throttled'));
      expect(front.seen).toHaveLength(3);
    });

    it('sends nothing for a call whose signal is already aborted, and says it was cancelled', async () => {
      const client = clientFor();
      await get(client, root);
      front.clear();
      const error = await rejection(get(client, root, { abortSignal: AbortSignal.abort() }));
      expect(error.message).toMatch(/cancelled/);
      expect(front.seen).toEqual([]);
    });

    it("reads the certificate secret with the caller's signal", async () => {
      const signals: unknown[] = [];
      const secrets: SecretSource = {
        getSecret: (_ref, options) => {
          signals.push(options?.abortSignal);
          return Promise.resolve({ value: appCert.pemBundle, contentType: 'application/x-pem-file' });
        },
      };
      const caller = new AbortController();
      const client = clientFor({}, { secrets });
      await get(client, root, { abortSignal: caller.signal });
      await get(client, root);
      expect(signals).toEqual([caller.signal, undefined]);
    });

    it('reports a failure that is no ClawbackError as one, naming the operation', async () => {
      const secrets: SecretSource = { getSecret: () => Promise.reject(new Error('vault sealed')) };
      const error = await rejection(get(clientFor({}, { secrets }), root));
      expect(isClawbackError(error)).toBe(true);
      expect(`${error.message} ${error.detail ?? ''}`).toMatch(/connection test/);
      expect(`${error.message} ${error.detail ?? ''}`).toMatch(/vault sealed/);
      expect(front.seen).toEqual([]);
    });
  });

  describe('pages', () => {
    it('reads a first page without a value as no items', async () => {
      expect(await clientFor().pages('search', user, {}, undefined)).toEqual([]);
      expect(front.seen).toEqual([]);
    });

    it('follows each nextLink verbatim, a page without a value adding nothing', async () => {
      const second = `${front.graphEndpoint}/v1.0/users/${user}/messages?$skiptoken=a%2Fb%3D`;
      const third = `${front.graphEndpoint}/v1.0/users/${user}/messages?$skiptoken=c`;
      front.answerJson('$skiptoken=a%2Fb%3D', 200, { '@odata.nextLink': third });
      front.answerJson('$skiptoken=c', 200, { value: [{ id: 'm3' }] });
      const items = await clientFor().pages(
        'search',
        user,
        { value: [{ id: 'm1' }], '@odata.nextLink': second },
        undefined,
      );
      expect(items).toEqual([{ id: 'm1' }, { id: 'm3' }]);
      expect(front.seen.map((r) => `${front.base}${r.url}`)).toEqual([second, third]);
      expect(front.seen.every((r) => r.method === 'GET')).toBe(true);
    });

    it('stops a server that keeps linking after 1,000 pages, naming the operation and the mailbox', async () => {
      const loop = `${front.graphEndpoint}/v1.0/users/${user}/messages?$skiptoken=loop`;
      front.answerJson('$skiptoken=loop', 200, { value: [], '@odata.nextLink': loop });
      const error = await rejection(
        clientFor().pages('search', user, { value: [], '@odata.nextLink': loop }, undefined),
      );
      expect(error.code).toBe('Unknown');
      expect(error.message).toBe(
        `Graph kept returning more pages after 1000 during search for ${user}; stopped.`,
      );
      expect(front.seen).toHaveLength(999);
    });
  });

  describe('each', () => {
    const path = `/users/${user}/messages/m1`;
    const one = async (request: Parameters<GraphClient['each']>[4]) => {
      front.answer('/messages/m1', (seen, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ echoed: seen.method }));
      });
      const results = await clientFor().each('action', user, ['x'], undefined, request);
      return { results, seen: front.seen };
    };

    it.each(['GET', 'DELETE'] as const)('sends a single %s on its own, not in a batch', async (method) => {
      const { results, seen } = await one(() => ({ method, url: path }));
      expect(results).toEqual([{ ok: true, status: 200, body: { echoed: method } }]);
      expect(seen.map((r) => [r.method, r.url, r.body])).toEqual([[method, `/graph/v1.0${path}`, '']]);
    });

    it.each(['POST', 'PATCH'] as const)('sends a single %s with its JSON body', async (method) => {
      const { results, seen } = await one(() => ({ method, url: path, body: { isRead: true } }));
      expect(results).toEqual([{ ok: true, status: 200, body: { echoed: method } }]);
      expect(seen.map((r) => [r.method, r.url, JSON.parse(r.body) as unknown])).toEqual([
        [method, `/graph/v1.0${path}`, { isRead: true }],
      ]);
    });

    it('sends a single POST without a body as an empty JSON body', async () => {
      const { seen } = await one(() => ({ method: 'POST', url: path }));
      expect(seen.map((r) => [r.method, r.body])).toEqual([['POST', 'null']]);
    });

    it('turns a refused single request into a failed result, not a rejection', async () => {
      front.answerJson('/messages/gone', 404, {
        error: { code: 'ErrorItemNotFound', message: 'Not found.' },
      });
      const results = await clientFor().each('action', user, ['x'], undefined, () => ({
        method: 'DELETE',
        url: `/users/${user}/messages/gone`,
      }));
      expect(results).toEqual([
        { ok: false, status: 0, error: expect.objectContaining({ code: 'MessageNotFound' }) as unknown },
      ]);
    });

    it('sends several in one batch: a body with its JSON content type, headers only when given', async () => {
      front.answer('/$batch', (seen, res) => {
        const { requests } = JSON.parse(seen.body) as { requests: { id: string }[] };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ responses: requests.map((r) => ({ id: r.id, status: 200, body: { n: r.id } })) }),
        );
      });
      const requests = [
        { method: 'GET' as const, url: '/users/kim@contoso.com/messages/a' },
        { method: 'GET' as const, url: '/users/kim@contoso.com/messages/b', headers: { Prefer: 'x' } },
        {
          method: 'POST' as const,
          url: '/users/kim@contoso.com/messages/c/move',
          body: { destinationId: 'd' },
        },
        {
          method: 'PATCH' as const,
          url: '/users/kim@contoso.com/messages/e',
          body: { isRead: true },
          headers: { 'If-Match': '*' },
        },
      ];
      const results = await clientFor().each('action', user, requests, undefined, (r) => r);
      expect(results).toEqual(
        requests.map((_, i) => ({ ok: true, status: 200, body: { n: String(i + 1) } })),
      );
      expect(front.seen.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /graph/v1.0/$batch']);
      expect(JSON.parse(front.seen[0]?.body ?? '')).toEqual({
        requests: [
          { id: '1', method: 'GET', url: '/users/kim@contoso.com/messages/a' },
          { id: '2', method: 'GET', url: '/users/kim@contoso.com/messages/b', headers: { Prefer: 'x' } },
          {
            id: '3',
            method: 'POST',
            url: '/users/kim@contoso.com/messages/c/move',
            body: { destinationId: 'd' },
            headers: { 'Content-Type': 'application/json' },
          },
          {
            id: '4',
            method: 'PATCH',
            url: '/users/kim@contoso.com/messages/e',
            body: { isRead: true },
            headers: { 'Content-Type': 'application/json', 'If-Match': '*' },
          },
        ],
      });
    });

    it('translates a refused batch item with the operation and the mailbox', async () => {
      front.answer('/$batch', (_, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            responses: [
              { id: '1', status: 200, body: {} },
              {
                id: '2',
                status: 403,
                body: { error: { code: 'ErrorAccessDenied', message: 'Access is denied.' } },
              },
            ],
          }),
        );
      });
      const results = await clientFor().each('purge', user, ['a', 'b'], undefined, (id) => ({
        method: 'DELETE',
        url: `/users/${user}/messages/${id}`,
      }));
      expect(results[1]).toMatchObject({ ok: false, status: 403, error: { code: 'PermissionError' } });
      const error = results[1]?.ok === false ? results[1].error : undefined;
      expect(`${error?.message} ${error?.detail}`).toMatch(new RegExp(`purge.*${user}|${user}.*purge`));
    });

    it('fails a batch Graph refuses as a whole with a ClawbackError', async () => {
      front.answerJson('/$batch', 403, {
        error: { code: 'ErrorAccessDenied', message: 'Access is denied.' },
      });
      const error = await rejection(
        clientFor().each('purge', user, ['a', 'b'], undefined, (id) => ({
          method: 'DELETE',
          url: `/users/${user}/messages/${id}`,
        })),
      );
      expect(error.code).toBe('PermissionError');
    });

    it('sends nothing for no items', async () => {
      expect(
        await clientFor().each('purge', user, [], undefined, () => ({ method: 'GET', url: '/' })),
      ).toEqual([]);
      expect(front.seen).toEqual([]);
    });
  });

  describe('mailbox slots', () => {
    const mailbox = 'slots@contoso.com';

    it("holds a batch until as many of its mailbox's slots as it has items are free, whatever the case of the address", async () => {
      const client = clientFor();
      await get(client, root);
      front.answer('/$batch', (seen, res) => {
        const { requests } = JSON.parse(seen.body) as { requests: { id: string }[] };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ responses: requests.map((r) => ({ id: r.id, status: 204 })) }));
      });
      const held = await Promise.all([1, 2, 3].map(() => graphMailboxLimiter.acquire(mailbox)));
      front.clear();
      front.answer('/$batch', (seen, res) => {
        const { requests } = JSON.parse(seen.body) as { requests: { id: string }[] };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ responses: requests.map((r) => ({ id: r.id, status: 204 })) }));
      });
      const batch = client.batch(
        'purge',
        'Slots@Contoso.com',
        ['a', 'b'].map((id) => ({ method: 'DELETE' as const, url: `/users/${mailbox}/messages/${id}` })),
        undefined,
      );
      // Another mailbox's request goes and comes back meanwhile; the batch still waits.
      await get(client, root);
      await settle();
      expect(front.seen.filter((r) => r.url.endsWith('$batch'))).toEqual([]);
      held[0]?.();
      expect(await batch).toHaveLength(2);
      expect(front.seen.filter((r) => r.url.endsWith('$batch'))).toHaveLength(1);
      held.slice(1).forEach((release) => release());
      expect(graphMailboxLimiter.active(mailbox)).toBe(0);
    });

    it('holds a single request while its mailbox has no free slot', async () => {
      const client = clientFor();
      const path = `/users/${mailbox}/mailFolders/msgfolderroot`;
      await get(client, path);
      front.clear();
      const held = await Promise.all([1, 2, 3, 4].map(() => graphMailboxLimiter.acquire(mailbox)));
      const call = get(client, `/users/SLOTS%40contoso.com/mailFolders/msgfolderroot`);
      await get(client, root);
      await settle();
      expect(front.seen.filter((r) => r.url.includes('msgfolderroot')).map((r) => r.url)).toEqual([
        `/graph/v1.0/users/${user}/mailFolders/msgfolderroot`,
      ]);
      held[0]?.();
      await call;
      held.slice(1).forEach((release) => release());
      expect(graphMailboxLimiter.active(mailbox)).toBe(0);
    });
  });

  describe('the certificate and its token', () => {
    it('reads the certificate for every request but loads it, logs it and asks for a token once', async () => {
      const logs: string[] = [];
      let reads = 0;
      const secrets: SecretSource = {
        getSecret: () => {
          reads += 1;
          return Promise.resolve({ value: appCert.pemBundle, contentType: 'application/x-pem-file' });
        },
      };
      const before = tenant.tokenRequests;
      const client = clientFor({}, { secrets, log: (line) => logs.push(line) });
      await get(client, root);
      await get(client, root);
      expect(reads).toBe(2);
      expect(tenant.tokenRequests - before).toBe(1);
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatch(
        /^graph sandbox: using certificate [0-9A-F]{40} \(CN=clawback-graph-client-mutants\), valid until \S+Z$/,
      );
      const tokens = new Set(front.seen.map((r) => r.headers.authorization));
      expect(tokens.size).toBe(1);
    });

    it('loads a renewed certificate when the secret changes', async () => {
      const renewed = createAppCertificate('clawback-graph-client-renewed');
      let value = appCert.pemBundle;
      const logs: string[] = [];
      const client = clientFor(
        {},
        {
          secrets: { getSecret: () => Promise.resolve({ value, contentType: 'application/x-pem-file' }) },
          log: (line) => logs.push(line),
        },
      );
      await get(client, root);
      value = renewed.pemBundle;
      // The sandbox app knows only the first certificate: the renewed one is loaded, and refused.
      expect((await rejection(get(client, root))).code).toBe('AuthenticationError');
      expect(logs.map((l) => /\((CN=[^)]+)\)/.exec(l)?.[1])).toEqual([
        'CN=clawback-graph-client-mutants',
        'CN=clawback-graph-client-renewed',
      ]);
    });

    it.each([
      [9.5, 9],
      [29.5, 29],
    ])('warns when the certificate has %s days left', async (days, shown) => {
      const soon = createAppCertificate('clawback-graph-client-mutants', {
        notAfter: new Date(Date.now() + days * day),
      });
      const soonTenant = await startSandboxTenant({
        apps: [{ tenantId, clientId, certificatePem: soon.certPem }],
        mailboxes: [{ address: user }],
      });
      try {
        const logs: string[] = [];
        const client = new GraphClient(
          profileFor({
            authorityHost: soonTenant.publicAuthorityHost,
            graphEndpoint: soonTenant.graphEndpoint,
          }),
          {
            secrets: pemSecrets(soon.pemBundle),
            identityHttpClient: rewritingClient(soonTenant.publicAuthorityHost, soonTenant.authorityHost),
            timeoutSeconds: 15,
            maxAttempts: 1,
            log: (line) => logs.push(line),
          },
        );
        await get(client, root);
        expect(logs).toHaveLength(1);
        expect(logs[0]).toMatch(new RegExp(`Z — expires in ${shown} days, renew it$`));
      } finally {
        await soonTenant.close();
      }
    });

    it('does not warn with 30 days left', async () => {
      const later = createAppCertificate('clawback-graph-client-mutants', {
        notAfter: new Date(Date.now() + 30.5 * day),
      });
      const logs: string[] = [];
      // The token request fails (the sandbox knows another certificate); the log line comes first.
      await rejection(
        get(clientFor({}, { secrets: pemSecrets(later.pemBundle), log: (l) => logs.push(l) }), root),
      );
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatch(/valid until \S+Z$/);
    });

    it.each<[SecretRef, string]>([
      [{ keyVaultSecret: 'graph-cert' }, 'Key Vault secret "graph-cert"'],
      [{ file: '/secrets/graph.pem' }, 'certificate file /secrets/graph.pem'],
      [{ env: 'GRAPH_CERT' }, 'environment variable GRAPH_CERT'],
    ])('names the certificate secret %j in a ConfigurationError', async (certificate, named) => {
      const error = await rejection(
        get(clientFor({ certificate }, { secrets: pemSecrets(appCert.certPem) }), root),
      );
      expect(error.code).toBe('ConfigurationError');
      expect(`${error.message} ${error.detail ?? ''}`).toContain(`${named} holds no private key`);
      expect(front.seen).toEqual([]);
    });
  });
});

describe('GraphClient with a trustedCa, against the sandbox tenant over https', () => {
  const ca = createDevCertificateAuthority();
  let tenant: SandboxTenant;
  let caValue: string;
  let reads: Record<string, number>;
  let caSignals: unknown[];

  const secrets: SecretSource = {
    getSecret: (ref, options) => {
      const name = 'keyVaultSecret' in ref ? ref.keyVaultSecret : '';
      reads[name] = (reads[name] ?? 0) + 1;
      if (name === 'graph-ca') caSignals.push(options?.abortSignal);
      return Promise.resolve(
        name === 'graph-ca'
          ? { value: caValue }
          : { value: appCert.pemBundle, contentType: 'application/x-pem-file' },
      );
    },
  };
  const clientFor = (trusted: boolean) =>
    new GraphClient(
      ProfileMother.sandboxGraph(
        { tenantId, clientId },
        { authorityHost: tenant.authorityHost, graphEndpoint: tenant.graphEndpoint },
        { name: 'secure', ...(trusted ? { trustedCa: { keyVaultSecret: 'graph-ca' } } : {}) },
      ),
      { secrets, timeoutSeconds: 15, maxAttempts: 1 },
    );
  const get = (client: GraphClient, options?: { abortSignal?: AbortSignal }) =>
    client.call(
      'connection test',
      user,
      `/users/${user}/mailFolders/msgfolderroot`,
      options,
      (r) => r.get() as Promise<{ id: string }>,
    );

  beforeAll(async () => {
    tenant = await startSandboxTenant({
      apps: [{ tenantId, clientId, certificatePem: appCert.certPem }],
      mailboxes: [{ address: user }],
      tls: issueServerCertificate(ca, ['localhost', '127.0.0.1']),
    });
  });
  afterAll(() => tenant.close());
  beforeEach(() => {
    caValue = ca.caCertPem;
    reads = {};
    caSignals = [];
  });

  it('reaches Entra ID and Graph through the CA the profile trusts, reading it per request and asking once for a token', async () => {
    const client = clientFor(true);
    const before = tenant.tokenRequests;
    expect((await get(client)).id).toBeTruthy();
    expect((await get(client)).id).toBeTruthy();
    expect(tenant.tokenRequests - before).toBe(1);
    expect(tenant.requests.at(-1)).toMatchObject({ status: 200, mailbox: user });
    expect(reads['graph-cert']).toBe(2);
    expect(reads['graph-ca']).toBeGreaterThanOrEqual(2);
  });

  it("reads the CA secret with the caller's signal for the token request", async () => {
    const caller = new AbortController();
    await get(clientFor(true), { abortSignal: caller.signal });
    expect(caSignals[0]).toBe(caller.signal);
  });

  it('builds a new identity client, and so asks for a new token, when the CA secret changes', async () => {
    const client = clientFor(true);
    const before = tenant.tokenRequests;
    await get(client);
    caValue = `${ca.caCertPem}\n`;
    await get(client);
    expect(tenant.tokenRequests - before).toBe(2);
  });

  it('without a trustedCa sends Graph requests with no agent of its own, so the private CA is not trusted', async () => {
    const client = new GraphClient(
      ProfileMother.sandboxGraph(
        { tenantId, clientId },
        { authorityHost: tenant.authorityHost, graphEndpoint: tenant.graphEndpoint },
        { name: 'secure' },
      ),
      {
        secrets,
        identityHttpClient: identityClientTrusting(agentTrusting(ca.caCertPem)),
        timeoutSeconds: 15,
        maxAttempts: 1,
      },
    );
    const before = tenant.requests.length;
    const error = await rejection(get(client));
    expect(error.code).toBe('ConnectionError');
    expect(error.message).toMatch(/^The TLS certificate of localhost:\d+ is not trusted/);
    expect(reads['graph-ca']).toBeUndefined();
    expect(tenant.requests.length).toBe(before);
  });

  it('without a trustedCa does not trust the private CA', async () => {
    const before = tenant.tokenRequests;
    const error = await rejection(get(clientFor(false)));
    expect(error.code).not.toBe('ConfigurationError');
    expect(`${error.message} ${error.detail ?? ''}`).not.toMatch(/trustedCa\.$/);
    expect(reads['graph-ca']).toBeUndefined();
    expect(tenant.tokenRequests).toBe(before);
  });
});

void eventually;
