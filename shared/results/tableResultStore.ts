import {
  TableClient,
  type TableEntity,
  type TableEntityResult,
  type TableServiceClientOptions,
  type TransactionAction,
} from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';

import { tables } from '../bindings.js';
import { ClawbackError, ensureError } from '../errors.js';
import type { CallOptions } from '../ports/mail.js';
import {
  ConcurrencyConflictError,
  type Page,
  type RemediatedCopy,
  type RemediationPatch,
  type RemediationRecord,
  type ResultStore,
  type TerminalStatus,
  type VerdictRecord,
  type Versioned,
} from '../ports/results.js';
import type { DeliveryEntry } from '../verdicts/deliveries.js';
import { copyRowKey, sanitizeKey, shortHash, verdictIdRange } from '../verdicts/ids.js';

export type TableConnection =
  | { connectionString: string; options?: TableServiceClientOptions }
  | { endpoint: string; credential: TokenCredential; options?: TableServiceClientOptions };

type Entity = TableEntity<Record<string, unknown>>;

const verdictPartition = 'verdict';

function statusCode(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

function storageFailure(operation: string, error: unknown): ClawbackError {
  const e = ensureError(error);
  const status = statusCode(error);
  const retryable = status === undefined || status >= 500 || status === 408 || status === 429;
  return new ClawbackError(
    'ConnectionError',
    `Table Storage ${operation} failed${status ? ` (HTTP ${status})` : ''}: ${e.message.split('\n')[0] ?? ''}`,
    {
      retryable,
      cause: error,
    },
  );
}

/** Drops undefined values: Table Storage has no null, and Merge must not clear columns. */
function defined(entity: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(entity).filter(([, v]) => v !== undefined));
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : value instanceof Date ? value.toISOString() : undefined;
}
function num(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}

function toVerdictEntity(r: Partial<VerdictRecord> & { verdictId: string }): Entity {
  return {
    partitionKey: verdictPartition,
    rowKey: r.verdictId,
    ...defined({
      Source: r.source,
      EventId: r.eventId,
      Verdict: r.verdict,
      PreviousVerdict: r.previousVerdict,
      Sha256: r.sha256,
      Filename: r.filename,
      Url: r.url,
      Action: r.action,
      Mode: r.mode,
      Status: r.status,
      Recipients: r.recipients,
      Succeeded: r.succeeded,
      Failed: r.failed,
      NotFound: r.notFound,
      Done: r.done,
      ReceivedAt: r.receivedAt,
      CompletedAt: r.completedAt,
      ApprovedBy: r.approvedBy,
      MedianExposureSeconds: r.medianExposureSeconds,
    }),
  };
}

function fromVerdictEntity(e: Record<string, unknown>): VerdictRecord {
  return {
    verdictId: str(e.rowKey) ?? '',
    source: str(e.Source) ?? '',
    eventId: str(e.EventId) ?? '',
    verdict: (str(e.Verdict) ?? 'malicious') as VerdictRecord['verdict'],
    previousVerdict: str(e.PreviousVerdict) as VerdictRecord['previousVerdict'],
    sha256: str(e.Sha256),
    filename: str(e.Filename),
    url: str(e.Url),
    action: str(e.Action) as VerdictRecord['action'],
    mode: str(e.Mode) as VerdictRecord['mode'],
    status: (str(e.Status) ?? 'accepted') as VerdictRecord['status'],
    recipients: num(e.Recipients),
    succeeded: num(e.Succeeded),
    failed: num(e.Failed),
    notFound: num(e.NotFound),
    done: num(e.Done),
    receivedAt: str(e.ReceivedAt) ?? '',
    completedAt: str(e.CompletedAt),
    approvedBy: str(e.ApprovedBy),
    medianExposureSeconds: typeof e.MedianExposureSeconds === 'number' ? e.MedianExposureSeconds : undefined,
  };
}

function remediationColumns(r: RemediationPatch): Record<string, unknown> {
  return defined({
    Recipient: r.recipient,
    InternetMessageId: r.internetMessageId,
    Action: r.action,
    Status: r.status,
    Reason: r.reason,
    Detail: r.detail,
    Profile: r.profile,
    Backend: r.backend,
    Attempts: r.attempts,
    OriginalFolder: r.originalFolder,
    QuarantineLocation: r.quarantineLocation,
    Sha256: r.sha256,
    Filename: r.filename,
    DeliveredAt: r.deliveredAt,
    ExposureSeconds: r.exposureSeconds,
    DerivedFrom: r.derivedFrom,
    UpdatedAt: r.updatedAt,
    CompletedAt: r.completedAt,
  });
}

