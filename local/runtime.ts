import { randomUUID } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';

import type { HttpClient } from '@azure/core-rest-pipeline';
import { HttpRequest, type HttpResponseInit, InvocationContext } from '@azure/functions';

import { localKeyName, localKeyNameHeader } from '../shared/audit/caller.js';
import { type Chaos, chaosResultStore, parseChaos } from '../shared/chaos/chaos.js';
import { buildServices, type Services, useServices } from '../shared/composition.js';
import { configDocumentSchema } from '../shared/config/document.js';
import { loadSettings } from '../shared/config/settings.js';
import { ensureError } from '../shared/errors.js';
import { createMailBackendFactory } from '../shared/mail/factory.js';
import { InMemoryQueue } from '../shared/queue/inMemoryQueue.js';
import { LocalSecretSource } from '../shared/secrets/localSecretSource.js';
import { limits } from '../shared/verdicts/schema.js';
import { startAzurite } from './azurite.js';
import { readBodyWithin, requestUrl } from './functionsHost.js';
import { loadRegistrations, type RegisteredFunction, routeMatcher } from './functionsHost.js';
import type { FakeEwsServer } from './onprem/server.js';
import type { Platforms } from './platforms/index.js';
import type { SandboxMailbox, SandboxTenant, SandboxTenantOptions } from './sandbox/index.js';
import { startSandboxEstate } from './sandboxEstate.js';
import { startTimers } from './timers.js';

export interface LocalRuntimeOptions {
  /** Port of the Functions endpoints (7071 as `func start`); 0 picks a free one. */
  port: number;
  /** Port of the Graph sandbox tenant (7072 under npm start, so the README's example configuration reaches it); 0 picks a free one. */
  sandboxPort?: number;
  /** Port of Azurite's Table service (10002 as the emulator); 0 picks a free one. */
  tablePort: number;
  /** Port of the on-premises sandbox's EWS endpoint; default 0 (a free one). */
  onpremPort?: number;
  /**
   * false: no sandboxes and no sample configuration, for a tenant of the operator's own
   * (`CLAWBACK_SANDBOX=off`); the configuration the operator applied stays as it is.
   */
  sandbox?: boolean;
  /** Git-ignored folder for the tables, the sandbox certificates and the sample app's key. */
  dataDir: string;
  /** Keep table data on disk across restarts (npm start); in memory otherwise (tests). */
  persistTables: boolean;
  /**
   * Both sandboxes over https with this key/cert, issued by the CA `caPem` (Graph trusts it through
   * NODE_EXTRA_CA_CERTS, the EWS client as an extra CA); plain http on loopback otherwise.
   */
  tls?: { keyPem: string; certPem: string; caPem: string } | undefined;
  /** How the identity client reaches a plain-http sandbox (tests): a URL-rewriting client. */
  identityHttpClientFor?: ((tenant: SandboxTenant) => HttpClient) | undefined;
  /** The same without a sandbox (the benchmark runs its tenant on a thread of its own). */
  identityHttpClient?: HttpClient | undefined;
  /** Mailboxes added to the seeded ones (the benchmark seeds a campaign's worth). */
  extraMailboxes?: SandboxMailbox[];
  /** Graph's latency and per-mailbox limit in the sandbox tenant (the benchmark's conditions). */
  sandboxLimits?: Pick<
    SandboxTenantOptions,
    'latencyMs' | 'mailboxConcurrencyLimit' | 'mailboxConcurrencyRetryAfterSeconds'
  >;
  /** Run the timer functions (the pull connectors) every this many seconds; never when unset (tests call runTimers). */
  timerSeconds?: number | undefined;
  /** Ports of the fake TAP, Secure Endpoint and Defender APIs; 0 or unset picks free ones. */
  platformPorts?: { tap?: number; amp?: number; defender?: number } | undefined;
  /** When the seeded TAP `cleared` event appears, after start; never when unset. */
  tapClearedAfterMs?: number | undefined;
  /** Registrations to serve; default: those of the compiled modules in dist/functions next to this file. */
  functions?: RegisteredFunction[];
  /** Fault injection; default: what CLAWBACK_CHAOS / CLAWBACK_CHAOS_SEED ask for (SPEC §6). */
  chaos?: Chaos | undefined;
  /** The queue's message lock; default 60 s, 5 s under chaos so crashed deliveries come back soon. */
  lockDurationMs?: number;
  /** How long a remediation leases its row; default 5 minutes, 10 s under chaos. */
  leaseMs?: number;
  log: (line: string) => void;
}

