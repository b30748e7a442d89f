import { TableClient, type TableServiceClientOptions } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';

import { withSignal as signal } from '../callOptions.js';
import { ClawbackError, ensureError } from '../errors.js';

export type TableConnection =
  | { connectionString: string; options?: TableServiceClientOptions }
  | { endpoint: string; credential: TokenCredential; options?: TableServiceClientOptions };

export function statusCode(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export function storageFailure(operation: string, error: unknown): ClawbackError {
  const e = ensureError(error);
  const status = statusCode(error);
  const retryable = status === undefined || status >= 500 || status === 408 || status === 429;
  return new ClawbackError(
    'ConnectionError',
    `Table Storage ${operation} failed${status ? ` (HTTP ${status})` : ''}: ${e.message.split('\n')[0] ?? ''}`,
    { retryable, cause: error },
  );
}

/** The SDK's options for a call: only the signal, and only when there is one. */
export { signal };

/** One client per table, each table created on first use (once per worker). */
export class TableClients {
  private readonly clients = new Map<string, { client: TableClient; ready: Promise<void> }>();

  constructor(private readonly connection: TableConnection) {}

  async get(name: string): Promise<TableClient> {
    let entry = this.clients.get(name);
    if (!entry) {
      const c = this.connection;
      const client =
        'connectionString' in c
          ? TableClient.fromConnectionString(c.connectionString, name, c.options)
          : new TableClient(c.endpoint.replace(/\/$/, ''), name, c.credential, c.options);
      const ready = client.createTable().catch((error: unknown) => {
        this.clients.delete(name);
        throw storageFailure(`creating table ${name}`, error);
      });
      entry = { client, ready };
      this.clients.set(name, entry);
    }
    await entry.ready;
    return entry.client;
  }

  /** The entity, or undefined when there is none. */
  async getEntity(
    table: string,
    partitionKey: string,
    rowKey: string,
    options?: { abortSignal?: AbortSignal | undefined },
  ): Promise<(Record<string, unknown> & { etag: string }) | undefined> {
    const client = await this.get(table);
    try {
      return await client.getEntity<Record<string, unknown>>(partitionKey, rowKey, {
        ...signal(options),
      });
    } catch (error) {
      if (statusCode(error) === 404) return undefined;
      throw storageFailure(`reading ${table}`, error);
    }
  }

  /** One page of a partition, with the token for the next; `select` limits the columns read. */
  async partitionPage<T>(
    table: string,
    partitionKey: string,
    page: { pageSize: number; continuationToken?: string | undefined },
    map: (entity: Record<string, unknown>) => T,
    operation: string,
    options?: { abortSignal?: AbortSignal | undefined; select?: string[] },
  ): Promise<{ items: T[]; continuationToken?: string | undefined }> {
    const client = await this.get(table);
    try {
      const iterator = client
        .listEntities<Record<string, unknown>>({
          queryOptions: {
            filter: `PartitionKey eq '${partitionKey.replace(/'/g, "''")}'`,
            ...(options?.select ? { select: options.select } : {}),
          },
          ...signal(options),
        })
        .byPage({
          maxPageSize: page.pageSize,
          ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}),
        });
      const first = await iterator.next();
      if (first.done) return { items: [] };
      const value = first.value as Record<string, unknown>[] & { continuationToken?: string };
      return { items: value.map(map), continuationToken: value.continuationToken };
    } catch (error) {
      throw storageFailure(operation, error);
    }
  }
}
