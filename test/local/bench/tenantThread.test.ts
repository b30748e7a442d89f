import path from 'node:path';

import { describe, expect, it } from 'vitest';

import type * as TenantThreadModule from '../../../local/bench/tenantThread.js';
import { sandboxApp } from '../../../local/sampleTenant.js';
import { createAppCertificate } from '../../../local/sandbox/index.js';

// The thread runs the compiled module (the bench runs from dist/; npm test builds first).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startTenantThread } = require(
  path.resolve(__dirname, '../../../dist/local/bench/tenantThread.js'),
) as typeof TenantThreadModule;

describe("the bench's sandbox tenant on a thread of its own", () => {
  it('serves Graph from its thread and reports what it saw, until reset', async () => {
    const tenant = await startTenantThread({
      apps: [{ ...sandboxApp, certificatePem: createAppCertificate('thread-test').certPem }],
      mailboxes: [{ address: 'ann@contoso.com', messages: [{ internetMessageId: '<m@x>', subject: 'Hi' }] }],
    });
    try {
      // Unauthenticated: the tenant answers 401 and still logs the request it received.
      const response = await fetch(`${tenant.graphEndpoint}/v1.0/users/ann@contoso.com/messages`);
      expect(response.status).toBe(401);
      const seen = await tenant.snapshot();
      expect(seen.requests.map((r) => [r.mailbox, r.status])).toEqual([['ann@contoso.com', 401]]);
      expect(await tenant.cpuMs()).toBeGreaterThan(0);
      await tenant.resetCounters();
      expect((await tenant.snapshot()).requests).toEqual([]);
    } finally {
      await tenant.close();
    }
    await expect(fetch(`${tenant.graphEndpoint}/v1.0/users/ann@contoso.com/messages`)).rejects.toThrow();
  });
});