/** The runtime without sandboxes (`sandbox: false`). */
export interface BareLocalRuntime {
  apiUrl: string;
  queue: InMemoryQueue;
  services: Services;
  functions: RegisteredFunction[];
  tableConnectionString: string;
  /** CPU milliseconds of Azurite's thread (the bench measures the worker apart from it). */
  tableCpuMs(): Promise<number>;
  /** Runs every timer function once, now (what the timer loop does every `timerSeconds`). */
  runTimers(): Promise<void>;
  stop(): Promise<void>;
}

export interface LocalRuntime extends BareLocalRuntime {
  tenant: SandboxTenant;
  /** Fakes of the polling APIs the sample configuration's pull sources read. */
  platforms: Platforms;
  /** The on-premises sandbox: a fake Exchange Server's EWS endpoint. */
  onprem: FakeEwsServer;
}

function invocationContext(
  fn: RegisteredFunction,
  log: (line: string) => void,
  triggerMetadata?: Record<string, unknown>,
): InvocationContext {
  return new InvocationContext({
    invocationId: randomUUID(),
    functionName: fn.name,
    ...(triggerMetadata ? { triggerMetadata } : {}),
    options: { trigger: { ...fn.trigger, name: 'trigger' } },
    logHandler: (level, ...args) =>
      log(
        `[${fn.name}] ${level === 'information' ? '' : `${level}: `}${args.map((a) => (typeof a === 'string' ? a : String(a))).join(' ')}`,
      ),
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body, null, 2));
}

/**
 * The local stand-in for the Functions host: the app's own registrations served on
 * http://localhost:<port>/api, queue triggers fed by an in-process queue with Service Bus semantics,
 * Azurite's Table service, and a hybrid estate behind a sample configuration: the sandbox tenant
 * (Exchange Online through Graph) and the on-premises sandbox (Exchange Server through EWS).
 */
