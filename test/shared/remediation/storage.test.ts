import { afterEach, describe, expect, it, vi } from 'vitest';

import { SimulatedCrash } from '../../../shared/chaos/crash.js';
import { ClawbackError } from '../../../shared/errors.js';
import {
  isStorageStepError,
  StorageStepError,
  withStorageRetries,
} from '../../../shared/remediation/storage.js';

const transient = () => new ClawbackError('ConnectionError', 'socket hang up', { retryable: true });

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('withStorageRetries', () => {
  it('tries a transiently failing write six times with doubling backoff, then gives up as a storage step', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    const waits: number[] = [];
    let calls = 0;
    const caught = await withStorageRetries({ sleep: (ms) => Promise.resolve(void waits.push(ms)) }, () => {
      calls++;
      return Promise.reject(transient());
    }).catch((e: unknown) => e);
    expect(calls).toBe(6);
    // 50 ms × 2^(attempt-1) × (0.5 + random), random 0.25.
    expect(waits).toEqual([38, 75, 150, 300, 600]);
    expect(isStorageStepError(caught)).toBe(true);
    expect((caught as Error).name).toBe('StorageStepError');
    expect((caught as Error).message).toBe('Table Storage kept failing: socket hang up');
    expect((caught as Error).cause).toBeInstanceOf(ClawbackError);
  });

  it('returns the first success without waiting further', async () => {
    let calls = 0;
    const waits: number[] = [];
    const value = await withStorageRetries({ sleep: (ms) => Promise.resolve(void waits.push(ms)) }, () =>
      ++calls < 3 ? Promise.reject(transient()) : Promise.resolve('etag'),
    );
    expect(value).toBe('etag');
    expect(calls).toBe(3);
    expect(waits).toHaveLength(2);
  });

  it('does not retry a permanent error, a conflict or a simulated crash', async () => {
    for (const [error, expectStep] of [
      [new ClawbackError('PermissionError', 'denied'), true],
      [Object.assign(new Error('412'), { name: 'ConcurrencyConflictError' }), false],
      [new SimulatedCrash('afterIntent'), false],
    ] as const) {
      let calls = 0;
      const caught = await withStorageRetries({ sleep: () => Promise.resolve() }, () => {
        calls++;
        return Promise.reject(error);
      }).catch((e: unknown) => e);
      expect(calls).toBe(1);
      expect(isStorageStepError(caught)).toBe(expectStep);
      if (!expectStep) expect(caught).toBe(error);
    }
  });

  it('waits on a real timer when no sleep is given', async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    let calls = 0;
    const done = withStorageRetries({}, () =>
      ++calls === 1 ? Promise.reject(transient()) : Promise.resolve('ok'),
    );
    await vi.advanceTimersByTimeAsync(49);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    await expect(done).resolves.toBe('ok');
  });
});

describe('isStorageStepError', () => {
  it('tells a storage step apart by name only', () => {
    expect(isStorageStepError(new StorageStepError(new Error('x')))).toBe(true);
    expect(isStorageStepError({ name: '' })).toBe(false);
    expect(isStorageStepError(new Error('x'))).toBe(false);
    expect(isStorageStepError(undefined)).toBe(false);
  });
});
