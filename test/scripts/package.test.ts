import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { queues, routes, serviceBusConnection } from '../../shared/bindings.js';

/*
 * Builds the deployable zip exactly as `npm run package` does, reads it back with an independent reader
 * (checking every CRC), unpacks it into an empty folder outside the repository, and loads the functions
 * there in a separate `node` under a fake `@azure/functions-core` — the way the Functions host would
 * find them, with only what the zip holds.
 */

const repoRoot = path.resolve(__dirname, '../..');

interface ZipEntry {
  name: string;
  data: Buffer;
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Reads a classic zip through its central directory; each entry's local header must agree with it. */
function readZip(zip: Buffer): ZipEntry[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('no end of central directory record');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`bad central directory entry ${n}`);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localOffset = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;

    if (zip.readUInt32LE(localOffset) !== 0x04034b50) throw new Error(`bad local header for ${name}`);
    const localName = zip.toString(
      'utf8',
      localOffset + 30,
      localOffset + 30 + zip.readUInt16LE(localOffset + 26),
    );
    if (localName !== name) throw new Error(`local header names ${localName}, central directory ${name}`);
    const start = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const body = zip.subarray(start, start + compressedSize);
    const data = method === 8 ? inflateRawSync(body) : method === 0 ? Buffer.from(body) : undefined;
    if (!data) throw new Error(`${name}: unsupported compression method ${method}`);
    if (data.length !== size || crc32(data) !== crc) throw new Error(`${name}: size or CRC mismatch`);
    entries.push({ name, data });
  }
  return entries;
}

interface Binding {
  type: string;
  direction: string;
  route?: string;
  methods?: string[];
  authLevel?: string;
  queueName?: string;
  connection?: string;
  isSessionsEnabled?: boolean;
}
interface Registration {
  name: string;
  bindings: Record<string, Binding>;
  retryOptions?: unknown;
}

/** Runs in the unpacked folder: fakes the host's core API, loads what package.json `main` names. */
const loaderScript = `
const Module = require('node:module');
const fs = require('node:fs');
const path = require('node:path');
const registrations = [];
const fakeCore = {
  setProgrammingModel() {},
  registerHook: () => ({ dispose() {} }),
  log() {},
  registerFunction(metadata) { registrations.push(metadata); return { dispose() {} }; },
};
const load = Module._load;
Module._load = function (request, ...rest) {
  return request === '@azure/functions-core' ? fakeCore : load.call(this, request, ...rest);
};
const main = JSON.parse(fs.readFileSync('package.json', 'utf8')).main;
const match = /^(.*)\\/\\*\\.js$/.exec(main);
if (!match) throw new Error('package.json main must be <folder>/*.js, is ' + main);
const dir = path.resolve(match[1]);
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.js')).sort()) require(path.join(dir, file));
process.stdout.write(JSON.stringify(registrations), () => process.exit(0));
`;

let workDir: string;
let entries: ZipEntry[];
let names: string[];
let registrations: Registration[];

