import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { createDefaultHttpClient } from '@azure/core-rest-pipeline';

import { startLocalRuntime } from './runtime.js';
import { sampleVerdict } from './sampleTenant.js';

/**
 * `npm run bench`: one verdict for a campaign of N recipients through the whole local pipeline (HTTP
 * ingest, fan-out, per-mailbox sessions, the real Graph backend against the sandbox tenant, Azurite),
 * timed from the POST to the verdict's completion. Timings live here, never in tests.
 */
async function main(): Promise<void> {
  const recipients = Number(process.env.BENCH_RECIPIENTS ?? 500);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'clawback-bench-'));
  const messageId = '<bench-campaign@mail.example>';
  const addresses = Array.from({ length: recipients }, (_, i) => `bench${i}@contoso.com`);
  const inner = createDefaultHttpClient();
  const runtime = await startLocalRuntime({
    port: 0,
    tablePort: 0,
    dataDir,
    persistTables: false,
    extraMailboxes: addresses.map((address) => ({
      address,
      messages: [{ internetMessageId: messageId, subject: 'Campaign' }],
    })),
    identityHttpClientFor: (tenant) => ({
      sendRequest: (request) =>
        inner.sendRequest({
          ...request,
          url: request.url.replace(tenant.publicAuthorityHost, tenant.authorityHost),
          allowInsecureConnection: true,
        }),
    }),
    log: () => undefined,
  });
  try {
    const api = runtime.apiUrl.replace('localhost', '127.0.0.1');
    const body = {
      ...sampleVerdict(`bench-${Date.now()}`),
      messages: [{ internetMessageId: messageId, recipients: addresses }],
    };
    console.log(`bench: one verdict, ${recipients} recipients, action softDelete, Graph sandbox`);
    const started = performance.now();
    const response = await fetch(`${api}/verdicts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const { statusUrl } = (await response.json()) as { statusUrl: string };
    const accepted = performance.now();
    let verdict: { status: string; done: number; succeeded: number; failed: number };
    let lastReport = 0;
    for (;;) {
      verdict = (
        (await (await fetch(statusUrl.replace('localhost', '127.0.0.1') + '?pageSize=1')).json()) as {
          verdict: typeof verdict;
        }
      ).verdict;
      if (verdict.status.startsWith('completed')) break;
      if (performance.now() - lastReport > 1000) {
        process.stdout.write(`  ${verdict.done}/${recipients} done\n`);
        lastReport = performance.now();
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const finished = performance.now();
    const seconds = (finished - started) / 1000;
    console.log(`accepted in ${(accepted - started).toFixed(0)} ms; completed in ${seconds.toFixed(2)} s`);
    console.log(
      `${(recipients / seconds).toFixed(1)} recipients/s; succeeded ${verdict.succeeded}, failed ${verdict.failed}`,
    );
    console.log(
      `Graph requests: ${runtime.tenant.requests.length}; token requests: ${runtime.tenant.tokenRequests}`,
    );
  } finally {
    await runtime.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
