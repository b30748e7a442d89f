import type { Context, Middleware } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../../../local/sandbox/index.js';
import { ClawbackError, isClawbackError } from '../../../../shared/errors.js';
import { GraphClient } from '../../../../shared/mail/graph/client.js';
import { isGraphTimeoutError } from '../../../../shared/mail/graph/errors.js';
import { KeyedSemaphore } from '../../../../shared/mail/graph/mailboxLimiter.js';
import {
  BearerAuthMiddleware,
  GraphCallScope,
  MailboxLimitMiddleware,
  mailboxOfUrl,
  TimeoutMiddleware,
} from '../../../../shared/mail/graph/middleware.js';
import { ProfileMother } from '../../../mothers/profileMother.js';
import { pemSecrets, rejection, rewritingClient } from '../../../support/identity.js';
import { eventually, type RecordingGraph, settle, startRecordingGraph } from './recordingGraph.js';

const origin = 'https://graph.example';

/** A context as the SDK hands it to a middleware; `scope` is what client.call attaches. */
const contextOf = (request: string, options?: RequestInit, scope?: GraphCallScope): Context =>
  ({
    request,
    options,
    ...(scope === undefined
      ? {}
      : {
          middlewareControl: { getMiddlewareOptions: () => scope } as unknown as Context['middlewareControl'],
        }),
  }) as Context;

/** The next middleware: records what it was handed and does `act`. */
const nextDoing = (act: (context: Context) => Promise<void> | void = () => undefined) => {
  const seen: { request: string; headers: unknown; signal: unknown }[] = [];
  const next: Middleware = {
    execute: async (context) => {
      seen.push({
        request: context.request as string,
        headers: context.options?.headers,
        signal: context.options?.signal,
      });
      await act(context);
    },
  };
  return { next, seen };
};

describe('BearerAuthMiddleware', () => {
  const bearer = (signals: unknown[] = []) =>
    new BearerAuthMiddleware((signal) => {
      signals.push(signal);
      return Promise.resolve('tok');
    }, origin);

  it('refuses to be the last middleware', async () => {
    await expect(bearer().execute(contextOf(`${origin}/v1.0/me`, {}))).rejects.toThrow(
      'BearerAuthMiddleware is the last middleware; HTTPMessageHandler must follow it',
    );
  });

  it('adds the token to plain-object headers, keeping the others', async () => {
    const middleware = bearer();
    const { next, seen } = nextDoing();
    middleware.setNext(next);
    await middleware.execute(contextOf(`${origin}/v1.0/me`, { headers: { Prefer: 'x' } }));
    expect(seen[0]?.headers).toEqual({ Prefer: 'x', Authorization: 'Bearer tok' });
  });

  it('adds the token to Headers and to header lists, and to a request without options', async () => {
    const middleware = bearer();
    const { next, seen } = nextDoing();
    middleware.setNext(next);
    await middleware.execute(contextOf(`${origin}/v1.0/me`, { headers: new Headers({ Prefer: 'x' }) }));
    await middleware.execute(contextOf(`${origin}/v1.0/me`, { headers: [['Prefer', 'x']] }));
    await middleware.execute(contextOf(`${origin}/v1.0/me`));
    expect(Object.fromEntries((seen[0]?.headers as Headers).entries())).toEqual({
      prefer: 'x',
      authorization: 'Bearer tok',
    });
    expect(seen[1]?.headers).toEqual([
      ['Prefer', 'x'],
      ['Authorization', 'Bearer tok'],
    ]);
    expect(seen[2]?.headers).toEqual({ Authorization: 'Bearer tok' });
  });

  it("asks for the token with the request's signal", async () => {
    const signals: unknown[] = [];
    const middleware = bearer(signals);
    middleware.setNext(nextDoing().next);
    const signal = new AbortController().signal;
    await middleware.execute(contextOf(`${origin}/v1.0/me`, { signal }));
    await middleware.execute(contextOf(`${origin}/v1.0/me`, { signal: null }));
    expect(signals).toEqual([signal, undefined]);
  });

  it("sends a scope's URL verbatim, and the SDK's URL without one", async () => {
    const middleware = bearer();
    const { next, seen } = nextDoing();
    middleware.setNext(next);
    const link = `${origin}/v1.0/users/a/messages?$skiptoken=x%2Fy`;
    await middleware.execute(contextOf(`${origin}/v1.0/`, {}, new GraphCallScope(link)));
    await middleware.execute(contextOf(`${origin}/v1.0/me`, {}, new GraphCallScope()));
    await middleware.execute(contextOf(`${origin}/v1.0/me?x=1`, {}));
    expect(seen.map((s) => s.request)).toEqual([link, `${origin}/v1.0/me`, `${origin}/v1.0/me?x=1`]);
  });

  it('never sends the token to another origin, and records the refusal in the scope', async () => {
    const middleware = bearer();
    const { next, seen } = nextDoing();
    middleware.setNext(next);
    const scope = new GraphCallScope('https://evil.example/v1.0/users/a/messages');
    const error = await middleware.execute(contextOf(`${origin}/v1.0/`, {}, scope)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClawbackError);
    expect(error).toMatchObject({
      code: 'Unknown',
      message: `Graph returned a link to https://evil.example, outside ${origin}; it was not followed.`,
    });
    expect(scope.failure).toBe(error);
    expect(seen).toEqual([]);
    await expect(middleware.execute(contextOf('https://evil.example/x', {}))).rejects.toMatchObject({
      code: 'Unknown',
    });
  });

  it("records the next middleware's failure in the scope and rethrows it", async () => {
    const middleware = bearer();
    const failure = new Error('socket hang up');
    middleware.setNext(nextDoing(() => Promise.reject(failure)).next);
    const scope = new GraphCallScope();
    await expect(middleware.execute(contextOf(`${origin}/v1.0/me`, {}, scope))).rejects.toBe(failure);
    expect(scope.failure).toBe(failure);
  });
});

