import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { FaultScript, scriptedResponse, seededRandom } from './faults.js';
import type { GraphState } from './graph/context.js';
import { countOperations } from './graph/operations.js';
import { DestroySocket, GraphService } from './graph/router.js';
import { Directory } from './graph/store.js';
import { jsonResponse, safeDecode, type SandboxRequest, type SandboxResponse } from './http.js';
import { entraErrorBody, TokenService } from './token.js';
import {
  defaultPublicAuthorityHost,
  type SandboxMailboxState,
  type SandboxTenant,
  type SandboxTenantOptions,
} from './types.js';

const entraFaultErrors: Record<number, [string, number, string]> = {
  400: ['invalid_request', 900144, 'The request is not valid.'],
  401: ['invalid_client', 7000215, 'Invalid client credentials.'],
  429: [
    'temporarily_unavailable',
    50196,
    'The server terminated an operation because it encountered a client request loop.',
  ],
  500: ['server_error', 90033, 'A transient error has occurred. Please try again.'],
  503: ['temporarily_unavailable', 90033, 'A transient error has occurred. Please try again.'],
};

/**
 * Starts the sandbox tenant: Entra ID under `/login`, Graph under `/graph`, on one port, over https
 * when `tls` is given.
 */
export async function startSandboxTenant(options: SandboxTenantOptions): Promise<SandboxTenant> {
  const random = seededRandom(options.seed ?? 1);
  const faults = new FaultScript(random);
  const tokens = new TokenService(options.apps, options.tokenLifetimeSeconds ?? 3599);
  const state: GraphState = {
    directory: new Directory(options.mailboxes, options.groups ?? []),
    pageSize: options.pageSize ?? 10,
    maxPageSize: options.maxPageSize,
    forwards: [],
  };
  const graph = new GraphService(state, tokens, faults, {
    mailboxConcurrencyLimit: options.mailboxConcurrencyLimit,
    mailboxConcurrencyRetryAfterSeconds: options.mailboxConcurrencyRetryAfterSeconds,
    latencyMs: options.latencyMs,
    random,
    log: options.log,
  });
  const scheme = options.tls === undefined ? 'http' : 'https';
  const host = options.host ?? '127.0.0.1';
  const configuredAuthority = options.publicAuthorityHost?.replace(/\/+$/, '');
  let tokenRequests = 0;

  /** What the client believes the authority host is; MSAL checks the discovery issuer against it. */
  const publicAuthority = (headers: http.IncomingHttpHeaders): string => {
    if (configuredAuthority !== undefined) return configuredAuthority;
    const forwardedHost = firstHeader(headers['x-forwarded-host']);
    if (forwardedHost !== undefined)
      return `${firstHeader(headers['x-forwarded-proto']) ?? 'https'}://${forwardedHost}`;
    if (scheme === 'https' && headers.host !== undefined) return `https://${headers.host}/login`;
    return defaultPublicAuthorityHost;
  };

  const dispatch = async (req: http.IncomingMessage, body: Buffer): Promise<SandboxResponse> => {
    const url = new URL(req.url ?? '/', `${scheme}://${req.headers.host ?? host}`);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, firstHeader(v)]));
    const method = req.method ?? 'GET';
    if (url.pathname.startsWith('/graph/')) {
      const request: SandboxRequest = { method, url, headers, body, inBatch: false };
      return graph.execute(request);
    }
    if (url.pathname.startsWith('/login/')) {
      const authority = publicAuthority(req.headers);
      const path = url.pathname.slice('/login'.length);
      if (method === 'POST' && path.endsWith('/oauth2/v2.0/token')) tokenRequests += 1;
      const fault = faults.next({ method, path: safeDecode(path + url.search), inBatch: false });
      if (fault !== undefined) {
        if ('destroySocket' in fault) throw new DestroySocket();
        if ('delayMs' in fault) await sleep(fault.delayMs);
        else {
          return scriptedResponse(fault, (status) => {
            const [error, code, text] = entraFaultErrors[status] ?? [
              'server_error',
              90033,
              'Unexpected error.',
            ];
            return entraErrorBody(error, code, text, authority);
          });
        }
      }
      const response = tokens.handle(method, path, body, authority);
      options.log?.(`login ${method} ${url.pathname} -> ${response.status}`);
      return response;
    }
    return jsonResponse(404, {
      error: { code: 'NotFound', message: `Nothing is served at ${url.pathname}.` },
    });
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      dispatch(req, Buffer.concat(chunks)).then(
        (response) => {
          const payload =
            response.text ?? (response.json === undefined ? undefined : JSON.stringify(response.json));
          res.writeHead(response.status, response.headers);
          res.end(payload);
        },
        (e: unknown) => {
          if (e instanceof DestroySocket) {
            req.socket.destroy();
            return;
          }
          options.log?.(`sandbox failure on ${req.method ?? ''} ${req.url ?? ''}: ${String(e)}`);
          res.writeHead(500, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'InternalServerError', message: 'Sandbox failure.' } }));
        },
      );
    });
  };

  const server =
    options.tls === undefined
      ? http.createServer(handler)
      : https.createServer({ key: options.tls.keyPem, cert: options.tls.certPem }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const baseUrl = options.tls === undefined ? `http://${host}:${port}` : `https://localhost:${port}`;
  const authorityHost = `${baseUrl}/login`;

  const mailboxOrThrow = (address: string) => {
    const mailbox = state.directory.user(address);
    if (mailbox === undefined) throw new Error(`The sandbox has no mailbox ${address}.`);
    return mailbox;
  };

  return {
    baseUrl,
    graphEndpoint: `${baseUrl}/graph`,
    authorityHost,
    publicAuthorityHost:
      configuredAuthority ?? (options.tls === undefined ? defaultPublicAuthorityHost : authorityHost),
    mailbox: (address: string): SandboxMailboxState => mailboxOrThrow(address).state(),
    addMessage: (address, message) => mailboxOrThrow(address).addMessage(message).id,
    get requests() {
      return graph.requests;
    },
    get forwards() {
      return state.forwards;
    },
    get tokenRequests() {
      return tokenRequests;
    },
    maxConcurrency: (mailbox) => graph.maxConcurrency(mailbox),
    operationCounts: (mailbox) => countOperations(graph.requests, mailbox),
    resetCounters: () => {
      graph.reset();
      tokenRequests = 0;
    },
    script: (rule) => faults.add(rule),
    clearScripts: () => faults.clear(),
    expireTokens: () => tokens.expireAll(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e === undefined ? resolve() : reject(e)));
        server.closeAllConnections();
      }),
  };
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
