import { ClawbackError, ensureError, isClawbackError, isError } from '../../errors.js';

/** What the failing call was doing; every field that is known makes the detail more actionable. */
export interface GraphErrorContext {
  operation: string;
  mailbox?: string | undefined;
  tenantId?: string | undefined;
  clientId?: string | undefined;
  authorityHost?: string | undefined;
  graphEndpoint?: string | undefined;
  timeoutSeconds?: number | undefined;
  /** SHA-1 thumbprint, as the Entra portal lists it under Certificates & secrets. */
  certificateThumbprint?: string | undefined;
}

/** Thrown by the timeout middleware, so a slow Graph is told apart from a cancelled invocation. */
export class GraphTimeoutError extends Error {
  override readonly name = 'GraphTimeoutError';
  constructor(readonly timeoutSeconds: number) {
    super(`Graph did not answer within ${timeoutSeconds} s`);
  }
}

/** Detects the timeout middleware's error by name, so it works across module copies. */
export function isGraphTimeoutError(value: unknown): value is GraphTimeoutError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { name?: unknown }).name === 'GraphTimeoutError' &&
    typeof (value as { timeoutSeconds?: unknown }).timeoutSeconds === 'number'
  );
}

const invalidMailboxCodes = new Set([
  'ErrorInvalidUser',
  'Request_ResourceNotFound',
  'ErrorNonExistentMailbox',
  'ErrorInvalidMailbox',
]);
const accessDeniedCodes = new Set([
  'ErrorAccessDenied',
  'Authorization_RequestDenied',
  'AccessDenied',
  'ErrorAccessDeniedException',
]);
const tlsErrorCodes =
  /^(CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO_SELF_SIGNED|ERR_TLS_CERT|HOSTNAME_MISMATCH|ERR_SSL)/;
const transientSocketCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * Maps anything a Graph or token call throws to the SPEC reason an operator sees, with a detail that
 * says what to fix. Details never contain tokens: only status codes, service error codes and messages.
 */
export function translateGraphError(error: unknown, context: GraphErrorContext): ClawbackError {
  if (isClawbackError(error)) return error;
  const err = ensureError(error);
  if (isIdentityError(err)) return translateIdentityError(err, context);
  if (isGraphError(err) && err.statusCode > 0) return translateGraphResponse(err, context);
  return translateTransportError(err, context);
}

// ---- Graph HTTP responses ----

interface GraphErrorLike extends Error {
  statusCode: number;
  code: string | null;
  body?: unknown;
  headers?: { get(name: string): string | null } | undefined;
}

function isGraphError(error: Error): error is GraphErrorLike {
  return typeof (error as Partial<GraphErrorLike>).statusCode === 'number';
}

/**
 * A request read as an ArrayBuffer (the MIME download) or as text (an item attachment's MIME) gets its
 * error body in that form too, which the SDK cannot read: the Graph error code is taken from it, so a
 * 404 there still says ErrorItemNotFound.
 */
function codeInRawBody(body: unknown): string | undefined {
  const text =
    body instanceof ArrayBuffer
      ? Buffer.from(body).toString('utf8')
      : typeof body === 'string'
        ? body
        : undefined;
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown } };
    return typeof parsed.error?.code === 'string' ? parsed.error.code : undefined;
  } catch {
    return undefined;
  }
}

