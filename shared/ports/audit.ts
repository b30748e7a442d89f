import type { CallOptions } from './mail.js';

/** What an audit row records (SPEC §5): one decision or effect. */
export const auditEvents = [
  'accepted',
  'policyDecision',
  'approved',
  'rejected',
  'undo',
  'configurationApplied',
  'mailboxAction',
  'retention',
] as const;
export type AuditEvent = (typeof auditEvents)[number];

/** One row of the append-only `Audit` table. Never holds a secret: callers are key names or identities. */
export interface AuditEntry {
  /** `key:<name>`, an Entra identity (`entra:<upn>`), or `clawback:<function>` for the app's own steps. */
  who: string;
  what: AuditEvent;
  verdictId?: string | undefined;
  mailbox?: string | undefined;
  detail?: string | undefined;
  at: Date;
}

/** Append-only: rows are added, read back, and removed only by retention. */
export interface AuditLog {
  append(entry: AuditEntry, options?: CallOptions): Promise<void>;
  /** Rows of the range, oldest first, at most `limit`. */
  list(range: { from: Date; to: Date }, limit: number, options?: CallOptions): Promise<AuditEntry[]>;
}

/** Tables whose old rows retention removes. */
export const retainedTables = ['audit', 'deliveries', 'sourceCursors'] as const;
export type RetainedTable = (typeof retainedTables)[number];

export interface RetentionStore {
  /** Deletes the table's rows last written before `cutoff`; returns how many. */
  deleteOlderThan(table: RetainedTable, cutoff: Date, options?: CallOptions): Promise<number>;
}
