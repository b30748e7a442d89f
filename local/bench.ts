import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { createDefaultHttpClient } from '@azure/core-rest-pipeline';

import { type ConfigDocumentInput, configDocumentSchema } from '../shared/config/document.js';
import { defaultConcurrentMailboxes } from '../shared/config/settings.js';
import { graphMailboxConcurrency } from '../shared/mail/graph/mailboxLimiter.js';
import { LocalSecretSource } from '../shared/secrets/localSecretSource.js';
import { type CampaignPlan, mailboxesFor, runCampaign } from './bench/campaign.js';
import type { IngestBenchResult } from './bench/ingest.js';
import { coldImports, HttpRequestCounter, machine, tableHost } from './bench/measure.js';
import { type BenchResults, type CampaignResult, type IngestResult, render } from './bench/report.js';
import { startTenantThread, type TenantThread } from './bench/tenantThread.js';
import { startLocalRuntime } from './runtime.js';
import { sandboxApp } from './sampleTenant.js';
import { createAppCertificate } from './sandbox/index.js';

/**
 * `npm run bench`: every SPEC §10 figure beside its target and lower bound, measured through the whole
 * local pipeline against the sandbox tenant with Graph's latency and per-mailbox limit enforced.
 * Timings live here and in docs/performance.md, never in tests.
 *
 * BENCH_SIZES (default 1000,10000), BENCH_COPIES (500), BENCH_LATENCY_MS (50) and
 * CLAWBACK_MAX_CONCURRENT_MAILBOXES (C, default 16) change the conditions.
 */
