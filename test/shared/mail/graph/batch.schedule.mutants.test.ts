import { beforeEach, describe, expect, it, vi } from 'vitest';

import type { ClawbackError } from '../../../../shared/errors.js';
import { type BatchRequest, type BatchResponse, runBatch } from '../../../../shared/mail/graph/batch.js';

/**
 * The retry schedule of `runBatch` on a virtual clock: `Date.now` reads it and every sleep moves it
 * on by exactly the time asked for, so the order and the instant of each envelope are exact, however
 * busy the machine is. GraphClient fixes the fallback delay at 3 s; these tests pass shorter ones.
 */
const clock = vi.hoisted(() => ({ now: 0, sleeps: [] as number[] }));
vi.mock('node:timers/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:timers/promises')>();
  return {
    ...real,
    setTimeout: (ms = 0, value?: unknown) => {
      clock.sleeps.push(ms);
      clock.now += ms;
      return Promise.resolve(value);
    },
  };
});

const start = Date.parse('2026-01-01T00:00:00Z');
beforeEach(() => {
  clock.now = start;
  clock.sleeps = [];
  vi.spyOn(Date, 'now').mockImplementation(() => clock.now);
  return () => vi.restoreAllMocks();
});

type Envelope = (BatchRequest & { id: string })[];
const get = (url: string): BatchRequest => ({ method: 'GET', url });

const throttle = (retryAfter?: string): Omit<BatchResponse, 'id'> => ({
  status: 429,
  headers: retryAfter === undefined ? { 'content-type': 'application/json' } : { 'Retry-After': retryAfter },
  body: { error: { code: 'TooManyRequests', message: 'Slow down.' } },
});

/** Answers each url's attempts from `script` (200 once it runs out); records each envelope and when it came. */
const fakeGraph = (script: Record<string, Omit<BatchResponse, 'id'>[]>) => {
  const envelopes: { at: number; urls: string[] }[] = [];
  const attempts = new Map<string, number>();
  const send = (items: Envelope): Promise<BatchResponse[]> => {
    envelopes.push({ at: clock.now - start, urls: items.map((i) => i.url) });
    if (envelopes.length > 9) return Promise.reject(new Error('too many envelopes'));
    return Promise.resolve(
      items.map((item) => {
        const attempt = attempts.get(item.url) ?? 0;
        attempts.set(item.url, attempt + 1);
        return { id: item.id, ...(script[item.url]?.[attempt] ?? { status: 200, body: {} }) };
      }),
    );
  };
  return { envelopes, send };
};

const run = (
  requests: BatchRequest[],
  send: (items: Envelope) => Promise<BatchResponse[]>,
  fallbackDelayMs: number,
) =>
  runBatch(requests, {
    send,
    maxAttempts: 3,
    fallbackDelayMs,
    translate: (error) => error as unknown as ClawbackError,
  });

describe('runBatch retry schedule', () => {
  it("waits for each item's own Retry-After: one of 0.1 s goes before one on the 0.6 s fallback", async () => {
    const graph = fakeGraph({ '/fallback': [throttle()], '/told': [throttle('0.1')] });
    const results = await run([get('/fallback'), get('/told')], graph.send, 600);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(graph.envelopes).toEqual([
      { at: 0, urls: ['/fallback', '/told'] },
      { at: 100, urls: ['/told'] },
      { at: 600, urls: ['/fallback'] },
    ]);
  });

  it('sends the earliest ready item first: the 0.4 s fallback before a Retry-After of 0.6 s', async () => {
    const graph = fakeGraph({ '/fallback': [throttle()], '/told': [throttle('0.6')] });
    const results = await run([get('/fallback'), get('/told')], graph.send, 400);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(graph.envelopes).toEqual([
      { at: 0, urls: ['/fallback', '/told'] },
      { at: 400, urls: ['/fallback'] },
      { at: 600, urls: ['/told'] },
    ]);
  });

  it('doubles the fallback delay per attempt: the second retry comes 0.6 s after the first', async () => {
    const graph = fakeGraph({ '/fallback': [throttle(), throttle()], '/told': [throttle('0.7')] });
    const results = await run([get('/fallback'), get('/told')], graph.send, 300);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(graph.envelopes).toEqual([
      { at: 0, urls: ['/fallback', '/told'] },
      { at: 300, urls: ['/fallback'] },
      { at: 700, urls: ['/told'] },
      { at: 900, urls: ['/fallback'] },
    ]);
  });

  it('sends an item with Retry-After 0 again in the very next envelope, once, without sleeping', async () => {
    const graph = fakeGraph({ '/now': [throttle('0')] });
    const results = await run([get('/now')], graph.send, 60_000);
    expect(results).toEqual([{ ok: true, status: 200, body: {} }]);
    expect(graph.envelopes).toEqual([
      { at: 0, urls: ['/now'] },
      { at: 0, urls: ['/now'] },
    ]);
    expect(clock.sleeps).toEqual([]);
  });

  it('waits for a Retry-After in one sleep of exactly that long', async () => {
    const graph = fakeGraph({ '/later': [throttle('0.3')] });
    const results = await run([get('/later')], graph.send, 60_000);
    expect(results.map((r) => r.ok)).toEqual([true]);
    expect(graph.envelopes).toEqual([
      { at: 0, urls: ['/later'] },
      { at: 300, urls: ['/later'] },
    ]);
    expect(clock.sleeps).toEqual([300]);
  });
});
