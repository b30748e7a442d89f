import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';

export interface FakeSecret {
  value: string;
  contentType?: string;
}

export interface FakeKeyVaultRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  status: number;
}

export interface FakeKeyVault {
  /** The realistic vault URL clients are given, e.g. `https://kv-test.vault.azure.net`. */
  readonly vaultUrl: string;
  /** Rewrites the vault URL to this plain-http server; the request is copied, never mutated. */
  readonly httpClient: HttpClient;
  readonly requests: readonly FakeKeyVaultRequest[];
  setSecret(name: string, secret: FakeSecret): void;
  /** Successful reads of one secret. */
  reads(name: string): number;
  /** Answer every authorised read with this status (403 = no data-plane role); undefined to stop. */
  failWith(status: 403 | 401 | 500 | 503 | undefined): void;
  close(): Promise<void>;
}

export interface FakeKeyVaultOptions {
  vaultName?: string;
  tenantId?: string;
  /** The bearer token the vault accepts. */
  acceptedToken?: string;
  secrets?: Record<string, FakeSecret>;
}

const apiVersionPattern = /^\d{4}-\d{2}-\d{2}(-preview)?$/;

/**
 * A Key Vault data plane on 127.0.0.1 speaking the real protocol: an unauthenticated request gets the
 * 401 bearer challenge naming the tenant and resource, `GET /secrets/{name}[/{version}]?api-version=…`
 * returns a SecretBundle, unknown names get 404 SecretNotFound.
 */
export async function startFakeKeyVault(options: FakeKeyVaultOptions = {}): Promise<FakeKeyVault> {
  const vaultName = options.vaultName ?? 'kv-test';
  const vaultUrl = `https://${vaultName}.vault.azure.net`;
  const tenantId = options.tenantId ?? '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const acceptedToken = options.acceptedToken ?? 'kv-token';
  const secrets = new Map(Object.entries(options.secrets ?? {}));
  const readCounts = new Map<string, number>();
  const requests: FakeKeyVaultRequest[] = [];
  let failure: number | undefined;

  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url ?? '/', vaultUrl);
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        requests.push({
          method: req.method ?? '',
          path: `${url.pathname}${url.search}`,
          authorization: req.headers.authorization,
          status,
        });
        res
          .writeHead(status, {
            'content-type': 'application/json; charset=utf-8',
            'x-ms-keyvault-service-version': '1.9.2436.1',
            ...headers,
          })
          .end(JSON.stringify(body));
      };
      const auth = req.headers.authorization;
      if (!auth)
        return send(
          401,
          { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } },
          {
            'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="https://vault.azure.net"`,
          },
        );
      if (auth !== `Bearer ${acceptedToken}`)
        return send(
          401,
          { error: { code: 'Unauthorized', message: 'AKV10032: Invalid issuer.' } },
          {
            'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="https://vault.azure.net"`,
          },
        );
      const apiVersion = url.searchParams.get('api-version');
      if (!apiVersion || !apiVersionPattern.test(apiVersion))
        return send(400, {
          error: { code: 'BadParameter', message: 'The api-version query parameter is missing or invalid.' },
        });
      const match = /^\/secrets\/([0-9a-zA-Z-]{1,127})\/?([0-9a-f]{32})?\/?$/.exec(url.pathname);
      if (req.method !== 'GET' || !match?.[1])
        return send(404, { error: { code: 'NotFound', message: 'The requested resource was not found.' } });
      if (failure === 403)
        return send(403, {
          error: {
            code: 'Forbidden',
            message: `Caller is not authorized to perform action on resource.\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'`,
            innererror: { code: 'ForbiddenByRbac' },
          },
        });
      if (failure !== undefined)
        return send(
          failure,
          { error: { code: 'ServiceUnavailable', message: 'The service is unavailable.' } },
          { 'retry-after': '0' },
        );
      const name = match[1];
      const secret = secrets.get(name);
      if (!secret)
        return send(404, {
          error: {
            code: 'SecretNotFound',
            message: `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
          },
        });
      readCounts.set(name, (readCounts.get(name) ?? 0) + 1);
      const version = match[2] ?? '0123456789abcdef0123456789abcdef';
      const isCertificate =
        secret.contentType === 'application/x-pkcs12' || secret.contentType === 'application/x-pem-file';
      return send(200, {
        value: secret.value,
        ...(secret.contentType ? { contentType: secret.contentType } : {}),
        id: `${vaultUrl}/secrets/${name}/${version}`,
        ...(isCertificate ? { kid: `${vaultUrl}/keys/${name}/${version}`, managed: true } : {}),
        attributes: {
          enabled: true,
          created: 1_700_000_000,
          updated: 1_700_000_000,
          recoveryLevel: 'Recoverable+Purgeable',
          recoverableDays: 90,
        },
        tags: {},
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const local = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const inner = createDefaultHttpClient();

  return {
    vaultUrl,
    httpClient: {
      sendRequest: (request) =>
        inner.sendRequest({
          ...request,
          url: request.url.replace(vaultUrl, local),
          allowInsecureConnection: true,
        }),
    },
    requests,
    setSecret: (name, secret) => void secrets.set(name, secret),
    reads: (name) => readCounts.get(name) ?? 0,
    failWith: (status) => {
      failure = status;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A credential that always issues the same token and counts how often it was asked. */
export function fixedTokenCredential(token = 'kv-token'): TokenCredential & { calls: number } {
  const credential = {
    calls: 0,
    getToken(): Promise<AccessToken> {
      credential.calls++;
      return Promise.resolve({ token, expiresOnTimestamp: Date.now() + 3_600_000 });
    },
  };
  return credential;
}
