import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { type LocalRuntime, startLocalRuntime } from '../../local/runtime.js';
import type { SandboxMailbox } from '../../local/sandbox/types.js';
import type { ConfigDocumentInput } from '../../shared/config/document.js';
import { rewritingClient } from './identity.js';
import { registerAllFunctions } from './runtime.js';

/** The keys a run presents; the runtime knows them by name (`CLAWBACK_LOCAL_KEYS`), the audit trail by name only. */
export interface RunKeys {
  admin: string;
  ingest: string;
}

export interface SafetyRuntime {
  runtime: LocalRuntime;
  api: string;
  keys: RunKeys;
  /** Holds the sandbox's generated secrets (`secrets/`), which the audit trail must never contain. */
  dataDir: string;
  /** Calls the app's HTTP API with one of the keys; the JSON answer (or undefined) and the status. */
  call(
    method: string,
    route: string,
    key: keyof RunKeys,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Reads the applied document, lets `change` edit it, and applies it through PUT /api/config. */
  reconfigure(change: (doc: ConfigDocumentInput) => void): Promise<void>;
  /** Resolves when no queue has work left. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/** The local runtime with the sandbox tenant (and extra mailboxes), named keys and in-memory tables. */
export async function startSafetyRuntime(extraMailboxes: SandboxMailbox[] = []): Promise<SafetyRuntime> {
  const keys: RunKeys = {
    admin: randomBytes(24).toString('base64url'),
    ingest: randomBytes(24).toString('base64url'),
  };
  process.env.CLAWBACK_LOCAL_KEYS = `soc-admin=${keys.admin},ingest=${keys.ingest}`;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'clawback-safety-'));
  const runtime = await startLocalRuntime({
    port: 0,
    tablePort: 0,
    dataDir,
    persistTables: false,
    extraMailboxes,
    functions: await registerAllFunctions(),
    identityHttpClientFor: (tenant) => rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost),
    log: () => undefined,
  });
  const api = runtime.apiUrl.replace('localhost', '127.0.0.1');
  const call: SafetyRuntime['call'] = async (method, route, key, body, headers = {}) => {
    const response = await fetch(`${api}/${route}`, {
      method,
      headers: {
        'x-functions-key': keys[key],
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  return {
    runtime,
    api,
    keys,
    dataDir,
    call,
    async reconfigure(change) {
      const current = await call('GET', 'config', 'admin');
      const doc = current.body.document as ConfigDocumentInput;
      change(doc);
      const applied = await call('PUT', 'config', 'admin', doc);
      if (applied.status !== 200) throw new Error(`configuration refused: ${JSON.stringify(applied.body)}`);
    },
    settle: () => runtime.queue.idle(),
    async stop() {
      await runtime.stop();
      rmSync(dataDir, { recursive: true, force: true });
      delete process.env.CLAWBACK_LOCAL_KEYS;
    },
  };
}

/** Where each copy of a message is, per mailbox: the folder's well-known or display name. */
export function foldersOf(
  runtime: LocalRuntime,
  addresses: string[],
  internetMessageId: string,
): Record<string, string[]> {
  return Object.fromEntries(
    addresses.map((address) => [
      address,
      runtime.tenant
        .mailbox(address)
        .messages.filter((m) => m.internetMessageId === internetMessageId)
        .map((m) => (m as { folder?: string }).folder ?? m.folderId)
        .sort(),
    ]),
  );
}
