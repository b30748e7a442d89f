import { tables } from '../bindings.js';
import type { CallOptions } from '../ports/mail.js';
import type { Page, PageRequest, RemediatedCopies, RemediatedCopy } from '../ports/results.js';
import { copyRowKey, sanitizeKey } from '../verdicts/ids.js';
import { copyColumns, dateTime, fromCopyEntity } from './columns.js';
import { GroupCommit } from './groupCommit.js';
import { signal, statusCode, storageFailure, type TableClients } from './tableClients.js';

const copiesTable = tables.remediatedCopies;

/** `RemediatedCopies`: PartitionKey the threat key, RowKey recipient + `|` + message-id hash. */
export class TableRemediatedCopies implements RemediatedCopies {
  /** A campaign's copies share the threat's partition: concurrent workers' records go together. */
  readonly records: GroupCommit;

  constructor(private readonly tables: TableClients) {
    this.records = new GroupCommit(() => this.tables.get(copiesTable));
  }

  recordRemediatedCopy(copy: RemediatedCopy, options?: CallOptions): Promise<void> {
    const entity = {
      partitionKey: sanitizeKey(copy.threatKey),
      rowKey: copyRowKey(copy.recipient, copy.internetMessageId),
      ...copyColumns({ ...copy, restoredAt: undefined }),
    };
    // Replace: a new remediation of the same copy supersedes an earlier one, restored or not.
    return this.records.write(
      entity.partitionKey,
      {
        rowKey: entity.rowKey,
        action: ['upsert', entity, 'Replace'],
        fromResponse: () => undefined,
        alone: async () => {
          const client = await this.tables.get(copiesTable);
          try {
            await client.upsertEntity(entity, 'Replace', signal(options));
          } catch (error) {
            throw storageFailure('recording a remediated copy', error);
          }
        },
      },
      options,
    );
  }

  async getRemediatedCopy(
    threatKey: string,
    recipient: string,
    internetMessageId: string,
    options?: CallOptions,
  ): Promise<RemediatedCopy | undefined> {
    const entity = await this.tables.getEntity(
      tables.remediatedCopies,
      sanitizeKey(threatKey),
      copyRowKey(recipient, internetMessageId),
      options,
    );
    return entity && fromCopyEntity(threatKey, entity);
  }

  listRemediatedCopies(
    threatKey: string,
    page: PageRequest,
    options?: CallOptions,
  ): Promise<Page<RemediatedCopy>> {
    return this.tables.partitionPage(
      tables.remediatedCopies,
      sanitizeKey(threatKey),
      page,
      (e) => fromCopyEntity(threatKey, e),
      'listing remediated copies',
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
    const client = await this.tables.get(tables.remediatedCopies);
    try {
      await client.updateEntity(
        {
          partitionKey: sanitizeKey(threatKey),
          rowKey: copyRowKey(recipient, internetMessageId),
          RestoredAt: dateTime(restoredAt),
        },
        'Merge',
        signal(options),
      );
    } catch (error) {
      if (statusCode(error) !== 404) throw storageFailure('marking a copy restored', error);
    }
  }
}
