import { describe, expect, it } from 'vitest';

import { auditingBackend } from '../../../shared/audit/auditingBackend.js';
import type { AuditEntry, AuditLog } from '../../../shared/ports/audit.js';
import { remediate } from '../../../shared/remediation/remediate.js';
import { InMemoryResultStore } from '../../../shared/results/memory/inMemoryResultStore.js';
import { InMemoryMailBackend } from '../../fakes/inMemoryMailBackend.js';
import { ConfigMother } from '../../mothers/configMother.js';

/** An audit log whose writes finish only when the test lets them. */
function heldAuditLog() {
  const entries: AuditEntry[] = [];
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const log: AuditLog = {
    append: async (entry) => {
      await held;
      entries.push(entry);
    },
    list: () => Promise.resolve(entries),
  };
  return { log, entries, release };
}

describe('the audit row of a mailbox action', () => {
  it('is written alongside the restore record, and before the row turns terminal', async () => {
    const store = new InMemoryResultStore();
    const backend = new InMemoryMailBackend().deliver('ann@contoso.com', '<m@x>');
    const audit = heldAuditLog();
    await store.createRemediations([
      {
        verdictId: 'v1',
        rowKey: 'ann@contoso.com|m',
        recipient: 'ann@contoso.com',
        internetMessageId: '<m@x>',
        action: 'softDelete',
        status: 'pending',
        attempts: 0,
        updatedAt: new Date().toISOString(),
      },
    ]);
    const run = remediate(
      {
        verdictId: 'v1',
        rowKey: 'ann@contoso.com|m',
        recipient: 'ann@contoso.com',
        internetMessageId: '<m@x>',
        verdict: 'malicious',
        action: 'softDelete',
        mode: 'enforce',
        threatKey: 'sha256-x',
        attempt: 1,
      },
      {
        store,
        config: ConfigMother.minimal().parse(),
        backendFor: () => auditingBackend(backend, audit.log),
        scheduleRetry: () => Promise.resolve(),
        audit: { who: 'clawback:remediateMailbox', verdictId: 'v1' },
      },
    );
    // The copy is removed and its restore record written while the audit row is still on its way.
    const copy = () => store.getRemediatedCopy('sha256-x', 'ann@contoso.com', '<m@x>');
    for (let turns = 0; turns < 10_000 && !(await copy()); turns++)
      await new Promise((resolve) => setImmediate(resolve));
    expect(await copy()).toBeDefined();
    expect((await store.getRemediation('v1', 'ann@contoso.com|m'))?.value.status).toBe('inProgress');
    audit.release();
    expect(await run).toEqual({ kind: 'done', status: 'succeeded' });
    expect(audit.entries).toEqual([
      expect.objectContaining({
        who: 'clawback:remediateMailbox',
        verdictId: 'v1',
        mailbox: 'ann@contoso.com',
      }),
    ]);
    expect((await store.getRemediation('v1', 'ann@contoso.com|m'))?.value.status).toBe('succeeded');
  });
});
