import type { Page, PageRequest } from '../../ports/results.js';

interface Stored<T> {
  value: T;
  etag: string;
}

let etags = 0;

/**
 * A partitioned table in memory with what the adapters rely on from Table Storage: ETags that change
 * on every write, RowKey order within a partition, and pages whose continuation is the next RowKey —
 * so a row inserted behind a reader's position is missed by that reader, as it would be in Azure.
 */
export class MemoryTable<T> {
  private readonly partitions = new Map<string, Map<string, Stored<T>>>();

  private partition(partitionKey: string): Map<string, Stored<T>> {
    let rows = this.partitions.get(partitionKey);
    if (!rows) {
      rows = new Map();
      this.partitions.set(partitionKey, rows);
    }
    return rows;
  }

  get(partitionKey: string, rowKey: string): { value: T; etag: string } | undefined {
    const stored = this.partitions.get(partitionKey)?.get(rowKey);
    return stored && { value: structuredClone(stored.value), etag: stored.etag };
  }

  /** Inserts; false when the row exists. */
  create(partitionKey: string, rowKey: string, value: T): boolean {
    const rows = this.partition(partitionKey);
    if (rows.has(rowKey)) return false;
    rows.set(rowKey, { value: structuredClone(value), etag: `m${++etags}` });
    return true;
  }

  upsert(partitionKey: string, rowKey: string, value: T): string {
    const etag = `m${++etags}`;
    this.partition(partitionKey).set(rowKey, { value: structuredClone(value), etag });
    return etag;
  }

  /** Replaces the row if it still has `etag` (`*` for any); undefined when it does not (or is gone). */
  update(partitionKey: string, rowKey: string, change: (current: T) => T, etag: string): string | undefined {
    const rows = this.partitions.get(partitionKey);
    const stored = rows?.get(rowKey);
    if (!rows || !stored || (etag !== '*' && stored.etag !== etag)) return undefined;
    return this.upsert(partitionKey, rowKey, change(structuredClone(stored.value)));
  }

  delete(partitionKey: string, rowKey: string): void {
    this.partitions.get(partitionKey)?.delete(rowKey);
  }

  /** Rows of a partition in RowKey order, from `from` on (inclusive). */
  scan(partitionKey: string, range: { ge?: string; lt?: string } = {}): { rowKey: string; value: T }[] {
    const rows = [...(this.partitions.get(partitionKey)?.entries() ?? [])]
      .filter(([k]) => (range.ge === undefined || k >= range.ge) && (range.lt === undefined || k < range.lt))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return rows.map(([rowKey, s]) => ({ rowKey, value: structuredClone(s.value) }));
  }

  page<R>(partitionKey: string, page: PageRequest, map: (value: T) => R): Page<R> {
    const rows = this.scan(partitionKey, page.continuationToken ? { ge: page.continuationToken } : {});
    const items = rows.slice(0, page.pageSize);
    const next = rows[page.pageSize];
    return { items: items.map((r) => map(r.value)), continuationToken: next?.rowKey };
  }
}

/** Lets other calls run between two of a caller's, as network round trips would. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