async function main(): Promise<void> {
  const sizes = (process.env.BENCH_SIZES ?? '1000,10000')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  const copies = Number(process.env.BENCH_COPIES ?? 500);
  const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 50);
  const concurrency = Number(process.env.CLAWBACK_MAX_CONCURRENT_MAILBOXES ?? defaultConcurrentMailboxes);
  const log = (line: string) => process.stdout.write(`${line}\n`);

  const warmUp: CampaignPlan = {
    name: 'warm-up',
    messageId: '<bench-warm-up@mail.example>',
    recipients: Array.from({ length: concurrency }, (_, i) => `warm${i}@contoso.com`),
    copiesPerRecipient: 1,
  };
  const campaigns: CampaignPlan[] = sizes.map((n) => ({
    name: `${n} recipients`,
    messageId: `<bench-${n}@mail.example>`,
    recipients: Array.from({ length: n }, (_, i) => `bench${n}-${i}@contoso.com`),
    copiesPerRecipient: 1,
  }));
  const crowded: CampaignPlan | undefined =
    copies > 0
      ? {
          name: `${copies}-copy mailbox`,
          messageId: '<bench-crowded@mail.example>',
          recipients: ['crowded@contoso.com'],
          copiesPerRecipient: copies,
        }
      : undefined;

  log(`bench: C = ${concurrency}, L = ${latencyMs} ms, ${graphMailboxConcurrency} requests per mailbox`);
  log(
    `bench: seeding ${[warmUp, ...campaigns].reduce((n, p) => n + p.recipients.length, 0) + 1} sandbox mailboxes`,
  );
  const dataDir = mkdtempSync(path.join(tmpdir(), 'clawback-bench-'));
  // The tenant runs on a thread of its own and Azurite on another, so this thread's CPU is the worker's.
  const appCertificate = createAppCertificate('clawback-bench-app');
  mkdirSync(path.join(dataDir, 'secrets'), { recursive: true });
  writeFileSync(path.join(dataDir, 'secrets', 'bench-app.pem'), appCertificate.pemBundle, { mode: 0o600 });
  const tenant = await startTenantThread({
    apps: [{ ...sandboxApp, certificatePem: appCertificate.certPem }],
    mailboxes: [warmUp, ...campaigns, ...(crowded ? [crowded] : [])].flatMap(mailboxesFor),
    latencyMs,
    mailboxConcurrencyLimit: graphMailboxConcurrency,
    mailboxConcurrencyRetryAfterSeconds: 1,
  });
  const inner = createDefaultHttpClient();
  const runtime = await startLocalRuntime({
    port: 0,
    tablePort: 0,
    dataDir,
    persistTables: false,
    sandbox: false,
    identityHttpClient: {
      sendRequest: (request) =>
        inner.sendRequest({
          ...request,
          url: request.url.replace(tenant.publicAuthorityHost, tenant.authorityHost),
          allowInsecureConnection: true,
        }),
    },
    log: process.env.BENCH_LOG ? (line) => process.stdout.write(`${line}\n`) : () => undefined,
  });
  await runtime.services.configStore.put(configDocumentSchema.parse(benchConfig(tenant)));
  const tableRequests = new HttpRequestCounter(tableHost(runtime.tableConnectionString));
  const secrets = runtime.services.secrets;
  const deps = {
    runtime,
    tenant,
    tableRequests,
    secretReads: () => (secrets instanceof LocalSecretSource ? secrets.reads : Number.NaN),
    progress: log,
  };
  const results: CampaignResult[] = [];
  let crowdedResult: CampaignResult | undefined;
  const credentials = { tokenRequests: 0, secretReads: 0, seconds: 0 };
  const count = (result: CampaignResult) => {
    credentials.tokenRequests += result.tokenRequests;
    credentials.secretReads += result.secretReads;
    credentials.seconds += result.seconds;
    return result;
  };
  try {
    for (const plan of [warmUp, ...campaigns]) {
      log(`bench: ${plan.name} …`);
      const result = count(await runCampaign(plan, deps));
      log(`bench: ${plan.name} done in ${result.seconds.toFixed(2)} s`);
      if (plan !== warmUp) results.push(result);
    }
    if (crowded) {
      log(`bench: ${crowded.name} …`);
      crowdedResult = count(await runCampaign(crowded, deps));
      log(`bench: ${crowded.name} done in ${crowdedResult.seconds.toFixed(2)} s`);
    }
  } finally {
    tableRequests.close();
    await runtime.stop();
    await tenant.close();
    rmSync(dataDir, { recursive: true, force: true });
  }

  const ingest = await ingestFigures(log);
  log('bench: cold import of each function entry (fresh process each) …');
  const imports = await coldImports(path.join(__dirname, '..', 'functions'));
  const report: BenchResults = {
    machine: machine(),
    concurrency,
    latencyMs,
    mailboxLimit: graphMailboxConcurrency,
    campaigns: results,
    crowded: crowdedResult,
    ingest,
    coldImports: imports,
    credentials,
  };
  log('');
  log(render(report));
}

/** One Graph profile for contoso.com, pointing at the tenant's thread; its certificate is a file secret. */
function benchConfig(tenant: TenantThread): ConfigDocumentInput {
  return {
    settings: { maxAttempts: 3, graphTimeoutSeconds: 30, ewsTimeoutSeconds: 30, mode: 'enforce' },
    profiles: [
      {
        name: 'bench-online',
        type: 'graph',
        tenantId: sandboxApp.tenantDomain,
        clientId: sandboxApp.clientId,
        certificate: { file: path.join('secrets', 'bench-app.pem') },
        cloud: 'global',
        authorityHost: tenant.publicAuthorityHost,
        graphEndpoint: tenant.graphEndpoint,
        quarantineTarget: 'folder',
      },
    ],
    domains: { 'contoso.com': 'bench-online' },
    policies: [{ verdict: 'malicious', action: 'hardDelete' }],
  };
}

/**
 * POST /api/verdicts on a local runtime of its own, in a process of its own (./bench/ingest.ts, driven
 * by autocannon): the campaign's runtime and its request counters stay out of its way.
 */
function ingestFigures(log: (line: string) => void): Promise<IngestResult> {
  log('bench: ingest, 10 connections for 10 s …');
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'bench', 'ingest.js'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', (message) => {
      const { verdictsPerSecond, p99Ms, non2xx, errors, timeouts } = message as IngestBenchResult;
      resolve({ verdictsPerSecond, p99Ms, failed: non2xx + errors + timeouts });
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the ingest bench exited with ${code}`));
    });
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
