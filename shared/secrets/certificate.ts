import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';

import forge from 'node-forge';

import { ClawbackError, isClawbackError } from '../errors.js';
import type { SecretValue } from '../ports/secrets.js';

/** A client certificate ready for `ClientCertificateCredential`. */
export interface LoadedCertificate {
  /** PKCS#8 private key, then the certificate that matches it, then the rest of the chain. */
  pem: string;
  /** Upper-case hex SHA-256 of the certificate (the `x5t#S256` Entra ID matches). */
  thumbprintSha256: string;
  /** Upper-case hex SHA-1, the thumbprint the Entra portal lists under Certificates & secrets. */
  thumbprintSha1: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

export interface LoadCertificateOptions {
  /** How the operator knows the secret, e.g. `Key Vault secret "contoso-graph-cert"`. */
  label?: string;
  /** PFX or encrypted-key password; Key Vault certificates have none. */
  password?: string;
  now?: Date;
}

/**
 * Reads a certificate stored as PEM (`application/x-pem-file`, or any value starting `-----BEGIN`) or
 * as a base64 PFX (`application/x-pkcs12`, what Key Vault holds for an imported certificate). Node
 * cannot open PKCS#12 itself, so node-forge converts it. Fails with ConfigurationError when the key is
 * missing or does not match, when the certificate is outside its validity period, or when unreadable.
 */
export function loadCertificate(
  secret: SecretValue,
  options: LoadCertificateOptions = {},
): LoadedCertificate {
  const label = options.label ?? 'the certificate secret';
  const { keys, certificates } = isPem(secret)
    ? readPem(secret.value, label, options.password)
    : readPfx(secret.value, label, options.password ?? '');
  const key = keys[0];
  if (!key)
    throw configError(
      `${label} holds no private key; store the certificate with its private key (a PFX, or a PEM with the key).`,
    );
  if (certificates.length === 0) throw configError(`${label} holds a private key but no certificate.`);
  const leaf = certificates.find((c) => c.checkPrivateKey(key));
  if (!leaf) throw configError(`The private key in ${label} does not belong to any certificate in it.`);

  const now = options.now ?? new Date();
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  const subject = leaf.subject.replace(/\n/g, ', ');
  if (now.getTime() < notBefore.getTime())
    throw configError(
      `The certificate in ${label} (${subject}) is not valid before ${notBefore.toISOString()}; check the clock or wait for it.`,
    );
  if (now.getTime() > notAfter.getTime())
    throw configError(
      `The certificate in ${label} (${subject}) expired on ${notAfter.toISOString()}; upload a renewed certificate to Key Vault and to the app registration.`,
    );

  const chain = [leaf, ...certificates.filter((c) => c !== leaf)];
  const keyPem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    pem: keyPem + chain.map((c) => c.toString()).join(''),
    thumbprintSha256: leaf.fingerprint256.replace(/:/g, ''),
    thumbprintSha1: leaf.fingerprint.replace(/:/g, ''),
    subject,
    notBefore,
    notAfter,
  };
}

/** Whether a certificate loaded earlier is still inside its validity period. */
export function isCertificateCurrent(certificate: LoadedCertificate, now: Date = new Date()): boolean {
  return now.getTime() >= certificate.notBefore.getTime() && now.getTime() <= certificate.notAfter.getTime();
}

function configError(detail: string): ClawbackError {
  return new ClawbackError('ConfigurationError', detail);
}

function isPem(secret: SecretValue): boolean {
  return (
    secret.contentType?.toLowerCase() === 'application/x-pem-file' ||
    secret.value.trimStart().startsWith('-----BEGIN')
  );
}

interface Parts {
  keys: KeyObject[];
  certificates: X509Certificate[];
}

const pemBlock = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

function readPem(value: string, label: string, password: string | undefined): Parts {
  const parts: Parts = { keys: [], certificates: [] };
  for (const match of value.matchAll(pemBlock)) {
    const [block, type] = match;
    try {
      if (type === 'CERTIFICATE') parts.certificates.push(new X509Certificate(block));
      else if (type === 'ENCRYPTED PRIVATE KEY') {
        if (password === undefined)
          throw configError(`The private key in ${label} is encrypted; store it unencrypted in Key Vault.`);
        parts.keys.push(createPrivateKey({ key: block, format: 'pem', passphrase: password }));
      } else if (type?.endsWith('PRIVATE KEY')) parts.keys.push(createPrivateKey(block));
    } catch (error) {
      if (isClawbackError(error)) throw error;
      throw configError(
        `${label} holds a ${type ?? 'PEM'} block that cannot be read: ${(error as Error).message}`,
      );
    }
  }
  if (parts.keys.length === 0 && parts.certificates.length === 0)
    throw configError(`${label} is not a PEM certificate: it has no BEGIN/END blocks.`);
  return parts;
}

function readPfx(value: string, label: string, password: string): Parts {
  const compact = value.replace(/\s+/g, '');
  if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact))
    throw configError(
      `${label} is neither PEM nor a base64 PFX; store the certificate as application/x-pkcs12 or application/x-pem-file.`,
    );
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.decode64(compact)), false, password);
  } catch (error) {
    const message = (error as Error).message;
    if (/mac could not be verified|invalid password/i.test(message))
      throw configError(
        `${label} is a PFX protected by a password Clawback does not have; re-export it without a password or import it into Key Vault.`,
      );
    throw configError(`${label} cannot be read as a PFX: ${message}`);
  }
  const bagsOf = (bagType: string | undefined): forge.pkcs12.Bag[] =>
    bagType ? (p12.getBags({ bagType })[bagType] ?? []) : [];
  const shrouded = bagsOf(forge.pki.oids.pkcs8ShroudedKeyBag);
  const plain = bagsOf(forge.pki.oids.keyBag);
  const certBags = bagsOf(forge.pki.oids.certBag);
  try {
    return {
      keys: [...shrouded, ...plain].flatMap((bag) =>
        bag.key ? [createPrivateKey(forge.pki.privateKeyToPem(bag.key))] : [],
      ),
      certificates: certBags.flatMap((bag) =>
        bag.cert ? [new X509Certificate(forge.pki.certificateToPem(bag.cert))] : [],
      ),
    };
  } catch (error) {
    throw configError(`${label} holds a key or certificate that cannot be read: ${(error as Error).message}`);
  }
}
