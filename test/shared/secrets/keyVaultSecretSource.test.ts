import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createAppCertificate } from '../../../local/sandbox/index.js';
import { isClawbackError } from '../../../shared/errors.js';
import {
  CompositeSecretSource,
  KeyVaultSecretSource,
  loadCertificate,
  LocalSecretSource,
} from '../../../shared/secrets/index.js';
import { type FakeKeyVault, fixedTokenCredential, startFakeKeyVault } from '../../fakes/keyVault.js';

const dayMs = 86_400_000;
const appCert = createAppCertificate('clawback-test-app');

async function rejection(promise: Promise<unknown>) {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isClawbackError(error)) throw new Error(`expected a ClawbackError, got ${String(error)}`);
  return error;
}

function pfxWithPassword(password: string): string {
  const key = forge.pki.privateKeyFromPem(appCert.keyPem);
  const cert = forge.pki.certificateFromPem(appCert.certPem);
  return forge.util.encode64(
    forge.asn1.toDer(forge.pkcs12.toPkcs12Asn1(key, [cert], password, { algorithm: '3des' })).getBytes(),
  );
}

describe('KeyVaultSecretSource against a Key Vault fake', () => {
  let vault: FakeKeyVault;
  const source = (ttlSeconds = 300, now?: () => number) =>
    new KeyVaultSecretSource({
      vaultUrl: vault.vaultUrl,
      credential: fixedTokenCredential(),
      ttlSeconds,
      httpClient: vault.httpClient,
      maxRetries: 0,
      ...(now ? { now } : {}),
    });

  beforeAll(async () => {
    vault = await startFakeKeyVault({
      secrets: {
        'ews-password': { value: 's3cr3t', contentType: 'text/plain' },
        'graph-cert-pem': { value: appCert.pemBundle, contentType: 'application/x-pem-file' },
        'graph-cert-pfx': { value: appCert.pfxBase64, contentType: 'application/x-pkcs12' },
      },
    });
  });
  afterAll(() => vault.close());

  it('answers the bearer challenge and returns the value and content type', async () => {
    const secret = await source().getSecret({ keyVaultSecret: 'ews-password' });
    expect(secret).toEqual({ value: 's3cr3t', contentType: 'text/plain' });
    const reads = vault.requests.filter((r) => r.path.startsWith('/secrets/ews-password'));
    expect(reads[0]).toMatchObject({ status: 401, authorization: undefined });
    expect(reads.at(-1)).toMatchObject({ status: 200, authorization: 'Bearer kv-token' });
  });

  it('reads a PEM certificate into a key and certificate the credential can use', async () => {
    const certificate = loadCertificate(await source().getSecret({ keyVaultSecret: 'graph-cert-pem' }));
    const x509 = new X509Certificate(appCert.certPem);
    expect(certificate.thumbprintSha256).toBe(x509.fingerprint256.replace(/:/g, ''));
    expect(certificate.pem).toMatch(/^-----BEGIN PRIVATE KEY-----[\s\S]+-----BEGIN CERTIFICATE-----/);
    expect(certificate.notAfter.toISOString()).toBe(new Date(x509.validTo).toISOString());
  });

  it('converts a PFX certificate to the same key and certificate', async () => {
    const fromPfx = loadCertificate(await source().getSecret({ keyVaultSecret: 'graph-cert-pfx' }));
    const fromPem = loadCertificate({ value: appCert.pemBundle, contentType: 'application/x-pem-file' });
    expect(fromPfx.thumbprintSha256).toBe(fromPem.thumbprintSha256);
    expect(fromPfx.pem).toBe(fromPem.pem);
  });

  it('caches a secret for the TTL and shares one read between concurrent callers', async () => {
    let now = 1_000_000;
    const cached = source(60, () => now);
    vault.setSecret('cached', { value: 'v1' });
    const values = await Promise.all(
      Array.from({ length: 25 }, () => cached.getSecret({ keyVaultSecret: 'cached' })),
    );
    await cached.getSecret({ keyVaultSecret: 'cached' });
    expect(new Set(values.map((v) => v.value))).toEqual(new Set(['v1']));
    expect(vault.reads('cached')).toBe(1);

    vault.setSecret('cached', { value: 'v2' });
    now += 61_000;
    expect((await cached.getSecret({ keyVaultSecret: 'cached' })).value).toBe('v2');
    expect(vault.reads('cached')).toBe(2);
  });

  it('reports a missing secret as a configuration error naming the secret and vault', async () => {
    const error = await rejection(source().getSecret({ keyVaultSecret: 'nope' }));
    expect(error.code).toBe('ConfigurationError');
    expect(error.detail).toBe('Key Vault secret "nope" does not exist in kv-test.vault.azure.net.');
  });

  it('does not cache a failed read', async () => {
    const s = source();
    await rejection(s.getSecret({ keyVaultSecret: 'late' }));
    vault.setSecret('late', { value: 'now here' });
    expect((await s.getSecret({ keyVaultSecret: 'late' })).value).toBe('now here');
  });

  it('names the missing Key Vault Secrets User role when access is denied', async () => {
    vault.failWith(403);
    try {
      const error = await rejection(source().getSecret({ keyVaultSecret: 'ews-password' }));
      expect(error.code).toBe('ConfigurationError');
      expect(error.detail).toMatch(/'Key Vault Secrets User' role/);
    } finally {
      vault.failWith(undefined);
    }
  });

  it('reports a failing vault as a retryable connection error', async () => {
    vault.failWith(500);
    try {
      const error = await rejection(source().getSecret({ keyVaultSecret: 'ews-password' }));
      expect(error).toMatchObject({ code: 'ConnectionError', retryable: true });
    } finally {
      vault.failWith(undefined);
    }
  });

  it('reports an unreachable vault as a retryable connection error', async () => {
    const closed = await startFakeKeyVault({ vaultName: 'kv-gone' });
    await closed.close();
    const unreachable = new KeyVaultSecretSource({
      vaultUrl: closed.vaultUrl,
      credential: fixedTokenCredential(),
      ttlSeconds: 60,
      httpClient: closed.httpClient,
      maxRetries: 0,
    });
    const error = await rejection(unreachable.getSecret({ keyVaultSecret: 'anything' }));
    expect(error).toMatchObject({ code: 'ConnectionError', retryable: true });
    expect(error.detail).toMatch(/kv-gone\.vault\.azure\.net/);
  });
});

