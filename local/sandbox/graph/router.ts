import { setTimeout as sleep } from 'node:timers/promises';

import { isNamedError } from '../../../shared/errors.js';
import { type FaultScript, scriptedResponse } from '../faults.js';
import {
  jsonResponse,
  newRequestId,
  safeDecode,
  type SandboxRequest,
  type SandboxResponse,
} from '../http.js';
import type { IssuedToken, TokenService } from '../token.js';
import type { SandboxRequestRecord } from '../types.js';
import { attachmentItem } from './attachments.js';
import { runBatch } from './batch.js';
import {
  type GraphCall,
  GraphError,
  graphErrorBody,
  type GraphState,
  itemNotFound,
  mailboxOf,
  toGraphError,
} from './context.js';
import { groups, users } from './directory.js';
import { createFolder, getFolder, listChildFolders, resolveFolderOrThrow } from './folders.js';
import { createMessage, findOrThrow, listMessages, messageItem } from './messages.js';
import { operationOf } from './operations.js';

/** Thrown to make the server drop the connection without answering. */
export class DestroySocket extends Error {
  override readonly name = 'DestroySocket';
}

export const isDestroySocket = isNamedError<DestroySocket>('DestroySocket');

/** Graph roots a token may be issued for; the sandbox's own `…/graph` endpoints count as Graph too. */
const graphResources = new Set([
  'https://graph.microsoft.com',
  'https://graph.microsoft.us',
  'https://dod-graph.microsoft.us',
  'https://microsoftgraph.chinacloudapi.cn',
  '00000003-0000-0000-c000-000000000000',
]);

const supportedQueryOptions = new Set([
  '$filter',
  '$select',
  '$top',
  '$skip',
  '$skiptoken',
  '$orderby',
  '$count',
]);

const defaultGraphErrors: Record<number, [string, string]> = {
  400: ['BadRequest', 'Bad request.'],
  401: ['InvalidAuthenticationToken', 'Access token validation failure.'],
  403: ['ErrorAccessDenied', 'Access is denied. Check credentials and try again.'],
  404: ['ErrorItemNotFound', 'The specified object was not found in the store.'],
  429: ['TooManyRequests', 'Please retry again later.'],
  500: ['InternalServerError', 'An internal server error occurred.'],
  502: ['BadGateway', 'Bad gateway.'],
  503: ['ServiceUnavailable', 'Service unavailable. Please retry again later.'],
  504: ['GatewayTimeout', 'The gateway timed out.'],
};

export interface GraphServiceOptions {
  mailboxConcurrencyLimit?: number | undefined;
  /** Retry-After (seconds) on a 429 for the mailbox concurrency limit. Default 0. */
  mailboxConcurrencyRetryAfterSeconds?: number | undefined;
  /** Time each Graph operation (a top-level request or a `$batch` item) takes while holding its mailbox slot. */
  latencyMs?: number | undefined;
  random: () => number;
  log?: ((line: string) => void) | undefined;
}

/**
 * Microsoft Graph v1.0 for the mail, folder and directory calls Clawback makes. Every request, top-level
 * or `$batch` item, goes through {@link execute}: recorded, counted per mailbox, offered to the scripted
 * faults, authenticated, then routed.
 */
export class GraphService {
  requests: SandboxRequestRecord[] = [];
  private readonly inFlight = new Map<string, number>();
  private readonly peak = new Map<string, number>();

  constructor(
    private readonly state: GraphState,
    private readonly tokens: TokenService,
    private readonly faults: FaultScript,
    private readonly options: GraphServiceOptions,
  ) {}

  maxConcurrency(mailbox: string): number {
    return this.peak.get(mailbox.toLowerCase()) ?? 0;
  }

  /** Forgets the recorded requests and concurrency peaks (between the phases of a benchmark). */
  reset(): void {
    this.requests = [];
    this.peak.clear();
  }

