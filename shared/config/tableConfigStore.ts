import { createHash } from 'node:crypto';

import { TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';

import { tables } from '../bindings.js';
import { withSignal } from '../callOptions.js';
import { ClawbackError, ensureError } from '../errors.js';
import { type ConfigStore, ConfigVersionConflictError, type StoredConfig } from '../ports/config.js';
import type { CallOptions } from '../ports/mail.js';
import type { TableConnection } from '../results/tableResultStore.js';
import { sanitizeKey } from '../verdicts/ids.js';
import { type ConfigDocument, configDocumentSchema, formatPath } from './document.js';

type Row = TableEntity<Record<string, unknown>>;

/** The pointer row: which generation partition holds the applied document. */
const pointer = { partitionKey: 'current', rowKey: 'version' } as const;
const metaRowKey = 'document';
/** Fields that hold secret references (objects); stored as JSON text in a column of the same name. */
const objectColumns = new Set(['Certificate', 'Password', 'TrustedCa', 'SigningSecret', 'Pull']);

/** JSON with sorted keys and no null/undefined, so equal documents hash equally whatever their key order. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter(
          (k) =>
            (value as Record<string, unknown>)[k] !== undefined &&
            (value as Record<string, unknown>)[k] !== null,
        )
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  return value;
}

/** The version is a hash of the canonical document, so applying the same document twice is a no-op. */
export function configVersion(document: ConfigDocument): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical(document)))
    .digest('hex')
    .slice(0, 16);
}

const pascal = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);
const camel = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

/** One column per field: strings, numbers and booleans as themselves, secret references as JSON text. */
function columns(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined || value === null) continue;
    out[pascal(key)] = typeof value === 'object' ? JSON.stringify(value) : value;
  }
  return out;
}

const bookkeeping = new Set([
  'partitionKey',
  'rowKey',
  'etag',
  'timestamp',
  'Kind',
  'Position',
  'odata.etag',
  'Timestamp',
]);

function fields(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (bookkeeping.has(key)) continue;
    out[camel(key)] =
      objectColumns.has(key) && typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  }
  return out;
}

/**
 * Rows an operator can read in Storage Explorer: one per profile, chain, domain, policy and source,
 * one for the settings, and a meta row that says how many rows the generation has.
 */
export function documentRows(document: ConfigDocument, generation: string): Row[] {
  const row = (
    kind: string,
    key: string,
    position: number | undefined,
    values: Record<string, unknown>,
  ): Row => ({
    partitionKey: generation,
    rowKey: `${kind}|${sanitizeKey(key)}`,
    Kind: kind,
    ...(position === undefined ? {} : { Position: position }),
    ...columns(values),
  });
  const rows: Row[] = [
    row('settings', 'settings', undefined, { ...document.settings, forwardTo: document.forwardTo }),
    ...document.profiles.map((p, i) => row('profile', p.name, i, p)),
    ...document.chains.map((c, i) =>
      row('chain', c.name, i, { name: c.name, profiles: c.profiles.join(', ') }),
    ),
    ...Object.entries(document.domains).map(([domain, target]) =>
      row('domain', domain, undefined, { domain, target }),
    ),
    ...document.policies.map((p, i) => row('policy', p.verdict, i, p)),
    ...document.sources.map((s, i) => row('source', s.name, i, s)),
  ];
  rows.push({ partitionKey: generation, rowKey: metaRowKey, Kind: 'document', Rows: rows.length });
  return rows;
}

