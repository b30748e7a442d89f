import type { AuditEntry, AuditLog, RetainedTable, RetentionStore } from '../ports/audit.js';

/** The audit trail in memory: component tests and a local run without tables. */
export class InMemoryAuditLog implements AuditLog, RetentionStore {
  readonly entries: AuditEntry[] = [];

  append(entry: AuditEntry): Promise<void> {
    this.entries.push({ ...entry });
    return Promise.resolve();
  }

  list(range: { from: Date; to: Date }, limit: number): Promise<AuditEntry[]> {
    return Promise.resolve(
      this.entries
        .filter((e) => e.at >= range.from && e.at < range.to)
        .sort((a, b) => a.at.getTime() - b.at.getTime())
        .slice(0, limit),
    );
  }

  deleteOlderThan(table: RetainedTable, cutoff: Date): Promise<number> {
    if (table !== 'audit') return Promise.resolve(0);
    const before = this.entries.length;
    const kept = this.entries.filter((e) => e.at >= cutoff);
    this.entries.splice(0, this.entries.length, ...kept);
    return Promise.resolve(before - kept.length);
  }
}
