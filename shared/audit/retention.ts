import type { AuditLog, RetainedTable, RetentionStore } from '../ports/audit.js';
import { retainedTables } from '../ports/audit.js';
import type { CallOptions } from '../ports/mail.js';

export interface RetentionDeps {
  retention: RetentionStore;
  audit?: AuditLog | undefined;
  retentionDays: number;
  now?: () => Date;
}

/**
 * Deletes audit, ledger and cursor rows older than `settings.retentionDays`, then records what it
 * removed in the audit trail (a row that is itself kept for the next period).
 */
export async function applyRetention(
  deps: RetentionDeps,
  options?: CallOptions,
): Promise<Record<RetainedTable, number>> {
  const now = (deps.now ?? (() => new Date()))();
  const cutoff = new Date(now.getTime() - deps.retentionDays * 86_400_000);
  const deleted = { audit: 0, deliveries: 0, sourceCursors: 0 };
  for (const table of retainedTables)
    deleted[table] = await deps.retention.deleteOlderThan(table, cutoff, options);
  await deps.audit?.append(
    {
      who: 'clawback:retention',
      what: 'retention',
      detail: `removed rows older than ${deps.retentionDays} days (before ${cutoff.toISOString()}): audit ${deleted.audit}, deliveries ${deleted.deliveries}, source cursors ${deleted.sourceCursors}`,
      at: now,
    },
    options,
  );
  return deleted;
}
