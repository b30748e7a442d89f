import { getEventListeners } from 'node:events';

import type { XhrApi } from '@ewsjs/xhr';
import type { IXHROptions } from 'ews-javascript-api';
import { describe, expect, it, vi } from 'vitest';

import {
  EwsDeadlineExceeded,
  EwsHttpFailure,
  EwsNetworkFailure,
} from '../../../../shared/mail/ews/errors.js';
import {
  GuardedXhr,
  handleUnhandledRejection,
  isLibraryRejection,
  sleep,
  withDeadline,
} from '../../../../shared/mail/ews/transport.js';

/** An inner XhrApi whose requests are settled by the test, one by one. */
function scriptedInner() {
  const pending: { resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  const inner = {
    apiName: 'scripted',
    disconnects: 0,
    xhr: () =>
      new Promise((resolve, reject) => {
        pending.push({ resolve, reject });
      }),
    xhrStream: () => Promise.reject(new Error('unused')),
    disconnect() {
      inner.disconnects += 1;
    },
  };
  return { inner, pending, guarded: new GuardedXhr(inner as unknown as XhrApi) };
}

const options: IXHROptions = { url: 'http://127.0.0.1/EWS/Exchange.asmx', type: 'POST' };

async function failureFor(raw: unknown): Promise<Error | undefined> {
  const { pending, guarded } = scriptedInner();
  guarded.beginAttempt();
  const call = guarded.xhr(options).catch((e: unknown) => e);
  pending[0]?.reject(raw);
  await call;
  return guarded.takeFailure();
}

describe('GuardedXhr attempts', () => {
  it('a failure of a request from an earlier attempt that ends late is not taken', async () => {
    const { pending, guarded } = scriptedInner();
    guarded.beginAttempt();
    const early = guarded.xhr(options).catch((e: unknown) => e);
    guarded.beginAttempt();
    pending[0]?.reject(Object.assign(new Error('late'), { code: 'ECONNRESET' }));
    await early;
    expect(guarded.takeFailure()).toBeUndefined();
  });

  it('a late failure of an earlier attempt does not overwrite the current attempt’s failure', async () => {
    const { pending, guarded } = scriptedInner();
    guarded.beginAttempt();
    const early = guarded.xhr(options).catch((e: unknown) => e);
    guarded.beginAttempt();
    const current = guarded.xhr(options).catch((e: unknown) => e);
    pending[1]?.reject(Object.assign(new Error('current'), { code: 'ECONNREFUSED' }));
    await current;
    pending[0]?.reject(Object.assign(new Error('late'), { code: 'ECONNRESET' }));
    await early;
    const failure = guarded.takeFailure();
    expect(failure).toBeInstanceOf(EwsNetworkFailure);
    expect((failure as EwsNetworkFailure).code).toBe('ECONNREFUSED');
    expect(guarded.takeFailure()).toBeUndefined();
  });

  it('disconnect reaches the inner XHR layer', () => {
    const { inner, guarded } = scriptedInner();
    guarded.disconnect();
    expect(inner.disconnects).toBe(1);
    expect(guarded.apiName).toBe('scripted');
  });
});

describe('GuardedXhr failure description', () => {
  it('an HTTP status keeps the body and the Retry-After header', async () => {
    const failure = await failureFor({
      status: 503,
      responseText: 'busy',
      getResponseHeader: (name: string) => (name === 'retry-after' ? '7' : null),
    });
    expect(failure).toBeInstanceOf(EwsHttpFailure);
    expect(failure).toMatchObject({ status: 503, body: 'busy', retryAfter: '7' });
  });

  it('an HTTP status without a text body has an empty body', async () => {
    const failure = await failureFor({ status: 500, responseText: { not: 'text' } });
    expect(failure).toMatchObject({ status: 500, body: '', retryAfter: undefined });
    expect(failure?.message).toBe('HTTP 500 with an empty body');
  });

  it('status 0 is a network failure, not an HTTP one', async () => {
    const failure = await failureFor({ status: 0, code: 'ECONNRESET', message: 'socket hang up' });
    expect(failure).toBeInstanceOf(EwsNetworkFailure);
    expect(failure).toMatchObject({ code: 'ECONNRESET', message: 'socket hang up' });
  });

  it('no status at all is a network failure carrying the error message', async () => {
    const failure = await failureFor(Object.assign(new Error('boom'), { code: 'EPIPE' }));
    expect(failure).toBeInstanceOf(EwsNetworkFailure);
    expect(failure).toMatchObject({ code: 'EPIPE', message: 'boom' });
  });

  it('an empty message falls back to the text of the raw failure', async () => {
    const failure = await failureFor({ message: '' });
    expect(failure).toBeInstanceOf(EwsNetworkFailure);
    expect(failure?.message).toBe('[object Object]');
    expect((failure as EwsNetworkFailure).code).toBeUndefined();
  });
});

describe('withDeadline', () => {
  it('an already aborted signal rejects at once, even when the call never settles', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    const error = await withDeadline(new Promise(() => undefined), 60_000, controller.signal).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EwsNetworkFailure);
    expect(error).toMatchObject({ code: 'ABORT_ERR', message: 'cancelled: stop' });
  });

  it('an abort during the call rejects with the abort reason', async () => {
    const controller = new AbortController();
    const pending = withDeadline(new Promise(() => undefined), 60_000, controller.signal).catch(
      (e: unknown) => e,
    );
    controller.abort('user');
    expect(await pending).toMatchObject({ code: 'ABORT_ERR', message: 'cancelled by the caller' });
  });

  it('removes its abort listener once the call settles', async () => {
    const controller = new AbortController();
    expect(await withDeadline(Promise.resolve(42), 60_000, controller.signal)).toBe(42);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('a call that never settles ends with EwsDeadlineExceeded', async () => {
    const error = await withDeadline(new Promise(() => undefined), 20).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EwsDeadlineExceeded);
  });
});