  /** `request.url` is absolute and its path starts with `/graph`. */
  async execute(request: SandboxRequest): Promise<SandboxResponse> {
    const graphPath = request.url.pathname.replace(/^\/graph/, '');
    const segments = graphPath
      .split('/')
      .filter((s) => s !== '')
      .map(safeDecode);
    const path = safeDecode(graphPath + request.url.search);
    const mailbox = this.mailboxOfPath(segments);
    const requestId = newRequestId();
    const clientRequestId = request.headers['client-request-id'];

    const startedAt = performance.now();
    const count = this.enter(mailbox);
    let response: SandboxResponse;
    try {
      response = await this.respond(request, segments, { path, mailbox, count });
    } catch (e) {
      const graphError = toGraphError(e);
      if (graphError === undefined) throw e;
      response = jsonResponse(
        graphError.status,
        graphErrorBody(graphError.code, graphError.message, requestId, clientRequestId),
        graphError.headers,
      );
    } finally {
      this.leave(mailbox);
    }
    response.headers['request-id'] = requestId;
    response.headers['client-request-id'] = clientRequestId ?? requestId;
    this.requests.push({
      method: request.method,
      path,
      operation: operationOf(request.method, segments),
      ...(mailbox === undefined ? {} : { mailbox }),
      status: response.status,
      ...(request.inBatch ? { batched: true } : {}),
      startedAt,
      finishedAt: performance.now(),
    });
    this.options.log?.(
      `graph ${request.inBatch ? '[batch] ' : ''}${request.method} ${path} -> ${response.status}`,
    );
    return response;
  }

  private mailboxOfPath(segments: string[]): string | undefined {
    const [, collection, user] = segments;
    if (collection?.toLowerCase() !== 'users' || user === undefined) return undefined;
    return (this.state.directory.user(user)?.address ?? user).toLowerCase();
  }

  private enter(mailbox: string | undefined): number {
    if (mailbox === undefined) return 0;
    const count = (this.inFlight.get(mailbox) ?? 0) + 1;
    this.inFlight.set(mailbox, count);
    this.peak.set(mailbox, Math.max(count, this.peak.get(mailbox) ?? 0));
    return count;
  }

  private leave(mailbox: string | undefined): void {
    if (mailbox !== undefined) this.inFlight.set(mailbox, (this.inFlight.get(mailbox) ?? 1) - 1);
  }

