import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { captureRegistrations, type RegisteredFunction } from '../../local/functionsHost.js';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime.js';
import { rewritingClient } from './identity.js';

const functionsDir = path.resolve(__dirname, '../../functions');

/** Every module of functions/, as the host's `main` glob loads them, and what each registered. */
export function registerAllFunctions(): Promise<RegisteredFunction[]> {
  return captureRegistrations(async () => {
    for (const file of readdirSync(functionsDir).filter((f) => f.endsWith('.ts')))
      await import(path.join(functionsDir, file));
  });
}

/**
 * The local runtime in this process on free ports, tables in memory, the sandbox over plain http
 * (the identity client reaches it through a rewriting client), data in a temporary folder.
 */
export async function startTestRuntime(
  log: (line: string) => void = () => undefined,
): Promise<{ runtime: LocalRuntime; stop: () => Promise<void> }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'clawback-runtime-'));
  const runtime = await startLocalRuntime({
    port: 0,
    tablePort: 0,
    dataDir,
    persistTables: false,
    functions: await registerAllFunctions(),
    identityHttpClientFor: (tenant) => rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost),
    log,
  });
  return {
    runtime,
    stop: async () => {
      await runtime.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
