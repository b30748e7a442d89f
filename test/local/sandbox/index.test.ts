import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import https from 'node:https';

import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';
import { ClientCertificateCredential } from '@azure/identity';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  createDevCertificateAuthority,
  issueServerCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../../local/sandbox/index.js';

const tenantId = '11111111-2222-3333-4444-555555555555';
const clientId = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const readOnlyClientId = 'bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee';
const authorityHost = 'https://login.sandbox.test';
const graphScope = 'https://graph.microsoft.com/.default';

const appCert = createAppCertificate('clawback-sandbox-test');
let tenant: SandboxTenant;

function rewritingHttpClient(): HttpClient {
  const inner = createDefaultHttpClient();
  return {
    sendRequest: (request) =>
      inner.sendRequest({
        ...request,
        url: request.url.replace(authorityHost, tenant.authorityHost),
        allowInsecureConnection: true,
      }),
  };
}

function credential(options: { tenant?: string; client?: string; certificate?: string } = {}) {
  return new ClientCertificateCredential(
    options.tenant ?? tenantId,
    options.client ?? clientId,
    { certificate: options.certificate ?? appCert.pemBundle },
    { authorityHost, disableInstanceDiscovery: true, httpClient: rewritingHttpClient() },
  );
}

interface MessageJson {
  id: string;
  internetMessageId: string;
  isRead: boolean;
  isDraft: boolean;
  parentFolderId: string;
}
interface Collection<T> {
  value: T[];
  '@odata.nextLink'?: string;
}
interface ErrorBody {
  error: { code: string; message: string; innerError: Record<string, string> };
}
interface BatchBody {
  responses: { id: string; status: number; headers: Record<string, string> }[];
}

let token = '';
async function graph<T>(
  method: string,
  path: string,
  init: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T }> {
  const payload = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  const contentType = typeof init.body === 'string' ? 'text/plain' : 'application/json';
  const response = await fetch(path.startsWith('http') ? path : `${tenant.graphEndpoint}/v1.0${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(init.body === undefined ? {} : { 'Content-Type': contentType }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: payload }),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

beforeAll(async () => {
  tenant = await startSandboxTenant({
    apps: [
      { tenantId, tenantDomain: 'contoso.onmicrosoft.com', clientId, certificatePem: appCert.certPem },
      { tenantId, clientId: readOnlyClientId, certificatePem: appCert.certPem, permissions: ['Mail.Read'] },
    ],
    mailboxes: [
      {
        address: 'alice@contoso.com',
        messages: [{ internetMessageId: '<seed@external.example>', subject: 'seed' }],
      },
      { address: 'bob@contoso.com' },
      { address: 'onprem@contoso.com', kind: 'notEnabledForRest' },
    ],
    groups: [
      { address: 'all@contoso.com', members: ['alice@contoso.com', 'team@contoso.com'] },
      {
        address: 'team@contoso.com',
        members: ['bob@contoso.com', 'all@contoso.com', 'partner@fabrikam.com'],
      },
    ],
  });
  token = (await credential().getToken(graphScope)).token;
});

afterAll(async () => {
  await tenant.close();
});

describe('sandbox tenant: token endpoint', () => {
  it('issues a token to ClientCertificateCredential for the registered certificate, and Graph accepts it', async () => {
    const before = tenant.tokenRequests;
    const issued = await credential({ tenant: 'contoso.onmicrosoft.com' }).getToken(graphScope);

    expect(tenant.tokenRequests).toBe(before + 1);
    token = issued.token;
    const response = await graph<Collection<MessageJson>>('GET', '/users/alice%40contoso.com/messages');
    expect(response.status).toBe(200);
    expect(response.body.value[0]?.internetMessageId).toBe('<seed@external.example>');
  });

  it('rejects an assertion signed with a certificate the app does not have (AADSTS700027)', async () => {
    const other = createAppCertificate('someone-else');

    await expect(credential({ certificate: other.pemBundle }).getToken(graphScope)).rejects.toThrow(
      /AADSTS700027/,
    );
  });

  it('rejects an app that is not registered in the tenant (AADSTS700016)', async () => {
    await expect(
      credential({ client: '99999999-0000-0000-0000-000000000000' }).getToken(graphScope),
    ).rejects.toThrow(/AADSTS700016/);
  });

  it('answers an unknown tenant with AADSTS90002 in the Entra error shape', async () => {
    const response = await fetch(`${tenant.authorityHost}/no-such-tenant.example/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, scope: graphScope }),
    });
    const body = (await response.json()) as Record<string, unknown>;

    expect(response.status).toBe(400);
    expect(body).toMatchObject({ error: 'invalid_tenant', error_codes: [90002] });
    expect(body.error_description).toMatch(
      /^AADSTS90002: Tenant 'no-such-tenant.example' not found\..*\r\nTrace ID: /s,
    );
    expect(Object.keys(body)).toEqual(
      expect.arrayContaining(['timestamp', 'trace_id', 'correlation_id', 'error_uri']),
    );
  });
});

