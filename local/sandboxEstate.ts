import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { ConfigDocumentInput } from '../shared/config/document.js';
import { startOnpremSandbox } from './onprem/sandbox.js';
import type { FakeEwsServer } from './onprem/server.js';
import type { Platforms } from './platforms/index.js';
import { startSandboxPlatforms } from './platforms/sandbox.js';
import {
  onpremMailboxes,
  onpremServiceAccount,
  sandboxApp,
  sandboxConfig,
  sandboxMailboxes,
} from './sampleTenant.js';
import {
  createAppCertificate,
  type SandboxMailbox,
  type SandboxTenant,
  type SandboxTenantOptions,
  startSandboxTenant,
} from './sandbox/index.js';

export interface SandboxEstateOptions {
  dataDir: string;
  sandboxPort: number;
  onpremPort: number;
  tls?: { keyPem: string; certPem: string } | undefined;
  extraMailboxes?: SandboxMailbox[] | undefined;
  /** Graph's latency and per-mailbox limit in the sandbox tenant (the benchmark's conditions). */
  sandboxLimits?:
    | Pick<
        SandboxTenantOptions,
        'latencyMs' | 'mailboxConcurrencyLimit' | 'mailboxConcurrencyRetryAfterSeconds'
      >
    | undefined;
  /** Ports of the fake TAP, Secure Endpoint and Defender APIs; 0 or unset picks free ones. */
  platformPorts?: { tap?: number; amp?: number; defender?: number } | undefined;
  /** When the seeded TAP `cleared` event appears, after start; never when unset. */
  tapClearedAfterMs?: number | undefined;
  log: (line: string) => void;
}

/** The hybrid estate `npm start` serves: Exchange Online (sandbox tenant) and Exchange Server (on-premises sandbox). */
export interface SandboxEstate {
  tenant: SandboxTenant;
  onprem: FakeEwsServer;
  /** Local fakes of the polling APIs (Proofpoint TAP, Cisco Secure Endpoint, Defender alerts). */
  platforms: Platforms;
  /** The sample configuration, pointing at this run's endpoints and secret files. */
  sampleConfig(): ConfigDocumentInput;
  stop(): Promise<void>;
}

function appCertificateFile(dataDir: string): { file: string; certPem: string } {
  const dir = path.join(dataDir, 'secrets');
  const file = path.join(dir, 'sandbox-graph-app.pem');
  const certFile = path.join(dir, 'sandbox-graph-app.crt');
  if (!existsSync(file) || !existsSync(certFile)) {
    mkdirSync(dir, { recursive: true });
    const cert = createAppCertificate('clawback-sandbox-app');
    writeFileSync(file, cert.pemBundle, { mode: 0o600 });
    writeFileSync(certFile, cert.certPem);
  }
  return { file, certPem: readFileSync(certFile, 'utf8') };
}

/** The EWS service account's password, made on first start and kept where a file secret reference finds it. */
function ewsPasswordFile(dataDir: string): { file: string; password: string } {
  const dir = path.join(dataDir, 'secrets');
  const file = path.join(dir, 'sandbox-ews-password');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
  }
  return { file, password: readFileSync(file, 'utf8').replace(/\r?\n$/, '') };
}

/**
 * Starts both sandboxes with freshly seeded mailboxes (every start begins from the same mail, whatever
 * earlier runs removed); their secrets live in the data folder so file references keep working.
 */
export async function startSandboxEstate(options: SandboxEstateOptions): Promise<SandboxEstate> {
  const appCert = appCertificateFile(options.dataDir);
  const tenant = await startSandboxTenant({
    apps: [{ ...sandboxApp, certificatePem: appCert.certPem }],
    mailboxes: [...sandboxMailboxes(), ...(options.extraMailboxes ?? [])],
    ...(options.tls ? { tls: options.tls, host: '127.0.0.1' } : {}),
    port: options.sandboxPort,
    ...options.sandboxLimits,
  });
  options.log(
    `sandbox     Graph ${tenant.graphEndpoint}/v1.0, token endpoint ${tenant.authorityHost}/${sandboxApp.tenantDomain}/oauth2/v2.0/token`,
  );
  let started: Awaited<ReturnType<typeof startSandboxPlatforms>>;
  try {
    started = await startSandboxPlatforms({
      tenant,
      dataDir: options.dataDir,
      ports: options.platformPorts,
      tapClearedAfterMs: options.tapClearedAfterMs,
    });
  } catch (error) {
    await tenant.close();
    throw error;
  }
  const { platforms, sources } = started;
  options.log(
    `platforms   Proofpoint TAP ${platforms.tap.url}, Cisco Secure Endpoint ${platforms.amp.url}, Graph security alerts ${platforms.defender.url}`,
  );
  const ewsPassword = ewsPasswordFile(options.dataDir);
  const seeded = onpremMailboxes();
  let onprem: FakeEwsServer;
  try {
    onprem = await startOnpremSandbox({
      username: onpremServiceAccount,
      password: ewsPassword.password,
      mailboxes: seeded,
      tls: options.tls,
      port: options.onpremPort,
    });
  } catch (error) {
    await platforms.close();
    await tenant.close();
    throw error;
  }
  options.log(
    `onprem      EWS ${onprem.url} (NTLM as ${onpremServiceAccount}, impersonation), mailboxes ${seeded.map((m) => m.address).join(', ')}`,
  );
  return {
    tenant,
    onprem,
    platforms,
    sampleConfig: () =>
      sandboxConfig(
        {
          authorityHost: tenant.publicAuthorityHost,
          graphEndpoint: tenant.graphEndpoint,
          ewsUrl: onprem.url,
        },
        // Relative to the data folder, as the example configuration writes them.
        {
          certificate: path.relative(options.dataDir, appCert.file),
          ewsPassword: path.relative(options.dataDir, ewsPassword.file),
        },
        sources,
      ),
    async stop() {
      await onprem.close();
      await platforms.close();
      await tenant.close();
    },
  };
}
