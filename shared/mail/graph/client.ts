import type { Agent } from 'node:https';

import type { HttpClient } from '@azure/core-rest-pipeline';
import {
  Client,
  type GraphRequest,
  RetryHandler,
  RetryHandlerOptions,
} from '@microsoft/microsoft-graph-client';

import { withSignal } from '../../callOptions.js';
import type { GraphProfile, SecretRef } from '../../config/document.js';
import { ClawbackError, isClawbackError } from '../../errors.js';
import type { CallOptions } from '../../ports/mail.js';
import type { SecretSource } from '../../ports/secrets.js';
import { isCertificateCurrent, loadCertificate, type LoadedCertificate } from '../../secrets/certificate.js';
import { type BatchRequest, type BatchResponse, type BatchResult, runBatch } from './batch.js';
import {
  getGraphTokenProvider,
  type GraphEndpoints,
  type GraphTokenProvider,
  resolveGraphEndpoints,
} from './credentials.js';
import { type GraphErrorContext, translateGraphError } from './errors.js';
import { graphMailboxLimiter } from './mailboxLimiter.js';
import {
  BearerAuthMiddleware,
  GraphCallScope,
  MailboxLimitMiddleware,
  TimeoutMiddleware,
} from './middleware.js';
import { userPath } from './odata.js';
import { agentTrusting, identityClientTrusting, NodeHttpHandler } from './trustedCa.js';

export interface GraphMailBackendDeps {
  secrets: SecretSource;
  /** Reaches a fake or sandbox token endpoint; production leaves it unset. */
  identityHttpClient?: HttpClient | undefined;
  /** settings.graphTimeoutSeconds: the bound on each Graph attempt and on each token request. */
  timeoutSeconds: number;
  /** settings.maxAttempts: 429/503/504 are retried in process (batch items too) up to this many attempts in all. */
  maxAttempts: number;
  /** The configured forward address; never one from a request. */
  forwardTo?: string | undefined;
  log?: (line: string) => void;
}

export interface GraphMessage {
  id: string;
  internetMessageId?: string;
  receivedDateTime?: string;
  parentFolderId: string;
  isRead?: boolean;
  isDraft?: boolean;
  categories?: string[];
}

export interface GraphPage<T> {
  value?: T[];
  '@odata.nextLink'?: string;
}

/** Back-off when Graph sends no Retry-After, in seconds (the SDK grows it exponentially). */
const retryDelaySeconds = 3;
/** 1,000 pages of 100 is far beyond any real number of copies; a server looping its links stops here. */
const maxPages = 1000;

/**
 * Every request passes the same middleware: bearer token, the SDK's retry handler (429/503/504,
 * honouring Retry-After), at most four requests in flight per mailbox, and a per-attempt timeout. JSON
 * batches go through the same chain and retry their throttled items themselves (see runBatch).
 */
export class GraphClient {
  readonly endpoints: GraphEndpoints;
  private readonly client: Client;
  /** The certificate as last read, and the token provider built for it (rebuilt only when either changes). */
  private certificate:
    | { source: string; loaded: LoadedCertificate; provider: GraphTokenProvider; identityClient?: HttpClient }
    | undefined;
  private trusted: { source: string; agent: Agent; identityClient: HttpClient } | undefined;

  constructor(
    private readonly profile: GraphProfile,
    private readonly deps: GraphMailBackendDeps,
  ) {
    this.endpoints = resolveGraphEndpoints(profile);
    const retries = Math.max(0, Math.min(deps.maxAttempts - 1, 10));
    const shouldRetry = (
      _delay: number,
      _attempt: number,
      _request: RequestInfo,
      options: RequestInit | undefined,
    ) => !options?.signal?.aborted;
    this.client = Client.initWithMiddleware({
      baseUrl: `${this.endpoints.graphEndpoint}/`,
      defaultVersion: 'v1.0',
      middleware: [
        new BearerAuthMiddleware(
          (signal) => this.token(signal),
          new URL(this.endpoints.graphEndpoint).origin,
        ),
        new RetryHandler(new RetryHandlerOptions(retryDelaySeconds, retries, shouldRetry)),
        new MailboxLimitMiddleware(graphMailboxLimiter),
        new TimeoutMiddleware(deps.timeoutSeconds),
        profile.trustedCa
          ? new NodeHttpHandler(() => this.trusting().then((t) => t.agent))
          : new NodeHttpHandler(),
      ],
    });
  }

  /** The rest of a collection: follows `@odata.nextLink` verbatim, as Graph asks. */
  async pages<T>(
    operation: string,
    mailbox: string,
    first: GraphPage<T>,
    options: CallOptions | undefined,
    decorate: (request: GraphRequest) => GraphRequest = (r) => r,
  ): Promise<T[]> {
    const items = [...(first.value ?? [])];
    let next = first['@odata.nextLink'];
    for (let pages = 1; next !== undefined; pages++) {
      if (pages >= maxPages)
        throw new ClawbackError(
          'Unknown',
          `Graph kept returning more pages after ${maxPages} during ${operation} for ${mailbox}; stopped.`,
        );
      const page: GraphPage<T> = await this.call<GraphPage<T>>(
        operation,
        mailbox,
        '/',
        options,
        (r) => decorate(r).get() as Promise<GraphPage<T>>,
        { url: next },
      );
      items.push(...(page.value ?? []));
      next = page['@odata.nextLink'];
    }
    return items;
  }

