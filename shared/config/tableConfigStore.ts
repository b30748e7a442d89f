import { createHash } from 'node:crypto';

import { TableClient } from '@azure/data-tables';

import { tables } from '../bindings.js';
import { ClawbackError, ensureError } from '../errors.js';
import type { ConfigStore, StoredConfig } from '../ports/config.js';
import type { CallOptions } from '../ports/mail.js';
import type { TableConnection } from '../results/tableResultStore.js';
import { type ConfigDocument, configDocumentSchema } from './document.js';

const partitionKey = 'config';
const rowKey = 'current';

function clientFor(connection: TableConnection): TableClient {
  return 'connectionString' in connection
    ? TableClient.fromConnectionString(connection.connectionString, tables.config, connection.options)
    : new TableClient(connection.endpoint, tables.config, connection.credential, connection.options);
}

/** The version is a hash of the canonical document, so applying the same document twice is a no-op. */
export function configVersion(document: ConfigDocument): string {
  return createHash('sha256').update(JSON.stringify(document)).digest('hex').slice(0, 16);
}

/**
 * The configuration document in the `Configuration` table, cached per worker for `cacheSeconds`
 * so a burst of remediations reads it once.
 */
export class TableConfigStore implements ConfigStore {
  private readonly client: TableClient;
  private ready: Promise<void> | undefined;
  private cached: { value: StoredConfig | undefined; at: number } | undefined;

  constructor(
    connection: TableConnection,
    private readonly cacheSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.client = clientFor(connection);
  }

  private async ensureTable(): Promise<void> {
    this.ready ??= this.client.createTable().catch((error: unknown) => {
      this.ready = undefined;
      throw new ClawbackError('ConnectionError', `Table Storage could not create the ${tables.config} table: ${ensureError(error).message}`, {
        retryable: true,
      });
    });
    await this.ready;
  }

  async get(options?: CallOptions): Promise<StoredConfig | undefined> {
    if (this.cached && this.now() - this.cached.at < this.cacheSeconds * 1000) return this.cached.value;
    await this.ensureTable();
    let value: StoredConfig | undefined;
    try {
      const entity = await this.client.getEntity<{ Document: string; Version: string }>(partitionKey, rowKey, { abortSignal: options?.abortSignal });
      const parsed = configDocumentSchema.safeParse(JSON.parse(entity.Document));
      if (!parsed.success)
        throw new ClawbackError('ConfigurationError', 'The stored configuration document is no longer valid; apply it again.');
      value = { document: parsed.data, version: entity.Version };
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
    this.cached = { value, at: this.now() };
    return value;
  }

  async put(document: ConfigDocument, ifVersion?: string, options?: CallOptions): Promise<string> {
    await this.ensureTable();
    const version = configVersion(document);
    const entity = { partitionKey, rowKey, Document: JSON.stringify(document), Version: version, UpdatedAt: new Date().toISOString() };
    if (ifVersion === undefined) {
      await this.client.upsertEntity(entity, 'Replace', { abortSignal: options?.abortSignal });
    } else {
      const current = await this.client.getEntity<{ Version: string }>(partitionKey, rowKey, { abortSignal: options?.abortSignal });
      if (current.Version !== ifVersion) throw new ClawbackError('ConfigurationError', `The configuration changed (now version ${current.Version}); reload it and apply again.`);
      await this.client.updateEntity(entity, 'Replace', { etag: current.etag, abortSignal: options?.abortSignal });
    }
    this.cached = { value: { document, version }, at: this.now() };
    return version;
  }
}
