import { getEventListeners } from 'node:events';

import { describe, expect, it } from 'vitest';

import { KeyedSemaphore } from '../../../../shared/mail/graph/mailboxLimiter.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));
const mailbox = 'mutants@b.c';

/** A semaphore of four with every slot of `mailbox` taken; `releases` frees them. */
async function full() {
  const limiter = new KeyedSemaphore(4);
  const releases = await Promise.all([1, 2, 3, 4].map(() => limiter.acquire(mailbox)));
  return { limiter, releases };
}

describe('KeyedSemaphore (mailboxLimiter.ts)', () => {
  it("stops listening to the caller's signal once a waiting request gets its slot", async () => {
    const { limiter, releases } = await full();
    const controller = new AbortController();
    const waiting = limiter.acquire(mailbox, controller.signal);
    await tick();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    releases[0]?.();
    const release = await waiting;
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    controller.abort();
    expect(limiter.active(mailbox)).toBe(4);
    release();
    releases.slice(1).forEach((r) => r());
    expect(limiter.active(mailbox)).toBe(0);
  });

  it("stops listening to the caller's signal once a waiting request gives up", async () => {
    const { limiter, releases } = await full();
    const controller = new AbortController();
    const waiting = limiter.acquire(mailbox, controller.signal);
    await tick();
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    releases.forEach((r) => r());
    expect(limiter.active(mailbox)).toBe(0);
  });

  it('rejects a waiter aborted with a reason that is no Error as an AbortError saying Aborted', async () => {
    const { limiter, releases } = await full();
    const controller = new AbortController();
    const waiting = limiter.acquire(mailbox, controller.signal);
    controller.abort('run cancelled');
    const error: unknown = await waiting.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DOMException);
    expect(error).toMatchObject({ name: 'AbortError', message: 'Aborted' });
    releases.forEach((r) => r());
  });

  it('rejects a waiter with the Error its signal was aborted with', async () => {
    const { limiter, releases } = await full();
    const controller = new AbortController();
    const waiting = limiter.acquire(mailbox, controller.signal);
    const reason = new Error('deadline passed');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    releases.forEach((r) => r());
  });

  it('frees the slots of a release called twice only once', async () => {
    const { limiter, releases } = await full();
    releases[0]?.();
    releases[0]?.();
    expect(limiter.active(mailbox)).toBe(3);
    let admitted = 0;
    const next = [1, 2].map(() => limiter.acquire(mailbox).then((r) => ((admitted += 1), r)));
    await tick();
    expect(admitted).toBe(1);
    releases.slice(1).forEach((r) => r());
    (await Promise.all(next)).forEach((r) => r());
    expect(limiter.active(mailbox)).toBe(0);
  });

  it('keeps a waiting batch waiting while only some of the slots it needs are free', async () => {
    const limiter = new KeyedSemaphore(4);
    const singles = await Promise.all([1, 2].map(() => limiter.acquire(mailbox)));
    let batchStarted = false;
    const batch = limiter.acquire(mailbox, undefined, 4).then((r) => ((batchStarted = true), r));
    singles[0]?.();
    await tick();
    expect(batchStarted).toBe(false);
    expect(limiter.active(mailbox)).toBe(1);
    singles[1]?.();
    (await batch)();
    expect(limiter.active(mailbox)).toBe(0);
  });

  it('forgets a mailbox once its last slot is released and nobody waits for one', async () => {
    const limiter = new KeyedSemaphore(4);
    const slots = Reflect.get(limiter, 'slots') as Map<string, unknown>;
    const first = await limiter.acquire(mailbox);
    const waiting = limiter.acquire(mailbox, undefined, 4);
    first();
    expect([...slots.keys()]).toEqual([mailbox]);
    (await waiting)();
    expect(slots.size).toBe(0);
  });
});
