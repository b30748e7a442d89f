import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { issuesOf } from '../../../shared/verdicts/issues.js';

const schema = z.object({
  threat: z.object({ sha256: z.string() }),
  messages: z.array(z.object({ recipients: z.array(z.string().email('bad address')) })),
});

function errorOf(value: unknown) {
  const parsed = schema.safeParse(value);
  if (parsed.success) throw new Error('expected a failure');
  return parsed.error;
}

describe('issuesOf', () => {
  it('writes names after dots and indexes in brackets, with no leading dot', () => {
    const error = errorOf({ threat: {}, messages: [{ recipients: ['a@b.example', 'nope'] }] });
    expect(issuesOf(error)).toEqual([
      { path: 'threat.sha256', message: 'Required' },
      { path: 'messages[0].recipients[1]', message: 'bad address' },
    ]);
  });

  it('puts the prefix first: an element of the body array starts with its index', () => {
    const error = errorOf({ threat: {}, messages: [{ recipients: ['nope'] }] });
    expect(issuesOf(error, [3]).map((i) => i.path)).toEqual([
      '[3].threat.sha256',
      '[3].messages[0].recipients[0]',
    ]);
    expect(issuesOf(error, ['body']).map((i) => i.path)).toEqual([
      'body.threat.sha256',
      'body.messages[0].recipients[0]',
    ]);
  });

  it('names the whole body $ when the issue has no path', () => {
    const parsed = z.string().safeParse(1);
    expect(parsed.success || issuesOf(parsed.error)).toEqual([
      { path: '$', message: 'Expected string, received number' },
    ]);
  });
});
