import { createHmac, timingSafeEqual } from 'node:crypto';

/** The server challenge of every Type 2 message this fake sends (a real server makes a random one). */
const serverChallenge = Buffer.from('0123456789abcdef', 'hex');

/** A hand-made NTLM Type 2 (challenge) message: target CONTOSO, server EXCH01, with target info (so clients answer NTLMv2). */
export function ntlmChallenge(): string {
  const u16 = (s: string) => Buffer.from(s, 'utf16le');
  const target = u16('CONTOSO');
  const av = (id: number, value: Buffer) => {
    const h = Buffer.alloc(4);
    h.writeUInt16LE(id, 0);
    h.writeUInt16LE(value.length, 2);
    return Buffer.concat([h, value]);
  };
  const info = Buffer.concat([av(2, u16('CONTOSO')), av(1, u16('EXCH01')), av(0, Buffer.alloc(0))]);
  const head = Buffer.alloc(48);
  head.write('NTLMSSP\0', 0, 'latin1');
  head.writeUInt32LE(2, 8);
  head.writeUInt16LE(target.length, 12);
  head.writeUInt16LE(target.length, 14);
  head.writeUInt32LE(48, 16);
  head.writeUInt32LE(0xa2898205, 20);
  serverChallenge.copy(head, 24);
  head.writeUInt16LE(info.length, 40);
  head.writeUInt16LE(info.length, 42);
  head.writeUInt32LE(48 + target.length, 44);
  return Buffer.concat([head, target, info]).toString('base64');
}

export interface NtlmAuthenticate {
  domain: string;
  user: string;
  /** The NT challenge response: NTLMv2's proof and blob, or NTLMv1's 24 bytes. */
  ntResponse: Buffer;
}

/** Reads a Type 3 (authenticate) message's security buffers. */
export function parseAuthenticate(message: Buffer): NtlmAuthenticate {
  const buffer = (offset: number) => {
    const length = message.readUInt16LE(offset);
    const start = message.readUInt32LE(offset + 4);
    return message.subarray(start, start + length);
  };
  return {
    domain: buffer(28).toString('utf16le'),
    user: buffer(36).toString('utf16le'),
    ntResponse: Buffer.from(buffer(20)),
  };
}

/**
 * Checks an NTLMv2 response against the password, as a domain controller would:
 * NTProofStr = HMAC-MD5(HMAC-MD5(MD4(password), UPPER(user) + domain), challenge + blob).
 * NTLMv1 answers are refused, as Exchange with current security defaults does.
 */
export function verifyNtlmV2(login: NtlmAuthenticate, password: string): boolean {
  if (login.ntResponse.length <= 24) return false;
  const proof = login.ntResponse.subarray(0, 16);
  const blob = login.ntResponse.subarray(16);
  const ntHash = md4(Buffer.from(password, 'utf16le'));
  const v2Hash = createHmac('md5', ntHash)
    .update(Buffer.from(login.user.toUpperCase() + login.domain, 'utf16le'))
    .digest();
  const expected = createHmac('md5', v2Hash).update(serverChallenge).update(blob).digest();
  return timingSafeEqual(proof, expected);
}

/** MD4 (RFC 1320): NTLM's password hash, which OpenSSL 3 no longer offers by default. */
export function md4(input: Buffer): Buffer {
  const length = input.length;
  const padded = Buffer.alloc((((length + 8) >> 6) + 1) * 64);
  input.copy(padded);
  padded[length] = 0x80;
  padded.writeUInt32LE((length * 8) >>> 0, padded.length - 8);
  padded.writeUInt32LE(Math.floor(length / 0x20000000), padded.length - 4);
  let [a, b, c, d] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  const rotl = (x: number, n: number) => (x << n) | (x >>> (32 - n));
  const F = (x: number, y: number, z: number) => (x & y) | (~x & z);
  const G = (x: number, y: number, z: number) => (x & y) | (x & z) | (y & z);
  const H = (x: number, y: number, z: number) => x ^ y ^ z;
  for (let block = 0; block < padded.length; block += 64) {
    const X = Array.from({ length: 16 }, (_, i) => padded.readUInt32LE(block + i * 4));
    const [aa, bb, cc, dd] = [a, b, c, d];
    const round = (
      f: (x: number, y: number, z: number) => number,
      k: number,
      order: number[],
      shifts: number[],
    ) => {
      for (let i = 0; i < 16; i++) {
        const x = X[order[i] ?? 0] ?? 0;
        const s = shifts[i % 4] ?? 0;
        const t = (a + f(b, c, d) + x + k) | 0;
        [a, b, c, d] = [d, rotl(t, s), b, c];
      }
    };
    round(F, 0, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], [3, 7, 11, 19]);
    round(G, 0x5a827999, [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15], [3, 5, 9, 13]);
    round(H, 0x6ed9eba1, [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15], [3, 9, 11, 15]);
    a = (a + aa) | 0;
    b = (b + bb) | 0;
    c = (c + cc) | 0;
    d = (d + dd) | 0;
  }
  const out = Buffer.alloc(16);
  [a, b, c, d].forEach((v, i) => out.writeInt32LE(v, i * 4));
  return out;
}