/** Rebuilds the document from a generation's rows; undefined when the meta row says rows are missing. */
export function documentFromRows(rows: Record<string, unknown>[]): unknown {
  const meta = rows.find((r) => r.rowKey === metaRowKey);
  const content = rows.filter((r) => r.rowKey !== metaRowKey);
  if (!meta || meta.Rows !== content.length) return undefined;
  const ofKind = (kind: string) =>
    content.filter((r) => r.Kind === kind).sort((a, b) => Number(a.Position ?? 0) - Number(b.Position ?? 0));
  const settings = fields(ofKind('settings')[0] ?? {});
  const { forwardTo, ...rest } = settings;
  return {
    settings: rest,
    profiles: ofKind('profile').map(fields),
    chains: ofKind('chain').map((r) => {
      const f = fields(r);
      return {
        ...f,
        profiles: (typeof f.profiles === 'string' ? f.profiles : '').split(/,\s*/).filter((p) => p !== ''),
      };
    }),
    domains: Object.fromEntries(ofKind('domain').map((r) => [String(r.Domain), String(r.Target)])),
    policies: ofKind('policy').map(fields),
    ...(forwardTo === undefined ? {} : { forwardTo }),
    sources: ofKind('source').map(fields),
  };
}

function statusCode(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

function storageFailure(operation: string, error: unknown): ClawbackError {
  const status = statusCode(error);
  return new ClawbackError(
    'ConnectionError',
    `Table Storage ${operation} failed${status ? ` (HTTP ${status})` : ''}: ${ensureError(error).message.split('\n')[0] ?? ''}`,
    { retryable: status === undefined || status >= 500 || status === 408 || status === 429, cause: error },
  );
}

interface Pointer {
  version: string;
  generation: string;
  updatedAt: string | undefined;
  etag: string;
}

/**
 * The configuration document in the `Configuration` table. Each applied version is written whole
 * into its own partition (`v-<version>`), then one conditional update of the pointer row makes it
 * current, so readers never see half a document and a conditional `put` (If-Match) is exact.
 * The previous generation is deleted once the pointer has moved past it. Reads are cached per worker
 * for `cacheSeconds`, so a burst of remediations reads the table once.
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
    this.client =
      'connectionString' in connection
        ? TableClient.fromConnectionString(connection.connectionString, tables.config, connection.options)
        : new TableClient(connection.endpoint, tables.config, connection.credential, connection.options);
  }

  private async ensureTable(): Promise<void> {
    this.ready ??= this.client.createTable().catch((error: unknown) => {
      this.ready = undefined;
      throw storageFailure(`creating the ${tables.config} table`, error);
    });
    await this.ready;
  }

  async get(options?: CallOptions): Promise<StoredConfig | undefined> {
    if (this.cached && this.now() - this.cached.at < this.cacheSeconds * 1000) return this.cached.value;
    await this.ensureTable();
    const value = await this.read(options);
    this.cached = { value, at: this.now() };
    return value;
  }

  private async read(options?: CallOptions): Promise<StoredConfig | undefined> {
    // A writer may move the pointer and delete the old generation between our two reads: read again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.pointer(options);
      if (!current) return undefined;
      const rows = await this.generationRows(current.generation, options);
      const input = documentFromRows(rows);
      if (input === undefined) continue;
      const parsed = configDocumentSchema.safeParse(input);
      if (!parsed.success) {
        const first = parsed.error.issues[0];
        throw new ClawbackError(
          'ConfigurationError',
          `The stored configuration (version ${current.version}) is no longer valid${first ? ` (${formatPath(first.path)}: ${first.message})` : ''}; apply it again.`,
        );
      }
      return { document: parsed.data, version: current.version, updatedAt: current.updatedAt };
    }
    throw new ClawbackError('ConnectionError', 'The configuration kept changing while it was being read.', {
      retryable: true,
    });
  }

  async put(document: ConfigDocument, ifVersion?: string, options?: CallOptions): Promise<string> {
    await this.ensureTable();
    const version = configVersion(document);
    const generation = `v-${version}`;
    let written = false;
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await this.pointer(options);
      if (ifVersion !== undefined && current?.version !== ifVersion)
        throw new ConfigVersionConflictError(current?.version);
      if (current?.version === version) {
        this.remember(document, version, current.updatedAt);
        return version;
      }
      if (!written) {
        await this.writeGeneration(documentRows(document, generation), options);
        written = true;
      }
      const updatedAt = new Date(this.now()).toISOString();
      if (await this.movePointer(current, { version, generation, updatedAt }, options)) {
        if (current) await this.deleteGeneration(current.generation, options);
        this.remember(document, version, updatedAt);
        return version;
      }
      if (ifVersion !== undefined) {
        const now = await this.pointer(options);
        if (now?.generation !== generation) await this.deleteGeneration(generation, options);
        throw new ConfigVersionConflictError(now?.version);
      }
    }
    throw new ClawbackError(
      'ConnectionError',
      'The configuration kept changing while it was being applied; apply it again.',
      {
        retryable: true,
      },
    );
  }

  private remember(document: ConfigDocument, version: string, updatedAt: string | undefined): void {
    this.cached = { value: { document, version, updatedAt }, at: this.now() };
  }

  private async pointer(options?: CallOptions): Promise<Pointer | undefined> {
    try {
      const row = await this.client.getEntity<Record<string, unknown>>(
        pointer.partitionKey,
        pointer.rowKey,
        withSignal(options),
      );
      return {
        version: String(row.Version),
        generation: String(row.Generation),
        updatedAt: typeof row.UpdatedAt === 'string' ? row.UpdatedAt : undefined,
        etag: row.etag,
      };
    } catch (error) {
      if (statusCode(error) === 404) return undefined;
      throw storageFailure('reading the configuration version', error);
    }
  }

  private async generationRows(
    generation: string,
    options?: CallOptions,
  ): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    try {
      const filter = `PartitionKey eq '${generation.replace(/'/g, "''")}'`;
      for await (const row of this.client.listEntities<Record<string, unknown>>({
        queryOptions: { filter },
        ...withSignal(options),
      }))
        rows.push(row);
    } catch (error) {
      throw storageFailure('reading the configuration', error);
    }
    return rows;
  }

  /** Upserts in transactions of 100 (the Table limit); rows are a function of the version, so a rerun is harmless. */
  private async writeGeneration(rows: Row[], options?: CallOptions): Promise<void> {
    for (let i = 0; i < rows.length; i += 100) {
      const chunk = rows.slice(i, i + 100);
      try {
        await this.client.submitTransaction(
          chunk.map((r): TransactionAction => ['upsert', r, 'Replace']),
          withSignal(options),
        );
      } catch (error) {
        throw storageFailure('writing the configuration', error);
      }
    }
  }

  /** Conditional on the pointer's ETag (or its absence): false when another writer moved it first. */
  private async movePointer(
    current: Pointer | undefined,
    next: { version: string; generation: string; updatedAt: string },
    options?: CallOptions,
  ): Promise<boolean> {
    const entity = {
      ...pointer,
      Version: next.version,
      Generation: next.generation,
      UpdatedAt: next.updatedAt,
    };
    try {
      if (current)
        await this.client.updateEntity(entity, 'Replace', {
          etag: current.etag,
          ...withSignal(options),
        });
      else await this.client.createEntity(entity, withSignal(options));
      return true;
    } catch (error) {
      if (statusCode(error) === 412 || statusCode(error) === 409 || statusCode(error) === 404) return false;
      throw storageFailure('switching the configuration version', error);
    }
  }

  /** Best effort: a leftover generation is invisible (nothing points at it) and rewritten identically if reapplied. */
  private async deleteGeneration(generation: string, options?: CallOptions): Promise<void> {
    try {
      const rows = await this.generationRows(generation, options);
      for (let i = 0; i < rows.length; i += 100) {
        await this.client.submitTransaction(
          rows
            .slice(i, i + 100)
            .map((r): TransactionAction => [
              'delete',
              { partitionKey: generation, rowKey: String(r.rowKey) },
            ]),
          withSignal(options),
        );
      }
    } catch {
      return;
    }
  }
}
