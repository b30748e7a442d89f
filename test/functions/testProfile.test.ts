import type { HttpClient } from '@azure/core-rest-pipeline';
import { HttpRequest, type HttpResponseInit, InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { testProfile } from '../../functions/testProfile.js';
import { createAppCertificate, type SandboxTenant, startSandboxTenant } from '../../local/sandbox/index.js';
import { useServices } from '../../shared/composition.js';
import { configDocumentSchema, type Profile } from '../../shared/config/document.js';
import type { ConnectionTestResult } from '../../shared/connection/testConnection.js';
import { createEwsMailBackend } from '../../shared/mail/ews/ewsMailBackend.js';
import { createGraphMailBackend } from '../../shared/mail/graph/graphMailBackend.js';
import type { MailBackend } from '../../shared/ports/mail.js';
import type { SecretSource } from '../../shared/ports/secrets.js';
import { InMemoryQueue } from '../../shared/queue/inMemoryQueue.js';
import { createTestPki } from '../fakes/ews/certificates.js';
import { FakeEwsServer } from '../fakes/ewsServer.js';
import { ProfileMother } from '../mothers/profileMother.js';
import { rewritingClient } from '../support/identity.js';
import { testServices } from '../support/services.js';
import { unusedPort } from '../support/startProcess.js';

const tenantId = '8d6c3b5a-0000-4c1a-9a55-5a4db0c1ec0e';
const clientId = '4f1b2f43-5a0c-4d6e-8f5e-0c1ab2c3d4e5';
const noPermissionClientId = '9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a';
const appCert = createAppCertificate('clawback-test-connection');
const stranger = createAppCertificate('not-registered');
const expired = createAppCertificate('expired', {
  notBefore: new Date(Date.now() - 400 * 86_400_000),
  notAfter: new Date(Date.now() - 86_400_000),
});
const pki = createTestPki();

let tenant: SandboxTenant;
let ews: FakeEwsServer;
let ewsTls: FakeEwsServer;
let ewsNtlm: FakeEwsServer;
let closedPort: number;

const secretValues: Record<string, string> = {
  'app-cert': appCert.pemBundle,
  'stranger-cert': stranger.pemBundle,
  'cert-without-key': appCert.certPem,
  'expired-cert': expired.pemBundle,
  'ews-password': 'Passw0rd!',
  'wrong-password': 'guess',
  'contoso-ca': pki.caCert,
};
const secrets: SecretSource = {
  getSecret: (ref) => {
    const value = 'keyVaultSecret' in ref ? secretValues[ref.keyVaultSecret] : undefined;
    return value === undefined ? Promise.reject(new Error('no such secret')) : Promise.resolve({ value });
  },
};

/** Resolves nothing, the way Node's resolver fails for a name DNS does not know. */
function unresolvable(host: string, inner: HttpClient): HttpClient {
  return {
    sendRequest: (request) => {
      if (new URL(request.url).hostname !== host) return inner.sendRequest(request);
      const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), {
        code: 'ENOTFOUND',
        hostname: host,
        syscall: 'getaddrinfo',
      });
      return Promise.reject(error);
    },
  };
}

/** Fails for `host` with nothing but MSAL's opaque text, as when the authority cannot be reached at all. */
function opaque(host: string, inner: HttpClient): HttpClient {
  return {
    sendRequest: (request) =>
      new URL(request.url).host === host
        ? Promise.reject(new Error('endpoints_resolution_error: Error: could not resolve endpoints.'))
        : inner.sendRequest(request),
  };
}

function backendFor(profile: Profile): MailBackend {
  const identityHttpClient = opaque(
    `localhost:${closedPort}`,
    unresolvable(
      'login.unresolvable.test',
      rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost),
    ),
  );
  if (profile.type === 'graph')
    return createGraphMailBackend(profile, {
      secrets,
      identityHttpClient,
      timeoutSeconds: profile.name === 'slow' ? 1 : 15,
      maxAttempts: 1,
    });
  return createEwsMailBackend(profile, {
    secrets,
    timeoutSeconds: 15,
    timeoutMs: 2000,
    maxAttempts: 1,
    retryDelayMs: 1,
  });
}