describe('MailboxLimitMiddleware', () => {
  class RecordingLimiter extends KeyedSemaphore {
    readonly calls: [string, AbortSignal | undefined, number | undefined][] = [];
    override acquire(key: string, signal?: AbortSignal, weight?: number) {
      this.calls.push([key, signal, weight]);
      return super.acquire(key, signal, weight);
    }
  }
  const limited = (act?: (context: Context) => Promise<void> | void) => {
    const limiter = new RecordingLimiter(4);
    const middleware = new MailboxLimitMiddleware(limiter);
    const during: number[] = [];
    middleware.setNext(
      nextDoing(async (context) => {
        during.push(limiter.active(mailboxOfUrl(context.request as string) ?? 'x@y.com'));
        await act?.(context);
      }).next,
    );
    return { limiter, middleware, during };
  };

  it("holds one slot of the URL's mailbox, with the request's signal, for the attempt", async () => {
    const { limiter, middleware, during } = limited();
    const signal = new AbortController().signal;
    await middleware.execute(contextOf(`${origin}/v1.0/users/Ann%40Contoso.com/messages`, { signal }));
    await middleware.execute(contextOf(`${origin}/v1.0/users/ann@contoso.com/messages`));
    expect(limiter.calls).toEqual([
      ['ann@contoso.com', signal, 1],
      ['ann@contoso.com', undefined, 1],
    ]);
    expect(during).toEqual([1, 1]);
    expect(limiter.active('ann@contoso.com')).toBe(0);
  });

  it("holds a batch's slots under its lower-cased mailbox, as many as it has items", async () => {
    const { limiter, middleware, during } = limited();
    await middleware.execute(
      contextOf(
        `${origin}/v1.0/$batch`,
        {},
        new GraphCallScope(undefined, { mailbox: 'X@Y.com', weight: 3 }),
      ),
    );
    expect(limiter.calls).toEqual([['x@y.com', undefined, 3]]);
    expect(during).toEqual([3]);
    expect(limiter.active('x@y.com')).toBe(0);
  });

  it('holds no slot for a request that names no mailbox', async () => {
    const { limiter, middleware } = limited();
    const { next, seen } = nextDoing();
    middleware.setNext(next);
    await middleware.execute(contextOf(`${origin}/v1.0/groups?$filter=x`, {}, new GraphCallScope()));
    expect(limiter.calls).toEqual([]);
    expect(seen).toHaveLength(1);
  });

  it('gives the slot back when the attempt fails', async () => {
    const { limiter, middleware } = limited(() => Promise.reject(new Error('down')));
    await expect(middleware.execute(contextOf(`${origin}/v1.0/users/b@c.d/messages`))).rejects.toThrow(
      'down',
    );
    expect(limiter.active('b@c.d')).toBe(0);
  });
});

