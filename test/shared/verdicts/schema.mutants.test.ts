import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import {
  deliveredMessageSchema,
  emailAddress,
  identifierText,
  internetMessageIdSchema,
  limits,
  sourceName,
  threatSchema,
  verdictChangeSchema,
  verdictRequestSchema,
} from '../../../shared/verdicts/schema.js';

const hash = 'ab'.repeat(32);
const change = {
  eventId: 'e1',
  source: 'soar',
  verdict: 'malicious',
  threat: { sha256: hash },
  messages: [{ internetMessageId: '<m1@mail.example.com>', recipients: ['alice@contoso.com'] }],
};

type Issue = { path: string; message: string };
function issues(schema: z.ZodTypeAny, value: unknown): Issue[] {
  const parsed = schema.safeParse(value);
  return parsed.success
    ? []
    : parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}
const control = 'must not contain control characters (U+0000–U+001F, U+007F–U+009F) or lone surrogates';

describe('the limits SPEC §2 sets', () => {
  it('a body is at most 1 MiB', () => {
    expect(limits.maxBodyBytes).toBe(1_048_576);
  });
});

describe('identifierText', () => {
  it('refuses a control character with its own message before the inner schema sees the value', () => {
    const inner = identifierText(z.string().trim().min(1));
    expect(issues(inner, ' a\u0007 ')).toEqual([{ path: '', message: control }]);
    expect(inner.parse(' a ')).toBe('a');
  });
});

describe('e-mail addresses', () => {
  it('are trimmed and lower-cased', () => {
    expect(emailAddress.parse(' Alice@Contoso.COM ')).toBe('alice@contoso.com');
  });

  it('are 3 to 320 characters', () => {
    expect(emailAddress.parse('a@b')).toBe('a@b');
    expect(issues(emailAddress, '@b')).not.toEqual([]);
    const local = 'l'.repeat(64);
    const at320 = `${local}@${'d'.repeat(320 - 65)}`;
    expect(emailAddress.parse(at320)).toBe(at320);
    expect(issues(emailAddress, `${at320}d`)).not.toEqual([]);
  });

  it.each([
    'alice',
    'alice@',
    '@contoso.com',
    'a@b@contoso.com',
    'al ice@contoso.com',
    'alice@con\u2003toso.com',
    '<alice@contoso.com',
    'alice@contoso.com>',
    '(alice)@contoso.com',
    'alice@[contoso.com]',
    'al\\ice@contoso.com',
    'al,ice@contoso.com',
    'al;ice@contoso.com',
    'al:ice@contoso.com',
    '"alice"@contoso.com',
    'Alice <alice@contoso.com>',
  ])('refuse %j', (value) => {
    expect(issues(emailAddress, value)).toEqual([{ path: '', message: 'must be an e-mail address' }]);
  });

  it('accept any address made of allowed characters around one @', () => {
    const part = fc.stringMatching(/^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,20}$/);
    fc.assert(
      fc.property(part, part, (local, domain) => {
        expect(emailAddress.safeParse(`${local}@${domain}`).success).toBe(
          local.length + domain.length + 1 >= 3,
        );
      }),
    );
  });
});

describe('message ids', () => {
  it.each(['<a@b>', '<1234.5678@mail.example.com>', `<${'i'.repeat(998 - 10)}@host.ex>`])(
    'accept %j',
    (id) => {
      expect(internetMessageIdSchema.parse(id)).toBe(id);
    },
  );

  it.each([
    'a@b',
    '<a@b',
    'a@b>',
    'x<a@b>',
    '<a@b>x',
    '<@b>',
    '<a@>',
    '<ab>',
    '<a b@c>',
    '<a@b c>',
    '<a<@b>',
    '<a@b>>',
  ])('refuse %j as not an RFC 5322 message id', (id) => {
    expect(issues(internetMessageIdSchema, id)).toEqual([
      { path: '', message: 'must be an RFC 5322 message id like <id@host>' },
    ]);
  });

  it('are at most 998 characters', () => {
    const at999 = `<${'i'.repeat(999 - 10)}@host.ex>`;
    expect(issues(internetMessageIdSchema, at999)).toContainEqual({
      path: '',
      message: 'must be at most 998 characters',
    });
  });
});