function translateGraphResponse(error: GraphErrorLike, context: GraphErrorContext): ClawbackError {
  const status = error.statusCode;
  const code = error.code ?? codeInRawBody(error.body) ?? '';
  const said = `${status}${code ? ` ${code}` : ''}${error.message ? `: ${oneLine(error.message)}` : ''}`;
  const mailbox = context.mailbox ? `mailbox ${context.mailbox}` : 'the mailbox';
  const options = { cause: error };

  if (code === 'MailboxNotEnabledForRESTAPI')
    return new ClawbackError(
      'MailboxInaccessible',
      `Graph cannot reach ${mailbox} (${said}): the mailbox is hosted on-premises, inactive or soft-deleted, or the user has no Exchange Online licence. Map it to an EWS profile if it is on-premises.`,
      options,
    );
  if (status === 404 && invalidMailboxCodes.has(code))
    return new ClawbackError(
      'InvalidMailbox',
      `${capitalise(mailbox)} does not exist in tenant ${context.tenantId ?? '(unknown)'} (${said}).`,
      options,
    );
  if (status === 404 && code === 'ErrorItemNotFound')
    return new ClawbackError('MessageNotFound', `The message is no longer in ${mailbox} (${said}).`, options);
  if (code === 'Authorization_RequestDenied')
    return new ClawbackError(
      'PermissionError',
      `The directory refused ${context.operation} (${said}). Grant the app${context.clientId ? ` ${context.clientId}` : ''} the User.Read.All and GroupMember.Read.All application permissions with admin consent, so recipients can be told apart from groups and groups expanded.`,
      options,
    );
  if (status === 403 || accessDeniedCodes.has(code))
    return new ClawbackError(
      'PermissionError',
      `Access to ${mailbox} was denied during ${context.operation} (${said}). Grant the app${context.clientId ? ` ${context.clientId}` : ''} the Mail.ReadWrite application permission with admin consent, and check that no application access policy or RBAC for Applications management scope excludes this mailbox (changes take up to 2 hours to apply).`,
      options,
    );
  if (status === 401)
    return new ClawbackError(
      'AuthenticationError',
      `Graph refused the access token during ${context.operation} (${said}). Check that the profile's cloud matches the tenant and that the app registration is enabled.`,
      options,
    );
  if (status === 429 || status === 503 || status === 504) {
    const retryAfterMs = parseRetryAfter(error.headers?.get('retry-after') ?? null);
    return new ClawbackError(
      'Throttled',
      `Graph kept throttling ${context.operation} for ${mailbox} (${said}).`,
      {
        retryable: true,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        cause: error,
      },
    );
  }
  if (status >= 500)
    return new ClawbackError(
      'ConnectionError',
      `Graph failed during ${context.operation} for ${mailbox} (${said}).`,
      { retryable: true, cause: error },
    );
  return new ClawbackError(
    'Unknown',
    `Graph rejected ${context.operation} for ${mailbox} (${said}).`,
    options,
  );
}

/** Retry-After in seconds or as an HTTP date, in milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

// ---- Token (Entra ID) errors ----

interface IdentityErrorLike extends Error {
  statusCode?: number;
  errorResponse?: { error?: string; errorDescription?: string; errorCodes?: number[] };
}

/** @azure/identity raises AuthenticationRequiredError for some AADSTS answers (unauthorized_client). */
const identityErrorNames = new Set([
  'AuthenticationError',
  'AuthenticationRequiredError',
  'CredentialUnavailableError',
  'AggregateAuthenticationError',
]);

function isIdentityError(error: Error): error is IdentityErrorLike {
  return identityErrorNames.has(error.name);
}