beforeAll(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'clawback-package-'));
  const zipFile = path.join(workDir, 'clawback.zip');
  // The very command the deploy step runs (npm passes `--out` on to scripts/package.mjs).
  execFileSync('npm', ['run', 'package', '--', '--out', zipFile], { cwd: repoRoot, stdio: 'pipe' });
  entries = readZip(readFileSync(zipFile));
  names = entries.map((e) => e.name);

  const appDir = path.join(workDir, 'app');
  for (const entry of entries) {
    const target = path.resolve(appDir, entry.name);
    if (!target.startsWith(appDir + path.sep)) throw new Error(`zip entry escapes its folder: ${entry.name}`);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, entry.data);
  }
  const loaderFile = path.join(workDir, 'load-functions.cjs');
  writeFileSync(loaderFile, loaderScript);
  // The settings a deployment gets from infra; nothing from this machine's environment leaks in.
  const child = spawnSync(process.execPath, [loaderFile], {
    cwd: appDir,
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: process.env.PATH ?? '',
      CLAWBACK_RUNTIME: 'azure',
      AZURE_CLIENT_ID: '11111111-2222-3333-4444-555555555555',
      ServiceBusConnection__fullyQualifiedNamespace: 'sb-clawback.servicebus.windows.net',
      ServiceBusConnection__credential: 'managedidentity',
      CLAWBACK_TABLES_ENDPOINT: 'https://stclawback.table.core.windows.net',
      CLAWBACK_KEY_VAULT_URL: 'https://kv-clawback.vault.azure.net/',
      AzureWebJobsStorage__accountName: 'stclawback',
    },
  });
  if (child.status !== 0) throw new Error(`loading the packaged functions failed:\n${child.stderr}`);
  registrations = JSON.parse(child.stdout) as Registration[];
}, 300_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('the deployable zip', () => {
  it('holds host.json as in the repository and a package.json whose main finds the compiled functions', () => {
    const host = entries.find((e) => e.name === 'host.json')!;
    expect(host.data.equals(readFileSync(path.join(repoRoot, 'host.json')))).toBe(true);
    const pkg = JSON.parse(entries.find((e) => e.name === 'package.json')!.data.toString('utf8')) as Record<
      string,
      unknown
    >;
    expect(pkg.main).toBe('dist/functions/*.js');
    expect(pkg.devDependencies).toBeUndefined();
    expect(pkg.scripts).toBeUndefined();
    expect(names.filter((n) => /^dist\/functions\/[^/]+\.js$/.test(n)).length).toBeGreaterThan(0);
  });

  it('contains every production dependency and no package the lockfile marks as dev-only', () => {
    const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
    };
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const dep of Object.keys(pkg.dependencies))
      expect(names).toContain(`node_modules/${dep}/package.json`);
    const devOnly = Object.entries(lock.packages)
      .filter(([key, meta]) => key.startsWith('node_modules/') && (meta.dev || meta.devOptional))
      .map(([key]) => `${key}/`);
    expect(names.filter((n) => devOnly.some((d) => n.startsWith(d)))).toEqual([]);
    for (const tool of ['vitest', 'typescript', 'azurite', 'eslint', 'prettier']) {
      expect(names.some((n) => n.startsWith(`node_modules/${tool}/`))).toBe(false);
    }
  });

  it('leaves out tests, the local runtime, local settings and TypeScript sources', () => {
    expect(
      names.filter((n) => n.startsWith('test/') || n.startsWith('dist/test/') || n.startsWith('dist/local/')),
    ).toEqual([]);
    expect(names.filter((n) => /(^|\/)local\.settings[^/]*\.json$/.test(n))).toEqual([]);
    expect(names.filter((n) => /\.[cm]?ts$/.test(n))).toEqual([]);
    expect(names.filter((n) => /^(functions|shared|local|infra|scripts|docs)\//.test(n))).toEqual([]);
  });

  it('stays small', () => {
    const bytes = entries.reduce((sum, e) => sum + e.data.length, 0);
    expect(bytes).toBeLessThan(60 * 1024 * 1024);
  });
});

describe('the packaged app, loaded in a clean folder, registers the functions infra expects', () => {
  const byName = () => new Map(registrations.map((r) => [r.name, r]));
  const trigger = (r: Registration) =>
    Object.values(r.bindings).find((b) => b.direction === 'in' && /Trigger$/.test(b.type))!;

  it.each(Object.entries(routes))(
    '%s is an HTTP function with its route, methods and auth level',
    (name, route) => {
      const registration = byName().get(name);
      expect(registration, `${name} is not registered`).toBeDefined();
      const t = trigger(registration!);
      expect(t.type).toBe('httpTrigger');
      expect(t.route).toBe(route.route);
      expect([...(t.methods ?? [])].sort()).toEqual([...route.methods].sort());
      expect(t.authLevel).toBe(route.authLevel);
    },
  );

  it.each([
    ['fanOutVerdict', queues.verdicts],
    ['remediateMailbox', queues.remediations],
  ] as const)(
    '%s is triggered by its Service Bus queue through the identity-based connection',
    (name, queue) => {
      const registration = byName().get(name);
      expect(registration, `${name} is not registered`).toBeDefined();
      const t = trigger(registration!);
      expect(t.type).toBe('serviceBusTrigger');
      expect(t.queueName).toBe(queue.name);
      expect(t.connection).toBe(serviceBusConnection);
      expect(t.isSessionsEnabled ?? false).toBe(queue.sessions);
    },
  );

  it('every Service Bus binding uses the one connection and a queue that infra creates', () => {
    const sbBindings = registrations.flatMap((r) =>
      Object.values(r.bindings).filter((b) => /^serviceBus/.test(b.type)),
    );
    expect(sbBindings.length).toBeGreaterThan(0);
    const queueNames = Object.values(queues).map((q) => q.name);
    for (const b of sbBindings) {
      expect(b.connection).toBe(serviceBusConnection);
      expect(queueNames).toContain(b.queueName);
    }
  });

  it('no function declares a host retry policy that would compete with the app-scheduled retries', () => {
    expect(registrations.filter((r) => r.retryOptions !== undefined).map((r) => r.name)).toEqual([]);
  });
});
