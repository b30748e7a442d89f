import { tables } from '../bindings.js';
import type { CallOptions } from '../ports/mail.js';
import type { VerdictPatch, VerdictRecord, Verdicts, Versioned } from '../ports/results.js';
import { sanitizeKey, verdictIdRange } from '../verdicts/ids.js';
import { fromVerdictEntity, verdictColumns, verdictPartition } from './columns.js';
import { createInTransactions } from './tableBatches.js';
import { signal, statusCode, storageFailure, type TableClients } from './tableClients.js';

/** The `Verdicts` table: PartitionKey `verdict`, RowKey the verdict id (newest first). */
export class TableVerdicts implements Verdicts {
  constructor(private readonly tables: TableClients) {}

  private entity(r: VerdictPatch) {
    return { partitionKey: verdictPartition, rowKey: sanitizeKey(r.verdictId), ...verdictColumns(r) };
  }

  async createVerdict(record: VerdictRecord, options?: CallOptions): Promise<boolean> {
    const client = await this.tables.get(tables.verdicts);
    try {
      await client.createEntity(this.entity(record), signal(options));
      return true;
    } catch (error) {
      if (statusCode(error) === 409) return false;
      throw storageFailure('writing the verdict', error);
    }
  }

  /** `createVerdict` for many rows: transactions of up to 100 (see tableBatches.ts). */
  async createVerdicts(records: VerdictRecord[], options?: CallOptions): Promise<boolean[]> {
    return createInTransactions(
      await this.tables.get(tables.verdicts),
      records.map((r) => ({ entity: this.entity(r), createOne: () => this.createVerdict(r, options) })),
      options,
    );
  }

  async getVerdict(verdictId: string, options?: CallOptions): Promise<VerdictRecord | undefined> {
    return (await this.readVerdict(verdictId, options))?.value;
  }

  async readVerdict(verdictId: string, options?: CallOptions): Promise<Versioned<VerdictRecord> | undefined> {
    const entity = await this.tables.getEntity(
      tables.verdicts,
      verdictPartition,
      sanitizeKey(verdictId),
      options,
    );
    return entity && { value: fromVerdictEntity(entity), etag: entity.etag };
  }

  async listVerdicts(
    range: { from: Date; to: Date },
    limit: number,
    options?: CallOptions,
  ): Promise<VerdictRecord[]> {
    const client = await this.tables.get(tables.verdicts);
    const { ge, lt } = verdictIdRange(range);
    const found: VerdictRecord[] = [];
    try {
      const entities = client.listEntities<Record<string, unknown>>({
        queryOptions: {
          filter: `PartitionKey eq '${verdictPartition}' and RowKey ge '${ge}' and RowKey lt '${lt}'`,
        },
        ...signal(options),
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

  async mergeVerdict(record: VerdictPatch, options?: CallOptions): Promise<void> {
    const client = await this.tables.get(tables.verdicts);
    try {
      await client.upsertEntity(this.entity(record), 'Merge', signal(options));
    } catch (error) {
      throw storageFailure('updating the verdict', error);
    }
  }

  async updateVerdict(patch: VerdictPatch, etag: string, options?: CallOptions): Promise<boolean> {
    const client = await this.tables.get(tables.verdicts);
    try {
      await client.updateEntity(this.entity(patch), 'Merge', { etag, ...signal(options) });
      return true;
    } catch (error) {
      if (statusCode(error) === 412 || statusCode(error) === 404) return false;
      throw storageFailure('updating the verdict', error);
    }
  }
}
