import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';

import forge from 'node-forge';

export interface DevCertificateAuthority {
  caCertPem: string;
  caKeyPem: string;
}

export interface AppCertificate {
  certPem: string;
  /** PKCS#8. */
  keyPem: string;
  /** Key then certificate, as Key Vault returns a certificate with content type application/x-pem-file. */
  pemBundle: string;
  /** PKCS#12 with an empty password, as Key Vault returns a certificate with content type application/x-pkcs12. */
  pfxBase64: string;
}

interface KeyPair {
  publicKey: forge.pki.rsa.PublicKey;
  privateKey: forge.pki.rsa.PrivateKey;
  privateKeyPem: string;
}

const dayMs = 24 * 60 * 60 * 1000;
const sha256WithRsaEncryption = '1.2.840.113549.1.1.11';
/** Present in node-forge, missing from its type definitions. */
const { getTBSCertificate } = forge.pki as unknown as {
  getTBSCertificate: (cert: forge.pki.Certificate) => forge.asn1.Asn1;
};

/** node:crypto generates keys in milliseconds where forge's pure-JS generator takes seconds. */
function newKeyPair(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey),
    privateKey: forge.pki.privateKeyFromPem(privateKey),
    privateKeyPem: privateKey,
  };
}

function newCertificate(
  publicKey: forge.pki.rsa.PublicKey,
  notBefore: Date,
  notAfter: Date,
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  return cert;
}

/**
 * Does what forge's `cert.sign` does, with node:crypto computing the RSA signature (forge's pure-JS RSA
 * takes about 200 ms per certificate, which adds up across tests).
 */
function signCertificate(cert: forge.pki.Certificate, signerKeyPem: string): void {
  cert.md = forge.md.sha256.create();
  cert.signatureOid = sha256WithRsaEncryption;
  cert.siginfo.algorithmOid = cert.signatureOid;
  cert.tbsCertificate = getTBSCertificate(cert);
  const tbs = Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), 'binary');
  cert.signature = sign('sha256', tbs, signerKeyPem).toString('binary');
}

/**
 * 16 random bytes whose first is 0x01–0x7f: a positive DER INTEGER in its minimal form (RFC 5280).
 * A zero first byte would be padding that OpenSSL refuses ("illegal padding").
 */
export function serialNumber(random: Buffer = randomBytes(16)): string {
  const bytes = Buffer.from(random);
  bytes[0] = (bytes[0] ?? 0) & 0x7f || 0x01;
  return bytes.toString('hex');
}

/** A CA for the local https endpoints; trust it with NODE_EXTRA_CA_CERTS or an explicit `ca`. */
export function createDevCertificateAuthority(): DevCertificateAuthority {
  const keys = newKeyPair();
  const now = Date.now();
  const cert = newCertificate(keys.publicKey, new Date(now - dayMs), new Date(now + 3650 * dayMs));
  const subject = [{ name: 'commonName', value: 'Clawback Sandbox Development CA' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signCertificate(cert, keys.privateKeyPem);
  return { caCertPem: forge.pki.certificateToPem(cert), caKeyPem: keys.privateKeyPem };
}

/** A TLS server certificate signed by the dev CA, valid for the given host names and IP addresses. */
export function issueServerCertificate(
  ca: DevCertificateAuthority,
  hosts: string[],
): { certPem: string; keyPem: string } {
  const first = hosts[0];
  if (first === undefined) throw new Error('issueServerCertificate needs at least one host name.');
  const caCert = forge.pki.certificateFromPem(ca.caCertPem);
  const keys = newKeyPair();
  const now = Date.now();
  const cert = newCertificate(keys.publicKey, new Date(now - dayMs), new Date(now + 365 * dayMs));
  cert.setSubject([{ name: 'commonName', value: first }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      // Type 7 is iPAddress, type 2 dNSName (RFC 5280 GeneralName).
      altNames: hosts.map((host) => (isIP(host) ? { type: 7, ip: host } : { type: 2, value: host })),
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  signCertificate(cert, ca.caKeyPem);
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privateKeyPem };
}

/** A self-signed certificate like the one an app registration holds, in the shapes Key Vault hands out. */
export function createAppCertificate(
  commonName: string,
  opts: { notAfter?: Date; notBefore?: Date } = {},
): AppCertificate {
  const keys = newKeyPair();
  const now = Date.now();
  const cert = newCertificate(
    keys.publicKey,
    opts.notBefore ?? new Date(now - dayMs),
    opts.notAfter ?? new Date(now + 365 * dayMs),
  );
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  signCertificate(cert, keys.privateKeyPem);
  const certPem = forge.pki.certificateToPem(cert);
  const pfx = forge.pkcs12.toPkcs12Asn1(keys.privateKey, [cert], '', {
    algorithm: '3des',
    generateLocalKeyId: true,
    friendlyName: commonName,
  });
  return {
    certPem,
    keyPem: keys.privateKeyPem,
    pemBundle: keys.privateKeyPem + certPem,
    pfxBase64: forge.util.encode64(forge.asn1.toDer(pfx).getBytes()),
  };
}