describe('sandbox tenant: Graph', () => {
  it('answers a request without a token with 401 InvalidAuthenticationToken', async () => {
    const response = await fetch(`${tenant.graphEndpoint}/v1.0/users/alice%40contoso.com/messages`);
    const body = (await response.json()) as { error: { code: string; message: string; innerError: object } };

    expect(response.status).toBe(401);
    expect(body.error).toMatchObject({
      code: 'InvalidAuthenticationToken',
      message: 'Access token is empty.',
    });
    expect(body.error.innerError).toHaveProperty('request-id');
  });

  it('tells an unknown address from a mailbox Graph cannot reach, and refuses writes without Mail.ReadWrite', async () => {
    const unknown = await graph<ErrorBody>('GET', '/users/nobody%40contoso.com/messages');
    const onPrem = await graph<ErrorBody>('GET', '/users/onprem%40contoso.com/messages');
    const readOnlyToken = (await credential({ client: readOnlyClientId }).getToken(graphScope)).token;
    const denied = await fetch(`${tenant.graphEndpoint}/v1.0/users/bob%40contoso.com/mailFolders`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${readOnlyToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ displayName: 'Quarantine' }),
    });

    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'ErrorInvalidUser']);
    expect(unknown.body.error.message).toBe("The requested user 'nobody@contoso.com' is invalid.");
    expect([onPrem.status, onPrem.body.error.code]).toEqual([404, 'MailboxNotEnabledForRESTAPI']);
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('ErrorAccessDenied');
  });

  it('finds a message id with a quote and a plus only when the filter is encoded, across pages', async () => {
    const messageId = "<o'brien+tag@external.example>";
    for (const folder of ['inbox', 'junkemail', 'Projects']) {
      tenant.addMessage('bob@contoso.com', { internetMessageId: messageId, folder });
    }
    const filter = `internetMessageId eq '${messageId.replace(/'/g, "''")}'`;

    const first = await graph<Collection<MessageJson>>(
      'GET',
      `/users/bob%40contoso.com/messages?$filter=${encodeURIComponent(filter)}&$top=2`,
    );
    const second = await graph<Collection<MessageJson>>('GET', first.body['@odata.nextLink'] ?? '');
    const unencodedPlus = await graph<Collection<MessageJson>>(
      'GET',
      `/users/bob%40contoso.com/messages?$filter=${encodeURIComponent(filter).replace('%2B', '+')}`,
    );

    expect(first.body.value).toHaveLength(2);
    expect(second.body.value).toHaveLength(1);
    expect(second.body['@odata.nextLink']).toBeUndefined();
    const ids = [...first.body.value, ...second.body.value].map((m) => m.id);
    expect(new Set(ids).size).toBe(3);
    expect(unencodedPlus.status).toBe(200);
    expect(unencodedPlus.body.value).toEqual([]);
  });

  it('gives a moved message a new id and keeps its read state; the old id is gone', async () => {
    const id = tenant.addMessage('alice@contoso.com', {
      internetMessageId: '<move@external.example>',
      isRead: true,
    });

    const moved = await graph<MessageJson>(
      'POST',
      `/users/alice%40contoso.com/messages/${encodeURIComponent(id)}/move`,
      {
        body: { destinationId: 'deleteditems' },
      },
    );
    const stale = await graph<ErrorBody>(
      'GET',
      `/users/alice%40contoso.com/messages/${encodeURIComponent(id)}`,
    );
    const unknownDestination = await graph<ErrorBody>(
      'POST',
      `/users/alice%40contoso.com/messages/${moved.body.id}/move`,
      {
        body: { destinationId: 'AAMkAGI2nope' },
      },
    );

    expect(moved.status).toBe(201);
    expect(moved.body.id).not.toBe(id);
    expect(moved.body.isRead).toBe(true);
    const deleted = tenant.mailbox('alice@contoso.com').messages.find((m) => m.id === moved.body.id);
    expect(deleted?.folder).toBe('deleteditems');
    expect(moved.body.parentFolderId).toBe(deleted?.folderId);
    expect([stale.status, stale.body.error.code]).toEqual([404, 'ErrorItemNotFound']);
    expect([unknownDestination.status, unknownDestination.body.error.code]).toEqual([
      404,
      'ErrorItemNotFound',
    ]);
  });

  it('soft-deletes into Recoverable Items, out of reach of /messages, and purges on permanentDelete', async () => {
    const soft = tenant.addMessage('alice@contoso.com', { internetMessageId: '<soft@external.example>' });
    const hard = tenant.addMessage('alice@contoso.com', { internetMessageId: '<hard@external.example>' });
    const find = (messageId: string, folder = '') =>
      graph<Collection<MessageJson>>(
        'GET',
        `/users/alice%40contoso.com${folder}/messages?$filter=${encodeURIComponent(`internetMessageId eq '${messageId}'`)}`,
      );

    expect((await graph('DELETE', `/users/alice%40contoso.com/messages/${soft}`)).status).toBe(204);
    expect((await graph('POST', `/users/alice%40contoso.com/messages/${hard}/permanentDelete`)).status).toBe(
      204,
    );

    expect((await find('<soft@external.example>')).body.value).toEqual([]);
    const dumpster = await find('<soft@external.example>', '/mailFolders/recoverableitemsdeletions');
    expect(dumpster.body.value).toHaveLength(1);
    expect(dumpster.body.value[0]?.id).not.toBe(soft);
    expect(
      (await find('<hard@external.example>', '/mailFolders/recoverableitemsdeletions')).body.value,
    ).toEqual([]);
    const purged = tenant
      .mailbox('alice@contoso.com')
      .messages.find((m) => m.internetMessageId === '<hard@external.example>');
    expect(purged?.folder).toBe('recoverableitemspurges');
  });

  it('imports base64 MIME as a draft with its Message-ID, and rejects a body that is not base64', async () => {
    const mime =
      'From: a@external.example\r\nSubject: copy\r\nMessage-ID: <mime@external.example>\r\n\r\nbody\r\n';

    const created = await graph<MessageJson>('POST', '/users/bob%40contoso.com/messages', {
      body: Buffer.from(mime).toString('base64'),
    });
    const raw = await fetch(
      `${tenant.graphEndpoint}/v1.0/users/bob%40contoso.com/messages/${created.body.id}/$value`,
      {
        headers: { Authorization: `Bearer ${token}` },
      },
    );
    const invalid = await graph<ErrorBody>('POST', '/users/bob%40contoso.com/messages', {
      body: 'not base64!',
    });

    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ isDraft: true, internetMessageId: '<mime@external.example>' });
    expect(await raw.text()).toContain('Message-ID: <mime@external.example>');
    expect([invalid.status, invalid.body.error.code]).toEqual([400, 'ErrorMimeContentInvalidBase64String']);
  });

  it('answers a scripted 429 for one $batch item with Retry-After while the others succeed', async () => {
    const first = tenant.addMessage('bob@contoso.com', { internetMessageId: '<batch-1@external.example>' });
    const second = tenant.addMessage('bob@contoso.com', { internetMessageId: '<batch-2@external.example>' });
    tenant.script({
      match: { method: 'DELETE', inBatch: true, pathIncludes: second },
      times: 1,
      respond: { status: 429, headers: { 'Retry-After': '3' } },
    });

    const batch = await graph<BatchBody>('POST', '/$batch', {
      body: {
        requests: [
          { id: 'a', method: 'DELETE', url: `/users/bob%40contoso.com/messages/${first}` },
          { id: 'b', method: 'DELETE', url: `/users/bob%40contoso.com/messages/${second}` },
        ],
      },
    });
    tenant.clearScripts();

    expect(batch.status).toBe(200);
    const byId = new Map(batch.body.responses.map((r) => [r.id, r]));
    expect(byId.get('a')?.status).toBe(204);
    expect(byId.get('b')).toMatchObject({ status: 429, headers: { 'Retry-After': '3' } });
    expect(
      tenant.requests.filter((r) => r.batched === true && r.mailbox === 'bob@contoso.com').slice(-2),
    ).toHaveLength(2);
    expect(tenant.mailbox('bob@contoso.com').messages.some((m) => m.id === second)).toBe(true);
  });

  it('rejects a $batch with duplicate ids as a whole', async () => {
    const batch = await graph<unknown>('POST', '/$batch', {
      body: {
        requests: [
          { id: '1', method: 'GET', url: '/users/bob%40contoso.com' },
          { id: '1', method: 'GET', url: '/users/alice%40contoso.com' },
        ],
      },
    });

    expect(batch.status).toBe(400);
  });

  it('lists nested group members flat, each once, with their type', async () => {
    const group = await graph<Collection<{ id: string }>>(
      'GET',
      `/groups?$filter=${encodeURIComponent("mail eq 'all@contoso.com'")}`,
    );
    const members = await graph<Collection<{ '@odata.type': string; mail: string }>>(
      'GET',
      `/groups/${group.body.value[0]?.id ?? ''}/transitiveMembers`,
    );

    const summary = members.body.value.map((m) => `${m['@odata.type']} ${m.mail}`).sort();
    expect(summary).toEqual([
      '#microsoft.graph.group team@contoso.com',
      '#microsoft.graph.orgContact partner@fabrikam.com',
      '#microsoft.graph.user alice@contoso.com',
      '#microsoft.graph.user bob@contoso.com',
    ]);
  });

  it('answers an OData cast on members only as an advanced query (ConsistencyLevel: eventual, $count=true)', async () => {
    const group = await graph<Collection<{ id: string }>>(
      'GET',
      `/groups?$filter=${encodeURIComponent("mail eq 'all@contoso.com'")}`,
    );
    const users = `/groups/${group.body.value[0]?.id ?? ''}/transitiveMembers/microsoft.graph.user`;
    const refused = [
      await graph<{ error: { code: string } }>('GET', users),
      await graph<{ error: { code: string } }>('GET', `${users}?$count=true`),
      await graph<{ error: { code: string } }>('GET', users, { headers: { ConsistencyLevel: 'eventual' } }),
    ];
    expect(refused.map((r) => `${r.status} ${r.body.error.code}`)).toEqual(
      Array.from({ length: 3 }, () => '400 Request_UnsupportedQuery'),
    );

    const answered = await graph<Collection<{ mail: string }>>('GET', `${users}?$count=true`, {
      headers: { ConsistencyLevel: 'eventual' },
    });
    expect(answered.status).toBe(200);
    expect(answered.body.value.map((m) => m.mail).sort()).toEqual(['alice@contoso.com', 'bob@contoso.com']);
  });
});

