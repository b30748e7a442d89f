import { X509Certificate } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { createAppCertificate, serialNumber } from '../../../local/sandbox/certificates.js';

describe('sandbox certificates', () => {
  it('never gives a serial number a padding byte OpenSSL refuses, whatever the random bytes', () => {
    for (const first of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
      const serial = serialNumber(Buffer.from([first, ...Array.from({ length: 15 }, () => 0)]));
      expect(serial).toHaveLength(32);
      const top = parseInt(serial.slice(0, 2), 16);
      expect(top).toBeGreaterThanOrEqual(0x01);
      expect(top).toBeLessThanOrEqual(0x7f);
    }
  });

  it('makes app certificates Node can parse, with the key Key Vault would return next to them', () => {
    const cert = createAppCertificate('clawback-test');
    const x509 = new X509Certificate(cert.certPem);
    expect(x509.subject).toContain('clawback-test');
    expect(cert.pemBundle).toContain('PRIVATE KEY');
  });
});
