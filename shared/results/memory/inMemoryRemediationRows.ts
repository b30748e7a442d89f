import type { CallOptions } from '../../ports/mail.js';
import {
  ConcurrencyConflictError,
  type Page,
  type PageRequest,
  type RemediationPatch,
  type RemediationRecord,
  type RemediationRows,
  type RowOutcome,
  type Versioned,
} from '../../ports/results.js';
import { MemoryTable, turn } from './memoryTable.js';

function defined<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** As the Table adapter does: a patch that names `reason` as undefined clears it (a succeeded row has none). */
function withoutClearedReason(row: RemediationRecord, patch: RemediationPatch): RemediationRecord {
  if (!('reason' in patch) || patch.reason !== undefined) return row;
  const cleared = { ...row };
  delete cleared.reason;
  return cleared;
}

/** `Remediations` in memory: conditional updates and RowKey-ordered pages as in Table Storage. */
export class InMemoryRemediationRows implements RemediationRows {
  readonly table = new MemoryTable<RemediationRecord>();

  async createRemediations(
    records: RemediationRecord[],
    _options?: CallOptions,
    created?: Map<string, string>,
  ): Promise<number> {
    await turn();
    let count = 0;
    for (const r of records) {
      if (!this.table.create(r.verdictId, r.rowKey, r)) continue;
      count += 1;
      const etag = this.table.get(r.verdictId, r.rowKey)?.etag;
      if (etag !== undefined) created?.set(r.rowKey, etag);
    }
    return count;
  }

  async getRemediation(
    verdictId: string,
    rowKey: string,
    _options?: CallOptions,
  ): Promise<Versioned<RemediationRecord> | undefined> {
    await turn();
    return this.table.get(verdictId, rowKey);
  }

  async updateRemediation(
    verdictId: string,
    rowKey: string,
    patch: RemediationPatch,
    etag: string,
    _options?: CallOptions,
  ): Promise<string> {
    await turn();
    const next = this.table.update(
      verdictId,
      rowKey,
      (row) => withoutClearedReason({ ...row, ...defined(patch) }, patch),
      etag,
    );
    if (next === undefined)
      throw new ConcurrencyConflictError(`Remediation row ${verdictId}/${rowKey} changed since it was read`);
    return next;
  }

  async listRemediations(
    verdictId: string,
    page: PageRequest,
    _options?: CallOptions,
  ): Promise<Page<RemediationRecord>> {
    await turn();
    return this.table.page(verdictId, page, (r) => r);
  }

  async listRemediationOutcomes(
    verdictId: string,
    page: PageRequest,
    _options?: CallOptions,
  ): Promise<Page<RowOutcome>> {
    await turn();
    return this.table.page(verdictId, page, (r) => ({
      status: r.status,
      exposureSeconds: r.exposureSeconds,
    }));
  }
}
