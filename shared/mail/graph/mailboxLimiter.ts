interface Waiter {
  weight: number;
  grant: () => void;
}

interface Slots {
  active: number;
  waiting: Waiter[];
}

/**
 * Counting semaphores keyed by mailbox. Exchange Online allows four concurrent requests per app and
 * mailbox; a fifth is answered 429 MailboxConcurrency, so requests beyond the limit wait here instead.
 * A JSON batch holds one slot per item it sends to the mailbox (Graph runs up to four of them at once).
 */
export class KeyedSemaphore {
  private readonly slots = new Map<string, Slots>();

  constructor(readonly limit: number) {}

  /**
   * Resolves with a release function once `weight` slots for `key` are free (all at once, so two
   * batches never deadlock holding half each); rejects if `signal` aborts first. Waiters are served in
   * arrival order, so a single request never jumps ahead of a waiting batch.
   */
  async acquire(key: string, signal?: AbortSignal, weight = 1): Promise<() => void> {
    signal?.throwIfAborted();
    const wanted = Math.max(1, Math.min(Math.floor(weight), this.limit));
    let entry = this.slots.get(key);
    if (!entry) {
      entry = { active: 0, waiting: [] };
      this.slots.set(key, entry);
    }
    const slot = entry;
    if (slot.waiting.length === 0 && slot.active + wanted <= this.limit) {
      slot.active += wanted;
      return this.releaser(key, slot, wanted);
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        weight: wanted,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const index = slot.waiting.indexOf(waiter);
        if (index >= 0) slot.waiting.splice(index, 1);
        // A heavy waiter that gave up may have been holding lighter ones back.
        this.drain(key, slot);
        reject(signal?.reason instanceof Error ? signal.reason : new DOMException('Aborted', 'AbortError'));
      };
      slot.waiting.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return this.releaser(key, slot, wanted);
  }

  /** Slots currently held for `key`. */
  active(key: string): number {
    return this.slots.get(key)?.active ?? 0;
  }

  private releaser(key: string, slot: Slots, weight: number): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      slot.active -= weight;
      this.drain(key, slot);
    };
  }

  private drain(key: string, slot: Slots): void {
    for (
      let next = slot.waiting[0];
      next && slot.active + next.weight <= this.limit;
      next = slot.waiting[0]
    ) {
      slot.waiting.shift();
      slot.active += next.weight;
      next.grant();
    }
    if (slot.active === 0 && slot.waiting.length === 0) this.slots.delete(key);
  }
}

/** Exchange Online's limit on concurrent requests per app and mailbox (Outlook service limits). */
export const graphMailboxConcurrency = 4;

/** Per process, shared by every Graph profile: the limit is per mailbox, whoever asks. */
export const graphMailboxLimiter = new KeyedSemaphore(graphMailboxConcurrency);
