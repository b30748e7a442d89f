import type { CallOptions } from '../../ports/mail.js';
import {
  terminalStatuses,
  type VerdictPatch,
  type VerdictRecord,
  type Verdicts,
  type Versioned,
} from '../../ports/results.js';
import { verdictIdRange } from '../../verdicts/ids.js';
import { MemoryTable, turn } from './memoryTable.js';

type StoredVerdict = Omit<VerdictRecord, 'done'>;

function withDone(v: StoredVerdict): VerdictRecord {
  return { ...v, done: terminalStatuses.reduce((sum, s) => sum + v[s], 0) };
}

function merge(current: StoredVerdict | undefined, patch: VerdictPatch): StoredVerdict {
  const fields = Object.fromEntries(
    Object.entries(patch).filter(([k, v]) => v !== undefined && k !== 'done'),
  );
  return { ...(current ?? ({} as StoredVerdict)), ...fields };
}

/** `Verdicts` in memory, with the table's ETag semantics. */
export class InMemoryVerdicts implements Verdicts {
  readonly table = new MemoryTable<StoredVerdict>();

  async createVerdict(record: VerdictRecord, _options?: CallOptions): Promise<boolean> {
    await turn();
    return this.table.create('verdict', record.verdictId, merge(undefined, record));
  }

  async getVerdict(verdictId: string, options?: CallOptions): Promise<VerdictRecord | undefined> {
    return (await this.readVerdict(verdictId, options))?.value;
  }

  async readVerdict(
    verdictId: string,
    _options?: CallOptions,
  ): Promise<Versioned<VerdictRecord> | undefined> {
    await turn();
    const found = this.table.get('verdict', verdictId);
    return found && { value: withDone(found.value), etag: found.etag };
  }

  async listVerdicts(
    range: { from: Date; to: Date },
    limit: number,
    _options?: CallOptions,
  ): Promise<VerdictRecord[]> {
    await turn();
    return this.table
      .scan('verdict', verdictIdRange(range))
      .slice(0, limit)
      .map((r) => withDone(r.value));
  }

  async mergeVerdict(record: VerdictPatch, _options?: CallOptions): Promise<void> {
    await turn();
    this.table.upsert(
      'verdict',
      record.verdictId,
      merge(this.table.get('verdict', record.verdictId)?.value, record),
    );
  }

  async updateVerdict(patch: VerdictPatch, etag: string, _options?: CallOptions): Promise<boolean> {
    await turn();
    return (
      this.table.update('verdict', patch.verdictId, (current) => merge(current, patch), etag) !== undefined
    );
  }
}
