import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { type BareLocalRuntime, type LocalRuntime, startLocalRuntime } from './runtime.js';
import { sampleVerdict } from './sampleTenant.js';
import { createDevCertificateAuthority, issueServerCertificate } from './sandbox/index.js';

const dataDir = path.resolve(process.env.CLAWBACK_DATA_DIR ?? '.clawback');
const certDir = path.join(dataDir, 'certs');
const caFile = path.join(certDir, 'sandbox-ca.pem');
/** The sandbox CA plus whatever the operator's NODE_EXTRA_CA_CERTS names: what the runtime's process trusts. */
const trustedCasFile = path.join(certDir, 'trusted-cas.pem');
const childMarker = 'CLAWBACK_LOCAL_RUNTIME_CHILD';
const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);

/** `CLAWBACK_SANDBOX=off` (also `false`, `0`, `no`): a tenant of the operator's own, no sandboxes. */
function sandboxEnabled(): boolean {
  const value = (process.env.CLAWBACK_SANDBOX ?? 'on').trim().toLowerCase();
  if (['off', 'false', '0', 'no'].includes(value)) return false;
  if (['on', 'true', '1', 'yes', ''].includes(value)) return true;
  throw new Error(`CLAWBACK_SANDBOX must be on or off (got "${process.env.CLAWBACK_SANDBOX}").`);
}

function port(name: string, fallback: number): number {
  const text = process.env[name]?.trim();
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new Error(`${name} must be a port number from 0 to 65535 (0 picks a free one); got "${text}".`);
  return value;
}

/** A CA made on first start; only the runtime's own process trusts it (NODE_EXTRA_CA_CERTS). */
function ensureCertificates(): { keyPem: string; certPem: string; caPem: string } {
  const keyFile = path.join(certDir, 'sandbox-server-key.pem');
  const certFile = path.join(certDir, 'sandbox-server.pem');
  if (!existsSync(caFile) || !existsSync(keyFile) || !existsSync(certFile)) {
    log(`certs       creating a development CA and a server certificate for localhost in ${certDir}`);
    mkdirSync(certDir, { recursive: true });
    const ca = createDevCertificateAuthority();
    const server = issueServerCertificate(ca, ['localhost', '127.0.0.1']);
    writeFileSync(path.join(certDir, 'sandbox-ca-key.pem'), ca.caKeyPem, { mode: 0o600 });
    writeFileSync(caFile, ca.caCertPem);
    writeFileSync(keyFile, server.keyPem, { mode: 0o600 });
    writeFileSync(certFile, server.certPem);
  }
  return {
    keyPem: readFileSync(keyFile, 'utf8'),
    certPem: readFileSync(certFile, 'utf8'),
    caPem: readFileSync(caFile, 'utf8'),
  };
}

/**
 * Node reads extra CAs only at start-up, so the sandbox runtime runs as a child trusting the sandbox
 * CA in addition to (never instead of) the operator's own NODE_EXTRA_CA_CERTS.
 */
function respawnTrusting(caPem: string): void {
  const operatorCas = process.env.NODE_EXTRA_CA_CERTS?.trim();
  const extra = operatorCas ? readFileSync(operatorCas, 'utf8') : '';
  writeFileSync(trustedCasFile, `${extra.trimEnd()}${extra ? '\n' : ''}${caPem}`);
  const child = spawn(process.execPath, [__filename], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: trustedCasFile, [childMarker]: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

function sandboxBanner(runtime: LocalRuntime): string {
  const body = JSON.stringify(sampleVerdict(`sample-${Date.now()}`));
  const origin = runtime.apiUrl.replace(/\/api$/, '');
  return `
Clawback local runtime ready: ${runtime.apiUrl}

On-premises sandbox up: Exchange Server EWS at ${runtime.onprem.url} (profile sandbox-onprem);
contoso.com maps to chain hybrid = sandbox-online (Graph), then sandbox-onprem (EWS).

Post a sample verdict (the message it names sits in alice@ and bob@contoso.com in Exchange Online,
and in dan@contoso.com, whose mailbox is on-premises):

  curl -s -X POST ${runtime.apiUrl}/verdicts -H 'Content-Type: application/json' -d '${body}'

Then open the statusUrl it answers with:   curl -s <statusUrl>
Watch the mailbox lose the message:         curl -s ${origin}/sandbox/mailboxes/alice@contoso.com
The same on-premises, through EWS:          curl -s ${origin}/sandbox/onprem/mailboxes/dan@contoso.com
Pull connectors poll local fakes of Proofpoint TAP, Cisco Secure Endpoint and Defender (docs/sources.md):
TAP reports Carol's "Q4 shipping report" malicious now (quarantined) and clears it ~90 s after start
(restored to her Inbox):                    curl -s ${origin}/sandbox/mailboxes/carol@contoso.com
Each connector's cursor and last error are in the SourceCursors table.
Results are in the Verdicts and Remediations tables (Azure Storage Explorer → Emulator, table port ${tablePortOf(runtime)}).
Press Ctrl+C to stop.
`;
}

function tenantBanner(runtime: BareLocalRuntime): string {
  return `
Clawback local runtime ready: ${runtime.apiUrl} (CLAWBACK_SANDBOX=off: no sandboxes, no sample configuration)

Apply your configuration once; it is kept across restarts:   npx clawback config apply <file> --url ${runtime.apiUrl.replace(/\/api$/, '')}
Test a profile against a mailbox of yours:                   npx clawback profiles test <profile> <mailbox>
Results are in the Verdicts and Remediations tables (Azure Storage Explorer → Emulator, table port ${tablePortOf(runtime)}).
Press Ctrl+C to stop.
`;
}

function tablePortOf(runtime: BareLocalRuntime): string {
  return /:(\d+)\/devstoreaccount1/.exec(runtime.tableConnectionString)?.[1] ?? '?';
}

async function main(): Promise<void> {
  const sandbox = sandboxEnabled();
  const common = {
    port: port('CLAWBACK_PORT', 7071),
    tablePort: port('CLAWBACK_TABLE_PORT', 10002),
    dataDir,
    persistTables: true,
    timerSeconds: Number(process.env.CLAWBACK_TIMER_SECONDS ?? 10),
    log,
  };
  let runtime: BareLocalRuntime;
  if (sandbox) {
    const tls = ensureCertificates();
    if (process.env[childMarker] !== '1') {
      respawnTrusting(tls.caPem);
      return;
    }
    log('clawback    starting the local runtime with the sandbox tenant and the on-premises sandbox');
    const withSandbox = await startLocalRuntime({
      ...common,
      sandboxPort: port('CLAWBACK_SANDBOX_PORT', 7072),
      onpremPort: port('CLAWBACK_ONPREM_PORT', 7073),
      platformPorts: {
        tap: port('CLAWBACK_TAP_PORT', 0),
        amp: port('CLAWBACK_AMP_PORT', 0),
        defender: port('CLAWBACK_DEFENDER_PORT', 0),
      },
      tapClearedAfterMs: 90_000,
      tls,
    });
    console.log(sandboxBanner(withSandbox));
    runtime = withSandbox;
  } else {
    log(
      `clawback    starting the local runtime for your own tenant${process.env.NODE_EXTRA_CA_CERTS ? ` (also trusting the CAs in ${process.env.NODE_EXTRA_CA_CERTS})` : ''}`,
    );
    runtime = await startLocalRuntime({ ...common, sandbox: false });
    console.log(tenantBanner(runtime));
  }
  const stop = () => {
    log('clawback    stopping');
    void runtime.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(
    `clawback local runtime failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