function fromRemediationEntity(e: Record<string, unknown>): RemediationRecord {
  return {
    verdictId: str(e.partitionKey) ?? '',
    rowKey: str(e.rowKey) ?? '',
    recipient: str(e.Recipient) ?? '',
    internetMessageId: str(e.InternetMessageId) ?? '',
    action: (str(e.Action) ?? 'none') as RemediationRecord['action'],
    status: (str(e.Status) ?? 'pending') as RemediationRecord['status'],
    reason: str(e.Reason) as RemediationRecord['reason'],
    detail: str(e.Detail),
    profile: str(e.Profile),
    backend: str(e.Backend) as RemediationRecord['backend'],
    attempts: num(e.Attempts),
    originalFolder: str(e.OriginalFolder),
    quarantineLocation: str(e.QuarantineLocation),
    sha256: str(e.Sha256),
    filename: str(e.Filename),
    deliveredAt: str(e.DeliveredAt),
    exposureSeconds: typeof e.ExposureSeconds === 'number' ? e.ExposureSeconds : undefined,
    derivedFrom: str(e.DerivedFrom),
    updatedAt: str(e.UpdatedAt) ?? '',
    completedAt: str(e.CompletedAt),
  };
}

function fromCopyEntity(threatKey: string, e: Record<string, unknown>): RemediatedCopy {
  return {
    threatKey,
    recipient: str(e.Recipient) ?? '',
    internetMessageId: str(e.InternetMessageId) ?? '',
    action: (str(e.Action) ?? 'none') as RemediatedCopy['action'],
    profile: str(e.Profile) ?? '',
    backend: (str(e.Backend) ?? 'graph') as RemediatedCopy['backend'],
    verdictId: str(e.VerdictId) ?? '',
    originalFolder: str(e.OriginalFolder),
    quarantineLocation: str(e.QuarantineLocation),
    remediatedAt: str(e.RemediatedAt) ?? '',
    restoredAt: str(e.RestoredAt),
  };
}

const counterOf: Record<TerminalStatus, 'succeeded' | 'failed' | 'notFound' | undefined> = {
  succeeded: 'succeeded',
  alreadyRemediated: 'succeeded',
  simulated: 'succeeded',
  failed: 'failed',
  notFound: 'notFound',
  notReversible: undefined,
};

/** `Verdicts`, `Remediations` and the event index in Azure Table Storage (Azurite locally). */
export class TableResultStore implements ResultStore {
  private readonly clients = new Map<string, { client: TableClient; ready: Promise<void> }>();

  constructor(private readonly connection: TableConnection) {}

  private table(name: string): { client: TableClient; ready: Promise<void> } {
    let entry = this.clients.get(name);
    if (!entry) {
      const c = this.connection;
      const client =
        'connectionString' in c
          ? TableClient.fromConnectionString(c.connectionString, name, c.options)
          : new TableClient(`${c.endpoint.replace(/\/$/, '')}`, name, c.credential, c.options);
      const ready = client.createTable().catch((error: unknown) => {
        this.clients.delete(name);
        throw storageFailure(`creating table ${name}`, error);
      });
      entry = { client, ready };
      this.clients.set(name, entry);
    }
    return entry;
  }

  private async client(name: string): Promise<TableClient> {
    const entry = this.table(name);
    await entry.ready;
    return entry.client;
  }

  async createVerdict(record: VerdictRecord, options?: CallOptions): Promise<boolean> {
    const client = await this.client(tables.verdicts);
    try {
      await client.createEntity(toVerdictEntity(record), { abortSignal: options?.abortSignal });
      return true;
    } catch (error) {
      if (statusCode(error) === 409) return false;
      throw storageFailure('writing the verdict', error);
    }
  }

  async getVerdict(verdictId: string, options?: CallOptions): Promise<VerdictRecord | undefined> {
    const entity = await this.getEntity(tables.verdicts, verdictPartition, sanitizeKey(verdictId), options);
    return entity && fromVerdictEntity(entity);
  }

