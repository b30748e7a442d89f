import { describe, expect, it } from 'vitest';

import {
  graphMailboxConcurrency,
  graphMailboxLimiter,
} from '../../../../shared/mail/graph/mailboxLimiter.js';
import { mapConcurrently } from '../../../../shared/mail/graph/parallel.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('the Graph mailbox limiter (the production instance)', () => {
  it("admits Exchange Online's four concurrent requests per mailbox and holds the fifth", async () => {
    const held = await Promise.all([1, 2, 3, 4].map(() => graphMailboxLimiter.acquire('five@b.c')));
    let fifth = false;
    const waiting = graphMailboxLimiter.acquire('five@b.c').then((release) => {
      fifth = true;
      return release;
    });
    await tick();
    expect(fifth).toBe(false);
    held[0]?.();
    (await waiting)();
    held.slice(1).forEach((release) => release());
    expect(graphMailboxLimiter.active('five@b.c')).toBe(0);
  });

  it('holds a batch until as many slots as it has items are free at once', async () => {
    const limiter = graphMailboxLimiter;
    const single = await limiter.acquire('a@b.c');
    let batchStarted = false;
    const batch = limiter.acquire('a@b.c', undefined, graphMailboxConcurrency).then((release) => {
      batchStarted = true;
      return release;
    });
    await tick();
    expect(batchStarted).toBe(false);
    single();
    const release = await batch;
    expect(limiter.active('a@b.c')).toBe(graphMailboxConcurrency);
    release();
    expect(limiter.active('a@b.c')).toBe(0);
  });

  it('counts a batch of more than the limit as the limit', async () => {
    const limiter = graphMailboxLimiter;
    const release = await limiter.acquire('a@b.c', undefined, 20);
    expect(limiter.active('a@b.c')).toBe(graphMailboxConcurrency);
    release();
  });

  it('serves waiters in arrival order, so singles do not starve a waiting batch', async () => {
    const limiter = graphMailboxLimiter;
    const held = await Promise.all([1, 2, 3].map(() => limiter.acquire('a@b.c')));
    const order: string[] = [];
    const batch = limiter.acquire('a@b.c', undefined, 3).then((r) => (order.push('batch'), r));
    const late = limiter.acquire('a@b.c').then((r) => (order.push('single'), r));
    await tick();
    expect(order).toEqual([]);
    held.forEach((release) => release());
    const releases = await Promise.all([batch, late]);
    expect(order).toEqual(['batch', 'single']);
    releases.forEach((release) => release());
    expect(limiter.active('a@b.c')).toBe(0);
  });

  it('keeps mailboxes independent', async () => {
    const limiter = graphMailboxLimiter;
    const a = await limiter.acquire('a@b.c', undefined, graphMailboxConcurrency);
    const b = await limiter.acquire('b@b.c', undefined, graphMailboxConcurrency);
    expect([limiter.active('a@b.c'), limiter.active('b@b.c')]).toEqual([
      graphMailboxConcurrency,
      graphMailboxConcurrency,
    ]);
    a();
    b();
  });

  it('lets lighter waiters through when a heavy waiter gives up', async () => {
    const limiter = graphMailboxLimiter;
    const held = await limiter.acquire('a@b.c', undefined, 2);
    const controller = new AbortController();
    const heavy = limiter.acquire('a@b.c', controller.signal, graphMailboxConcurrency);
    const light = limiter.acquire('a@b.c');
    controller.abort();
    await expect(heavy).rejects.toThrow();
    const release = await light;
    expect(limiter.active('a@b.c')).toBe(3);
    release();
    held();
  });
});

describe('mapConcurrently', () => {
  it('runs at most the limit at once and keeps the order of the items', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapConcurrently([5, 1, 4, 2, 3, 0, 6], graphMailboxConcurrency, async (n) => {
      running += 1;
      peak = Math.max(peak, running);
      for (let i = 0; i < n; i++) await tick();
      running -= 1;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 0, 60]);
    expect(peak).toBe(graphMailboxConcurrency);
  });

  it('starts nothing after a failure, lets the started finish, then throws the first error', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const run = mapConcurrently([0, 1, 2, 3, 4, 5, 6, 7], 2, async (n) => {
      started.push(n);
      await tick();
      if (n === 1) throw new Error('item 1 failed');
      await tick();
      finished.push(n);
      return n;
    });
    await expect(run).rejects.toThrow('item 1 failed');
    expect(started).toEqual([0, 1]);
    expect(finished).toEqual([0]);
  });
});
