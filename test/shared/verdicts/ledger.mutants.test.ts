import { describe, expect, it } from 'vitest';

import { isValidationError, type ValidationError } from '../../../shared/errors.js';
import { threatKey } from '../../../shared/verdicts/ids.js';
import { parseDeliveries } from '../../../shared/verdicts/ledger.js';

const hash = 'A'.repeat(64);
const delivery = (overrides: Record<string, unknown> = {}) => ({
  internetMessageId: '<m1@mail.example.com>',
  recipients: ['alice@contoso.com'],
  sha256: [hash],
  ...overrides,
});

function refusal(body: unknown): ValidationError {
  try {
    parseDeliveries(body);
  } catch (error) {
    if (isValidationError(error)) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('parseDeliveries', () => {
  it('makes one row per distinct (threat, recipient), each carrying what the gateway said', () => {
    const rows = parseDeliveries(
      delivery({
        recipients: ['Alice@Contoso.com', 'bob@contoso.com', 'alice@contoso.com'],
        sha256: [hash, hash.toLowerCase()],
        urls: ['https://evil.example/x', 'https://evil.example/x'],
        sender: 'Mallory@Evil.example',
        subject: 'Invoice',
        receivedAt: '2026-11-30T10:00:00Z',
      }),
    );
    const common = {
      internetMessageId: '<m1@mail.example.com>',
      sender: 'mallory@evil.example',
      subject: 'Invoice',
      receivedAt: '2026-11-30T10:00:00Z',
    };
    const byUrl = threatKey({ url: 'https://evil.example/x' });
    expect(rows).toEqual([
      { ...common, threatKey: 'a'.repeat(64), recipient: 'alice@contoso.com' },
      { ...common, threatKey: 'a'.repeat(64), recipient: 'bob@contoso.com' },
      { ...common, threatKey: byUrl, recipient: 'alice@contoso.com' },
      { ...common, threatKey: byUrl, recipient: 'bob@contoso.com' },
    ]);
  });

  it('keys a delivery that names only URLs by its URLs alone', () => {
    const rows = parseDeliveries(delivery({ sha256: undefined, urls: ['https://evil.example/x'] }));
    expect(rows.map((r) => r.threatKey)).toEqual([threatKey({ url: 'https://evil.example/x' })]);
  });

  it('takes one delivery or an array of them alike', () => {
    expect(
      parseDeliveries([delivery(), delivery({ recipients: ['bob@contoso.com'] })]).map((r) => r.recipient),
    ).toEqual(['alice@contoso.com', 'bob@contoso.com']);
  });

  it('refuses an empty array', () => {
    const error = refusal([]);
    expect(error.message).toBe('The request holds no deliveries.');
    expect(error.details).toEqual([{ path: '$', message: 'must hold at least one delivery' }]);
  });

  it('takes 100 deliveries and refuses 101', () => {
    expect(parseDeliveries(Array.from({ length: 100 }, () => delivery()))).toHaveLength(100);
    const error = refusal(Array.from({ length: 101 }, () => delivery()));
    expect(error.message).toBe('The request holds too many deliveries.');
    expect(error.details).toEqual([{ path: '$', message: 'must hold at most 100 deliveries' }]);
  });

  it('reports every problem of every element at once, each path led by its index', () => {
    const error = refusal([delivery(), delivery({ recipients: [] }), delivery({ sha256: ['xyz'] })]);
    expect(error.message).toBe('2 problem(s) in the deliveries.');
    expect(error.details).toEqual([
      { path: '[1].recipients', message: 'must list at least one recipient' },
      { path: '[2].sha256[0]', message: 'must be 64 hexadecimal characters' },
    ]);
  });

  it('reports the problems of a single delivery without an index', () => {
    const error = refusal(delivery({ sha256: undefined }));
    expect(error.details).toEqual([{ path: '$', message: 'must name at least one sha256 or url' }]);
  });
});
