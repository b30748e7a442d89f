import type { ConfigDocument } from '../../shared/config/document.js';
import { ClawbackError } from '../../shared/errors.js';
import type { RemediatedCopy, RemediationRecord, ResultStore } from '../../shared/ports/results.js';
import type { RemediateDeps } from '../../shared/remediation/remediate.js';
import type { RemediationMessage } from '../../shared/verdicts/messages.js';
import type { InMemoryMailBackend } from '../fakes/inMemoryMailBackend.js';
import { ConfigMother } from '../mothers/configMother.js';
import { ProfileMother } from '../mothers/profileMother.js';

/*
 * One remediation (verdict v1, row r1: alice's copy of one message) as the tests of `remediate` drive
 * it: its queue message, the configuration (one Graph profile, up to 3 attempts), rows in memory that
 * can fail, and the dependencies that tie them to a backend.
 */

export const alice = 'alice@contoso.com';
export const messageId = '<m1@mail.example.com>';

/** Rows in memory whose terminal writes fail with a retryable 503 while `outage` is above zero. */
export class FlakyRows {
  outage = 0;
  private value: RemediationRecord = {
    verdictId: 'v1',
    rowKey: 'r1',
    recipient: alice,
    internetMessageId: messageId,
    action: 'softDelete',
    status: 'pending',
    attempts: 0,
    updatedAt: '',
  };
  private etag = 0;

  get row(): RemediationRecord {
    return this.value;
  }

  getRemediation() {
    return Promise.resolve({ value: { ...this.value }, etag: `e${this.etag}` });
  }

  updateRemediation(
    _v: string,
    _r: string,
    patch: Partial<RemediationRecord>,
    etag: string,
  ): Promise<string> {
    if (patch.completedAt && this.outage > 0) {
      this.outage -= 1;
      return Promise.reject(
        new ClawbackError('ConnectionError', 'Table Storage updating a remediation row failed (HTTP 503)', {
          retryable: true,
        }),
      );
    }
    if (etag !== `e${this.etag}`) {
      const conflict = new Error('changed');
      conflict.name = 'ConcurrencyConflictError';
      return Promise.reject(conflict);
    }
    this.value = { ...this.value, ...patch };
    this.etag += 1;
    return Promise.resolve(`e${this.etag}`);
  }

  recordRemediatedCopy(_copy: RemediatedCopy): Promise<void> {
    return Promise.resolve();
  }
}

export const config: ConfigDocument = ConfigMother.minimal()
  .withSettings({ maxAttempts: 3 })
  .withProfiles(ProfileMother.graph({ name: 'online' }))
  .withDomains({ 'contoso.com': 'online' })
  .withPolicies()
  .parse();

export const message: RemediationMessage = {
  verdictId: 'v1',
  rowKey: 'r1',
  recipient: alice,
  internetMessageId: messageId,
  verdict: 'malicious',
  action: 'softDelete',
  mode: 'enforce',
  threatKey: 'a'.repeat(64),
  attempt: 1,
};

export function deps(rows: FlakyRows, backend: InMemoryMailBackend, now?: () => Date): RemediateDeps {
  return {
    store: rows as unknown as ResultStore,
    config,
    backendFor: () => backend,
    scheduleRetry: () => Promise.resolve(),
    ...(now ? { now } : {}),
  };
}
