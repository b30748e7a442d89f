import { describe, expect, it } from 'vitest';

import { isVerdictId, newVerdictId, remediationRowKey, sanitizeKey } from '../../../shared/verdicts/ids.js';

describe('table keys', () => {
  it('percent-encodes the characters Table Storage forbids in keys, and % itself', () => {
    expect(sanitizeKey('a/b\\c#d?e%f\u0001g')).toBe('a%2Fb%5Cc%23d%3Fe%25f%01g');
    expect(sanitizeKey('<id@host>')).toBe('<id@host>');
  });

  it('builds a Remediations row key from the lower-case recipient and a short hash of the message id', () => {
    const key = remediationRowKey('Alice@Contoso.com', '<m1@x>');
    expect(key).toMatch(/^alice@contoso\.com\|[0-9a-f]{16}$/);
    expect(remediationRowKey('alice@contoso.com', '<m1@x>')).toBe(key);
    expect(remediationRowKey('alice@contoso.com', '<m2@x>')).not.toBe(key);
  });

  it('makes verdict ids that sort newest first as strings', () => {
    const older = newVerdictId(new Date('2026-01-01T00:00:00Z'));
    const newer = newVerdictId(new Date('2026-06-01T00:00:00Z'));
    expect(isVerdictId(older) && isVerdictId(newer)).toBe(true);
    expect([older, newer].sort()[0]).toBe(newer);
  });
});
