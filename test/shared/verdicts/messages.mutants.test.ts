import { describe, expect, it } from 'vitest';

import { remediationMessageSchema, verdictMessageSchema } from '../../../shared/verdicts/messages.js';

const remediation = {
  verdictId: '8235000000000-0123456789',
  rowKey: 'alice@contoso.com|0123456789abcdef',
  recipient: 'alice@contoso.com',
  internetMessageId: '<m1@mail.example.com>',
  verdict: 'malicious',
  action: 'softDelete',
  mode: 'enforce',
  threatKey: 'a'.repeat(64),
  attempt: 1,
};

const paths = (value: unknown) => {
  const parsed = remediationMessageSchema.safeParse(value);
  return parsed.success ? [] : parsed.error.issues.map((i) => i.path.join('.'));
};

describe('a remediations message', () => {
  it('takes any non-empty identifiers, of one character or many', () => {
    expect(paths(remediation)).toEqual([]);
    expect(paths({ ...remediation, verdictId: 'v', rowKey: 'r', recipient: 'a', threatKey: 't' })).toEqual(
      [],
    );
    expect(paths({ ...remediation, verdictId: '', rowKey: '', recipient: '', threatKey: '' })).toEqual([
      'verdictId',
      'rowKey',
      'recipient',
      'threatKey',
    ]);
  });

  it('counts attempts from 1 and failures from 0, with no upper bound', () => {
    expect(paths({ ...remediation, attempt: 7, failures: 3 })).toEqual([]);
    expect(paths({ ...remediation, attempt: 1, failures: 0 })).toEqual([]);
    expect(paths({ ...remediation, attempt: 0, failures: -1 })).toEqual(['attempt', 'failures']);
  });

  it('is derived at depth 1 or 2 only', () => {
    expect(paths({ ...remediation, derivedDepth: 1 })).toEqual([]);
    expect(paths({ ...remediation, derivedDepth: 2 })).toEqual([]);
    expect(paths({ ...remediation, derivedDepth: 0 })).toEqual(['derivedDepth']);
    expect(paths({ ...remediation, derivedDepth: 3 })).toEqual(['derivedDepth']);
  });
});

describe('a verdicts message', () => {
  const change = { eventId: 'e1', source: 'soar', verdict: 'malicious', threat: { sha256: 'a'.repeat(64) } };

  it('needs a verdict id, a time of acceptance and a valid change', () => {
    expect(
      verdictMessageSchema.safeParse({ verdictId: 'vv', acceptedAt: '2026-11-30T10:00:00.000Z', change })
        .success,
    ).toBe(true);
    const parsed = verdictMessageSchema.safeParse({ verdictId: '', acceptedAt: 'now', change: {} });
    expect(parsed.error?.issues.map((i) => i.path[0])).toEqual(
      expect.arrayContaining(['verdictId', 'acceptedAt', 'change']),
    );
  });
});
