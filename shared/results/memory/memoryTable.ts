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
  private readonly partitions = new Map<string, { rows: Map<string, Stored<T>>; keys: string[] }>();

  private partition(partitionKey: string): { rows: Map<string, Stored<T>>; keys: string[] } {
    let partition = this.partitions.get(partitionKey);
    if (!partition) {
      partition = { rows: new Map(), keys: [] };
      this.partitions.set(partitionKey, partition);
    }
    return partition;
  }

  get(partitionKey: string, rowKey: string): { value: T; etag: string } | undefined {
    const stored = this.partitions.get(partitionKey)?.rows.get(rowKey);
    return stored && { value: structuredClone(stored.value), etag: stored.etag };
  }

  /** Inserts; false when the row exists. */
  create(partitionKey: string, rowKey: string, value: T): boolean {
    if (this.partitions.get(partitionKey)?.rows.has(rowKey)) return false;
    this.upsert(partitionKey, rowKey, value);
    return true;
  }

  upsert(partitionKey: string, rowKey: string, value: T): string {
    const { rows, keys } = this.partition(partitionKey);
    if (!rows.has(rowKey)) keys.splice(firstAtOrAfter(keys, rowKey), 0, rowKey);
    const etag = `m${++etags}`;
    rows.set(rowKey, { value: structuredClone(value), etag });
    return etag;
  }

  /** Replaces the row if it still has `etag` (`*` for any); undefined when it does not (or is gone). */
  update(partitionKey: string, rowKey: string, change: (current: T) => T, etag: string): string | undefined {
    const stored = this.partitions.get(partitionKey)?.rows.get(rowKey);
    if (!stored || (etag !== '*' && stored.etag !== etag)) return undefined;
    return this.upsert(partitionKey, rowKey, change(structuredClone(stored.value)));
  }

  delete(partitionKey: string, rowKey: string): void {
    const partition = this.partitions.get(partitionKey);
    if (!partition?.rows.delete(rowKey)) return;
    partition.keys.splice(firstAtOrAfter(partition.keys, rowKey), 1);
  }

  /** Rows across every partition. */
  size(): number {
    let rows = 0;
    for (const partition of this.partitions.values()) rows += partition.rows.size;
    return rows;
  }

  /** Rows of a partition in RowKey order within `[ge, lt)`, at most `limit`. */
  scan(
    partitionKey: string,
    range: { ge?: string; lt?: string } = {},
    limit = Number.POSITIVE_INFINITY,
  ): { rowKey: string; value: T }[] {
    const partition = this.partitions.get(partitionKey);
    if (!partition) return [];
    const found: { rowKey: string; value: T }[] = [];
    const start = range.ge === undefined ? 0 : firstAtOrAfter(partition.keys, range.ge);
    for (let i = start; i < partition.keys.length && found.length < limit; i++) {
      const rowKey = partition.keys[i] as string;
      if (range.lt !== undefined && rowKey >= range.lt) break;
      const stored = partition.rows.get(rowKey);
      if (stored) found.push({ rowKey, value: structuredClone(stored.value) });
    }
    return found;
  }

  page<R>(partitionKey: string, page: PageRequest, map: (value: T) => R): Page<R> {
    const range = page.continuationToken ? { ge: page.continuationToken } : {};
    const rows = this.scan(partitionKey, range, page.pageSize + 1);
    const next = rows[page.pageSize];
    return { items: rows.slice(0, page.pageSize).map((r) => map(r.value)), continuationToken: next?.rowKey };
  }
}

/** Index of the first key not below `key` (binary search over sorted keys). */
function firstAtOrAfter(keys: string[], key: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((keys[mid] as string) < key) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Lets other calls run between two of a caller's, as network round trips would. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