describe('mailboxOfUrl', () => {
  it.each([
    ['https://g/v1.0/users/Ann%40Contoso.com/messages?$top=1', 'ann@contoso.com'],
    ['https://g/v1.0/users/ann@contoso.com', 'ann@contoso.com'],
    ['https://g/v1.0/users/ann@contoso.com?$select=id', 'ann@contoso.com'],
    ['https://g/v1.0/users/ann@contoso.com#x', 'ann@contoso.com'],
    ['https://g/v1.0/users/Bad%E0%A4%A', 'bad%e0%a4%a'],
    ['https://g/v1.0/groups/1/members', undefined],
    ['https://g/v1.0/users/', undefined],
  ])('%s → %s', (url, mailbox) => {
    expect(mailboxOfUrl(url)).toBe(mailbox);
  });
});

describe('TimeoutMiddleware', () => {
  it('bounds the attempt with its own signal and gives the caller back its own, or none', async () => {
    const middleware = new TimeoutMiddleware(15);
    const { next, seen } = nextDoing();
    middleware.setNext(next);
    const caller = new AbortController();
    const withCaller = contextOf(`${origin}/v1.0/me`, { signal: caller.signal });
    const without = contextOf(`${origin}/v1.0/me`);
    await middleware.execute(withCaller);
    await middleware.execute(without);
    expect(seen.map((s) => s.signal instanceof AbortSignal && s.signal !== caller.signal)).toEqual([
      true,
      true,
    ]);
    expect(withCaller.options?.signal).toBe(caller.signal);
    expect(without.options?.signal).toBeNull();
  });

  it("lets the caller's abort through to the attempt", async () => {
    const middleware = new TimeoutMiddleware(15);
    const caller = new AbortController();
    let attempt: AbortSignal | undefined;
    middleware.setNext(
      nextDoing((context) => {
        attempt = context.options?.signal ?? undefined;
        caller.abort(new Error('stop'));
      }).next,
    );
    await middleware.execute(contextOf(`${origin}/v1.0/me`, { signal: caller.signal }));
    expect(attempt?.aborted).toBe(true);
  });

  it('aborts an attempt that outlives the timeout with a GraphTimeoutError', async () => {
    const middleware = new TimeoutMiddleware(0.05);
    middleware.setNext(
      nextDoing(
        (context) =>
          new Promise<void>((_, reject) => {
            const signal = context.options?.signal;
            signal?.addEventListener('abort', () => reject(new TypeError('fetch failed')));
          }),
      ).next,
    );
    const error = await middleware.execute(contextOf(`${origin}/v1.0/me`)).catch((e: unknown) => e);
    expect(isGraphTimeoutError(error)).toBe(true);
    expect((error as { timeoutSeconds: number }).timeoutSeconds).toBe(0.05);
  });

  it('lets an attempt that ends within the timeout finish', async () => {
    const middleware = new TimeoutMiddleware(1);
    middleware.setNext(nextDoing(() => new Promise((resolve) => setTimeout(resolve, 30))).next);
    const context = contextOf(`${origin}/v1.0/me`);
    await middleware.execute(context);
    expect(context.options?.signal).toBeNull();
  });

  it("rethrows the attempt's own failure", async () => {
    const middleware = new TimeoutMiddleware(15);
    const failure = new Error('refused');
    middleware.setNext(nextDoing(() => Promise.reject(failure)).next);
    await expect(middleware.execute(contextOf(`${origin}/v1.0/me`))).rejects.toBe(failure);
  });

  it('reads the body within the attempt, keeping status, status text and headers', async () => {
    const middleware = new TimeoutMiddleware(15);
    const original = new Response('{"a":1}', {
      status: 201,
      statusText: 'Created',
      headers: { 'x-ms-ags-diagnostic': 'd' },
    });
    middleware.setNext(nextDoing((context) => void (context.response = original)).next);
    const context = contextOf(`${origin}/v1.0/me`, {});
    await middleware.execute(context);
    expect(original.bodyUsed).toBe(true);
    expect(context.response).not.toBe(original);
    expect(context.response?.status).toBe(201);
    expect(context.response?.statusText).toBe('Created');
    expect(context.response?.headers.get('x-ms-ags-diagnostic')).toBe('d');
    expect(await context.response?.json()).toEqual({ a: 1 });
  });

  it('fails the attempt when the body breaks off, and leaves a body-less answer as it is', async () => {
    const middleware = new TimeoutMiddleware(15);
    const broken = new Response(
      new ReadableStream({
        pull: (controller) => controller.error(new Error('body broke off')),
      }),
    );
    middleware.setNext(nextDoing((context) => void (context.response = broken)).next);
    await expect(middleware.execute(contextOf(`${origin}/v1.0/me`, {}))).rejects.toThrow('body broke off');

    const empty = new Response(null, { status: 204 });
    middleware.setNext(nextDoing((context) => void (context.response = empty)).next);
    const context = contextOf(`${origin}/v1.0/me`, {});
    await middleware.execute(context);
    expect(context.response).toBe(empty);
  });
});

