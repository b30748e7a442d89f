import { describe, expect, it } from 'vitest';

import { ClawbackError, type FailureReason } from '../../../shared/errors.js';
import type { ResultStore } from '../../../shared/ports/results.js';
import type { Lease } from '../../../shared/remediation/lease.js';
import {
  planFailure,
  retryDelayMs,
  type RetryDeps,
  scheduleNextAttempt,
} from '../../../shared/remediation/onFailure.js';
import type { RemediationMessage } from '../../../shared/verdicts/messages.js';

const who = { profile: 'contoso-online', backend: 'graph' as const };

function message(attempt: number): RemediationMessage {
  return {
    verdictId: 'v-1',
    rowKey: 'alice@contoso.com|<m1@x>',
    recipient: 'alice@contoso.com',
    internetMessageId: '<m1@x>',
    verdict: 'malicious',
    action: 'softDelete',
    mode: 'enforce',
    threatKey: 'sha256-abc',
    attempt,
  };
}

const failure = (code: FailureReason, retryable: boolean, detail = 'it broke') =>
  new ClawbackError(code, detail, { retryable });

describe('retryDelayMs', () => {
  it('scales the exponential backoff by a jitter factor between 0.8 and 1.2', () => {
    const e = failure('ConnectionError', true);
    expect(retryDelayMs(e, 1, () => 0)).toBe(24_000);
    expect(retryDelayMs(e, 2, () => 1)).toBe(72_000);
  });

  it('never waits a negative time when the server said so', () => {
    const e = new ClawbackError('Throttled', 'x', { retryable: true, retryAfterMs: -5 });
    expect(retryDelayMs(e, 1)).toBe(0);
  });
});

describe('planFailure', () => {
  const context = (maxAttempts: number, chained = false) => ({ maxAttempts, chained, who });

  it('retries a retryable error while attempts remain, and ends on the last one', () => {
    const e = failure('ConnectionError', true);
    expect(planFailure(e, message(4), context(5)).kind).toBe('retry');
    expect(planFailure(e, message(5), context(5))).toEqual({
      kind: 'final',
      outcome: {
        status: 'failed',
        fields: { ...who, reason: 'ConnectionError', detail: 'it broke Gave up after 5 attempts.' },
      },
    });
  });

  it('says "attempt" for one and keeps Throttled as the reason when retries are exhausted', () => {
    const plan = planFailure(failure('Throttled', true, 'slow down.'), message(1), context(1));
    expect(plan).toEqual({
      kind: 'final',
      outcome: {
        status: 'failed',
        fields: { ...who, reason: 'Throttled', detail: 'slow down. Gave up after 1 attempt.' },
      },
    });
  });

  it('reports a retryable error of another code as ConnectionError once exhausted', () => {
    const plan = planFailure(failure('Unknown', true), message(2), context(2));
    expect(plan.kind === 'final' && plan.outcome.fields.reason).toBe('ConnectionError');
  });

  it('ends a permanent error at once with its own code and detail, nothing appended', () => {
    const plan = planFailure(failure('PermissionError', false, 'no right'), message(1), context(5));
    expect(plan).toEqual({
      kind: 'final',
      outcome: { status: 'failed', fields: { ...who, reason: 'PermissionError', detail: 'no right' } },
    });
  });

  it('moves a chain on for a mailbox that is not this profile, and fails it when unchained', () => {
    for (const code of ['InvalidMailbox', 'MailboxInaccessible'] as const) {
      expect(planFailure(failure(code, false), message(1), context(5, true))).toEqual({
        kind: 'nextProfile',
      });
      const alone = planFailure(failure(code, false), message(1), context(5, false));
      expect(alone.kind === 'final' && alone.outcome.fields.reason).toBe(code);
    }
    expect(planFailure(failure('PermissionError', false), message(1), context(5, true)).kind).toBe('final');
  });

  it('records a copy that is gone as notFound, not as a failure', () => {
    expect(planFailure(failure('MessageNotFound', false, 'gone'), message(1), context(5, true))).toEqual({
      kind: 'final',
      outcome: { status: 'notFound', fields: { ...who, reason: 'MessageNotFound', detail: 'gone' } },
    });
  });
});

describe('scheduleNextAttempt', () => {
  it('schedules the next attempt at now + delay, then gives the row back pending with the reason', async () => {
    const now = new Date('2026-11-30T10:00:00.000Z');
    const updates: { patch: unknown; etag: string | undefined }[] = [];
    const scheduled: { next: RemediationMessage; at: Date }[] = [];
    const logs: string[] = [];
    const store = {
      updateRemediation: (_v: string, _r: string, patch: unknown, etag: string | undefined) => {
        // The retry is scheduled before the row is given back.
        expect(scheduled).toHaveLength(1);
        updates.push({ patch, etag });
        return Promise.resolve('"etag-2"');
      },
    } as unknown as ResultStore;
    const deps: RetryDeps = {
      store,
      now: () => now,
      leaseMs: 60_000,
      maxAttempts: 5,
      log: (line) => logs.push(line),
      scheduleRetry: (next, at) => {
        scheduled.push({ next, at });
        return Promise.resolve();
      },
    };
    const lease = {
      owner: 'o-1',
      etag: '"etag-1"',
      row: { verdictId: 'v-1', rowKey: message(2).rowKey },
      earlier: undefined,
      expiresAt: now,
      signal: new AbortController().signal,
    } as unknown as Lease;

    await scheduleNextAttempt(lease, message(2), failure('Throttled', true, 'HTTP 429'), 1_500, who, deps);

    expect(scheduled).toEqual([{ next: message(3), at: new Date('2026-11-30T10:00:01.500Z') }]);
    expect(updates).toEqual([
      {
        etag: '"etag-1"',
        patch: {
          ...who,
          status: 'pending',
          reason: 'Throttled',
          detail: 'Attempt 2 of 5 failed (HTTP 429); retrying in 2 s.',
          updatedAt: now.toISOString(),
          leaseExpiresAt: now.toISOString(),
        },
      },
    ]);
    expect(logs).toEqual([
      `remediation retry verdict=v-1 row=${message(2).rowKey} attempt=2 reason=Throttled delayMs=1500`,
    ]);
  });
});
