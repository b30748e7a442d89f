import { generateKeyPairSync } from 'node:crypto';

import forge from 'node-forge';

export interface TestPki {
  /** PEM of the private CA that signed the server certificate. */
  caCert: string;
  serverKey: string;
  /** Server certificate for 127.0.0.1 and localhost, issued by the CA. */
  serverCert: string;
}

/** A private CA and a server certificate for 127.0.0.1, like an on-premises Exchange with an internal PKI. */
export function createTestPki(): TestPki {
  const keyPair = () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return {
      privateKey: forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()),
      publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    };
  };
  const validity = (cert: forge.pki.Certificate, serial: string) => {
    cert.serialNumber = serial;
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + 24 * 60 * 60 * 1000);
  };

  const caKeys = keyPair();
  const ca = forge.pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  validity(ca, '01');
  const caName = [{ name: 'commonName', value: 'Contoso Internal Root CA' }];
  ca.setSubject(caName);
  ca.setIssuer(caName);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const serverKeys = keyPair();
  const server = forge.pki.createCertificate();
  server.publicKey = serverKeys.publicKey;
  validity(server, '02');
  server.setSubject([{ name: 'commonName', value: 'mail.contoso.com' }]);
  server.setIssuer(caName);
  server.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 7, ip: '127.0.0.1' },
        { type: 2, value: 'localhost' },
      ],
    },
  ]);
  server.sign(caKeys.privateKey, forge.md.sha256.create());

  return {
    caCert: forge.pki.certificateToPem(ca),
    serverKey: forge.pki.privateKeyToPem(serverKeys.privateKey),
    serverCert: forge.pki.certificateToPem(server),
  };
}
