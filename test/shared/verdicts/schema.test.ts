import { describe, expect, it } from 'vitest';

import {
  emailAddress,
  hasControlCharacters,
  replaceControlCharacters,
  sourceName,
  verdictChangeSchema,
} from '../../../shared/verdicts/schema.js';

describe('control characters and lone surrogates', () => {
  it.each([
    ['NUL', '\u0000'],
    ['unit separator', '\u001f'],
    ['DEL', '\u007f'],
    ['first C1', '\u0080'],
    ['last C1', '\u009f'],
    ['a high surrogate alone', '\ud83d'],
    ['a low surrogate alone', '\ude00'],
    ['two low surrogates', '\ude00\ude00'],
  ])('finds %s', (_name, bad) => {
    expect(hasControlCharacters(`a${bad}b`)).toBe(true);
  });

  it.each([
    ['a space', 'a b'],
    ['Latin-1 letters', 'café ñ'],
    ['an emoji (a surrogate pair)', 'ok 😀'],
    ['the first character after C1', '\u00a0'],
  ])('lets %s through', (_name, good) => {
    expect(hasControlCharacters(good)).toBe(false);
  });

  it('replaces each one in free text by one space, keeping surrogate pairs', () => {
    expect(replaceControlCharacters('a\u0000b\r\nc\ud800d😀')).toBe('a b  c d😀');
  });
});

describe('identifiers in the verdict schema', () => {
  it('refuses an address with a control character before trimming could hide it', () => {
    expect(emailAddress.safeParse('alice@contoso.com\n').success).toBe(false);
    expect(emailAddress.safeParse('  Alice@Contoso.com ').data).toBe('alice@contoso.com');
  });

  it('trims and lower-cases a source name', () => {
    expect(sourceName.parse('  Proofpoint-TAP ')).toBe('proofpoint-tap');
    expect(sourceName.safeParse('   ').success).toBe(false);
  });

  it('names the field that holds the control character', () => {
    const parsed = verdictChangeSchema.safeParse({
      eventId: 'e1',
      source: 'soar',
      verdict: 'malicious',
      threat: { sha256: 'a'.repeat(64) },
      messages: [{ internetMessageId: '<m@x>', recipients: ['a@b.example'], sender: 'e\u001b@evil.example' }],
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['messages.0.sender']);
  });
});
