import type { SecretValue } from '../ports/secrets.js';
import { raceAbort } from './abort.js';

interface CacheEntry {
  expiresAt: number;
  value: Promise<SecretValue>;
}

/**
 * Secret values by key, each kept for `ttlSeconds` after it arrived; concurrent readers of a key
 * share one read, and a failed read is forgotten so the next caller tries again. With a ttl of 0
 * only concurrent readers share.
 */
export class SecretCache {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string, read: () => Promise<SecretValue>, signal?: AbortSignal): Promise<SecretValue> {
    let entry = this.entries.get(key);
    if (!entry || entry.expiresAt <= this.now()) {
      const value = read();
      const fresh: CacheEntry = { expiresAt: Number.POSITIVE_INFINITY, value };
      entry = fresh;
      this.entries.set(key, fresh);
      // The entry serves concurrent readers while in flight; its lifetime starts once the value arrives.
      value.then(
        () => {
          fresh.expiresAt = this.now() + this.ttlSeconds * 1000;
          if (this.ttlSeconds <= 0 && this.entries.get(key) === fresh) this.entries.delete(key);
        },
        () => {
          if (this.entries.get(key) === fresh) this.entries.delete(key);
        },
      );
    }
    // A caller that gives up must not cancel the read other callers are waiting for.
    return raceAbort(entry.value, signal);
  }
}