  async listVerdicts(
    range: { from: Date; to: Date },
    limit: number,
    options?: CallOptions,
  ): Promise<VerdictRecord[]> {
    const client = await this.client(tables.verdicts);
    const { ge, lt } = verdictIdRange(range);
    const found: VerdictRecord[] = [];
    try {
      const entities = client.listEntities<Record<string, unknown>>({
        queryOptions: {
          filter: `PartitionKey eq '${verdictPartition}' and RowKey ge '${ge}' and RowKey lt '${lt}'`,
        },
        abortSignal: options?.abortSignal,
      });
      for await (const e of entities) {
        found.push(fromVerdictEntity(e));
        if (found.length >= limit) break;
      }
    } catch (error) {
      throw storageFailure('listing verdicts', error);
    }
    return found;
  }

  async mergeVerdict(
    record: Partial<VerdictRecord> & { verdictId: string },
    options?: CallOptions,
  ): Promise<void> {
    const client = await this.client(tables.verdicts);
    try {
      await client.upsertEntity(toVerdictEntity(record), 'Merge', { abortSignal: options?.abortSignal });
    } catch (error) {
      throw storageFailure('updating the verdict', error);
    }
  }

  async recordOutcome(
    verdictId: string,
    status: TerminalStatus,
    options?: CallOptions,
  ): Promise<VerdictRecord> {
    return this.updateVerdictCounters(
      verdictId,
      (v) => {
        const counter = counterOf[status];
        if (counter) v[counter] += 1;
        v.done += 1;
      },
      options,
    );
  }

  async markFannedOut(verdictId: string, recipients: number, options?: CallOptions): Promise<VerdictRecord> {
    return this.updateVerdictCounters(
      verdictId,
      (v) => {
        v.recipients = recipients;
        if (v.status === 'accepted') v.status = 'fannedOut';
      },
      options,
    );
  }

