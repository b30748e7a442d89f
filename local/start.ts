import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { startLocalRuntime } from './runtime.js';
import { sampleVerdict } from './sampleTenant.js';
import { createDevCertificateAuthority, issueServerCertificate } from './sandbox/index.js';

const dataDir = path.resolve(process.env.CLAWBACK_DATA_DIR ?? '.clawback');
const certDir = path.join(dataDir, 'certs');
const caFile = path.join(certDir, 'sandbox-ca.pem');
const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);

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

async function main(): Promise<void> {
  const tls = ensureCertificates();
  if (process.env.NODE_EXTRA_CA_CERTS !== caFile) {
    // Node reads extra CAs only at start-up, so the runtime runs as a child that trusts the sandbox CA.
    const child = spawn(process.execPath, [__filename], {
      stdio: 'inherit',
      env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
    return;
  }
  log('clawback    starting the local runtime');
  const runtime = await startLocalRuntime({
    port: Number(process.env.CLAWBACK_PORT ?? 7071),
    tablePort: Number(process.env.CLAWBACK_TABLE_PORT ?? 10002),
    sandboxPort: Number(process.env.CLAWBACK_SANDBOX_PORT ?? 7072),
    dataDir,
    persistTables: true,
    tls,
    timerSeconds: Number(process.env.CLAWBACK_TIMER_SECONDS ?? 10),
    platformPorts: {
      tap: Number(process.env.CLAWBACK_TAP_PORT ?? 0),
      amp: Number(process.env.CLAWBACK_AMP_PORT ?? 0),
      defender: Number(process.env.CLAWBACK_DEFENDER_PORT ?? 0),
    },
    tapClearedAfterMs: 90_000,
    log,
  });
  const body = JSON.stringify(sampleVerdict(`sample-${Date.now()}`));
  const origin = runtime.apiUrl.replace(/\/api$/, '');
  console.log(`
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
Results are in the Verdicts and Remediations tables (Azure Storage Explorer → Emulator, table port ${runtime.tableConnectionString.match(/:(\d+)\/devstoreaccount1/)?.[1] ?? '?'}).
Press Ctrl+C to stop.
`);
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