  /** One request per item: a single call, or one JSON batch (of up to 20 per envelope) for several. */
  async each<T>(
    operation: string,
    mailbox: string,
    items: T[],
    options: CallOptions | undefined,
    request: (item: T) => BatchRequest,
  ): Promise<BatchResult[]> {
    const requests = items.map(request);
    const [only] = requests;
    if (requests.length !== 1 || only === undefined) return this.batch(operation, mailbox, requests, options);
    try {
      const body = await this.call(operation, mailbox, only.url, options, (r) => {
        switch (only.method) {
          case 'GET':
            return r.get() as Promise<unknown>;
          case 'POST':
            return r.post(only.body ?? null) as Promise<unknown>;
          case 'PATCH':
            return r.patch(only.body ?? null) as Promise<unknown>;
          case 'DELETE':
            return r.delete() as Promise<unknown>;
        }
      });
      return [{ ok: true, status: 200, body }];
    } catch (error) {
      if (!isClawbackError(error)) throw error;
      return [{ ok: false, status: 0, error }];
    }
  }

  async batch(
    operation: string,
    mailbox: string,
    requests: BatchRequest[],
    options: CallOptions | undefined,
  ): Promise<BatchResult[]> {
    if (requests.length === 0) return [];
    try {
      return await runBatch(requests, {
        maxAttempts: this.deps.maxAttempts,
        fallbackDelayMs: retryDelaySeconds * 1000,
        abortSignal: options?.abortSignal,
        translate: (error) => translateGraphError(error, this.errorContext(operation, mailbox)),
        send: async (items) => {
          const envelope = {
            requests: items.map(({ body, headers, ...item }) => ({
              ...item,
              ...(body === undefined
                ? headers === undefined
                  ? {}
                  : { headers }
                : { body, headers: { 'Content-Type': 'application/json', ...headers } }),
            })),
          };
          const answer = await this.call<{ responses?: BatchResponse[] }>(
            operation,
            mailbox,
            '/$batch',
            options,
            (r) => r.post(envelope) as Promise<{ responses?: BatchResponse[] }>,
            { batchSlots: { mailbox, weight: items.length } },
          );
          return answer.responses ?? [];
        },
      });
    } catch (error) {
      throw translateGraphError(error, this.errorContext(operation, mailbox));
    }
  }

  async call<T>(
    operation: string,
    mailbox: string,
    path: string,
    options: CallOptions | undefined,
    send: (request: GraphRequest) => Promise<T>,
    via: { url?: string; batchSlots?: { mailbox: string; weight: number } } = {},
  ): Promise<T> {
    const scope = new GraphCallScope(via.url, via.batchSlots);
    let request = this.client.api(path).middlewareOptions([scope]);
    if (options?.abortSignal) request = request.option('signal', options.abortSignal);
    try {
      return await send(request);
    } catch (error) {
      throw translateGraphError(scope.failure ?? error, this.errorContext(operation, mailbox));
    }
  }

  private async token(signal: AbortSignal | undefined): Promise<string> {
    const secret = await this.deps.secrets.getSecret(
      this.profile.certificate,
      withSignal({ abortSignal: signal }),
    );
    const identityClient =
      this.deps.identityHttpClient ??
      (this.profile.trustedCa ? (await this.trusting(signal)).identityClient : undefined);
    let current = this.certificate;
    if (
      current?.source !== secret.value ||
      current.identityClient !== identityClient ||
      !isCertificateCurrent(current.loaded)
    ) {
      const loaded = loadCertificate(secret, { label: describeRef(this.profile.certificate) });
      const provider = getGraphTokenProvider({
        profile: this.profile,
        certificate: loaded,
        timeoutSeconds: this.deps.timeoutSeconds,
        identityHttpClient: identityClient,
      });
      current = { source: secret.value, loaded, provider, ...(identityClient ? { identityClient } : {}) };
      this.certificate = current;
      const daysLeft = Math.floor((loaded.notAfter.getTime() - Date.now()) / 86_400_000);
      this.deps.log?.(
        `graph ${this.profile.name}: using certificate ${loaded.thumbprintSha1} (${loaded.subject}), valid until ${loaded.notAfter.toISOString()}${daysLeft < 30 ? ` — expires in ${daysLeft} days, renew it` : ''}`,
      );
    }
    return current.provider.getToken(signal);
  }

  /** The agent and identity client trusting the profile's `trustedCa`, rebuilt when the secret changes. */
  private async trusting(signal?: AbortSignal): Promise<{ agent: Agent; identityClient: HttpClient }> {
    const ref = this.profile.trustedCa;
    if (!ref) throw new ClawbackError('ConfigurationError', 'The profile names no trustedCa.');
    const secret = await this.deps.secrets.getSecret(ref, withSignal({ abortSignal: signal }));
    if (this.trusted?.source !== secret.value) {
      const agent = agentTrusting(secret.value);
      this.trusted = { source: secret.value, agent, identityClient: identityClientTrusting(agent) };
    }
    return this.trusted;
  }

  private errorContext(operation: string, mailbox: string): GraphErrorContext {
    return {
      operation,
      mailbox,
      tenantId: this.profile.tenantId,
      clientId: this.profile.clientId,
      authorityHost: this.endpoints.authorityHost,
      graphEndpoint: this.endpoints.graphEndpoint,
      timeoutSeconds: this.deps.timeoutSeconds,
      certificateThumbprint: this.certificate?.loaded.thumbprintSha1,
    };
  }
}

export function messagePathOf(mailbox: string, id: string): string {
  return `${userPath(mailbox)}/messages/${encodeURIComponent(id)}`;
}

function describeRef(ref: SecretRef): string {
  if ('keyVaultSecret' in ref) return `Key Vault secret "${ref.keyVaultSecret}"`;
  if ('file' in ref) return `certificate file ${ref.file}`;
  return `environment variable ${ref.env}`;
}
