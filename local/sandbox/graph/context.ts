import { jsonResponse, type SandboxRequest, type SandboxResponse } from '../http.js';
import { ODataError } from '../odata.js';
import type { IssuedToken } from '../token.js';
import type { SandboxForward } from '../types.js';
import type { Directory, Mailbox } from './store.js';

/** A Graph error: answered as `{error:{code,message,innerError}}` with the status. */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface GraphState {
  directory: Directory;
  pageSize: number;
  /** Server-driven paging: a page never holds more than this, whatever `$top` asks. */
  maxPageSize?: number | undefined;
  forwards: SandboxForward[];
}

/** One authorised Graph call, after the `/graph/v1.0` prefix was taken off. */
export interface GraphCall {
  state: GraphState;
  request: SandboxRequest;
  /** Percent-decoded path segments after `v1.0`. */
  segments: string[];
  token: IssuedToken;
  /** `Prefer: IdType="ImmutableId"`: answer with ids that survive moves. */
  immutableIds: boolean;
}

export function graphErrorBody(
  code: string,
  message: string,
  requestId: string,
  clientRequestId: string | undefined,
): Record<string, unknown> {
  return {
    error: {
      code,
      message,
      innerError: {
        date: new Date().toISOString().replace(/\.\d{3}Z$/, ''),
        'request-id': requestId,
        'client-request-id': clientRequestId ?? requestId,
      },
    },
  };
}

export function toGraphError(e: unknown): GraphError | undefined {
  if (e instanceof GraphError) return e;
  if (e instanceof ODataError) return new GraphError(400, e.code, e.message);
  return undefined;
}

export function itemNotFound(): GraphError {
  return new GraphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
}

export function requirePermission(call: GraphCall, anyOf: string[], kind: 'mail' | 'directory'): void {
  if (anyOf.some((p) => call.token.permissions.has(p))) return;
  throw kind === 'mail'
    ? new GraphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.')
    : new GraphError(
        403,
        'Authorization_RequestDenied',
        'Insufficient privileges to complete the operation.',
      );
}

/** `/users/{u}` for the mail endpoints: the user must exist and have a mailbox Graph can reach. */
export function mailboxOf(call: GraphCall, user: string): Mailbox {
  const mailbox = call.state.directory.user(user);
  if (mailbox === undefined) {
    throw new GraphError(404, 'ErrorInvalidUser', `The requested user '${user}' is invalid.`);
  }
  if (mailbox.kind === 'notEnabledForRest') {
    throw new GraphError(
      404,
      'MailboxNotEnabledForRESTAPI',
      'The mailbox is either inactive, soft-deleted, or is hosted on-premise.',
    );
  }
  return mailbox;
}

export function jsonBody(call: GraphCall): Record<string, unknown> {
  const text = call.request.body.toString('utf8');
  if (text.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // answered below
  }
  throw new GraphError(
    400,
    'BadRequest',
    'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
  );
}

const maxMessageTop = 1000;

/**
 * One page of a collection. The next page's link is absolute and carries an opaque `$skiptoken`, so a
 * client has to follow it verbatim, as Graph asks.
 */
export function collectionPage<T>(
  call: GraphCall,
  items: T[],
  toJson: (item: T) => Record<string, unknown>,
  limits: { defaultTop: number; maxTop: number } = { defaultTop: call.state.pageSize, maxTop: maxMessageTop },
): SandboxResponse {
  const { maxTop } = limits;
  const params = call.request.url.searchParams;
  const topText = params.get('$top');
  const top = topText === null ? limits.defaultTop : Number(topText);
  if (!Number.isInteger(top) || top < 1 || top > maxTop) {
    throw new GraphError(
      400,
      'ErrorInvalidParameter',
      `The value '${topText ?? ''}' of parameter '$top' is invalid. It must be between 1 and ${maxTop}.`,
    );
  }
  const skip = readSkipToken(params.get('$skiptoken')) ?? Number(params.get('$skip') ?? 0);
  if (!Number.isInteger(skip) || skip < 0) {
    throw new GraphError(400, 'ErrorInvalidParameter', "The value of parameter '$skip' is invalid.");
  }
  const served = Math.min(top, call.state.maxPageSize ?? top);
  const value = items.slice(skip, skip + served).map(toJson);
  const body: Record<string, unknown> = {};
  if (params.get('$count')?.toLowerCase() === 'true') body['@odata.count'] = items.length;
  body.value = value;
  if (skip + served < items.length) {
    const next = new URL(call.request.url.href);
    next.searchParams.delete('$skiptoken');
    next.searchParams.delete('$skip');
    next.searchParams.set(
      '$skiptoken',
      Buffer.from(JSON.stringify({ skip: skip + served })).toString('base64url'),
    );
    body['@odata.nextLink'] = next.href;
  }
  return jsonResponse(200, body);
}

function readSkipToken(token: string | null): number | undefined {
  if (token === null) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { skip?: unknown };
    if (typeof parsed.skip === 'number' && Number.isInteger(parsed.skip) && parsed.skip >= 0)
      return parsed.skip;
  } catch {
    // answered below
  }
  throw new GraphError(400, 'BadRequest', 'The $skiptoken is invalid; follow @odata.nextLink verbatim.');
}

/** Keeps `id` (Graph always returns it) and the selected properties. */
export function applySelect(
  json: Record<string, unknown>,
  select: string[] | undefined,
): Record<string, unknown> {
  if (select === undefined) return json;
  const picked: Record<string, unknown> = {};
  for (const key of ['@odata.type', '@odata.etag', 'id', ...select]) {
    if (key in json) picked[key] = json[key];
  }
  return picked;
}