  /**
   * Read-modify-write on the verdict row, conditional on its ETag: concurrent remediations each
   * count exactly once. Completion is decided here too, so it happens once, by whoever counts last.
   */
  private async updateVerdictCounters(
    verdictId: string,
    change: (v: VerdictRecord) => void,
    options?: CallOptions,
  ): Promise<VerdictRecord> {
    const client = await this.client(tables.verdicts);
    for (let attempt = 0; ; attempt++) {
      let current: TableEntityResult<Record<string, unknown>>;
      try {
        current = await client.getEntity<Record<string, unknown>>(verdictPartition, sanitizeKey(verdictId), {
          abortSignal: options?.abortSignal,
        });
      } catch (error) {
        throw storageFailure('reading the verdict', error);
      }
      const record = fromVerdictEntity(current);
      change(record);
      if (record.status === 'fannedOut' && record.done >= record.recipients) {
        record.status = record.failed > 0 ? 'completedWithFailures' : 'completed';
        record.completedAt = new Date().toISOString();
      }
      try {
        await client.updateEntity(toVerdictEntity(record), 'Merge', {
          etag: current.etag,
          abortSignal: options?.abortSignal,
        });
        return record;
      } catch (error) {
        if (statusCode(error) !== 412 || attempt >= 100)
          throw storageFailure('updating the verdict counters', error);
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 5 * 2 ** Math.min(attempt, 6))));
      }
    }
  }

  async createRemediations(records: RemediationRecord[], options?: CallOptions): Promise<number> {
    if (records.length === 0) return 0;
    const client = await this.client(tables.remediations);
    const entities = records.map((r) => ({
      partitionKey: sanitizeKey(r.verdictId),
      rowKey: r.rowKey,
      ...remediationColumns(r),
    }));
    const byPartition = new Map<string, Entity[]>();
    for (const e of entities)
      byPartition.set(e.partitionKey, [...(byPartition.get(e.partitionKey) ?? []), e]);
    let created = 0;
    for (const group of byPartition.values()) {
      for (let i = 0; i < group.length; i += 100) {
        const chunk = group.slice(i, i + 100);
        try {
          await client.submitTransaction(
            chunk.map((e): TransactionAction => ['create', e]),
            { abortSignal: options?.abortSignal },
          );
          created += chunk.length;
        } catch (error) {
          // A redelivered fan-out finds some rows already there; the whole transaction fails then,
          // so insert one by one and leave existing rows (and their progress) untouched.
          if (statusCode(error) !== 409) throw storageFailure('writing remediation rows', error);
          for (const e of chunk) {
            try {
              await client.createEntity(e, { abortSignal: options?.abortSignal });
              created += 1;
            } catch (inner) {
              if (statusCode(inner) !== 409) throw storageFailure('writing a remediation row', inner);
            }
          }
        }
      }
    }
    return created;
  }

  async getRemediation(
    verdictId: string,
    rowKey: string,
    options?: CallOptions,
  ): Promise<Versioned<RemediationRecord> | undefined> {
    const entity = await this.getEntity(tables.remediations, sanitizeKey(verdictId), rowKey, options);
    return entity && { value: fromRemediationEntity(entity), etag: entity.etag };
  }

  async updateRemediation(
    verdictId: string,
    rowKey: string,
    patch: RemediationPatch,
    etag: string,
    options?: CallOptions,
  ): Promise<string> {
    const client = await this.client(tables.remediations);
    try {
      const result = await client.updateEntity(
        { partitionKey: sanitizeKey(verdictId), rowKey, ...remediationColumns(patch) },
        'Merge',
        { etag, abortSignal: options?.abortSignal },
      );
      return result.etag ?? '';
    } catch (error) {
      if (statusCode(error) === 412 || statusCode(error) === 404)
        throw new ConcurrencyConflictError(
          `Remediation row ${verdictId}/${rowKey} changed since it was read`,
        );
      throw storageFailure('updating a remediation row', error);
    }
  }

  async listRemediations(
    verdictId: string,
    page: { pageSize: number; continuationToken?: string | undefined },
    options?: CallOptions,
  ): Promise<Page<RemediationRecord>> {
    return this.partitionPage(
      tables.remediations,
      sanitizeKey(verdictId),
      page,
      fromRemediationEntity,
      'listing remediation rows',
      options,
    );
  }

  /** One page of a partition, with the token for the next. */
  private async partitionPage<T>(
    table: string,
    partitionKey: string,
    page: { pageSize: number; continuationToken?: string | undefined },
    map: (entity: Record<string, unknown>) => T,
    operation: string,
    options?: CallOptions,
  ): Promise<Page<T>> {
    const client = await this.client(table);
    try {
      const iterator = client
        .listEntities<Record<string, unknown>>({
          queryOptions: { filter: `PartitionKey eq '${partitionKey.replace(/'/g, "''")}'` },
          abortSignal: options?.abortSignal,
        })
        .byPage({
          maxPageSize: page.pageSize,
          ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}),
        });
      const first = await iterator.next();
      if (first.done) return { items: [] };
      const value = first.value as TableEntityResult<Record<string, unknown>>[] & {
        continuationToken?: string;
      };
      return { items: value.map(map), continuationToken: value.continuationToken };
    } catch (error) {
      throw storageFailure(operation, error);
    }
  }

  async addRecipients(verdictId: string, count: number, options?: CallOptions): Promise<void> {
    if (count <= 0) return;
    await this.updateVerdictCounters(
      verdictId,
      (v) => {
        v.recipients += count;
      },
      options,
    );
  }

  async recordRemediatedCopy(copy: RemediatedCopy, options?: CallOptions): Promise<void> {
    const client = await this.client(tables.remediatedCopies);
    const entity = {
      partitionKey: sanitizeKey(copy.threatKey),
      rowKey: copyRowKey(copy.recipient, copy.internetMessageId),
      ...defined({
        Recipient: copy.recipient,
        InternetMessageId: copy.internetMessageId,
        Action: copy.action,
        Profile: copy.profile,
        Backend: copy.backend,
        VerdictId: copy.verdictId,
        OriginalFolder: copy.originalFolder,
        QuarantineLocation: copy.quarantineLocation,
        RemediatedAt: copy.remediatedAt,
      }),
    };
    try {
      // Replace: a new remediation of the same copy supersedes an earlier one, restored or not.
      await client.upsertEntity(entity, 'Replace', { abortSignal: options?.abortSignal });
    } catch (error) {
      throw storageFailure('recording a remediated copy', error);
    }
  }

  async getRemediatedCopy(
    threatKey: string,
    recipient: string,
    internetMessageId: string,
    options?: CallOptions,
  ): Promise<RemediatedCopy | undefined> {
    const entity = await this.getEntity(
      tables.remediatedCopies,
      sanitizeKey(threatKey),
      copyRowKey(recipient, internetMessageId),
      options,
    );
    return entity && fromCopyEntity(threatKey, entity);
  }

  async listRemediatedCopies(
    threatKey: string,
    page: { pageSize: number; continuationToken?: string | undefined },
    options?: CallOptions,
  ): Promise<Page<RemediatedCopy>> {
    return this.partitionPage(
      tables.remediatedCopies,
      sanitizeKey(threatKey),
      page,
      (e) => fromCopyEntity(threatKey, e),
      'listing remediated copies',
      options,
    );
  }

  async recordDeliveries(entries: DeliveryEntry[], options?: CallOptions): Promise<void> {
    const client = await this.client(tables.deliveries);
    const byPartition = new Map<string, Entity[]>();
    for (const d of entries) {
      const partitionKey = sanitizeKey(d.threatKey);
      const entity: Entity = {
        partitionKey,
        // SPEC §5: message-id hash + recipient.
        rowKey: `${shortHash(d.internetMessageId)}|${sanitizeKey(d.recipient.toLowerCase())}`,
        ...defined({
          InternetMessageId: d.internetMessageId,
          Recipient: d.recipient.toLowerCase(),
          Sender: d.sender,
          Subject: d.subject,
          ReceivedAt: d.receivedAt,
        }),
      };
      byPartition.set(partitionKey, [...(byPartition.get(partitionKey) ?? []), entity]);
    }
    try {
      for (const group of byPartition.values()) {
        for (let i = 0; i < group.length; i += 100) {
          await client.submitTransaction(
            group.slice(i, i + 100).map((e): TransactionAction => ['upsert', e, 'Replace']),
            { abortSignal: options?.abortSignal },
          );
        }
      }
    } catch (error) {
      throw storageFailure('recording deliveries', error);
    }
  }

  async listDeliveries(
    threatKey: string,
    page: { pageSize: number; continuationToken?: string | undefined },
    options?: CallOptions,
  ): Promise<Page<DeliveryEntry>> {
    return this.partitionPage(
      tables.deliveries,
      sanitizeKey(threatKey),
      page,
      (e) => ({
        threatKey,
        internetMessageId: str(e.InternetMessageId) ?? '',
        recipient: str(e.Recipient) ?? '',
        sender: str(e.Sender),
        subject: str(e.Subject),
        receivedAt: str(e.ReceivedAt),
      }),
      'listing deliveries',
      options,
    );
  }

  async markRestored(
    threatKey: string,
    recipient: string,
    internetMessageId: string,
    restoredAt: string,
    options?: CallOptions,
  ): Promise<void> {
    const client = await this.client(tables.remediatedCopies);
    try {
      await client.updateEntity(
        {
          partitionKey: sanitizeKey(threatKey),
          rowKey: copyRowKey(recipient, internetMessageId),
          RestoredAt: restoredAt,
        },
        'Merge',
        { abortSignal: options?.abortSignal },
      );
    } catch (error) {
      if (statusCode(error) !== 404) throw storageFailure('marking a copy restored', error);
    }
  }

  async claimEvent(
    source: string,
    eventId: string,
    verdictId: string,
    options?: CallOptions,
  ): Promise<{ verdictId: string; created: boolean }> {
    const client = await this.client(tables.verdictEvents);
    const key = { partitionKey: sanitizeKey(source), rowKey: shortHash(eventId, 40) };
    try {
      await client.createEntity(
        { ...key, EventId: eventId, VerdictId: verdictId },
        { abortSignal: options?.abortSignal },
      );
      return { verdictId, created: true };
    } catch (error) {
      if (statusCode(error) !== 409) throw storageFailure('recording the event id', error);
    }
    const existing = await this.getEntity(tables.verdictEvents, key.partitionKey, key.rowKey, options);
    const owner = str(existing?.VerdictId);
    if (!owner)
      throw new ClawbackError(
        'ConnectionError',
        'Table Storage lost the event index row while it was being read',
        { retryable: true },
      );
    return { verdictId: owner, created: false };
  }

  async releaseEvent(source: string, eventId: string, options?: CallOptions): Promise<void> {
    const client = await this.client(tables.verdictEvents);
    try {
      await client.deleteEntity(sanitizeKey(source), shortHash(eventId, 40), {
        abortSignal: options?.abortSignal,
      });
    } catch (error) {
      if (statusCode(error) !== 404) throw storageFailure('releasing the event id', error);
    }
  }

  private async getEntity(
    table: string,
    partitionKey: string,
    rowKey: string,
    options?: CallOptions,
  ): Promise<TableEntityResult<Record<string, unknown>> | undefined> {
    const client = await this.client(table);
    try {
      return await client.getEntity<Record<string, unknown>>(partitionKey, rowKey, {
        abortSignal: options?.abortSignal,
      });
    } catch (error) {
      if (statusCode(error) === 404) return undefined;
      throw storageFailure(`reading ${table}`, error);
    }
  }
}