// `extra` may unset a field (`trustedCa: undefined`), so it is spread over the mother's profile.
const graph = (name: string, extra: Record<string, unknown> = {}) => ({
  ...ProfileMother.graph({
    name,
    clientId,
    certificate: { keyVaultSecret: 'app-cert' },
    ...ProfileMother.sandboxEndpoints(tenant),
  }),
  ...extra,
});
const onprem = (name: string, extra: Record<string, unknown> = {}) => ({
  ...ProfileMother.ews({
    name,
    ewsUrl: ewsTls.url,
    password: { keyVaultSecret: 'ews-password' },
    auth: 'basic',
    trustedCa: { keyVaultSecret: 'contoso-ca' },
  }),
  ...extra,
});

beforeAll(async () => {
  tenant = await startSandboxTenant({
    apps: [
      { tenantId, tenantDomain: 'contoso.onmicrosoft.com', clientId, certificatePem: appCert.certPem },
      {
        tenantId,
        tenantDomain: 'contoso.onmicrosoft.com',
        clientId: noPermissionClientId,
        certificatePem: appCert.certPem,
        permissions: [],
      },
    ],
    mailboxes: [
      { address: 'alice@contoso.com', displayName: 'Alice' },
      { address: 'dan@contoso.com', kind: 'notEnabledForRest' },
    ],
  });
  tenant.script({ match: { pathIncludes: 'users/slow@contoso.com/' }, respond: { delayMs: 3000 } });
  ewsTls = await FakeEwsServer.start({
    auth: 'basic',
    password: 'Passw0rd!',
    tls: { key: pki.serverKey, cert: pki.serverCert },
  });
  ewsTls.addMailbox('dan@contoso.com');
  ewsTls.addMailbox('erin@contoso.com');
  ewsTls.denyImpersonation('erin@contoso.com');
  ews = ewsTls;
  // The on-premises sandbox's NTLM: the password is checked through the NTLMv2 proof, not just the user name.
  ewsNtlm = await FakeEwsServer.start({
    auth: 'ntlm',
    username: 'CONTOSO\\svc-clawback',
    password: 'Passw0rd!',
  });
  ewsNtlm.addMailbox('dan@contoso.com');
  closedPort = await unusedPort();
  const services = testServices({
    queue: new InMemoryQueue(),
    backendFor,
  });
  useServices(services);
  tenant.addMessage('alice@contoso.com', { internetMessageId: '<x@y>' });
  await services.configStore.put(
    configDocumentSchema.parse({
      profiles: [
        graph('online'),
        graph('wrong-tenant', { tenantId: 'fabrikam.onmicrosoft.com' }),
        graph('wrong-app', { clientId: '11111111-2222-4333-8444-555555555555' }),
        graph('stranger', { certificate: { keyVaultSecret: 'stranger-cert' } }),
        graph('no-key', { certificate: { keyVaultSecret: 'cert-without-key' } }),
        graph('expired', { certificate: { keyVaultSecret: 'expired-cert' } }),
        graph('no-permission', { clientId: noPermissionClientId }),
        graph('refused', { graphEndpoint: `http://127.0.0.1:${closedPort}/graph` }),
        graph('unresolvable', { authorityHost: 'https://login.unresolvable.test' }),
        graph('slow'),
        onprem('onprem'),
        onprem('onprem-wrong-password', { password: { keyVaultSecret: 'wrong-password' } }),
        onprem('onprem-untrusted', { trustedCa: undefined }),
        onprem('onprem-refused', { ewsUrl: `http://127.0.0.1:${closedPort}/EWS/Exchange.asmx` }),
        onprem('onprem-ntlm-refused', {
          ewsUrl: `http://127.0.0.1:${closedPort}/EWS/Exchange.asmx`,
          auth: 'ntlm',
        }),
        onprem('onprem-ntlm', { ewsUrl: ewsNtlm.url, auth: 'ntlm', trustedCa: undefined }),
        onprem('onprem-ntlm-wrong-password', {
          ewsUrl: ewsNtlm.url,
          auth: 'ntlm',
          trustedCa: undefined,
          password: { keyVaultSecret: 'wrong-password' },
        }),
        graph('usgov-unreachable', { cloud: 'usgov', authorityHost: `https://127.0.0.1:${closedPort}` }),
        graph('usgov-opaque', { cloud: 'usgov', authorityHost: `https://localhost:${closedPort}` }),
      ],
      domains: { 'contoso.com': 'online' },
    }),
  );
});

