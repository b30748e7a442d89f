import { randomBytes } from 'node:crypto';

import { TableClient, type TransactionAction } from '@azure/data-tables';

import { tables } from '../bindings.js';
import { withSignal } from '../callOptions.js';
import type { AuditEntry, AuditEvent, AuditLog, RetainedTable, RetentionStore } from '../ports/audit.js';
import type { CallOptions } from '../ports/mail.js';
import { GroupCommit } from '../results/groupCommit.js';
import { storageFailure as failure } from '../results/tableClients.js';
import type { TableConnection } from '../results/tableResultStore.js';

/** The pull connectors' cursors (SPEC §9); retention drops the rows of connectors no longer polling. */
const sourceCursorsTable = 'SourceCursors';

const tableNames: Record<RetainedTable, string> = {
  audit: tables.audit,
  deliveries: tables.deliveries,
  sourceCursors: sourceCursorsTable,
};

/** PartitionKey of an audit row: its UTC day, so retention drops whole partitions. */
export function auditPartition(at: Date): string {
  return at.toISOString().slice(0, 10).replace(/-/g, '');
}

/** RowKey: the instant (sorts by time), then randomness, so two rows in one millisecond never collide. */
export function auditRowKey(at: Date): string {
  return `${at.toISOString()}-${randomBytes(6).toString('hex')}`;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * `Audit` in Table Storage: PartitionKey = day (yyyymmdd), RowKey = ISO instant + random suffix,
 * columns Who, What, Verdict, Mailbox, Detail and At (`Edm.DateTime`). Rows are only ever created;
 * retention deletes whole days, and old ledger and cursor rows by their last write.
 */
export class TableAuditLog implements AuditLog, RetentionStore {
  private readonly clients = new Map<string, Promise<TableClient>>();
  /** A day's rows share its partition: the rows of concurrent workers go together. */
  readonly appends: GroupCommit;

  constructor(private readonly connection: TableConnection) {
    this.appends = new GroupCommit(() => this.client(tables.audit));
  }

  private client(name: string): Promise<TableClient> {
    let ready = this.clients.get(name);
    if (!ready) {
      const c = this.connection;
      const client =
        'connectionString' in c
          ? TableClient.fromConnectionString(c.connectionString, name, c.options)
          : new TableClient(c.endpoint.replace(/\/$/, ''), name, c.credential, c.options);
      ready = client.createTable().then(
        () => client,
        (error: unknown) => {
          this.clients.delete(name);
          throw failure(`creating table ${name}`, error);
        },
      );
      this.clients.set(name, ready);
    }
    return ready;
  }

  append(entry: AuditEntry, options?: CallOptions): Promise<void> {
    const columns = Object.fromEntries(
      Object.entries({
        Who: entry.who,
        What: entry.what,
        Verdict: entry.verdictId,
        Mailbox: entry.mailbox,
        Detail: entry.detail,
      }).filter(([, v]) => v !== undefined && v !== ''),
    );
    const entity = {
      partitionKey: auditPartition(entry.at),
      rowKey: auditRowKey(entry.at),
      ...columns,
      At: entry.at,
    };
    return this.appends.write(
      entity.partitionKey,
      {
        rowKey: entity.rowKey,
        action: ['create', entity],
        fromResponse: () => undefined,
        alone: async () => {
          const client = await this.client(tables.audit);
          try {
            await client.createEntity(entity, withSignal(options));
          } catch (error) {
            throw failure('writing an audit row', error);
          }
        },
      },
      options,
    );
  }

  async list(range: { from: Date; to: Date }, limit: number, options?: CallOptions): Promise<AuditEntry[]> {
    const client = await this.client(tables.audit);
    const filter = [
      `PartitionKey ge '${auditPartition(range.from)}'`,
      `PartitionKey le '${auditPartition(range.to)}'`,
      `RowKey ge '${range.from.toISOString()}'`,
      `RowKey lt '${range.to.toISOString()}'`,
    ].join(' and ');
    const found: AuditEntry[] = [];
    try {
      for await (const e of client.listEntities<Record<string, unknown>>({
        queryOptions: { filter },
        ...withSignal(options),
      })) {
        const at = e.At instanceof Date ? e.At : new Date(String(e.At));
        found.push({
          who: text(e.Who) ?? '',
          what: (text(e.What) ?? 'accepted') as AuditEvent,
          verdictId: text(e.Verdict),
          mailbox: text(e.Mailbox),
          detail: text(e.Detail),
          at,
        });
        if (found.length >= limit) break;
      }
    } catch (error) {
      throw failure('reading audit rows', error);
    }
    return found;
  }

  async deleteOlderThan(table: RetainedTable, cutoff: Date, options?: CallOptions): Promise<number> {
    const client = await this.client(tableNames[table]);
    // Audit rows are keyed by day; the ledger and cursors carry no time in their keys, so their
    // service-maintained Timestamp (last write) decides.
    const filter =
      table === 'audit'
        ? `PartitionKey lt '${auditPartition(cutoff)}'`
        : `Timestamp lt datetime'${cutoff.toISOString()}'`;
    const byPartition = new Map<string, string[]>();
    try {
      for await (const e of client.listEntities<Record<string, unknown>>({
        queryOptions: { filter, select: ['PartitionKey', 'RowKey'] },
        ...withSignal(options),
      })) {
        if (e.partitionKey === undefined || e.rowKey === undefined) continue;
        const keys = byPartition.get(e.partitionKey) ?? [];
        keys.push(e.rowKey);
        byPartition.set(e.partitionKey, keys);
      }
      let deleted = 0;
      for (const [partitionKey, rowKeys] of byPartition) {
        for (let i = 0; i < rowKeys.length; i += 100) {
          const chunk = rowKeys.slice(i, i + 100);
          await client.submitTransaction(
            chunk.map((rowKey): TransactionAction => ['delete', { partitionKey, rowKey }]),
            withSignal(options),
          );
          deleted += chunk.length;
        }
      }
      return deleted;
    } catch (error) {
      throw failure(`deleting old rows of ${tableNames[table]}`, error);
    }
  }
}
