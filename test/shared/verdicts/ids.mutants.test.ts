import { createHash } from 'node:crypto';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  copyRowKey,
  isVerdictId,
  newVerdictId,
  remediationRowKey,
  sanitizeKey,
  shortHash,
  threatKey,
  verdictIdRange,
} from '../../../shared/verdicts/ids.js';

const sha256 = (v: string) => createHash('sha256').update(v, 'utf8').digest('hex');

describe('sanitizeKey', () => {
  it.each([
    ['\u0000', '%00'],
    ['\u001f', '%1F'],
    ['\u007f', '%7F'],
    ['\u0080', '%80'],
    ['\u009f', '%9F'],
    ['/', '%2F'],
    ['\\', '%5C'],
    ['#', '%23'],
    ['?', '%3F'],
    ['%', '%25'],
  ])('percent-encodes %j as %s', (c, encoded) => {
    expect(sanitizeKey(`a${c}b${c}`)).toBe(`a${encoded}b${encoded}`);
  });

  it.each([' ', '\u00a0', '~', '<', '>', '@', '|', 'é', 'A', '0'])('keeps %j as it is', (c) => {
    expect(sanitizeKey(`a${c}b`)).toBe(`a${c}b`);
  });

  it('is reversible: decoding the percent escapes gives the original back', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        const key = sanitizeKey(value);
        // The characters a table key may not hold are exactly what this pattern is for.
        // eslint-disable-next-line no-control-regex
        expect(key).not.toMatch(/[/\\#?\u0000-\u001f\u007f-\u009f]/);
        const decoded = key.replace(/%([0-9A-F]{2})/g, (_m, hex: string) =>
          String.fromCharCode(parseInt(hex, 16)),
        );
        expect(decoded).toBe(value);
      }),
    );
  });
});

describe('hashes and row keys', () => {
  it('shortHash is the leading hex of the SHA-256 of the UTF-8 text, 16 characters unless told', () => {
    expect(shortHash('Bücher')).toBe(sha256('Bücher').slice(0, 16));
    expect(shortHash('Bücher', 40)).toBe(sha256('Bücher').slice(0, 40));
  });

  it('the row key of a copy is the lower-case, sanitised recipient and the message id hash', () => {
    expect(remediationRowKey('A/B@Contoso.com', '<m@x>')).toBe(
      `a%2Fb@contoso.com|${sha256('<m@x>').slice(0, 16)}`,
    );
    expect(copyRowKey('A/B@Contoso.com', '<m@x>')).toBe(remediationRowKey('a/b@contoso.com', '<m@x>'));
  });

  it('a threat is keyed by its lower-case SHA-256, else by url- and 40 hex of the URL hash', () => {
    expect(threatKey({ sha256: 'AB'.repeat(32), url: 'https://x.example/' })).toBe('ab'.repeat(32));
    expect(threatKey({ url: 'https://x.example/' })).toBe(`url-${sha256('https://x.example/').slice(0, 40)}`);
    expect(threatKey({ sha256: '', url: 'https://x.example/' })).toBe(
      threatKey({ url: 'https://x.example/' }),
    );
  });
});

describe('verdict ids', () => {
  it('are the inverted milliseconds in 13 digits, a dash and the first 10 characters of the random part', () => {
    const at = new Date(1_000);
    expect(newVerdictId(at, () => '0123456789abcdef')).toBe('9999999998999-0123456789');
    expect(newVerdictId(new Date(1_000_000_000_000), () => 'ffffffffff')).toBe('8999999999999-ffffffffff');
  });

  it('pad a short inverted time with zeros so they still sort as strings', () => {
    expect(newVerdictId(new Date(9_000_000_000_000), () => 'aaaaaaaaaa')).toBe('0999999999999-aaaaaaaaaa');
  });

  it('made in the same millisecond still differ, and are recognised as verdict ids', () => {
    const at = new Date('2026-11-30T12:00:00Z');
    const ids = new Set(Array.from({ length: 20 }, () => newVerdictId(at)));
    expect(ids.size).toBe(20);
    for (const id of ids) expect(isVerdictId(id)).toBe(true);
    expect(isVerdictId(newVerdictId())).toBe(true);
  });

  it.each([
    ['a letter before', 'x8235000000000-0123456789'],
    ['a character after', '8235000000000-0123456789x'],
    ['12 digits', '823500000000-0123456789'],
    ['upper-case hex', '8235000000000-ABCDEF0123'],
    ['9 random characters', '8235000000000-012345678'],
    ['no dash', '82350000000000123456789'],
  ])('are not recognised with %s', (_case, value) => {
    expect(isVerdictId(value)).toBe(false);
  });

  it('a time range is a row-key range that holds exactly the ids made within it', () => {
    const from = new Date('2026-11-01T00:00:00Z');
    const to = new Date('2026-11-30T00:00:00Z');
    const range = verdictIdRange({ from, to });
    const inside = (id: string) => id >= range.ge && id < range.lt;
    fc.assert(
      fc.property(
        fc.integer({ min: from.getTime() - 86_400_000, max: to.getTime() + 86_400_000 }),
        fc.stringMatching(/^[0-9a-f]{10}$/),
        (ms, random) => {
          const id = newVerdictId(new Date(ms), () => random);
          expect(inside(id)).toBe(ms >= from.getTime() && ms <= to.getTime());
        },
      ),
    );
    expect(inside(newVerdictId(from, () => 'ffffffffff'))).toBe(true);
    expect(inside(newVerdictId(to, () => '0000000000'))).toBe(true);
  });
});
