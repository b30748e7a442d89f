import { describe, expect, it } from 'vitest';

import { unusedPort } from './startProcess.js';

describe('unusedPort', () => {
  it('hands out distinct ports below the ephemeral range, which no listen(0) is ever given', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => unusedPort()));
    expect(new Set(ports).size).toBe(20);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThan(32_768);
    }
  });
});