describe('source names', () => {
  it('are 1 to 64 characters once trimmed', () => {
    expect(sourceName.parse(` ${'S'.repeat(64)} `)).toBe('s'.repeat(64));
    expect(issues(sourceName, 's'.repeat(65))).not.toEqual([]);
    expect(issues(sourceName, '')).not.toEqual([]);
  });
});

describe('threats', () => {
  it('keep a hash of exactly 64 hex digits, lower-cased', () => {
    expect(threatSchema.parse({ sha256: hash.toUpperCase() })).toEqual({ sha256: hash });
    for (const bad of [`${hash}0`, `x${hash}`, `${hash.slice(1)}x`, 'a'])
      expect(issues(threatSchema, { sha256: bad })).toEqual([
        { path: 'sha256', message: 'must be 64 hexadecimal characters' },
      ]);
  });

  it('keep an absolute URL of up to 8192 characters', () => {
    const prefix = 'https://evil.example/';
    const long = `${prefix}${'p'.repeat(8192 - prefix.length)}`;
    expect(threatSchema.parse({ url: long })).toEqual({ url: long });
    expect(issues(threatSchema, { url: `${long}p` })).toHaveLength(1);
    expect(issues(threatSchema, { url: 'evil.example/x' })).toEqual([
      { path: 'url', message: 'must be an absolute URL' },
    ]);
    expect(issues(threatSchema, { url: 'https://evil.example/\u0000' })).toEqual([
      { path: 'url', message: control },
    ]);
  });

  it('keep a filename of 1 to 1024 characters and a name of 1 to 256', () => {
    expect(threatSchema.parse({ sha256: hash, filename: 'f'.repeat(1024), name: 'n'.repeat(256) })).toEqual({
      sha256: hash,
      filename: 'f'.repeat(1024),
      name: 'n'.repeat(256),
    });
    expect(
      issues(threatSchema, { sha256: hash, filename: 'f'.repeat(1025), name: 'n'.repeat(257) }).map(
        (i) => i.path,
      ),
    ).toEqual(['filename', 'name']);
    expect(issues(threatSchema, { sha256: hash, filename: '', name: '' }).map((i) => i.path)).toEqual([
      'filename',
      'name',
    ]);
    expect(issues(threatSchema, { sha256: hash, filename: 'a\u0085', name: 'b\ud800' })).toEqual([
      { path: 'filename', message: control },
      { path: 'name', message: control },
    ]);
  });

  it('need a hash or a URL, and nothing unknown', () => {
    expect(issues(threatSchema, { filename: 'x' })).toEqual([
      { path: '', message: 'must have at least one of sha256 or url' },
    ]);
    expect(threatSchema.safeParse({ url: 'https://evil.example/' }).success).toBe(true);
    expect(threatSchema.safeParse({ sha256: hash, family: 'x' }).success).toBe(false);
  });
});

describe('delivered messages', () => {
  it('keep the recipients of a message whose id is empty or missing, without an id', () => {
    expect(deliveredMessageSchema.parse({ internetMessageId: '', recipients: ['a@b.example'] })).toEqual({
      internetMessageId: undefined,
      recipients: ['a@b.example'],
    });
    expect(deliveredMessageSchema.parse({ recipients: ['a@b.example'] })).toEqual({
      recipients: ['a@b.example'],
    });
    expect(
      deliveredMessageSchema.safeParse({ internetMessageId: ' ', recipients: ['a@b.example'] }).success,
    ).toBe(false);
  });

  it('list 1 to 10,000 recipients', () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `u${i}@contoso.com`);
    expect(issues(deliveredMessageSchema, { recipients: many(10_000) })).toEqual([]);
    expect(issues(deliveredMessageSchema, { recipients: many(10_001) })).toEqual([
      { path: 'recipients', message: 'must list at most 10000 recipients' },
    ]);
    expect(issues(deliveredMessageSchema, { recipients: [] })).toEqual([
      { path: 'recipients', message: 'must list at least one recipient' },
    ]);
  });

  it('keep a subject of up to 2048 characters with its control characters made spaces', () => {
    expect(deliveredMessageSchema.parse({ recipients: ['a@b.example'], subject: 'a\u0000b' }).subject).toBe(
      'a b',
    );
    expect(
      issues(deliveredMessageSchema, { recipients: ['a@b.example'], subject: 's'.repeat(2048) }),
    ).toEqual([]);
    expect(
      issues(deliveredMessageSchema, { recipients: ['a@b.example'], subject: 's'.repeat(2049) }),
    ).toHaveLength(1);
  });

  it('take a received time with a zone offset, and say so otherwise', () => {
    expect(
      issues(deliveredMessageSchema, {
        recipients: ['a@b.example'],
        receivedAt: '2026-11-30T10:00:00+01:00',
      }),
    ).toEqual([]);
    expect(issues(deliveredMessageSchema, { recipients: ['a@b.example'], receivedAt: '30/11/2026' })).toEqual(
      [{ path: 'receivedAt', message: 'must be an ISO 8601 date-time' }],
    );
  });
});

