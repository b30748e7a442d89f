import { describe, expect, it } from 'vitest';

import { defenderRequestsPerMinute, throttle } from '../../../shared/pull/defender.js';

describe('Defender connector request budget', () => {
  it('sends at most 150 requests in any minute, waiting for the oldest to age out', async () => {
    let now = Date.parse('2026-11-30T09:00:00Z');
    const sent: number[] = [];
    const waits: number[] = [];
    const context = {
      now: () => new Date(now),
      sleep: (ms: number) => {
        waits.push(ms);
        now += ms;
        return Promise.resolve();
      },
    };
    for (let i = 0; i < 400; i++) {
      await throttle('tenant-a|app-1', context);
      sent.push(now);
      now += 100;
    }
    for (let i = defenderRequestsPerMinute; i < sent.length; i++)
      expect(sent[i]! - sent[i - defenderRequestsPerMinute]!).toBeGreaterThanOrEqual(60_000);
    expect(waits.length).toBeGreaterThan(0);
    // Another app or tenant has a budget of its own.
    const before = waits.length;
    await throttle('tenant-b|app-2', context);
    expect(waits).toHaveLength(before);
  });
});