function aadstsCode(error: IdentityErrorLike): number | undefined {
  const fromCodes = error.errorResponse?.errorCodes?.[0];
  if (fromCodes !== undefined) return fromCodes;
  const match = /AADSTS(\d+)/.exec(`${error.errorResponse?.errorDescription ?? ''} ${error.message}`);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function translateIdentityError(error: IdentityErrorLike, context: GraphErrorContext): ClawbackError {
  const tenant = `'${context.tenantId ?? '(unknown)'}'`;
  const app = context.clientId ?? '(unknown)';
  const authority = context.authorityHost ?? 'the authority host';
  const options = { cause: error };
  const code = aadstsCode(error);
  const auth = (detail: string) => new ClawbackError('AuthenticationError', detail, options);
  switch (code) {
    case 90002:
      return auth(`Tenant ${tenant} was not found at ${authority} (AADSTS90002); check tenantId and cloud.`);
    case 90038:
      return auth(
        `Tenant ${tenant} belongs to another national cloud (AADSTS90038); set the profile's cloud to the tenant's cloud.`,
      );
    case 700016:
      return auth(
        `Application ${app} is not registered in tenant ${tenant} (AADSTS700016); check clientId and tenantId, and that an administrator has consented to the app in that tenant.`,
      );
    case 700027:
    case 50012:
      return auth(
        `The certificate${context.certificateThumbprint ? ` (thumbprint ${context.certificateThumbprint})` : ''} is not registered on the app registration ${app} (AADSTS${code}); upload it under Certificates & secrets.`,
      );
    case 700024:
    case 500133:
      return auth(
        `Entra ID rejected the client assertion as outside its valid time range (AADSTS${code}); check this machine's clock.`,
      );
    case 7000112:
      return auth(
        `Application ${app} is disabled in tenant ${tenant} (AADSTS7000112); enable its service principal (Enterprise applications).`,
      );
    case 700030:
      return auth(`The certificate's subject name is not authorized for application ${app} (AADSTS700030).`);
    case 53003:
      return auth(`A Conditional Access policy in tenant ${tenant} blocks application ${app} (AADSTS53003).`);
    default:
      break;
  }
  if (code !== undefined)
    return auth(
      `Entra ID refused a token for application ${app} in tenant ${tenant}: ${firstLine(error.errorResponse?.errorDescription ?? error.message)}`,
    );
  const status = error.statusCode;
  if (status !== undefined && (status === 429 || status >= 500))
    return new ClawbackError(
      'ConnectionError',
      `Entra ID (${authority}) answered ${status} while issuing a token; retrying later.`,
      {
        retryable: true,
        cause: error,
      },
    );
  const transport = findTransportCode(error);
  if (transport !== undefined) return translateTransportError(error, context);
  return auth(
    `Could not get a token for application ${app} in tenant ${tenant} from ${authority}: ${firstLine(error.message)}`,
  );
}

// ---- Network, TLS, timeouts ----

function findTransportCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (
      typeof code === 'string' &&
      (code === 'ENOTFOUND' || tlsErrorCodes.test(code) || transientSocketCodes.has(code))
    )
      return code;
    current = (current as { cause?: unknown }).cause;
  }
  const text = isError(error) ? error.message : '';
  const match =
    /\b(ENOTFOUND|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|CERT_[A-Z_]+|UNABLE_TO_[A-Z_]+|SELF_SIGNED_[A-Z_]+|DEPTH_ZERO_SELF_SIGNED_CERT)\b/.exec(
      text,
    );
  return match?.[1];
}

function findHostname(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const host = (current as { hostname?: unknown }).hostname;
    if (typeof host === 'string') return host;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

function translateTransportError(error: Error, context: GraphErrorContext): ClawbackError {
  const host = hostOf(context.graphEndpoint) ?? hostOf(context.authorityHost) ?? 'Graph';
  const options = { retryable: true, cause: error };
  if (error.name === 'GraphTimeoutError' || error.name === 'TimeoutError') {
    const seconds = isGraphTimeoutError(error) ? error.timeoutSeconds : context.timeoutSeconds;
    return new ClawbackError(
      'ConnectionError',
      `Graph did not answer within ${seconds ?? '?'} s during ${context.operation}.`,
      options,
    );
  }
  if (error.name === 'AbortError')
    return new ClawbackError(
      'ConnectionError',
      `${capitalise(context.operation)} was cancelled before Graph answered.`,
      options,
    );
  const code = findTransportCode(error);
  if (code === 'ENOTFOUND')
    return new ClawbackError(
      'ConnectionError',
      `The host ${findHostname(error) ?? host} could not be resolved (ENOTFOUND); check the endpoint and DNS.`,
      options,
    );
  if (code !== undefined && tlsErrorCodes.test(code))
    return new ClawbackError(
      'ConnectionError',
      `The TLS certificate of ${host} is not trusted (${code}); check for a TLS-inspecting proxy or a wrong endpoint.`,
      {
        cause: error,
      },
    );
  if (code !== undefined)
    return new ClawbackError(
      'ConnectionError',
      `Could not reach ${host} during ${context.operation} (${code}).`,
      options,
    );
  if (error.name === 'TypeError' && /fetch failed/i.test(error.message))
    return new ClawbackError(
      'ConnectionError',
      `Could not reach ${host} during ${context.operation}: ${oneLine(error.message)}.`,
      options,
    );
  return new ClawbackError(
    'Unknown',
    `Unexpected error during ${context.operation}: ${oneLine(error.message)}`,
    { cause: error },
  );
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 400);
}

function firstLine(text: string): string {
  return oneLine(text.split(/\r?\n/)[0] ?? text);
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