afterAll(async () => {
  useServices(undefined);
  await ews.close();
  await ewsNtlm.close();
  await tenant.close();
});

async function test(profile: string, body: unknown): Promise<HttpResponseInit> {
  const request = new HttpRequest({
    method: 'POST',
    url: `http://localhost:7071/api/profiles/${profile}/test`,
    params: { name: profile },
    headers: { 'content-type': 'application/json' },
    body: { string: JSON.stringify(body) },
  });
  return testProfile(
    request,
    new InvocationContext({ functionName: 'testProfile', logHandler: () => undefined }),
  );
}

describe('POST /api/profiles/{name}/test', () => {
  it.each([
    ['online', 'alice@contoso.com', 'Connected'],
    ['wrong-tenant', 'alice@contoso.com', 'TenantNotFound'],
    ['wrong-app', 'alice@contoso.com', 'AppNotFound'],
    ['stranger', 'alice@contoso.com', 'CertificateRejected'],
    ['no-key', 'alice@contoso.com', 'CertificateNoPrivateKey'],
    ['expired', 'alice@contoso.com', 'CertificateExpired'],
    ['online', 'ghost@contoso.com', 'MailboxNotFound'],
    ['no-permission', 'alice@contoso.com', 'PermissionDenied'],
    ['online', 'dan@contoso.com', 'WrongProfileKind'],
    ['refused', 'alice@contoso.com', 'ConnectionRefused'],
    ['unresolvable', 'alice@contoso.com', 'HostNotFound'],
    ['slow', 'slow@contoso.com', 'Timeout'],
    ['onprem', 'dan@contoso.com', 'Connected'],
    ['onprem-wrong-password', 'dan@contoso.com', 'WrongCredentials'],
    ['onprem', 'ghost@contoso.com', 'MailboxNotFound'],
    ['onprem', 'erin@contoso.com', 'ImpersonationDenied'],
    ['onprem-untrusted', 'dan@contoso.com', 'ServerCertificateUntrusted'],
    ['onprem-refused', 'dan@contoso.com', 'ConnectionRefused'],
    ['onprem-ntlm', 'dan@contoso.com', 'Connected'],
    ['onprem-ntlm-wrong-password', 'dan@contoso.com', 'WrongCredentials'],
    ['onprem-ntlm-refused', 'dan@contoso.com', 'ConnectionRefused'],
    ['usgov-unreachable', 'alice@contoso.com', 'ConnectionRefused'],
    ['usgov-opaque', 'alice@contoso.com', 'ConnectionRefused'],
  ])('profile %s against %s answers %s with a message and a remedy', async (profile, mailbox, code) => {
    const response = await test(profile, { mailbox });
    expect(response.status).toBe(200);
    const result = response.jsonBody as ConnectionTestResult;
    expect({ code: result.code, detail: result.detail }).toMatchObject({ code });
    expect(result.ok).toBe(code === 'Connected');
    if (code === 'WrongCredentials') expect(result.reason).toBe('AuthenticationError');
    expect(result.profile).toBe(profile);
    expect(result.backend).toBe(profile.startsWith('onprem') ? 'ews' : 'graph');
    expect(result.message.length).toBeGreaterThan(10);
    expect(result.remedy.length).toBeGreaterThan(10);
    // Our own words only: no JavaScript error text from inside a library.
    expect(`${result.message} ${result.remedy} ${result.detail ?? ''}`).not.toMatch(
      /Cannot read properties|undefined \(reading|is not a function|TypeError|ReferenceError|\n\s+at \S+ \(/,
    );
  });

  it('never puts a secret into the answer', async () => {
    const response = await test('onprem-wrong-password', { mailbox: 'dan@contoso.com' });
    const text = JSON.stringify(response.jsonBody);
    expect(text).not.toContain('guess');
    expect(text).not.toContain('PRIVATE KEY');
  });

  it('answers 404 for a profile that is not in the configuration', async () => {
    const response = await test('nope', { mailbox: 'alice@contoso.com' });
    expect(response.status).toBe(404);
    expect((response.jsonBody as { error: { code: string } }).error.code).toBe('ProfileNotFound');
  });

  it('answers 400 when the mailbox is missing or not an address', async () => {
    expect((await test('online', {})).status).toBe(400);
    expect((await test('online', { mailbox: 'alice' })).status).toBe(400);
  });
});
