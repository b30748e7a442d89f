import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  createDevCertificateAuthority,
  issueServerCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../../../local/sandbox/index.js';
import {
  getGraphTokenProvider,
  type GraphTokenProviderOptions,
} from '../../../../shared/mail/graph/credentials.js';
import { loadCertificate } from '../../../../shared/secrets/certificate.js';
import { rejection, rewritingClient } from '../../../support/identity.js';
import { startRecordingGraph } from './recordingGraph.js';

const tenantId = '6a1f0c2e-58b4-4d0c-9a51-0f3c6a7d2b10';
const clientId = '0b8f7a3c-2d4e-4f61-8a9b-1c2d3e4f5a6b';
const appCert = createAppCertificate('clawback-graph-credentials-mutants');
const certificate = loadCertificate({ value: appCert.pemBundle, contentType: 'application/x-pem-file' });
const graphEndpoint = 'https://graph.microsoft.com';

const optionsFor = (
  authorityHost: string,
  identityHttpClient: HttpClient | undefined,
  overrides: Partial<GraphTokenProviderOptions['profile']> = {},
  timeoutSeconds = 15,
): GraphTokenProviderOptions => ({
  profile: {
    name: 'sandbox',
    tenantId,
    clientId,
    cloud: 'global',
    authorityHost,
    graphEndpoint,
    ...overrides,
  },
  certificate,
  timeoutSeconds,
  identityHttpClient,
});

describe('getGraphTokenProvider: one provider per authority, tenant, app, certificate, endpoint and identity client', () => {
  const authority = 'https://login.sandbox.test';
  const client = createDefaultHttpClient();

  it('gives the same provider for the same profile, whatever the case of its ids', () => {
    const first = getGraphTokenProvider(optionsFor(authority, client));
    expect(getGraphTokenProvider(optionsFor(authority, client))).toBe(first);
    expect(
      getGraphTokenProvider(
        optionsFor(authority, client, { tenantId: tenantId.toUpperCase(), clientId: clientId.toUpperCase() }),
      ),
    ).toBe(first);
  });

  it('gives the same provider to profiles without an identity client', () => {
    expect(getGraphTokenProvider(optionsFor(authority, undefined))).toBe(
      getGraphTokenProvider(optionsFor(authority, undefined)),
    );
  });

  it('gives another provider for another identity client, tenant, app or Graph endpoint', () => {
    const first = getGraphTokenProvider(optionsFor(authority, client));
    const others = [
      getGraphTokenProvider(optionsFor(authority, createDefaultHttpClient())),
      getGraphTokenProvider(optionsFor(authority, undefined)),
      getGraphTokenProvider(optionsFor(authority, client, { tenantId: 'contoso.onmicrosoft.com' })),
      getGraphTokenProvider(
        optionsFor(authority, client, { clientId: '11111111-2222-4333-8444-555555555555' }),
      ),
      getGraphTokenProvider(optionsFor(authority, client, { graphEndpoint: 'https://graph.microsoft.us' })),
    ];
    expect(new Set([first, ...others]).size).toBe(6);
  });

  it('keeps the parts of the key apart', () => {
    const a = getGraphTokenProvider(optionsFor(authority, client, { tenantId: 'x1', clientId: 'y' }));
    const b = getGraphTokenProvider(optionsFor(authority, client, { tenantId: 'x', clientId: '1y' }));
    expect(a).not.toBe(b);
  });

  it('is a ConfigurationError naming the profile and the authority when the tenant id is unusable', () => {
    let thrown: unknown;
    try {
      getGraphTokenProvider(optionsFor(authority, client, { tenantId: 'not a tenant!' }));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({
      code: 'ConfigurationError',
      message: expect.stringMatching(
        /^Profile "sandbox" cannot authenticate with authority https:\/\/login\.sandbox\.test: \S/,
      ) as unknown,
    });
    // The identity library's own error stays attached as the cause, for the operator's log.
    const { message, cause } = thrown as { message: string; cause?: { message?: unknown } };
    expect(cause?.message).toEqual(expect.stringMatching(/\S/));
    expect(message.endsWith(`: ${String(cause?.message)}`)).toBe(true);
  });
});

describe('the token provider against the sandbox tenant', () => {
  let tenant: SandboxTenant;
  let shortLived: SandboxTenant;

  const provider = (on: SandboxTenant = tenant, timeoutSeconds = 15) =>
    getGraphTokenProvider(
      optionsFor(
        on.publicAuthorityHost,
        rewritingClient(on.publicAuthorityHost, on.authorityHost),
        { graphEndpoint: on.graphEndpoint },
        timeoutSeconds,
      ),
    );

  beforeAll(async () => {
    const apps = [{ tenantId, clientId, certificatePem: appCert.certPem }];
    tenant = await startSandboxTenant({ apps, mailboxes: [] });
    // Tokens living less than the five-minute refresh margin are never reused.
    shortLived = await startSandboxTenant({ apps, mailboxes: [], tokenLifetimeSeconds: 120 });
  });
  afterAll(async () => {
    await tenant.close();
    await shortLived.close();
  });
  beforeEach(() => tenant.clearScripts());

  it('asks once and reuses the token while it is fresh', async () => {
    const tokens = provider();
    const before = tenant.tokenRequests;
    const first = await tokens.getToken();
    expect(await tokens.getToken()).toBe(first);
    expect(await tokens.getToken(new AbortController().signal)).toBe(first);
    expect(tenant.tokenRequests - before).toBe(1);
  });

  it('asks again once the token is within five minutes of expiring', async () => {
    const tokens = provider(shortLived);
    const before = shortLived.tokenRequests;
    await tokens.getToken();
    await tokens.getToken();
    expect(shortLived.tokenRequests - before).toBe(2);
  });

  it('waits for a slow token endpoint within the timeout', async () => {
    tenant.script({ match: { pathIncludes: '/oauth2/v2.0/token' }, times: 1, respond: { delayMs: 150 } });
    const before = tenant.tokenRequests;
    expect(await provider(tenant, 1).getToken()).toMatch(/\S/);
    expect(tenant.tokenRequests - before).toBe(1);
  });

  it('gives up on a token endpoint that does not answer in time, retryable', async () => {
    tenant.script({ match: { pathIncludes: '/oauth2/v2.0/token' }, times: 1, respond: { delayMs: 1500 } });
    const error = await rejection(provider(tenant, 1).getToken());
    expect(error).toMatchObject({
      code: 'ConnectionError',
      retryable: true,
      message: `Entra ID (${tenant.publicAuthorityHost}) did not issue a token within 1 s.`,
    });
  });

  it('looks at the OpenID configuration only once for a failure that is not about it', async () => {
    const front = await startRecordingGraph(tenant.baseUrl);
    try {
      const error = await rejection(
        getGraphTokenProvider(
          optionsFor(
            tenant.publicAuthorityHost,
            rewritingClient(tenant.publicAuthorityHost, `${front.base}/login`),
            {
              clientId: '12345678-1234-4234-8234-123456789012',
            },
          ),
        ).getToken(),
      );
      expect(error.message).toMatch(/AADSTS700016/);
      const last = front.seen.at(-1);
      expect(`${last?.method} ${last?.url}`).toMatch(
        new RegExp(`^POST /login/${tenantId}/oauth2/v2\\.0/token(\\?|$)`),
      );
    } finally {
      await front.close();
    }
  });

  it("stops waiting when the caller's signal aborts, naming the token request", async () => {
    const error = await rejection(provider().getToken(AbortSignal.abort()));
    expect(error.message).toBe('Token request was cancelled before Graph answered.');
  });

  it('reports an unknown tenant as Entra says it', async () => {
    const unknown = await rejection(
      getGraphTokenProvider(
        optionsFor(
          tenant.publicAuthorityHost,
          rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost),
          {
            tenantId: 'nosuch.onmicrosoft.com',
          },
        ),
      ).getToken(),
    );
    expect(unknown.code).toBe('AuthenticationError');
    expect(unknown.message).toBe(
      `Tenant 'nosuch.onmicrosoft.com' was not found at ${tenant.publicAuthorityHost} (AADSTS90002); check tenantId and cloud.`,
    );
  });
});

