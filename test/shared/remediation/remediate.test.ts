import { describe, expect, it } from 'vitest';

import { ClawbackError } from '../../../shared/errors.js';
import { retryDelayMs } from '../../../shared/remediation/remediate.js';

describe('retry backoff', () => {
  it("honours the server's Retry-After when it gave one", () => {
    expect(
      retryDelayMs(new ClawbackError('Throttled', 'x', { retryable: true, retryAfterMs: 7000 }), 1),
    ).toBe(7000);
  });

  it('otherwise grows exponentially from 30 s with jitter', () => {
    const e = new ClawbackError('ConnectionError', 'x', { retryable: true });
    expect(retryDelayMs(e, 1, () => 0.5)).toBe(30_000);
    expect(retryDelayMs(e, 3, () => 0.5)).toBe(120_000);
  });
});