export async function startLocalRuntime(
  options: LocalRuntimeOptions & { sandbox?: true },
): Promise<LocalRuntime>;
export async function startLocalRuntime(
  options: LocalRuntimeOptions & { sandbox: false },
): Promise<BareLocalRuntime>;
export async function startLocalRuntime(
  options: LocalRuntimeOptions,
): Promise<LocalRuntime | BareLocalRuntime> {
  const log = options.log;
  const stops: (() => Promise<void>)[] = [];
  try {
    const chaos =
      'chaos' in options
        ? options.chaos
        : parseChaos(process.env.CLAWBACK_CHAOS, process.env.CLAWBACK_CHAOS_SEED);
    log(
      chaos
        ? `chaos       active faults: ${chaos.describe()}; see docs/chaos.md`
        : 'chaos       off (set CLAWBACK_CHAOS to inject faults; see docs/chaos.md)',
    );
    const azurite = await startAzurite({
      port: options.tablePort,
      ...(options.persistTables ? { dataDir: path.join(options.dataDir, 'azurite') } : {}),
    });
    stops.push(() => azurite.stop());
    log(
      `tables      Azurite Table service on http://127.0.0.1:${azurite.port}${options.persistTables ? ` (data in ${path.join(options.dataDir, 'azurite')})` : ' (in memory)'}`,
    );

    const estate =
      options.sandbox === false
        ? undefined
        : await startSandboxEstate({
            dataDir: options.dataDir,
            sandboxPort: options.sandboxPort ?? 0,
            onpremPort: options.onpremPort ?? 0,
            tls: options.tls,
            extraMailboxes: options.extraMailboxes,
            sandboxLimits: options.sandboxLimits,
            platformPorts: options.platformPorts,
            tapClearedAfterMs: options.tapClearedAfterMs,
            log,
          });
    if (estate) stops.push(() => estate.stop());

    const env = {
      ...process.env,
      CLAWBACK_RUNTIME: 'local',
      CLAWBACK_TABLES_CONNECTION: azurite.connectionString,
    };
    const settings = loadSettings(env);
    const queue = new InMemoryQueue({
      log: (line) => log(`queue       ${line}`),
      lockDurationMs: options.lockDurationMs ?? (chaos ? 5000 : 60_000),
      chaos,
    });
    stops.push(() => queue.close());
    // The sandbox profile's certificate is a file reference, read by the same secret and certificate code as Key Vault's.
    const secrets = new LocalSecretSource({ runtime: 'local', baseDir: options.dataDir });
    const identityHttpClient =
      options.identityHttpClientFor && estate
        ? options.identityHttpClientFor(estate.tenant)
        : options.identityHttpClient;
    const services = buildServices(settings, {
      queue,
      secrets,
      ...(identityHttpClient ? { identityHttpClient } : {}),
      backendFor: createMailBackendFactory({
        secrets,
        ...(identityHttpClient ? { identityHttpClient } : {}),
        ...(options.tls ? { ewsCa: options.tls.caPem } : {}),
        log: (line) => log(`mail        ${line}`),
      }),
    });
    if (chaos) {
      services.store = chaosResultStore(services.store, chaos);
      services.chaos = chaos;
    }
    services.leaseMs = options.leaseMs ?? (chaos ? 10_000 : undefined);
    useServices(services);
    stops.push(() => Promise.resolve(useServices(undefined)));

    if (estate) {
      const version = await services.configStore.put(configDocumentSchema.parse(estate.sampleConfig()));
      log(
        `config      sample configuration applied (version ${version}): contoso.com → chain hybrid (sandbox-online, then sandbox-onprem)`,
      );
    } else {
      const applied = await services.configStore.get();
      log(
        `config      sandbox off: ${applied ? `the applied configuration (version ${applied.version}) is kept` : 'no configuration applied yet; PUT one to /api/config'}`,
      );
    }

    const functions = options.functions ?? (await loadRegistrations(path.join(__dirname, '..', 'functions')));
    for (const fn of functions.filter((f) => f.trigger.type === 'serviceBusTrigger')) {
      const queueName = String(fn.trigger.queueName);
      const processor = queue.process(
        queueName,
        async (message) => {
          await fn.handler(
            message.body,
            invocationContext(fn, log, {
              deliveryCount: message.deliveryCount,
              messageId: message.messageId,
              sessionId: message.sessionId,
              enqueuedTimeUtc: message.enqueuedTimeUtc.toISOString(),
            }),
          );
        },
        {
          sessions: fn.trigger.isSessionsEnabled === true,
          // Sessions are mailboxes: this is how many are worked on at once (C of the benchmark).
          ...(fn.trigger.isSessionsEnabled === true
            ? { maxConcurrentCalls: settings.CLAWBACK_MAX_CONCURRENT_MAILBOXES }
            : {}),
        },
      );
      stops.push(() => processor.stop());
      log(`function    ${fn.name}: queue ${queueName}${fn.trigger.isSessionsEnabled ? ' (sessions)' : ''}`);
    }
    const timers = startTimers(functions, options.timerSeconds, (fn) => invocationContext(fn, log), log);
    stops.push(() => timers.stop());
    const httpFunctions = functions
      .filter((f) => f.trigger.type === 'httpTrigger')
      .map((fn) => ({
        fn,
        match: routeMatcher(String(fn.trigger.route ?? fn.name)),
        methods: (fn.trigger.methods ?? ['GET']).map((m) => m.toUpperCase()),
      }));

    const server = http.createServer((req, res) => {
      void serve(req, res).catch((error: unknown) => {
        log(`http        500 ${req.method} ${req.url}: ${ensureError(error).message}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: { code: 'InternalError', message: 'The function failed; see the runtime log.' },
          }),
        );
      });
    });
    async function serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
      const url = requestUrl(req, res);
      if (!url) return;
      const bytes = await readBodyWithin(req, res, limits.maxBodyBytes);
      if (!bytes) return;
      const sandboxView = /^\/sandbox\/(onprem\/)?mailboxes\/([^/]+)$/.exec(url.pathname);
      if (estate && sandboxView?.[2] && req.method === 'GET') {
        const { onprem, tenant } = estate;
        const address = decodeURIComponent(sandboxView[2]);
        const onpremView = sandboxView[1] !== undefined;
        let state: unknown;
        try {
          state = onpremView ? onprem.mailboxView(address) : tenant.mailbox(address);
        } catch {
          sendJson(res, 404, {
            error: {
              code: 'MailboxNotFound',
              message: `The ${onpremView ? 'on-premises sandbox' : 'sandbox tenant'} has no mailbox ${address}.`,
            },
          });
          return;
        }
        sendJson(res, 200, state);
        return;
      }
      const route = httpFunctions
        .map((h) => ({ ...h, params: h.match(url.pathname) }))
        .find((h) => h.params && h.methods.includes(req.method ?? 'GET'));
      if (!route?.params) {
        const exists = httpFunctions.some((h) => h.match(url.pathname));
        res.writeHead(exists ? 405 : 404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: {
              code: exists ? 'MethodNotAllowed' : 'NotFound',
              message: `${req.method} ${url.pathname} is not a route of this app.`,
            },
          }),
        );
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      // The audit trail names the key a request presented (Azure's host does not tell the worker).
      delete headers[localKeyNameHeader];
      const keyName = localKeyName(
        headers['x-functions-key'] ?? url.searchParams.get('code'),
        process.env.CLAWBACK_LOCAL_KEYS,
      );
      if (keyName) headers[localKeyNameHeader] = keyName;
      const request = new HttpRequest({
        method: req.method ?? 'GET',
        url: url.toString(),
        headers,
        params: route.params,
        body: { bytes },
      });
      const response = (await route.fn.handler(
        request,
        invocationContext(route.fn, log),
      )) as HttpResponseInit;
      const status = response.status ?? 200;
      const responseHeaders = new Headers(response.headers);
      let payload: string | undefined;
      if (response.jsonBody !== undefined) {
        payload = JSON.stringify(response.jsonBody);
        if (!responseHeaders.has('content-type')) responseHeaders.set('content-type', 'application/json');
      } else if (typeof response.body === 'string') payload = response.body;
      res.writeHead(status, Object.fromEntries(responseHeaders.entries()));
      res.end(payload);
      log(`http        ${status} ${req.method} ${url.pathname}`);
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, '127.0.0.1', () => resolve());
    });
    stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as { port: number }).port;
    const apiUrl = `http://localhost:${port}/api`;
    for (const h of httpFunctions)
      log(
        `function    ${h.fn.name}: ${h.methods.join(',')} ${apiUrl}/${String(h.fn.trigger.route)} (auth ${String(h.fn.trigger.authLevel)})`,
      );
    return {
      apiUrl,
      ...(estate ? { tenant: estate.tenant, onprem: estate.onprem, platforms: estate.platforms } : {}),
      queue,
      services,
      functions,
      tableConnectionString: azurite.connectionString,
      tableCpuMs: () => azurite.cpuMs(),
      runTimers: () => timers.run(),
      async stop() {
        for (const stop of stops.reverse()) await stop().catch(() => undefined);
      },
    };
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw error;
  }
}
