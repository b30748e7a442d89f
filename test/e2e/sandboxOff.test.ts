import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  createDevCertificateAuthority,
  issueServerCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../local/sandbox/index.js';
import { isListening, StartedRuntime, unusedPort } from '../support/startProcess.js';

const app = {
  tenantId: '0c7f1a52-3a41-4c1e-9d0e-6b3f2a1d9e11',
  tenantDomain: 'fabrikam.example',
  clientId: '2b8e7c10-1d2f-4a3b-8c4d-5e6f7a8b9c0d',
};

let dataDir: string;
let operatorTenant: SandboxTenant;
let proxiedTenant: SandboxTenant;
const running: StartedRuntime[] = [];

/** A Graph + token endpoint over https with a server certificate from `ca`, as a tenant behind a TLS-inspecting proxy looks. */
async function tenantSignedBy(
  ca: ReturnType<typeof createDevCertificateAuthority>,
  certificatePem: string,
  mailbox: string,
): Promise<SandboxTenant> {
  return startSandboxTenant({
    apps: [{ ...app, certificatePem }],
    mailboxes: [{ address: mailbox, displayName: mailbox, messages: [] }],
    tls: issueServerCertificate(ca, ['127.0.0.1', 'localhost']),
    host: '127.0.0.1',
    port: 0,
  });
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'clawback-tenant-'));
  mkdirSync(path.join(dataDir, 'secrets'));
  const appCert = createAppCertificate('clawback-test-app');
  writeFileSync(path.join(dataDir, 'secrets', 'graph-app.pem'), appCert.pemBundle);
  // The caller's own CA, trusted through NODE_EXTRA_CA_CERTS; a second one only a profile's trustedCa names.
  const callerCa = createDevCertificateAuthority();
  const profileCa = createDevCertificateAuthority();
  writeFileSync(path.join(dataDir, 'caller-ca.pem'), callerCa.caCertPem);
  writeFileSync(path.join(dataDir, 'secrets', 'proxy-ca.pem'), profileCa.caCertPem);
  operatorTenant = await tenantSignedBy(callerCa, appCert.certPem, 'amy@fabrikam.example');
  proxiedTenant = await tenantSignedBy(profileCa, appCert.certPem, 'ben@tailspin.example');
}, 60_000);

afterAll(async () => {
  for (const runtime of running) await runtime.stop();
  await operatorTenant?.close();
  await proxiedTenant?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function startTenantRuntime(ports: { sandbox: number; onprem: number }): Promise<StartedRuntime> {
  const runtime = await StartedRuntime.start({
    CLAWBACK_SANDBOX: 'off',
    CLAWBACK_PORT: '0',
    CLAWBACK_TABLE_PORT: '0',
    CLAWBACK_SANDBOX_PORT: String(ports.sandbox),
    CLAWBACK_ONPREM_PORT: String(ports.onprem),
    CLAWBACK_DATA_DIR: dataDir,
    NODE_EXTRA_CA_CERTS: path.join(dataDir, 'caller-ca.pem'),
  });
  running.push(runtime);
  return runtime;
}

function graphProfile(name: string, tenant: SandboxTenant, extra: Record<string, unknown> = {}) {
  return {
    name,
    type: 'graph',
    tenantId: app.tenantDomain,
    clientId: app.clientId,
    certificate: { file: 'secrets/graph-app.pem' },
    authorityHost: tenant.publicAuthorityHost,
    graphEndpoint: tenant.graphEndpoint,
    ...extra,
  };
}

async function testProfile(apiUrl: string, profile: string, mailbox: string) {
  const response = await fetch(`${apiUrl}/profiles/${profile}/test`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mailbox }),
  });
  return (await response.json()) as { ok: boolean; code: string; detail?: string };
}

describe('CLAWBACK_SANDBOX=off (the local runtime against a tenant of the operator’s own)', () => {
  it('keeps the applied document across a restart, opens no sandbox, and reaches Graph behind the caller’s CA and a profile’s trustedCa', async () => {
    const ports = { sandbox: await unusedPort(), onprem: await unusedPort() };
    const first = await startTenantRuntime(ports);
    expect(first.output).toMatch(/no configuration applied yet/);
    expect(first.output).not.toMatch(/sample configuration applied|sandbox {5}Graph|onprem {6}EWS/);

    const document = {
      profiles: [
        graphProfile('fabrikam-online', operatorTenant),
        graphProfile('tailspin-online', proxiedTenant, { trustedCa: { file: 'secrets/proxy-ca.pem' } }),
        graphProfile('tailspin-untrusted', proxiedTenant),
      ],
      domains: { 'fabrikam.example': 'fabrikam-online', 'tailspin.example': 'tailspin-online' },
      policies: [{ verdict: 'malicious', action: 'quarantine' }],
    };
    const put = await fetch(`${first.apiUrl}/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(document),
    });
    expect(put.status).toBe(200);
    const applied = (await (await fetch(`${first.apiUrl}/config`)).json()) as {
      version: string;
      document: unknown;
    };

    const tokensBefore = operatorTenant.tokenRequests;
    expect(await testProfile(first.apiUrl, 'fabrikam-online', 'amy@fabrikam.example')).toMatchObject({
      ok: true,
      code: 'Connected',
    });
    expect(operatorTenant.tokenRequests).toBeGreaterThan(tokensBefore);
    expect(operatorTenant.requests.some((r) => r.mailbox === 'amy@fabrikam.example')).toBe(true);
    expect(await testProfile(first.apiUrl, 'tailspin-online', 'ben@tailspin.example')).toMatchObject({
      ok: true,
      code: 'Connected',
    });
    expect(proxiedTenant.requests.some((r) => r.mailbox === 'ben@tailspin.example')).toBe(true);
    // Without trustedCa the proxy's CA is not trusted: the test says so with a code and a remedy.
    const untrusted = await testProfile(first.apiUrl, 'tailspin-untrusted', 'ben@tailspin.example');
    expect(untrusted).toMatchObject({ ok: false, code: 'ServerCertificateUntrusted' });
    await first.stop();

    const second = await startTenantRuntime(ports);
    expect(second.output).toContain(`the applied configuration (version ${applied.version}) is kept`);
    const after = (await (await fetch(`${second.apiUrl}/config`)).json()) as {
      version: string;
      document: unknown;
    };
    expect(after).toMatchObject({ version: applied.version, document: applied.document });
    expect(await isListening(ports.sandbox)).toBe(false);
    expect(await isListening(ports.onprem)).toBe(false);
    expect(await testProfile(second.apiUrl, 'fabrikam-online', 'amy@fabrikam.example')).toMatchObject({
      ok: true,
    });
  }, 180_000);
});