describe('loadCertificate', () => {
  it('refuses an expired certificate', () => {
    const expired = createAppCertificate('old', {
      notBefore: new Date(Date.now() - 400 * dayMs),
      notAfter: new Date(Date.now() - dayMs),
    });
    expect(() => loadCertificate({ value: expired.pemBundle }, { label: 'Key Vault secret "old"' })).toThrow(
      /Key Vault secret "old" \(CN=old\) expired on/,
    );
  });

  it('refuses a certificate that is not valid yet', () => {
    const future = createAppCertificate('future', {
      notBefore: new Date(Date.now() + 10 * dayMs),
      notAfter: new Date(Date.now() + 400 * dayMs),
    });
    expect(() => loadCertificate({ value: future.pfxBase64, contentType: 'application/x-pkcs12' })).toThrow(
      /is not valid before/,
    );
  });

  it('refuses a certificate without its private key', () => {
    expect(() => loadCertificate({ value: appCert.certPem, contentType: 'application/x-pem-file' })).toThrow(
      /holds no private key/,
    );
  });

  it('refuses a key that belongs to another certificate', () => {
    const other = createAppCertificate('other');
    expect(() => loadCertificate({ value: other.keyPem + appCert.certPem })).toThrow(
      /does not belong to any certificate/,
    );
  });

  it('refuses a PFX protected by a password it was not given', () => {
    expect(() =>
      loadCertificate({ value: pfxWithPassword('hunter2'), contentType: 'application/x-pkcs12' }),
    ).toThrow(/protected by a password/);
  });

  it('opens a PFX with its password', () => {
    expect(loadCertificate({ value: pfxWithPassword('hunter2') }, { password: 'hunter2' }).subject).toBe(
      'CN=clawback-test-app',
    );
  });

  it('refuses a value that is neither PEM nor PFX', () => {
    expect(() => loadCertificate({ value: 'not a certificate!' })).toThrow(/neither PEM nor a base64 PFX/);
  });

  it('throws configuration errors, never the secret value', () => {
    let thrown: unknown;
    try {
      loadCertificate({ value: appCert.keyPem });
    } catch (error) {
      thrown = error;
    }
    expect(isClawbackError(thrown) && thrown.code).toBe('ConfigurationError');
    expect(String((thrown as Error).message)).not.toContain('PRIVATE KEY');
  });
});

