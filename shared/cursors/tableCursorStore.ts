import { TableClient } from '@azure/data-tables';

import { tables } from '../bindings.js';
import { withSignal } from '../callOptions.js';
import { ClawbackError, ensureError } from '../errors.js';
import type { CursorStore, SourceCursor } from '../ports/cursors.js';
import type { CallOptions } from '../ports/mail.js';
import type { TableConnection } from '../results/tableResultStore.js';
import { sanitizeKey } from '../verdicts/ids.js';

const partition = 'cursor';

function failure(operation: string, error: unknown): ClawbackError {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  const code = typeof status === 'number' ? status : undefined;
  return new ClawbackError(
    'ConnectionError',
    `Table Storage ${operation} failed${code ? ` (HTTP ${code})` : ''}: ${ensureError(error).message.split('\n')[0] ?? ''}`,
    { retryable: code === undefined || code >= 500 || code === 429 || code === 408, cause: error },
  );
}

/** Time columns as Edm.DateTime, so Storage Explorer sorts and filters them as dates. */
function date(value: string | undefined): Date | undefined {
  return value === undefined ? undefined : new Date(value);
}
function iso(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'string' ? value : undefined;
}
function int(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}

/** `SourceCursors` in Azure Table Storage: PartitionKey `cursor`, RowKey = source name. */
export class TableCursorStore implements CursorStore {
  private client: TableClient | undefined;
  private ready: Promise<void> | undefined;

  constructor(private readonly connection: TableConnection) {}

  private async table(): Promise<TableClient> {
    const c = this.connection;
    this.client ??=
      'connectionString' in c
        ? TableClient.fromConnectionString(c.connectionString, tables.sourceCursors, c.options)
        : new TableClient(c.endpoint.replace(/\/$/, ''), tables.sourceCursors, c.credential, c.options);
    const client = this.client;
    this.ready ??= client.createTable().catch((error: unknown) => {
      this.ready = undefined;
      throw failure(`creating table ${tables.sourceCursors}`, error);
    });
    await this.ready;
    return client;
  }

  async get(source: string, options?: CallOptions): Promise<SourceCursor | undefined> {
    const client = await this.table();
    try {
      const e = await client.getEntity<Record<string, unknown>>(partition, sanitizeKey(source), {
        ...withSignal(options),
      });
      return fromEntity(e);
    } catch (error) {
      if ((error as { statusCode?: unknown }).statusCode === 404) return undefined;
      throw failure('reading a source cursor', error);
    }
  }

  async put(cursor: SourceCursor, options?: CallOptions): Promise<void> {
    const client = await this.table();
    try {
      await client.upsertEntity(
        {
          partitionKey: partition,
          rowKey: sanitizeKey(cursor.source),
          Source: cursor.source,
          Type: cursor.type,
          ReadThrough: date(cursor.readThrough),
          NextRunAt: date(cursor.nextRunAt),
          LastRunAt: date(cursor.lastRunAt),
          LastSuccessAt: date(cursor.lastSuccessAt),
          EventsIngested: cursor.eventsIngested,
          ConsecutiveFailures: cursor.consecutiveFailures,
          LastError: cursor.lastError ?? '',
          LastErrorDetail: cursor.lastErrorDetail ?? '',
          LastErrorAt: date(cursor.lastErrorAt),
        },
        'Replace',
        withSignal(options),
      );
    } catch (error) {
      throw failure('writing a source cursor', error);
    }
  }

  async list(options?: CallOptions): Promise<SourceCursor[]> {
    const client = await this.table();
    const rows: SourceCursor[] = [];
    try {
      for await (const e of client.listEntities<Record<string, unknown>>({
        queryOptions: { filter: `PartitionKey eq '${partition}'` },
        ...withSignal(options),
      }))
        rows.push(fromEntity(e));
    } catch (error) {
      throw failure('listing source cursors', error);
    }
    return rows;
  }
}

function fromEntity(e: Record<string, unknown>): SourceCursor {
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    source: text(e.Source) ?? String(e.rowKey),
    type: text(e.Type) ?? '',
    readThrough: iso(e.ReadThrough),
    nextRunAt: iso(e.NextRunAt),
    lastRunAt: iso(e.LastRunAt),
    lastSuccessAt: iso(e.LastSuccessAt),
    eventsIngested: int(e.EventsIngested),
    consecutiveFailures: int(e.ConsecutiveFailures),
    lastError: text(e.LastError),
    lastErrorDetail: text(e.LastErrorDetail),
    lastErrorAt: iso(e.LastErrorAt),
  };
}
