import type { TransactionAction } from '@azure/data-tables';

import { tables } from '../bindings.js';
import type { CallOptions } from '../ports/mail.js';
import {
  ConcurrencyConflictError,
  type Page,
  type PageRequest,
  type RemediationPatch,
  type RemediationRecord,
  type RemediationRows,
  type RemediationStatus,
  type RowOutcome,
  type Versioned,
} from '../ports/results.js';
import { sanitizeKey } from '../verdicts/ids.js';
import { count, fromRemediationEntity, remediationColumns, text } from './columns.js';
import { GroupCommit, subResponseFor } from './groupCommit.js';
import { signal, statusCode, storageFailure, type TableClients } from './tableClients.js';

const remediationsTable = tables.remediations;

/** The `Remediations` table: PartitionKey the verdict id, RowKey recipient + `|` + message-id hash. */
export class TableRemediationRows implements RemediationRows {
  /** Every worker's lease, intent and outcome writes of one verdict share its partition: they go together. */
  readonly updates: GroupCommit;

  constructor(private readonly tables: TableClients) {
    this.updates = new GroupCommit(() => this.tables.get(remediationsTable));
  }

  async createRemediations(
    records: RemediationRecord[],
    options?: CallOptions,
    etags?: Map<string, string>,
  ): Promise<number> {
    if (records.length === 0) return 0;
    const client = await this.tables.get(tables.remediations);
    const byPartition = new Map<string, { partitionKey: string; rowKey: string }[]>();
    for (const r of records) {
      const entity = { partitionKey: sanitizeKey(r.verdictId), rowKey: r.rowKey, ...remediationColumns(r) };
      byPartition.set(entity.partitionKey, [...(byPartition.get(entity.partitionKey) ?? []), entity]);
    }
    let created = 0;
    for (const group of byPartition.values()) {
      for (let i = 0; i < group.length; i += 100) {
        const chunk = group.slice(i, i + 100);
        try {
          const response = await client.submitTransaction(
            chunk.map((e): TransactionAction => ['create', e]),
            signal(options),
          );
          created += chunk.length;
          for (const [k, e] of chunk.entries()) {
            const etag = subResponseFor(response.subResponses, e.rowKey, k)?.etag;
            if (etag !== undefined) etags?.set(e.rowKey, etag);
          }
        } catch (error) {
          // A redelivered fan-out finds some rows already there; the whole transaction fails then,
          // so insert one by one and leave existing rows (and their progress) untouched.
          if (statusCode(error) !== 409) throw storageFailure('writing remediation rows', error);
          for (const e of chunk) {
            try {
              const response = await client.createEntity(e, signal(options));
              created += 1;
              if (response.etag !== undefined) etags?.set(e.rowKey, response.etag);
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
    const entity = await this.tables.getEntity(tables.remediations, sanitizeKey(verdictId), rowKey, options);
    return entity && { value: fromRemediationEntity(entity), etag: entity.etag };
  }

  updateRemediation(
    verdictId: string,
    rowKey: string,
    patch: RemediationPatch,
    etag: string,
    options?: CallOptions,
  ): Promise<string> {
    const entity = { partitionKey: sanitizeKey(verdictId), rowKey, ...remediationColumns(patch) };
    return this.updates.write(
      entity.partitionKey,
      {
        rowKey,
        action: ['update', entity, 'Merge', { etag }],
        fromResponse: (response) => response?.etag ?? '',
        alone: () => this.updateOne(entity, etag, options),
      },
      options,
    );
  }

  private async updateOne(
    entity: { partitionKey: string; rowKey: string },
    etag: string,
    options?: CallOptions,
  ): Promise<string> {
    const client = await this.tables.get(tables.remediations);
    try {
      const result = await client.updateEntity(entity, 'Merge', { etag, ...signal(options) });
      return result.etag ?? '';
    } catch (error) {
      if (statusCode(error) === 412 || statusCode(error) === 404)
        throw new ConcurrencyConflictError(
          `Remediation row ${entity.partitionKey}/${entity.rowKey} changed since it was read`,
        );
      throw storageFailure('updating a remediation row', error);
    }
  }

  listRemediations(
    verdictId: string,
    page: PageRequest,
    options?: CallOptions,
  ): Promise<Page<RemediationRecord>> {
    return this.tables.partitionPage(
      tables.remediations,
      sanitizeKey(verdictId),
      page,
      fromRemediationEntity,
      'listing remediation rows',
      options,
    );
  }

  listRemediationOutcomes(
    verdictId: string,
    page: PageRequest,
    options?: CallOptions,
  ): Promise<Page<RowOutcome>> {
    return this.tables.partitionPage(
      tables.remediations,
      sanitizeKey(verdictId),
      page,
      (e) => ({
        status: (text(e.Status) ?? 'pending') as RemediationStatus,
        exposureSeconds: e.ExposureSeconds === undefined ? undefined : count(e.ExposureSeconds),
      }),
      'counting remediation rows',
      { ...options, select: ['Status', 'ExposureSeconds'] },
    );
  }
}