describe('the middleware in the Graph client, against the sandbox tenant', () => {
  const tenantId = '6a1f0c2e-58b4-4d0c-9a51-0f3c6a7d2b10';
  const clientId = '0b8f7a3c-2d4e-4f61-8a9b-1c2d3e4f5a6b';
  const appCert = createAppCertificate('clawback-graph-middleware-mutants');
  const user = 'lee@contoso.com';
  let tenant: SandboxTenant;
  let front: RecordingGraph;
  let elsewhere: RecordingGraph;

  const clientFor = (graphEndpoint = front.graphEndpoint) =>
    new GraphClient(
      ProfileMother.sandboxGraph(
        { tenantId, clientId },
        { authorityHost: tenant.publicAuthorityHost, graphEndpoint },
      ),
      {
        secrets: pemSecrets(appCert.pemBundle),
        identityHttpClient: rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost),
        timeoutSeconds: 15,
        maxAttempts: 1,
      },
    );
  const root = `/users/${user}/mailFolders/msgfolderroot`;
  const get = (client: GraphClient, options?: { abortSignal?: AbortSignal }) =>
    client.call('connection test', user, root, options, (r) => r.get() as Promise<{ id: string }>);

  beforeAll(async () => {
    tenant = await startSandboxTenant({
      apps: [{ tenantId, clientId, certificatePem: appCert.certPem }],
      mailboxes: [{ address: user }],
    });
    front = await startRecordingGraph(tenant.baseUrl);
    elsewhere = await startRecordingGraph(tenant.baseUrl);
  });
  afterAll(async () => {
    await front.close();
    await elsewhere.close();
    await tenant.close();
  });
  beforeEach(() => {
    front.clear();
    elsewhere.clear();
  });

  it('keeps the socket error of an unreachable Graph in the report', async () => {
    const error = await rejection(get(clientFor('http://127.0.0.1:1/graph')));
    expect(error).toMatchObject({
      code: 'ConnectionError',
      retryable: true,
      message: 'Could not reach 127.0.0.1:1 during connection test (ECONNREFUSED).',
    });
  });

  it('does not follow a link to another origin, and sends that origin nothing', async () => {
    const link = `${elsewhere.graphEndpoint}/v1.0/users/${user}/messages?$skiptoken=x`;
    const error = await rejection(
      clientFor().pages('search', user, { value: [], '@odata.nextLink': link }, undefined),
    );
    expect(error.code).toBe('Unknown');
    expect(error.message).toBe(
      `Graph returned a link to ${elsewhere.base}, outside ${front.base}; it was not followed.`,
    );
    expect(elsewhere.seen).toEqual([]);
    expect(front.seen).toEqual([]);
  });

  it("stops a request Graph is still answering when the caller's signal aborts", async () => {
    const client = clientFor();
    await get(client);
    front.clear();
    const release = front.hold('msgfolderroot');
    const caller = new AbortController();
    const call = get(client, { abortSignal: caller.signal }).then(
      () => 'answered',
      (e: unknown) => (isClawbackError(e) ? e.message : String(e)),
    );
    expect(await eventually(() => front.seen.length === 1)).toBe(true);
    caller.abort();
    await settle(4);
    release();
    // Never answered, and reported as the cancellation it is (NodeHttpHandler rejects with the signal's
    // reason, as fetch does), not as an unreachable Graph.
    expect(await call).toMatch(/ was cancelled before Graph answered\.$/);
    expect(front.seen).toHaveLength(1);
  });
});