describe('local and composite secret sources', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clawback-secrets-'));
  writeFileSync(join(dir, 'password.txt'), 'from-file\n');
  writeFileSync(join(dir, 'app.pfx'), Buffer.from(appCert.pfxBase64, 'base64'));
  const env = { CLAWBACK_TEST_SECRET: 'from-env' };

  it('reads a file relative to the base directory without its trailing newline', async () => {
    const local = new LocalSecretSource({ runtime: 'local', baseDir: dir, env });
    expect(await local.getSecret({ file: 'password.txt' })).toEqual({ value: 'from-file' });
  });

  it('returns a PFX file as base64 PKCS#12, as Key Vault does', async () => {
    const local = new LocalSecretSource({ runtime: 'local', baseDir: dir, env });
    const secret = await local.getSecret({ file: 'app.pfx' });
    expect(secret.contentType).toBe('application/x-pkcs12');
    expect(loadCertificate(secret).subject).toBe('CN=clawback-test-app');
  });

  it('reads an environment variable', async () => {
    const local = new LocalSecretSource({ runtime: 'local', baseDir: dir, env });
    expect(await local.getSecret({ env: 'CLAWBACK_TEST_SECRET' })).toEqual({ value: 'from-env' });
    await expect(local.getSecret({ env: 'CLAWBACK_UNSET' })).rejects.toMatchObject({
      code: 'ConfigurationError',
    });
  });

  it('reports a missing file as a configuration error', async () => {
    const local = new LocalSecretSource({ runtime: 'local', baseDir: dir, env });
    await expect(local.getSecret({ file: 'missing.pem' })).rejects.toMatchObject({
      code: 'ConfigurationError',
      message: expect.stringMatching(/missing\.pem does not exist/) as unknown,
    });
  });

  it('refuses file and env references outside a local run', async () => {
    const local = new LocalSecretSource({ runtime: 'azure', baseDir: dir, env });
    await expect(local.getSecret({ env: 'CLAWBACK_TEST_SECRET' })).rejects.toMatchObject({
      code: 'ConfigurationError',
    });
    const composite = new CompositeSecretSource({ runtime: 'azure', baseDir: dir, env });
    await expect(composite.getSecret({ file: 'password.txt' })).rejects.toMatchObject({
      code: 'ConfigurationError',
      message: expect.stringMatching(
        /^file\/env secret references are only accepted when running locally/,
      ) as unknown,
    });
  });

  it('says CLAWBACK_KEY_VAULT_URL is not set when a Key Vault reference cannot be routed', async () => {
    const composite = new CompositeSecretSource({ runtime: 'local', baseDir: dir, env });
    await expect(composite.getSecret({ keyVaultSecret: 'x' })).rejects.toMatchObject({
      code: 'ConfigurationError',
      message: expect.stringMatching(/CLAWBACK_KEY_VAULT_URL is not set/) as unknown,
    });
  });

  it('routes Key Vault references to the vault and file references to the local source', async () => {
    const vault = await startFakeKeyVault({ secrets: { 'tap-webhook': { value: 'hmac' } } });
    try {
      const credential = fixedTokenCredential();
      const composite = new CompositeSecretSource({
        runtime: 'local',
        keyVaultUrl: vault.vaultUrl,
        credential: () => credential,
        ttlSeconds: 60,
        httpClient: vault.httpClient,
        baseDir: dir,
        env,
      });
      expect((await composite.getSecret({ keyVaultSecret: 'tap-webhook' })).value).toBe('hmac');
      expect((await composite.getSecret({ file: 'password.txt' })).value).toBe('from-file');
      expect(credential.calls).toBeGreaterThan(0);
    } finally {
      await vault.close();
    }
  });
});