describe('sleep', () => {
  it('an already aborted signal rejects at once', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    const error = await sleep(60_000, controller.signal).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ABORT_ERR', message: 'cancelled: gone' });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('an abort while sleeping rejects and leaves no listener behind', async () => {
    const controller = new AbortController();
    const pending = sleep(3000, controller.signal).catch((e: unknown) => e);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    const error = await pending;
    expect(error).toBeInstanceOf(EwsNetworkFailure);
    expect(error).toMatchObject({ code: 'ABORT_ERR' });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('a sleep that ends removes its abort listener', async () => {
    const controller = new AbortController();
    await sleep(1, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('stray rejections', () => {
  const libraryError = (path: string) => {
    const error = new TypeError('bad xml');
    error.stack = `TypeError: bad xml\n    at parse (${path}:1:1)`;
    return error;
  };

  it.each(['/app/node_modules/@ewsjs/xhr/dist/index.js', 'C:\\app\\node_modules\\@ewsjs\\xhr\\index.js'])(
    'a rejection raised in @ewsjs is the library’s (%s)',
    (path) => {
      expect(isLibraryRejection(libraryError(path))).toBe(true);
    },
  );

  it('a rejection elsewhere is not the library’s', () => {
    expect(isLibraryRejection(libraryError('/app/node_modules/@ewsjsx/other.js'))).toBe(false);
    expect(isLibraryRejection('text')).toBe(false);
  });

  it('logs a library stray with its name and message and swallows it', () => {
    const lines: string[] = [];
    handleUnhandledRejection(libraryError('/x/ews-javascript-api/js/a.js'), (l) => lines.push(l), 0);
    expect(lines).toEqual(['ews: ignored a stray rejection from ews-javascript-api (TypeError: bad xml)']);
  });

  it('logs anything else and re-throws it only when no other listener exists', () => {
    const lines: string[] = [];
    const bug = new RangeError('ours');
    expect(() => handleUnhandledRejection(bug, (l) => lines.push(l), 1)).not.toThrow();
    expect(() => handleUnhandledRejection(bug, (l) => lines.push(l), 0)).toThrow(bug);
    expect(lines).toEqual([
      'unhandled rejection outside EWS: RangeError: ours',
      'unhandled rejection outside EWS: RangeError: ours',
    ]);
  });

  it('the guard is installed once and re-throws a foreign rejection when it is the only listener', async () => {
    vi.resetModules();
    const fresh = await import('../../../../shared/mail/ews/transport.js');
    const before = process.listeners('unhandledRejection');
    const lines: string[] = [];
    fresh.installStrayRejectionGuard((l) => lines.push(l));
    fresh.installStrayRejectionGuard((l) => lines.push(`second: ${l}`));
    const added = process.listeners('unhandledRejection').filter((l) => !before.includes(l));
    expect(added).toHaveLength(1);
    const guard = added[0] as (reason: unknown, promise: Promise<unknown>) => void;
    for (const other of before) process.removeListener('unhandledRejection', other);
    try {
      const bug = new RangeError('ours');
      expect(() => process.emit('unhandledRejection', bug, Promise.resolve())).toThrow(bug);
      process.emit('unhandledRejection', libraryError('/x/@ewsjs/xhr/a.js'), Promise.resolve());
    } finally {
      process.removeListener('unhandledRejection', guard);
      for (const other of before) process.on('unhandledRejection', other);
    }
    expect(lines).toEqual([
      'unhandled rejection outside EWS: RangeError: ours',
      'ews: ignored a stray rejection from ews-javascript-api (TypeError: bad xml)',
    ]);
  });
});