  private async respond(
    request: SandboxRequest,
    segments: string[],
    context: { path: string; mailbox: string | undefined; count: number },
  ): Promise<SandboxResponse> {
    const fault = this.faults.next({
      method: request.method,
      path: context.path,
      mailbox: context.mailbox,
      inBatch: request.inBatch,
    });
    if (fault !== undefined) {
      if ('destroySocket' in fault) throw new DestroySocket();
      if ('delayMs' in fault) await sleep(fault.delayMs);
      else return scriptedResponse(fault, graphFaultBody);
    }
    const limit = this.options.mailboxConcurrencyLimit;
    if (limit !== undefined && context.mailbox !== undefined && context.count > limit) {
      throw new GraphError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', {
        'Retry-After': String(this.options.mailboxConcurrencyRetryAfterSeconds ?? 0),
      });
    }
    const latency = this.options.latencyMs ?? 0;
    if (latency > 0 && segments[1] !== '$batch') await sleep(latency);
    const token = this.authenticate(request);
    const [version, ...rest] = segments;
    if (version !== 'v1.0') throw new GraphError(400, 'BadRequest', `Invalid version: ${version ?? ''}`);
    for (const key of request.url.searchParams.keys()) {
      if (key.startsWith('$') && !supportedQueryOptions.has(key.toLowerCase())) {
        throw new GraphError(400, 'BadRequest', `Query option '${key}' is not supported by the sandbox.`);
      }
    }
    const call: GraphCall = {
      state: this.state,
      request,
      segments: rest,
      token,
      immutableIds: /IdType\s*=\s*"?ImmutableId"?/i.test(request.headers.prefer ?? ''),
    };
    const response = await this.route(call);
    if (call.immutableIds) response.headers['Preference-Applied'] = 'IdType="ImmutableId"';
    return response;
  }

  private authenticate(request: SandboxRequest): IssuedToken {
    const unauthorized = (message: string): GraphError =>
      new GraphError(401, 'InvalidAuthenticationToken', message, {
        'WWW-Authenticate':
          'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
      });
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (match?.[1] === undefined) throw unauthorized('Access token is empty.');
    const token = this.tokens.lookup(match[1]);
    if (token === undefined) throw unauthorized('Access token validation failure.');
    if (token.expiresAt <= Date.now())
      throw unauthorized('Lifetime validation failed, the token is expired.');
    const resource = token.resource.replace(/\/+$/, '').toLowerCase();
    if (!graphResources.has(resource) && !resource.endsWith('/graph')) {
      throw unauthorized('Access token validation failure. Invalid audience.');
    }
    return token;
  }

  private async route(call: GraphCall): Promise<SandboxResponse> {
    const { method } = call.request;
    const [collection, id, sub, subId, leaf, leafId, action, ...extra] = call.segments;
    const is = (segment: string | undefined, name: string): boolean =>
      segment?.toLowerCase() === name.toLowerCase();

    if (is(collection, '$batch') && method === 'POST' && id === undefined) {
      const graphBase = `${call.request.url.origin}/graph`;
      return runBatch(
        call.request,
        graphBase,
        (item) => this.execute(item),
        (items) => this.shuffle(items),
      );
    }
    if (is(collection, 'me')) {
      throw new GraphError(
        400,
        'BadRequest',
        '/me request is only valid with delegated authentication flow.',
      );
    }
    if (is(collection, 'groups') && method === 'GET') return groups(call, call.segments.slice(1));
    if (!is(collection, 'users')) {
      throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${collection ?? ''}'.`);
    }
    if (sub === undefined && method === 'GET') return users(call, id);
    if (id === undefined) throw methodNotAllowed(method);

    const mailbox = mailboxOf(call, id);
    if (is(sub, 'messages')) {
      if (subId === undefined) {
        if (method === 'GET') return listMessages(call, mailbox, undefined);
        if (method === 'POST') return createMessage(call, mailbox, undefined);
        throw methodNotAllowed(method);
      }
      if (is(leaf, 'attachments') && leafId !== undefined && extra.length === 0)
        return attachmentItem(call, findOrThrow(mailbox, subId), leafId, action);
      if (leafId !== undefined)
        throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${leafId}'.`);
      return messageItem(call, mailbox, subId, leaf);
    }
    if (is(sub, 'mailFolders')) {
      const folder =
        subId === undefined ? mailbox.wellKnownFolder('msgfolderroot') : resolveFolderOrThrow(mailbox, subId);
      if (subId === undefined || is(leaf, 'childFolders')) {
        if (leafId !== undefined)
          throw new GraphError(400, 'BadRequest', 'Address a child folder by its own id.');
        if (method === 'GET') return listChildFolders(call, mailbox, folder);
        if (method === 'POST') return createFolder(call, mailbox, folder);
        throw methodNotAllowed(method);
      }
      if (leaf === undefined && method === 'GET') return getFolder(call, mailbox, folder);
      if (is(leaf, 'messages') && leafId === undefined) {
        if (method === 'GET') return listMessages(call, mailbox, folder);
        if (method === 'POST') return createMessage(call, mailbox, folder);
        throw methodNotAllowed(method);
      }
      if (is(leaf, 'messages') && leafId !== undefined && extra.length === 0) {
        if (mailbox.findMessage(leafId)?.folderId !== folder.id) throw itemNotFound();
        return messageItem(call, mailbox, leafId, action);
      }
    }
    throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${sub ?? ''}'.`);
  }

  private shuffle<T>(items: T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i -= 1) {
      const j = Math.floor(this.options.random() * (i + 1));
      [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
    }
    return copy;
  }
}

function graphFaultBody(status: number): unknown {
  const [code, message] = defaultGraphErrors[status] ?? ['UnknownError', ''];
  return graphErrorBody(code, message, newRequestId(), undefined);
}

function methodNotAllowed(method: string): GraphError {
  return new GraphError(
    405,
    'Request_BadRequest',
    `The HTTP method '${method}' is not allowed on this resource.`,
  );
}