describe('sandbox tenant: certificates', () => {
  it('serves https with a server certificate the dev CA vouches for under localhost and 127.0.0.1', async () => {
    const ca = createDevCertificateAuthority();
    const secure = await startSandboxTenant({
      apps: [],
      mailboxes: [],
      tls: issueServerCertificate(ca, ['localhost', '127.0.0.1']),
    });
    const port = new URL(secure.baseUrl).port;
    const statusVia = (servername: string | undefined) =>
      new Promise<number>((resolve, reject) => {
        const request = https.request(
          {
            host: '127.0.0.1',
            port,
            ...(servername === undefined ? {} : { servername }),
            path: '/graph/v1.0/users',
            ca: ca.caCertPem,
          },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        );
        request.on('error', reject);
        request.end();
      });

    try {
      expect(secure.baseUrl).toMatch(/^https:\/\/localhost:\d+$/);
      expect(await statusVia('localhost')).toBe(401);
      expect(await statusVia(undefined)).toBe(401);
      await expect(statusVia('elsewhere.example')).rejects.toThrow(/altnames/i);
    } finally {
      await secure.close();
    }
  });

  it('makes app certificates whose PFX and PEM bundle hold the same key and certificate', () => {
    const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.decode64(appCert.pfxBase64)), '');
    const certBag = forge.pki.oids.certBag ?? '';
    const keyBag = forge.pki.oids.pkcs8ShroudedKeyBag ?? '';
    const certs = p12.getBags({ bagType: certBag })[certBag] ?? [];
    const keys = p12.getBags({ bagType: keyBag })[keyBag] ?? [];
    expect(certs).toHaveLength(1);
    expect(keys).toHaveLength(1);
    const [certEntry] = certs;
    const [keyEntry] = keys;
    if (!certEntry?.cert || !keyEntry?.key) throw new Error('the PFX holds no certificate or key');
    const pfxCert = new X509Certificate(forge.pki.certificateToPem(certEntry.cert));
    expect(pfxCert.fingerprint256).toBe(new X509Certificate(appCert.certPem).fingerprint256);
    const publicOf = (pem: string) =>
      createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'pem' });
    expect(publicOf(forge.pki.privateKeyToPem(keyEntry.key))).toBe(publicOf(appCert.pemBundle));
    expect(pfxCert.checkPrivateKey(createPrivateKey(appCert.pemBundle))).toBe(true);
    expect(appCert.pemBundle.indexOf('-----BEGIN PRIVATE KEY-----')).toBe(0);
    expect(appCert.pemBundle).toContain(appCert.certPem);
  });
});
