import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

import { startSandboxTenant } from '../sandbox/index.js';
import type { SandboxRequestRecord, SandboxTenantOptions } from '../sandbox/types.js';
import { threadCpuMs } from '../threadCpu.js';

/** What the bench reads of the tenant after a campaign. */
export interface TenantSnapshot {
  requests: SandboxRequestRecord[];
  tokenRequests: number;
}

/**
 * The sandbox tenant on a thread of its own, as Exchange Online is on machines of its own: the bench's
 * main thread then runs only the functions, and its CPU is the worker's (SPEC §10).
 */
export interface TenantThread {
  graphEndpoint: string;
  authorityHost: string;
  publicAuthorityHost: string;
  snapshot(): Promise<TenantSnapshot>;
  resetCounters(): Promise<void>;
  /** CPU milliseconds of the tenant's thread (Linux; the process's elsewhere). */
  cpuMs(): Promise<number>;
  close(): Promise<void>;
}

/** Only data crosses to the thread: the options without callbacks. */
export type TenantThreadOptions = Omit<SandboxTenantOptions, 'log'>;

type Request = { id: number; op: 'snapshot' | 'reset' | 'cpu' | 'close' };
type Reply = { id: number; snapshot?: TenantSnapshot; cpuMs?: number };
type Started = { started: { graphEndpoint: string; authorityHost: string; publicAuthorityHost: string } };

/** Starts the tenant in a worker thread running this compiled module (the bench runs from dist/). */
export async function startTenantThread(options: TenantThreadOptions): Promise<TenantThread> {
  const worker = new Worker(path.join(__dirname, 'tenantThread.js'), {
    workerData: { sandboxTenant: options },
  });
  const started = await new Promise<Started['started']>((resolve, reject) => {
    worker.once('message', (message: Started) => resolve(message.started));
    worker.once('error', reject);
  });
  let next = 0;
  const pending = new Map<number, (reply: Reply) => void>();
  worker.on('message', (reply: Reply) => {
    pending.get(reply.id)?.(reply);
    pending.delete(reply.id);
  });
  const call = (op: Request['op']) =>
    new Promise<Reply>((resolve) => {
      const id = (next += 1);
      pending.set(id, resolve);
      worker.postMessage({ id, op } satisfies Request);
    });
  return {
    ...started,
    snapshot: async () => (await call('snapshot')).snapshot ?? { requests: [], tokenRequests: 0 },
    resetCounters: async () => {
      await call('reset');
    },
    cpuMs: async () => (await call('cpu')).cpuMs ?? Number.NaN,
    close: async () => {
      await call('close');
      await worker.terminate();
    },
  };
}

/** The thread's side: serve the tenant, answer the bench's questions. */
async function serveInThread(options: TenantThreadOptions): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const tenant = await startSandboxTenant(options);
  port.postMessage({
    started: {
      graphEndpoint: tenant.graphEndpoint,
      authorityHost: tenant.authorityHost,
      publicAuthorityHost: tenant.publicAuthorityHost,
    },
  } satisfies Started);
  port.on('message', (request: Request) => {
    if (request.op === 'snapshot')
      port.postMessage({
        id: request.id,
        snapshot: { requests: [...tenant.requests], tokenRequests: tenant.tokenRequests },
      } satisfies Reply);
    else if (request.op === 'cpu') port.postMessage({ id: request.id, cpuMs: threadCpuMs() } satisfies Reply);
    else if (request.op === 'reset') {
      tenant.resetCounters();
      port.postMessage({ id: request.id } satisfies Reply);
    } else void tenant.close().then(() => port.postMessage({ id: request.id } satisfies Reply));
  });
}

const data = workerData as { sandboxTenant?: TenantThreadOptions } | undefined;
if (!isMainThread && data?.sandboxTenant) void serveInThread(data.sandboxTenant);
