import { describe, expect, it } from 'vitest';

import { ClawbackError } from '../../../../shared/errors.js';
import {
  type BatchRequest,
  type BatchResponse,
  type GraphBatchItemError,
  runBatch,
  type RunBatchOptions,
} from '../../../../shared/mail/graph/batch.js';
import { translateGraphError } from '../../../../shared/mail/graph/errors.js';

type Envelope = (BatchRequest & { id: string })[];

/** A fake `$batch` endpoint: answers each item with `answer`, in reverse order, and records envelopes. */
function fakeGraph(
  answer: (item: BatchRequest & { id: string }, attempt: number) => Omit<BatchResponse, 'id'>,
) {
  const envelopes: Envelope[] = [];
  const attempts = new Map<string, number>();
  const send = (items: Envelope): Promise<BatchResponse[]> => {
    envelopes.push(items);
    const responses = items.map((item) => {
      const attempt = (attempts.get(item.url) ?? 0) + 1;
      attempts.set(item.url, attempt);
      return { id: item.id, ...answer(item, attempt) };
    });
    return Promise.resolve(responses.reverse());
  };
  return { envelopes, send };
}

const options = (send: RunBatchOptions['send'], maxAttempts = 3): RunBatchOptions => ({
  send,
  maxAttempts,
  fallbackDelayMs: 1,
  translate: (error: GraphBatchItemError) =>
    translateGraphError(error, { operation: 'test', mailbox: 'a@b.c' }),
});

const get = (url: string): BatchRequest => ({ method: 'GET', url });
const throttled = (retryAfter: string) => ({
  status: 429,
  headers: { 'Retry-After': retryAfter },
  body: { error: { code: 'TooManyRequests', message: 'Please retry again later.' } },
});

describe('runBatch', () => {
  it('matches answers to requests by id whatever order Graph returns them in', async () => {
    const graph = fakeGraph((item) => ({ status: 200, body: { url: item.url } }));
    const results = await runBatch([get('/one'), get('/two'), get('/three')], options(graph.send));
    expect(results.map((r) => (r.ok ? r.body : undefined))).toEqual([
      { url: '/one' },
      { url: '/two' },
      { url: '/three' },
    ]);
  });

  it('sends at most 20 requests per envelope', async () => {
    const graph = fakeGraph(() => ({ status: 204 }));
    const requests = Array.from({ length: 45 }, (_, i) => get(`/item/${i}`));
    const results = await runBatch(requests, options(graph.send));
    expect(graph.envelopes.map((e) => e.length)).toEqual([20, 20, 5]);
    expect(results.every((r) => r.ok)).toBe(true);
  });

  it.each([
    ['seconds', '0'],
    ['an HTTP date in the past', new Date(Date.now() - 60_000).toUTCString()],
    ['an HTTP date a second ahead', new Date(Date.now() + 1000).toUTCString()],
  ])('re-batches only the throttled items after their Retry-After in %s', async (_form, retryAfter) => {
    const graph = fakeGraph((item, attempt) =>
      item.url === '/slow' && attempt === 1 ? throttled(retryAfter) : { status: 200, body: {} },
    );
    const results = await runBatch([get('/fast'), get('/slow')], options(graph.send));
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(graph.envelopes.map((e) => e.map((i) => i.url))).toEqual([['/fast', '/slow'], ['/slow']]);
  });

  it('gives up on an item still throttled after maxAttempts, as Throttled and retryable', async () => {
    const graph = fakeGraph((item) => (item.url === '/busy' ? throttled('0') : { status: 200, body: {} }));
    const [busy, fine] = await runBatch([get('/busy'), get('/fine')], options(graph.send, 3));
    expect(graph.envelopes).toHaveLength(3);
    expect(fine?.ok).toBe(true);
    expect(busy).toMatchObject({
      ok: false,
      status: 429,
      error: { code: 'Throttled', retryable: true, retryAfterMs: 0 },
    });
  });

  it('translates a permanent item failure at once, without retrying it', async () => {
    const graph = fakeGraph(() => ({
      status: 404,
      body: {
        error: { code: 'ErrorItemNotFound', message: 'The specified object was not found in the store.' },
      },
    }));
    const [gone] = await runBatch([get('/gone')], options(graph.send));
    expect(graph.envelopes).toHaveLength(1);
    expect(gone).toMatchObject({ ok: false, error: { code: 'MessageNotFound' } });
    expect(!gone?.ok && gone?.error).toBeInstanceOf(ClawbackError);
  });

  it('reports an item the answer left out instead of waiting for it', async () => {
    const send = (items: Envelope) => Promise.resolve(items.slice(1).map((i) => ({ id: i.id, status: 200 })));
    const [missing, present] = await runBatch([get('/a'), get('/b')], options(send));
    expect(missing).toMatchObject({ ok: false, error: { code: 'Unknown' } });
    expect(present?.ok).toBe(true);
  });

  it('stops waiting for a Retry-After when the caller aborts', async () => {
    const graph = fakeGraph(() => throttled('30'));
    const controller = new AbortController();
    const run = runBatch([get('/a')], { ...options(graph.send), abortSignal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
  });
});
