import { isSimulatedCrash } from '../chaos/crash.js';
import { toClawbackError } from '../errors.js';

export interface StorageRetryDeps {
  sleep?: ((ms: number) => Promise<void>) | undefined;
}

const storageAttempts = 6;

/**
 * A table write that still failed after its retries. It is not the mailbox's failure: it never
 * becomes the row's outcome, and the delivery is rescheduled instead.
 */
export class StorageStepError extends Error {
  override readonly name = 'StorageStepError';
  constructor(cause: Error) {
    super(`Table Storage kept failing: ${cause.message}`, { cause });
  }
}

export function isStorageStepError(error: unknown): boolean {
  return (error as { name?: unknown } | undefined)?.name === 'StorageStepError';
}

/**
 * Retries a table write that failed for a transient reason, with backoff. An outcome that already
 * happened in the mailbox is never turned into a failure by storage: after the last attempt the
 * error propagates, the delivery is rescheduled, and the next owner finds the effect again.
 */
export async function withStorageRetries<T>(deps: StorageRetryDeps, write: () => Promise<T>): Promise<T> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (caught) {
      if (isConflict(caught) || isSimulatedCrash(caught)) throw caught;
      const error = toClawbackError(caught);
      if (!error.retryable || attempt >= storageAttempts) throw new StorageStepError(error);
      await sleep(Math.round(50 * 2 ** (attempt - 1) * (0.5 + Math.random())));
    }
  }
}

/** The store's conditional-write failure, told apart by name (it may come from another module copy). */
export function isConflict(error: unknown): boolean {
  return (error as { name?: unknown } | undefined)?.name === 'ConcurrencyConflictError';
}
