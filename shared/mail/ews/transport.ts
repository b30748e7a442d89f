import http from 'node:http';
import https from 'node:https';

import { XhrApi } from '@ewsjs/xhr';
import type { IXHRApi, IXHROptions, IXHRProgress } from 'ews-javascript-api';

import { isError } from '../../errors.js';
import { EwsDeadlineExceeded, EwsHttpFailure, EwsLibraryRejection, EwsNetworkFailure } from './errors.js';

export interface TransportSettings {
  timeoutMs: number;
  auth: 'ntlm' | 'basic';
  username: string;
  password: string;
  /** PEM certificate(s) trusted in addition to the system store, for servers with a private CA. */
  ca?: string | undefined;
}

/**
 * The XHR layer handed to ews-javascript-api. It records what really went wrong (status, body,
 * Retry-After, socket error code) for the error translation, and hands the library only failures it
 * can digest: given an HTTP 500 whose body is not a SOAP envelope, the library throws inside a promise
 * nobody awaits, so the call never settles and the process gets an unhandled rejection.
 */
export class GuardedXhr implements IXHRApi {
  private attempt = 0;
  private failure: { attempt: number; error: Error } | undefined;

  constructor(private readonly inner: XhrApi) {}

  get apiName(): string {
    return this.inner.apiName;
  }

  /** Starts a new attempt; failures of requests from earlier attempts that finish late are ignored. */
  beginAttempt(): void {
    this.attempt += 1;
    this.failure = undefined;
  }

  /** The transport-level failure of the current attempt, if the last request had one. */
  takeFailure(): Error | undefined {
    const failure = this.failure?.attempt === this.attempt ? this.failure.error : undefined;
    this.failure = undefined;
    return failure;
  }

  async xhr(options: IXHROptions, progress?: (data: IXHRProgress) => void): Promise<XMLHttpRequest> {
    const attempt = this.attempt;
    try {
      return await this.inner.xhr(options, progress);
    } catch (raw) {
      const failure = describeFailure(raw);
      if (attempt === this.attempt) this.failure = { attempt, error: failure };
      throw new Error(failure.message);
    }
  }

  xhrStream(options: IXHROptions, progress: (data: IXHRProgress) => void): Promise<XMLHttpRequest> {
    return this.inner.xhrStream(options, progress);
  }

  disconnect(): void {
    this.inner.disconnect();
  }
}

export function createXhr(settings: TransportSettings): GuardedXhr {
  const api = new XhrApi({
    timeout: settings.timeoutMs,
    rejectUnauthorized: true,
    ...(settings.ca ? { transport: trustingTransport(settings.ca) } : {}),
  });
  if (settings.auth === 'ntlm') api.useNtlmAuthentication(settings.username, settings.password);
  return new GuardedXhr(api);
}

/**
 * Adds the profile's CA to every TLS connection. XhrApi has no CA option, and its NTLM provider
 * replaces any `httpsAgent` with its own, so the CA goes in at the one layer both paths share: the
 * request function axios calls (verification stays on; only the trust anchors grow).
 */
function trustingTransport(ca: string): { request: typeof https.request } {
  const request = (
    options: https.RequestOptions,
    callback?: (res: http.IncomingMessage) => void,
  ): http.ClientRequest =>
    options.protocol === 'http:'
      ? http.request(options, callback)
      : https.request({ ...options, ca, rejectUnauthorized: true }, callback);
  return { request: request as typeof https.request };
}

function describeFailure(raw: unknown): Error {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as {
    status?: unknown;
    responseText?: unknown;
    code?: unknown;
    message?: unknown;
    getResponseHeader?: (name: string) => string | null;
  };
  if (typeof r.status === 'number' && r.status > 0) {
    const retryAfter =
      typeof r.getResponseHeader === 'function'
        ? (r.getResponseHeader('retry-after') ?? undefined)
        : undefined;
    return new EwsHttpFailure(r.status, typeof r.responseText === 'string' ? r.responseText : '', retryAfter);
  }
  const message = typeof r.message === 'string' && r.message !== '' ? r.message : String(raw);
  return new EwsNetworkFailure(typeof r.code === 'string' ? r.code : undefined, message);
}

/**
 * Settles with the call or rejects with EwsDeadlineExceeded after `timeoutMs` or on abort, whichever
 * is first. The library's own promise may settle later; that late outcome is observed and dropped.
 */
export function withDeadline<T>(call: Promise<T>, timeoutMs: number, signal?: AbortSignal): Promise<T> {
  call.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => finish(() => reject(new EwsDeadlineExceeded(timeoutMs))), timeoutMs);
    const onAbort = () => finish(() => reject(abortError(signal)));
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    if (signal?.aborted) return finish(() => reject(abortError(signal)));
    signal?.addEventListener('abort', onAbort, { once: true });
    call.then(
      (value) => finish(() => resolve(value)),
      (error: unknown) => finish(() => reject(isError(error) ? error : new EwsLibraryRejection(error))),
    );
  });
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return new EwsNetworkFailure(
    'ABORT_ERR',
    isError(reason) ? `cancelled: ${reason.message}` : 'cancelled by the caller',
  );
}

const libraryFrame = /ews-javascript-api|EwsXmlReader|@ewsjs[\\/]/;

/** True when a rejection was raised inside ews-javascript-api or its XHR layer. */
export function isLibraryRejection(reason: unknown): boolean {
  const stack = isError(reason) ? reason.stack : undefined;
  return stack !== undefined && libraryFrame.test(stack);
}

/**
 * Handles one unhandled rejection. The library's strays are logged and dropped: the call that caused
 * them has already been settled by its deadline. Anything else is not ours to hide: it is logged, and
 * when no other listener exists it is re-thrown, because registering any listener switches off Node's
 * default (crash on unhandled rejection) for every rejection, and that default must still apply to
 * bugs elsewhere. When other listeners exist (the Functions worker, a test runner), they decide.
 */
export function handleUnhandledRejection(
  reason: unknown,
  log: (line: string) => void,
  otherListeners: number,
): void {
  const text = isError(reason) ? `${reason.name}: ${reason.message}` : String(reason);
  if (isLibraryRejection(reason)) {
    log(`ews: ignored a stray rejection from ews-javascript-api (${text})`);
    return;
  }
  log(`unhandled rejection outside EWS: ${text}`);
  if (otherListeners === 0) throw reason;
}

let guardInstalled = false;

/** Installs the process-wide guard once, however many backends are created. */
export function installStrayRejectionGuard(log: (line: string) => void): void {
  if (guardInstalled) return;
  guardInstalled = true;
  const listener = (reason: unknown) =>
    handleUnhandledRejection(reason, log, process.listenerCount('unhandledRejection') - 1);
  process.on('unhandledRejection', listener);
}