describe("the token provider's second look at a failed OpenID configuration", () => {
  let server: http.Server;
  let base: string;
  let answer: { status: number; body: string; dropSecondLook?: boolean };
  let discoveries = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url?.endsWith('/v2.0/.well-known/openid-configuration')) discoveries += 1;
        if (answer.dropSecondLook === true && discoveries > 1) return void req.socket.destroy();
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const failure = async (status: number, body: string, dropSecondLook = false) => {
    answer = { status, body, dropSecondLook };
    discoveries = 0;
    const authority = 'https://login.sandbox.test';
    return rejection(
      getGraphTokenProvider(optionsFor(authority, rewritingClient(authority, `${base}/login`))).getToken(),
    );
  };

  it('reports what Entra said when the document is refused with an error description', async () => {
    const error = await failure(
      400,
      JSON.stringify({
        error: 'invalid_tenant',
        error_description: 'Tenant not found.',
        error_codes: [90002],
      }),
    );
    expect(error.code).toBe('AuthenticationError');
    expect(error.message).toMatch(/\(AADSTS90002\); check tenantId and cloud\.$/);
    expect(discoveries).toBeGreaterThanOrEqual(2);
  });

  it('keeps the original failure when the refusal carries no error description', async () => {
    const error = await failure(404, 'no such page');
    expect(error.message).not.toMatch(/Cannot read|undefined/);
    expect(`${error.message} ${error.detail ?? ''}`).toMatch(
      /endpoints_resolution_error|openid_config_error/i,
    );
  });

  it('reports the failure of the second look itself, naming the token request', async () => {
    const error = await failure(404, 'no such page', true);
    expect(error).toMatchObject({ code: 'ConnectionError', retryable: true });
    expect(error.message).toMatch(/during token request/);
    expect(discoveries).toBe(2);
  });

  it('keeps the original failure when the second look succeeds', async () => {
    const error = await failure(200, JSON.stringify({ error_description: 'Probe said no' }));
    expect(`${error.message} ${error.detail ?? ''}`).not.toMatch(/Probe said no/);
  });
});

describe('the token provider without an identity client, against an https sandbox it does not trust', () => {
  const ca = createDevCertificateAuthority();
  let tenant: SandboxTenant;

  beforeAll(async () => {
    tenant = await startSandboxTenant({
      apps: [{ tenantId, clientId, certificatePem: appCert.certPem }],
      mailboxes: [],
      tls: issueServerCertificate(ca, ['localhost', '127.0.0.1']),
    });
  });
  afterAll(() => tenant.close());

  it('looks again with fetch and reports the untrusted certificate', async () => {
    const error = await rejection(
      getGraphTokenProvider(
        optionsFor(tenant.authorityHost, undefined, { graphEndpoint: tenant.graphEndpoint }),
      ).getToken(),
    );
    expect(error.code).toBe('ConnectionError');
    expect(error.message).toMatch(/^The TLS certificate of \S+ is not trusted \(/);
    expect(tenant.tokenRequests).toBe(0);
  });
});
