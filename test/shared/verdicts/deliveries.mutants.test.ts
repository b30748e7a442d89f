import { describe, expect, it } from 'vitest';

import { deliverySchema } from '../../../shared/verdicts/deliveries.js';

const hash = 'ab'.repeat(32);
const base = {
  internetMessageId: '<m1@mail.example.com>',
  recipients: ['alice@contoso.com'],
  sha256: [hash],
};

function problems(overrides: Record<string, unknown>): { path: string; message: string }[] {
  const parsed = deliverySchema.safeParse({ ...base, ...overrides });
  return parsed.success
    ? []
    : parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

describe('a delivery for the ledger', () => {
  it('holds 1 to 10,000 recipients', () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `u${i}@contoso.com`);
    expect(problems({ recipients: many(10_000) })).toEqual([]);
    expect(problems({ recipients: many(10_001) })).toEqual([
      { path: 'recipients', message: 'must list at most 10000 recipients' },
    ]);
    expect(problems({ recipients: [] })).toEqual([
      { path: 'recipients', message: 'must list at least one recipient' },
    ]);
  });

  it('holds a subject of up to 2048 characters', () => {
    expect(problems({ subject: 's'.repeat(2048) })).toEqual([]);
    expect(problems({ subject: 's'.repeat(2049) })).toHaveLength(1);
  });

  it('takes a received time with a zone offset or Z, and nothing else', () => {
    expect(problems({ receivedAt: '2026-11-30T10:00:00+02:00' })).toEqual([]);
    expect(problems({ receivedAt: '2026-11-30T10:00:00Z' })).toEqual([]);
    expect(problems({ receivedAt: 'yesterday' })).toEqual([
      { path: 'receivedAt', message: 'must be an ISO 8601 date-time' },
    ]);
  });

  it('takes hashes of exactly 64 hex digits in either case, stored lower case, and at most 100 of them', () => {
    expect(deliverySchema.parse({ ...base, sha256: [hash.toUpperCase()] }).sha256).toEqual([hash]);
    const bad = { path: 'sha256.0', message: 'must be 64 hexadecimal characters' };
    expect(problems({ sha256: [`${hash}0`] })).toEqual([bad]);
    expect(problems({ sha256: [`x${hash}`] })).toEqual([bad]);
    expect(problems({ sha256: [`${hash}x`] })).toEqual([bad]);
    expect(problems({ sha256: ['a'] })).toEqual([bad]);
    expect(problems({ sha256: Array.from({ length: 100 }, () => hash) })).toEqual([]);
    expect(problems({ sha256: Array.from({ length: 101 }, () => hash) })).toEqual([
      { path: 'sha256', message: 'must list at most 100 hashes' },
    ]);
  });

  it('takes absolute URLs of up to 8192 characters, at most 100 of them', () => {
    const long = `https://evil.example/${'p'.repeat(8192 - 'https://evil.example/'.length)}`;
    expect(problems({ sha256: undefined, urls: [long] })).toEqual([]);
    expect(problems({ sha256: undefined, urls: [`${long}p`] })).toHaveLength(1);
    expect(problems({ sha256: undefined, urls: ['/relative'] })).toEqual([
      { path: 'urls.0', message: 'must be an absolute URL' },
    ]);
    const url = 'https://evil.example/x';
    expect(problems({ urls: Array.from({ length: 100 }, () => url) })).toEqual([]);
    expect(problems({ urls: Array.from({ length: 101 }, () => url) })).toEqual([
      { path: 'urls', message: 'must list at most 100 URLs' },
    ]);
  });

  it('names at least one threat', () => {
    expect(problems({ sha256: [] })).toEqual([{ path: '', message: 'must name at least one sha256 or url' }]);
    expect(problems({ sha256: undefined })).toEqual([
      { path: '', message: 'must name at least one sha256 or url' },
    ]);
    expect(problems({ sha256: undefined, urls: ['https://evil.example/x'] })).toEqual([]);
  });
});
