/**
 * Counting semaphores keyed by mailbox. Exchange Online allows four concurrent requests per app and
 * mailbox; a fifth is answered 429 MailboxConcurrency, so requests beyond the limit wait here instead.
 */
export class KeyedSemaphore {
  private readonly slots = new Map<string, { active: number; waiting: (() => void)[] }>();

  constructor(readonly limit: number) {}

  /** Resolves with a release function once a slot for `key` is free; rejects if `signal` aborts first. */
  async acquire(key: string, signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    let entry = this.slots.get(key);
    if (!entry) {
      entry = { active: 0, waiting: [] };
      this.slots.set(key, entry);
    }
    const slot = entry;
    if (slot.active < this.limit) {
      slot.active++;
      return this.releaser(key, slot);
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const index = slot.waiting.indexOf(grant);
        if (index >= 0) slot.waiting.splice(index, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new DOMException('Aborted', 'AbortError'));
      };
      slot.waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return this.releaser(key, slot);
  }

  /** Requests currently holding a slot for `key`. */
  active(key: string): number {
    return this.slots.get(key)?.active ?? 0;
  }

  private releaser(key: string, slot: { active: number; waiting: (() => void)[] }): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = slot.waiting.shift();
      // The slot passes straight to the next waiter, so the count never dips and lets a newcomer jump the queue.
      if (next) return next();
      slot.active--;
      if (slot.active === 0) this.slots.delete(key);
    };
  }
}

/** Per process, shared by every Graph profile: the limit is per mailbox, whoever asks. */
export const graphMailboxLimiter = new KeyedSemaphore(4);
