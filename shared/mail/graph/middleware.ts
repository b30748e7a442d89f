import type { Context, Middleware, MiddlewareOptions } from '@microsoft/microsoft-graph-client';

import { ClawbackError } from '../../errors.js';
import { GraphTimeoutError } from './errors.js';
import type { KeyedSemaphore } from './mailboxLimiter.js';

/**
 * Per-call state shared with the middleware. The SDK turns anything thrown inside the chain into a
 * GraphError that keeps only the error's name and text, losing `cause` (ENOTFOUND, TLS codes) and the
 * identity error's AADSTS fields, so the outermost middleware records the raw error here.
 */
export class GraphCallScope implements MiddlewareOptions {
  failure: unknown;
  /**
   * @param url sent exactly as given (an `@odata.nextLink`), instead of the URL the SDK rebuilds.
   * @param batchSlots the mailbox slots a `$batch` envelope holds: its URL names no mailbox, its items do.
   */
  constructor(
    readonly url?: string,
    readonly batchSlots?: { mailbox: string; weight: number },
  ) {}
}

function scopeOf(context: Context): GraphCallScope | undefined {
  const option = context.middlewareControl?.getMiddlewareOptions(GraphCallScope);
  return option instanceof GraphCallScope ? option : undefined;
}

function requestUrl(request: RequestInfo): string {
  return typeof request === 'string' ? request : request.url;
}

function setHeader(context: Context, name: string, value: string): void {
  context.options ??= {};
  const headers = context.options.headers;
  if (headers instanceof Headers) headers.set(name, value);
  else if (Array.isArray(headers)) headers.push([name, value]);
  else context.options.headers = { ...headers, [name]: value };
}

abstract class ChainedMiddleware implements Middleware {
  private nextMiddleware: Middleware | undefined;

  abstract execute(context: Context): Promise<void>;

  setNext(next: Middleware): void {
    this.nextMiddleware = next;
  }

  protected async next(context: Context): Promise<void> {
    if (!this.nextMiddleware)
      throw new Error(`${this.constructor.name} is the last middleware; HTTPMessageHandler must follow it`);
    await this.nextMiddleware.execute(context);
  }
}

/**
 * Attaches the app-only token. Unlike the SDK's AuthenticationHandler it does so for loopback http
 * too (the sandbox tenant), but only toward the Graph endpoint's own origin, so a link that points
 * elsewhere never receives the token.
 */
export class BearerAuthMiddleware extends ChainedMiddleware {
  constructor(
    private readonly getToken: (signal?: AbortSignal) => Promise<string>,
    private readonly graphOrigin: string,
  ) {
    super();
  }

  async execute(context: Context): Promise<void> {
    const scope = scopeOf(context);
    try {
      if (scope?.url !== undefined) context.request = scope.url;
      const url = requestUrl(context.request);
      if (new URL(url).origin !== this.graphOrigin)
        throw new ClawbackError(
          'Unknown',
          `Graph returned a link to ${new URL(url).origin}, outside ${this.graphOrigin}; it was not followed.`,
        );
      const token = await this.getToken(context.options?.signal ?? undefined);
      setHeader(context, 'Authorization', `Bearer ${token}`);
      await this.next(context);
    } catch (error) {
      if (scope) scope.failure = error;
      throw error;
    }
  }
}

/** Holds one of the mailbox's slots for the duration of each attempt (not during retry back-off). */
export class MailboxLimitMiddleware extends ChainedMiddleware {
  constructor(private readonly limiter: KeyedSemaphore) {
    super();
  }

  async execute(context: Context): Promise<void> {
    const batch = scopeOf(context)?.batchSlots;
    const mailbox = batch?.mailbox.toLowerCase() ?? mailboxOfUrl(requestUrl(context.request));
    if (mailbox === undefined) return this.next(context);
    const release = await this.limiter.acquire(
      mailbox,
      context.options?.signal ?? undefined,
      batch?.weight ?? 1,
    );
    try {
      await this.next(context);
    } finally {
      release();
    }
  }
}

/** The lower-case mailbox a `/users/{mailbox}/…` URL addresses. */
export function mailboxOfUrl(url: string): string | undefined {
  const segment = /\/users\/([^/?#]+)/.exec(new URL(url).pathname)?.[1];
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment).toLowerCase();
  } catch {
    return segment.toLowerCase();
  }
}

/**
 * Bounds each attempt, body included: the response is read into memory inside the deadline, so the
 * mailbox slot is held until Graph has finished answering and a stalled body cannot hang the caller.
 */
export class TimeoutMiddleware extends ChainedMiddleware {
  constructor(private readonly timeoutSeconds: number) {
    super();
  }

  async execute(context: Context): Promise<void> {
    context.options ??= {};
    const options = context.options;
    const callerSignal = options.signal ?? undefined;
    const timer = new AbortController();
    const handle = setTimeout(
      () => timer.abort(new GraphTimeoutError(this.timeoutSeconds)),
      this.timeoutSeconds * 1000,
    );
    options.signal = callerSignal ? AbortSignal.any([callerSignal, timer.signal]) : timer.signal;
    try {
      await this.next(context);
      const response = await buffered(context.response);
      if (response) context.response = response;
    } catch (error) {
      if (timer.signal.aborted) throw timer.signal.reason;
      throw error;
    } finally {
      clearTimeout(handle);
      options.signal = callerSignal ?? null;
    }
  }
}

async function buffered(response: Response | undefined): Promise<Response | undefined> {
  if (!response || response.body === null) return response;
  const body = await response.arrayBuffer();
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
