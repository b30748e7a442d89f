import { describe, expect, it } from 'vitest';

import { ClawbackError } from '../../../shared/errors.js';
import { chunks, recipientCopies } from '../../../shared/recipients/plan.js';
import { decideAction } from '../../../shared/remediation/policy.js';
import { retryDelayMs } from '../../../shared/remediation/remediate.js';
import { isVerdictId, newVerdictId, remediationRowKey, sanitizeKey } from '../../../shared/verdicts/ids.js';
import { configDocument } from '../../support/services.js';

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

describe('policy', () => {
  const config = configDocument({
    policies: [
      { verdict: 'malicious', action: 'quarantine' },
      { verdict: 'suspicious', action: 'moveToJunk', mode: 'simulate' },
    ],
  });

  it('uses the policy action and mode for the verdict', () => {
    expect(decideAction(config, { verdict: 'suspicious' })).toEqual({
      action: 'moveToJunk',
      mode: 'simulate',
    });
    expect(decideAction(config, { verdict: 'malicious' })).toEqual({ action: 'quarantine', mode: 'enforce' });
  });

  it('honours a requested action that is no harsher than the policy allows', () => {
    expect(decideAction(config, { verdict: 'malicious', action: 'moveToJunk' }).action).toBe('moveToJunk');
  });

  it('refuses a requested action harsher than the policy, applying the policy and saying why', () => {
    const decision = decideAction(config, { verdict: 'malicious', action: 'hardDelete' });
    expect(decision.action).toBe('quarantine');
    expect(decision.note).toMatch(/not allowed by policy/);
  });

  it('honours a requested forward to the configured address when the policy removes mail, and never without forwardTo', () => {
    const withForward = configDocument({
      forwardTo: 'soc@contoso.com',
      policies: [{ verdict: 'malicious', action: 'softDelete' }],
    });
    expect(decideAction(withForward, { verdict: 'malicious', action: 'forward' }).action).toBe('forward');
    expect(decideAction(withForward, { verdict: 'malicious', action: 'forwardAndDelete' }).action).toBe(
      'forwardAndDelete',
    );
    expect(decideAction(config, { verdict: 'malicious', action: 'forward' }).action).toBe('quarantine');
  });

  it('does not let forwardAndDelete past a policy that stops short of deleting', () => {
    const junkOnly = configDocument({
      forwardTo: 'soc@contoso.com',
      policies: [{ verdict: 'malicious', action: 'moveToJunk' }],
    });
    expect(decideAction(junkOnly, { verdict: 'malicious', action: 'forwardAndDelete' }).action).toBe(
      'moveToJunk',
    );
    expect(decideAction(junkOnly, { verdict: 'malicious', action: 'forward' }).action).toBe('forward');
  });

  it('only finds and reports when no policy covers the verdict', () => {
    expect(decideAction(config, { verdict: 'clean', action: 'hardDelete' }).action).toBe('none');
  });
});

describe('fan-out plan', () => {
  it('yields each (recipient, message) pair once, lazily', () => {
    const messages = [
      { internetMessageId: '<a@x>', recipients: ['u1@x.com', 'u2@x.com', 'u1@x.com'] },
      { internetMessageId: '<a@x>', recipients: ['u2@x.com', 'u3@x.com'] },
    ];
    expect([...recipientCopies(messages)].map((c) => c.recipient)).toEqual([
      'u1@x.com',
      'u2@x.com',
      'u3@x.com',
    ]);
  });

  it('groups into batches of at most the given size', async () => {
    async function* numbers() {
      for (const n of [1, 2, 3, 4, 5]) yield await Promise.resolve(n);
    }
    const batches: number[][] = [];
    for await (const batch of chunks(numbers(), 2)) batches.push(batch);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });
});

describe('retry backoff', () => {
  it("honours the server's Retry-After when it gave one", () => {
    expect(
      retryDelayMs(new ClawbackError('Throttled', 'x', { retryable: true, retryAfterMs: 7000 }), 1),
    ).toBe(7000);
  });

  it('otherwise grows exponentially from 30 s with jitter', () => {
    const e = new ClawbackError('ConnectionError', 'x', { retryable: true });
    expect(retryDelayMs(e, 1, () => 0.5)).toBe(30_000);
    expect(retryDelayMs(e, 3, () => 0.5)).toBe(120_000);
  });
});
