import { ServiceError } from 'ews-javascript-api';

import {
  ClawbackError,
  type ClawbackErrorOptions,
  type FailureReason,
  isClawbackError,
  isError,
} from '../../errors.js';

/** What the operator needs to act on an EWS failure. */
export interface EwsErrorContext {
  mailbox?: string | undefined;
  host: string;
  operation: string;
  /** The service account, named when the server refuses it. */
  username?: string | undefined;
  /** Decides which permission a refusal points at (ApplicationImpersonation vs FullAccess). */
  access?: 'impersonation' | 'fullAccess' | undefined;
  auth?: 'ntlm' | 'basic' | undefined;
}

/** A non-200 HTTP answer, as the transport saw it before the library could misread it. */
export class EwsHttpFailure extends Error {
  override readonly name = 'EwsHttpFailure';
  constructor(
    readonly status: number,
    readonly body: string,
    readonly retryAfter?: string,
  ) {
    super(`HTTP ${status}${body.trim() === '' ? ' with an empty body' : ''}`);
  }
}

/** The request never got an HTTP answer: DNS, TCP, TLS or the transport's own timeout. */
export class EwsNetworkFailure extends Error {
  override readonly name = 'EwsNetworkFailure';
  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** Detects a network failure by name, so it works across module copies. */
export function isEwsNetworkFailure(value: unknown): value is EwsNetworkFailure {
  return isNamed(value, 'EwsNetworkFailure');
}

/** The call outlived its deadline; the library would otherwise wait for ever. */
export class EwsDeadlineExceeded extends Error {
  override readonly name = 'EwsDeadlineExceeded';
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

/**
 * ews-javascript-api rejects with its own exception objects, which are not `Error` instances; this
 * carries one through code that only passes Errors around.
 */
export class EwsLibraryRejection extends Error {
  override readonly name = 'EwsLibraryRejection';
  constructor(readonly value: unknown) {
    super(
      typeof value === 'object' &&
        value !== null &&
        typeof (value as { message?: unknown }).message === 'string'
        ? (value as { message: string }).message
        : String(value),
    );
  }
}

/** A per-item `ResponseMessage ResponseClass="Error"` or a SOAP fault, reduced to its code. */
export class EwsResponseError extends Error {
  override readonly name = 'EwsResponseError';
  constructor(
    readonly responseCode: string,
    message: string,
    readonly backOffMs?: number,
  ) {
    super(message);
  }
}

const throttlingCodes = new Set([
  'ErrorServerBusy',
  'ErrorExceededConnectionCount',
  'ErrorTooManyObjectsOpened',
]);
const transientCodes = new Set([
  'ErrorMailboxStoreUnavailable',
  'ErrorMailboxMoveInProgress',
  'ErrorInternalServerTransientError',
  'ErrorConnectionFailed',
]);
const permissionCodes = new Set([
  'ErrorImpersonateUserDenied',
  'ErrorImpersonationDenied',
  'ErrorAccessDenied',
]);
const noMailboxCodes = new Set([
  'ErrorNonExistentMailbox',
  'ErrorInvalidSmtpAddress',
  'ErrorNameResolutionNoResults',
]);
const certificateCodes =
  /^(CERT_|UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|ERR_TLS_CERT_ALTNAME_INVALID)/;

/**
 * Turns anything an EWS call threw (transport failures, SOAP faults, per-item errors, the library's
 * own exception types) into the SPEC reason an operator sees, with a sentence naming what to fix.
 */
export function translateEwsError(thrown: unknown, context: EwsErrorContext): ClawbackError {
  if (isClawbackError(thrown)) return thrown;
  const error = unwrap(thrown);
  const where = `${context.operation} on ${context.host}`;
  const fail = (code: FailureReason, detail: string, options: ClawbackErrorOptions = {}) =>
    new ClawbackError(code, detail, { cause: error, ...options });

  if (isNamed(error, 'EwsDeadlineExceeded')) {
    const ms = (error as EwsDeadlineExceeded).timeoutMs;
    return fail(
      'ConnectionError',
      `EWS at ${context.host} did not answer ${context.operation} within ${formatSeconds(ms)}.`,
      { retryable: true },
    );
  }
  if (isNamed(error, 'EwsNetworkFailure')) return fromNetwork(error as EwsNetworkFailure, context, fail);
  if (isNamed(error, 'EwsHttpFailure')) return fromHttp(error as EwsHttpFailure, context, fail);
  if (isNamed(error, 'EwsResponseError')) {
    const e = error as EwsResponseError;
    return fromResponseCode(e.responseCode, e.message, e.backOffMs, context, fail);
  }
  const library = fromLibraryError(error);
  if (library) {
    if (library.httpStatus === 401) return fromHttp(new EwsHttpFailure(401, ''), context, fail);
    if (library.responseCode)
      return fromResponseCode(library.responseCode, library.message, library.backOffMs, context, fail);
    if (library.httpStatus === undefined && /timeout of \d+ms exceeded/i.test(library.message)) {
      return fail(
        'ConnectionError',
        `EWS at ${context.host} did not answer ${context.operation} in time (${library.message}).`,
        { retryable: true },
      );
    }
  }
  // The library's own exception objects are not Errors but carry a message: that is what to show.
  const message = isError(error) ? error.message : (stringMessage(error) ?? String(error));
  return fail('Unknown', `Unexpected EWS failure during ${where}: ${message}`);
}

type Fail = (code: FailureReason, detail: string, options?: ClawbackErrorOptions) => ClawbackError;

function fromNetwork(error: EwsNetworkFailure, context: EwsErrorContext, fail: Fail): ClawbackError {
  const code = error.code ?? '';
  const host = context.host;
  if (certificateCodes.test(code) || /certificate/i.test(error.message)) {
    return fail(
      'ConnectionError',
      `The TLS certificate of ${host} is not trusted (${code || error.message}); put the issuing CA certificate (PEM) in the profile's trustedCa secret. TLS verification is never turned off.`,
    );
  }
  if (code === 'ENOTFOUND') {
    return fail(
      'ConnectionError',
      `The EWS host ${host} cannot be resolved (ENOTFOUND); check the profile's ewsUrl and DNS.`,
    );
  }
  if (code === 'ECONNREFUSED') {
    return fail(
      'ConnectionError',
      `${host} refused the connection (ECONNREFUSED); check that EWS is reachable on that port.`,
      { retryable: true },
    );
  }
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || /timeout/i.test(error.message)) {
    return fail(
      'ConnectionError',
      `EWS at ${host} did not answer ${context.operation} in time (${error.message}).`,
      { retryable: true },
    );
  }
  return fail(
    'ConnectionError',
    `The connection to ${host} failed during ${context.operation} (${code || error.message}).`,
    { retryable: true },
  );
}

function fromHttp(error: EwsHttpFailure, context: EwsErrorContext, fail: Fail): ClawbackError {
  const host = context.host;
  if (error.status === 401) {
    const user = context.username ? `"${context.username}"` : 'the service account';
    const scheme = context.auth ? ` with ${context.auth === 'ntlm' ? 'NTLM' : 'Basic'} authentication` : '';
    return fail(
      'AuthenticationError',
      `EWS at ${host} rejected the username or password of ${user}${scheme} (HTTP 401); check the profile's username (DOMAIN\\user or UPN), the password secret, and that this authentication method is enabled on the EWS virtual directory.`,
    );
  }
  if (error.status === 403) {
    return fail(
      'PermissionError',
      `EWS at ${host} refused ${context.operation} with HTTP 403; EWS access may be blocked for the service account.`,
    );
  }
  const fault = parseFault(error.body);
  if (fault) return fromResponseCode(fault.responseCode, fault.message, fault.backOffMs, context, fail);
  if (error.status === 503) {
    const retryAfterMs = parseRetryAfter(error.retryAfter);
    return fail('Throttled', `EWS at ${host} is overloaded (HTTP 503) during ${context.operation}.`, {
      retryable: true,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (error.status >= 500) {
    const body = error.body.trim() === '' ? 'an empty body' : 'a body that is not a SOAP envelope';
    return fail(
      'ConnectionError',
      `EWS at ${host} answered ${context.operation} with HTTP ${error.status} and ${body}.`,
      { retryable: true },
    );
  }
  return fail('Unknown', `EWS at ${host} answered ${context.operation} with HTTP ${error.status}.`);
}

function fromResponseCode(
  responseCode: string,
  message: string,
  backOffMs: number | undefined,
  context: EwsErrorContext,
  fail: Fail,
): ClawbackError {
  const mailbox = context.mailbox ?? 'the mailbox';
  const user = context.username ? `"${context.username}"` : 'the service account';
  const text = message ? ` ("${message}")` : '';
  if (responseCode === 'ErrorServerBusy' || throttlingCodes.has(responseCode)) {
    return fail(
      'Throttled',
      `EWS at ${context.host} is throttling ${context.operation} (${responseCode})${text}.`,
      {
        retryable: true,
        ...(backOffMs === undefined ? {} : { retryAfterMs: backOffMs }),
      },
    );
  }
  if (transientCodes.has(responseCode)) {
    return fail(
      'ConnectionError',
      `${mailbox} is temporarily unavailable on ${context.host} (${responseCode})${text}.`,
      { retryable: true },
    );
  }
  if (permissionCodes.has(responseCode)) {
    const fix =
      context.access === 'fullAccess'
        ? `${user} needs FullAccess on ${mailbox} (Add-MailboxPermission -Identity ${mailbox} -User <account> -AccessRights FullAccess)`
        : `${user} needs the ApplicationImpersonation role for ${mailbox} (New-ManagementRoleAssignment -Role ApplicationImpersonation -User <account>)`;
    return fail(
      'PermissionError',
      `EWS at ${context.host} denied ${context.operation} (${responseCode})${text}: ${fix}.`,
    );
  }
  if (noMailboxCodes.has(responseCode)) {
    return fail(
      'InvalidMailbox',
      `EWS at ${context.host} has no mailbox ${mailbox} (${responseCode})${text}.`,
    );
  }
  if (responseCode === 'ErrorItemNotFound') {
    return fail(
      'MessageNotFound',
      `The item is no longer in ${mailbox} (ErrorItemNotFound during ${context.operation}).`,
    );
  }
  if (responseCode === 'ErrorMailboxConfiguration' || responseCode === 'ErrorMailboxLogonFailed') {
    return fail(
      'MailboxInaccessible',
      `${mailbox} cannot be opened through EWS at ${context.host} (${responseCode})${text}.`,
    );
  }
  return fail('Unknown', `EWS at ${context.host} answered ${context.operation} with ${responseCode}${text}.`);
}

interface LibraryErrorShape {
  responseCode?: string | undefined;
  message: string;
  backOffMs?: number | undefined;
  httpStatus?: number | undefined;
}

/** Reads ServiceResponseException and SoapFaultDetails by shape: the library's classes are not exported as types we can trust. */
function fromLibraryError(error: unknown): LibraryErrorShape | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as {
    message?: unknown;
    Response?: { ErrorCode?: unknown; ErrorMessage?: unknown; ErrorDetails?: unknown };
    ResponseCode?: unknown;
    FaultCode?: unknown;
    HttpStatusCode?: unknown;
    ErrorDetails?: unknown;
  };
  const message = typeof e.message === 'string' ? e.message : '';
  if (e.Response && typeof e.Response.ErrorCode === 'number') {
    return {
      responseCode: ServiceError[e.Response.ErrorCode],
      message: typeof e.Response.ErrorMessage === 'string' ? e.Response.ErrorMessage : message,
      backOffMs: backOffFromDetails(e.Response.ErrorDetails),
    };
  }
  if ('HttpStatusCode' in e || 'FaultCode' in e) {
    const httpStatus = typeof e.HttpStatusCode === 'number' ? e.HttpStatusCode : undefined;
    const fault = typeof e.FaultCode === 'string' ? e.FaultCode.replace(/^\w+:/, '') : undefined;
    const responseCode = fault && fault.startsWith('Error') ? fault : undefined;
    return { responseCode, message, httpStatus, backOffMs: backOffFromDetails(e.ErrorDetails) };
  }
  return undefined;
}

/** BackOffMilliseconds from the library's ErrorDetails dictionary (MessageXml of a per-item error). */
export function backOffFromDetails(details: unknown): number | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const dict = details as { containsKey?: (k: string) => boolean; get?: (k: string) => unknown };
  if (typeof dict.containsKey !== 'function' || typeof dict.get !== 'function') return undefined;
  if (!dict.containsKey('BackOffMilliseconds')) return undefined;
  return toMs(dict.get('BackOffMilliseconds'));
}

/**
 * Reads a SOAP fault body (`s:Fault` with `detail/e:ResponseCode`, `e:Message` and
 * `t:MessageXml/t:Value Name="BackOffMilliseconds"`). Regular expressions are enough for these three
 * fields and keep the parse independent of the library, which hangs on bodies it cannot read.
 */
export function parseFault(
  body: string,
): { responseCode: string; message: string; backOffMs?: number } | undefined {
  if (!/<(?:\w+:)?Fault[\s>]/.test(body)) return undefined;
  const responseCode =
    /<(?:\w+:)?ResponseCode[^>]*>\s*([A-Za-z]+)\s*</.exec(body)?.[1] ??
    /<faultcode[^>]*>\s*(?:\w+:)?(Error\w+)\s*</.exec(body)?.[1];
  if (!responseCode) return undefined;
  const message = (
    /<(?:\w+:)?Message[^>]*>([^<]*)</.exec(body)?.[1] ??
    /<faultstring[^>]*>([^<]*)</.exec(body)?.[1] ??
    ''
  ).trim();
  const backOffMs = toMs(/<(?:\w+:)?Value\s+Name="BackOffMilliseconds"[^>]*>\s*([^<]*?)\s*</.exec(body)?.[1]);
  return backOffMs === undefined
    ? { responseCode, message: decodeEntities(message) }
    : { responseCode, message: decodeEntities(message), backOffMs };
}

function toMs(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : NaN;
  return Number.isFinite(n) && n >= 0 ? Math.round(n) : undefined;
}

function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function decodeEntities(text: string): string {
  return text.replace(
    /&(lt|gt|quot|apos|amp);/g,
    (_, name: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[name] ?? '',
  );
}

function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}

function unwrap(error: unknown): unknown {
  return isNamed(error, 'EwsLibraryRejection') ? (error as EwsLibraryRejection).value : error;
}

function stringMessage(value: unknown): string | undefined {
  const message = (value as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : undefined;
}

function isNamed(error: unknown, name: string): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === name;
}

/** The EWS ResponseCode behind a translated error (its cause), for callers that react to one code. */
export function responseCodeOf(error: unknown): string | undefined {
  let cause = isClawbackError(error) ? (error as Error & { cause?: unknown }).cause : error;
  cause = unwrap(cause);
  if (isNamed(cause, 'EwsResponseError')) return (cause as EwsResponseError).responseCode;
  if (isNamed(cause, 'EwsHttpFailure')) return parseFault((cause as EwsHttpFailure).body)?.responseCode;
  return fromLibraryError(cause)?.responseCode;
}