describe('verdict changes', () => {
  it('take every field SPEC §2 lists', () => {
    const full = {
      ...change,
      previousVerdict: 'clean',
      observedAt: '2026-11-30T10:00:00-05:00',
      action: 'forwardAndDelete',
      threat: { sha256: hash, url: 'https://evil.example/', filename: 'x.exe', name: 'W32' },
    };
    expect(verdictChangeSchema.parse(full)).toEqual(full);
  });

  it.each(['malicious', 'suspicious', 'clean'])('take the verdict %s', (verdict) => {
    expect(verdictChangeSchema.safeParse({ ...change, verdict, previousVerdict: verdict }).success).toBe(
      true,
    );
  });

  it.each([
    'hardDelete',
    'softDelete',
    'moveToDeletedItems',
    'moveToJunk',
    'quarantine',
    'forward',
    'forwardAndDelete',
    'restore',
    'none',
  ])('take the action %s', (action) => {
    expect(verdictChangeSchema.safeParse({ ...change, action }).success).toBe(true);
  });

  it('have an event id of 1 to 200 characters', () => {
    expect(verdictChangeSchema.safeParse({ ...change, eventId: 'e'.repeat(200) }).success).toBe(true);
    expect(issues(verdictChangeSchema, { ...change, eventId: 'e'.repeat(201) }).map((i) => i.path)).toEqual([
      'eventId',
    ]);
    expect(issues(verdictChangeSchema, { ...change, eventId: '' }).map((i) => i.path)).toEqual(['eventId']);
  });

  it('list at most 1,000 messages', () => {
    const messages = (n: number) => Array.from({ length: n }, () => change.messages[0]);
    expect(verdictChangeSchema.safeParse({ ...change, messages: messages(1000) }).success).toBe(true);
    expect(issues(verdictChangeSchema, { ...change, messages: messages(1001) })).toEqual([
      { path: 'messages', message: 'must list at most 1000 messages' },
    ]);
  });

  it('refuse an unknown field and an observed time without a zone', () => {
    expect(issues(verdictChangeSchema, { ...change, extra: 1 }).map((i) => i.path)).toEqual(['']);
    expect(issues(verdictChangeSchema, { ...change, observedAt: 'noon' })).toEqual([
      { path: 'observedAt', message: 'must be an ISO 8601 date-time' },
    ]);
  });
});

describe('a verdicts request', () => {
  it('is one change or an array of 1 to 100', () => {
    expect(verdictRequestSchema.safeParse(change).success).toBe(true);
    expect(verdictRequestSchema.safeParse(Array.from({ length: 100 }, () => change)).success).toBe(true);
    const tooMany = verdictRequestSchema.safeParse(Array.from({ length: 101 }, () => change));
    expect(tooMany.error?.issues.map((i) => i.message)).toContain('must hold at most 100 verdicts');
    const none = verdictRequestSchema.safeParse([]);
    expect(none.error?.issues.map((i) => i.message)).toContain('must hold at least one verdict');
  });
});
