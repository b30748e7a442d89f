import { execFile } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import type { SandboxRequestRecord } from '../sandbox/types.js';
import { threadCpuMs } from '../threadCpu.js';

export interface Machine {
  cores: number;
  cpuModel: string;
  node: string;
  platform: string;
  memoryGiB: number;
  loadAverage: number[];
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/**
 * Counts HTTP requests this process sends to one host:port (the Table service), through Node's own
 * `http.client.request.start` diagnostics channel: every table operation of every store, retries
 * included, without wrapping any client.
 */
export class HttpRequestCounter {
  private count = 0;
  private readonly listener = (message: unknown): void => {
    const request = (message as { request?: { getHeader?: (name: string) => unknown } }).request;
    if (request?.getHeader?.('host') === this.host) this.count += 1;
  };

  constructor(private readonly host: string) {
    diagnostics.subscribe('http.client.request.start', this.listener);
  }

  get requests(): number {
    return this.count;
  }

  reset(): void {
    this.count = 0;
  }

  close(): void {
    diagnostics.unsubscribe('http.client.request.start', this.listener);
  }
}

/** CPU milliseconds of this process's main thread (the functions): see threadCpu.ts. */
export function mainThreadCpuMs(): number {
  return threadCpuMs();
}

/** `127.0.0.1:port` of the Table endpoint in an Azurite connection string. */
export function tableHost(connectionString: string): string {
  const endpoint = /TableEndpoint=([^;]+)/i.exec(connectionString)?.[1];
  if (endpoint === undefined) throw new Error('The table connection string names no TableEndpoint.');
  return new URL(endpoint).host;
}

/**
 * Sequential round trips in a set of requests: requests that overlap in time are one round trip, so a
 * search followed by a folder lookup running alongside the action counts 2.
 */
export function roundTrips(
  requests: readonly Pick<SandboxRequestRecord, 'startedAt' | 'finishedAt'>[],
): number {
  const sorted = [...requests].sort((a, b) => a.startedAt - b.startedAt);
  let trips = 0;
  let end = Number.NEGATIVE_INFINITY;
  for (const request of sorted) {
    if (request.startedAt >= end) trips += 1;
    end = Math.max(end, request.finishedAt);
  }
  return trips;
}

/** Graph operations (batch envelopes are not operations; their items are) and round trips per mailbox. */
export function graphEconomy(requests: readonly SandboxRequestRecord[]): {
  operations: number;
  mailboxes: number;
  roundTripsPerMailbox: number;
  throttled: number;
} {
  const byMailbox = new Map<string, SandboxRequestRecord[]>();
  let operations = 0;
  let throttled = 0;
  for (const request of requests) {
    if (request.operation === 'batch') continue;
    operations += 1;
    if (request.status === 429) throttled += 1;
    if (request.mailbox === undefined) continue;
    const list = byMailbox.get(request.mailbox) ?? [];
    list.push(request);
    byMailbox.set(request.mailbox, list);
  }
  let trips = 0;
  for (const list of byMailbox.values()) trips += roundTrips(list);
  return {
    operations,
    mailboxes: byMailbox.size,
    roundTripsPerMailbox: byMailbox.size === 0 ? 0 : trips / byMailbox.size,
    throttled,
  };
}

export interface ColdImport {
  entry: string;
  wallMs: number;
  cpuMs: number;
  rssMiB: number;
}

const run = promisify(execFile);

/** A function entry registers itself with the host (`app.http(…)`, `app.serviceBusQueue(…)`, …). */
export function functionEntries(functionsDir: string): string[] {
  return readdirSync(functionsDir)
    .filter((f) => f.endsWith('.js'))
    .filter((f) =>
      /\bfunctions_1\.app\.\w+\(|\bapp\.\w+\(/.test(readFileSync(path.join(functionsDir, f), 'utf8')),
    )
    .sort();
}

/** Each entry `require`d in a fresh Node process: wall time and CPU of the import, RSS after it. */
export async function coldImports(functionsDir: string): Promise<ColdImport[]> {
  const results: ColdImport[] = [];
  const probe =
    'const t=process.hrtime.bigint();const c=process.cpuUsage();require(process.argv[1]);' +
    'const u=process.cpuUsage(c);' +
    'process.stdout.write(JSON.stringify({wallMs:Number(process.hrtime.bigint()-t)/1e6,' +
    'cpuMs:(u.user+u.system)/1000,rssMiB:process.memoryUsage().rss/1048576}))';
  for (const entry of functionEntries(functionsDir)) {
    const { stdout } = await run(process.execPath, ['-e', probe, path.join(functionsDir, entry)], {
      env: { ...process.env, CLAWBACK_RUNTIME: 'local' },
    });
    results.push({ entry, ...(JSON.parse(stdout) as Omit<ColdImport, 'entry'>) });
  }
  return results;
}
