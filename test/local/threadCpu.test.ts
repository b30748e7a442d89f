import { describe, expect, it } from 'vitest';

import { mainThreadCpuMs } from '../../local/bench/measure.js';
import { parseThreadStat } from '../../local/threadCpu.js';

describe("the main thread's clock", () => {
  it('counts the CPU this thread spends, and not time it waits', async () => {
    const before = mainThreadCpuMs();
    // Spin until the process has used 200 ms of CPU, however long a loaded machine takes to give it.
    const start = process.cpuUsage();
    const used = () => {
      const u = process.cpuUsage(start);
      return (u.user + u.system) / 1000;
    };
    while (used() < 200) Math.sqrt(Math.random());
    const spun = mainThreadCpuMs() - before;
    await new Promise((resolve) => setTimeout(resolve, 150));
    const waited = mainThreadCpuMs() - before - spun;
    expect(spun).toBeGreaterThanOrEqual(150);
    expect(waited).toBeLessThan(spun);
  });
});

describe("a thread's CPU from /proc", () => {
  it('adds user and system ticks, reading past a command name with spaces and parentheses', () => {
    const stat = '4242 (node (worker) x) S 1 4242 4242 0 -1 4194304 10 0 0 0 250 37 0 0 20 0 9 0 100 0 0';
    expect(parseThreadStat(stat)).toBe((250 + 37) * 10);
  });
});
