import { describe, expect, it } from 'vitest';

import { KeyedSemaphore } from '../../shared/mail/graph/mailboxLimiter.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedSemaphore', () => {
  it('holds a batch until as many slots as it has items are free at once', async () => {
    const limiter = new KeyedSemaphore(4);
    const single = await limiter.acquire('a@b.c');
    let batchStarted = false;
    const batch = limiter.acquire('a@b.c', undefined, 4).then((release) => {
      batchStarted = true;
      return release;
    });
    await tick();
    expect(batchStarted).toBe(false);
    single();
    const release = await batch;
    expect(limiter.active('a@b.c')).toBe(4);
    release();
    expect(limiter.active('a@b.c')).toBe(0);
  });

  it('counts a batch of more than the limit as the limit', async () => {
    const limiter = new KeyedSemaphore(4);
    const release = await limiter.acquire('a@b.c', undefined, 20);
    expect(limiter.active('a@b.c')).toBe(4);
    release();
  });

  it('serves waiters in arrival order, so singles do not starve a waiting batch', async () => {
    const limiter = new KeyedSemaphore(4);
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
    const limiter = new KeyedSemaphore(4);
    const a = await limiter.acquire('a@b.c', undefined, 4);
    const b = await limiter.acquire('b@b.c', undefined, 4);
    expect([limiter.active('a@b.c'), limiter.active('b@b.c')]).toEqual([4, 4]);
    a();
    b();
  });

  it('lets lighter waiters through when a heavy waiter gives up', async () => {
    const limiter = new KeyedSemaphore(4);
    const held = await limiter.acquire('a@b.c', undefined, 2);
    const controller = new AbortController();
    const heavy = limiter.acquire('a@b.c', controller.signal, 4);
    const light = limiter.acquire('a@b.c');
    controller.abort();
    await expect(heavy).rejects.toThrow();
    const release = await light;
    expect(limiter.active('a@b.c')).toBe(3);
    release();
    held();
  });
});
