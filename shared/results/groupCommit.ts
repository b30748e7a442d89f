import type { TableClient, TableTransactionEntityResponse, TransactionAction } from '@azure/data-tables';

import type { CallOptions } from '../ports/mail.js';

/**
 * One write of a group commit: the entity-group transaction action, what the caller gets back from
 * its sub-response, and the same write on its own (for a lone write, and to settle each write of a
 * transaction that failed).
 */
export interface GroupedWrite<R> {
  rowKey: string;
  action: TransactionAction;
  fromResponse(response: TableTransactionEntityResponse | undefined): R;
  alone(): Promise<R>;
}

interface Waiting {
  write: GroupedWrite<unknown>;
  signal: AbortSignal | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface Partition {
  waiting: Waiting[];
  /** Requests of this partition in flight. */
  busy: number;
}

/** Table Storage's limit on an entity-group transaction. */
export const maxTransactionSize = 100;

/**
 * Group commit for the writes every remediation makes (SPEC §10: table operations per recipient).
 * A write to a partition with fewer than `maxInFlight` requests in flight goes at the end of the
 * current turn (alone, or in one transaction with the writes issued in the same turn), so a caller
 * waits for nothing until the partition is busy; writes that arrive while it is wait for a request to
 * finish and then go together in one entity-group transaction (up to 100, each entity at most once).
 * Each caller's promise settles only when its own write is durable, with its own result (its new
 * ETag) or its own error: a transaction that fails is settled write by write through `alone`, so one
 * conflicting ETag fails only its caller.
 * Fewer, larger requests are also what Table Storage bills and throttles by.
 */
export class GroupCommit {
  private readonly partitions = new Map<string, Partition>();
  private transactions = 0;
  private batched = 0;

  /**
   * @param maxInFlight requests of one partition in flight at once before writes wait to be grouped:
   *   a write on a remediation's critical path waits for a transaction only under real load.
   */
  constructor(
    private readonly client: () => Promise<TableClient>,
    private readonly maxInFlight = 1,
  ) {}

  /** Requests sent as transactions, and the writes they carried (the bench and tests read these). */
  get stats(): { transactions: number; batchedWrites: number } {
    return { transactions: this.transactions, batchedWrites: this.batched };
  }

  write<R>(partitionKey: string, write: GroupedWrite<R>, options?: CallOptions): Promise<R> {
    let partition = this.partitions.get(partitionKey);
    if (!partition) {
      partition = { waiting: [], busy: 0 };
      this.partitions.set(partitionKey, partition);
    }
    const target = partition;
    return new Promise<R>((resolve, reject) => {
      target.waiting.push({
        write,
        signal: options?.abortSignal,
        resolve: (value) => resolve(value as R),
        reject,
      });
      // An idle partition sends at the end of the current turn: writes issued together (one flush's
      // audit rows, a mailbox's restore records) go as one transaction; a lone write goes on its own.
      if (target.busy < this.maxInFlight) {
        target.busy += 1;
        queueMicrotask(() => void this.next(partitionKey, target));
      }
    });
  }

  private async next(partitionKey: string, partition: Partition): Promise<void> {
    const batch = this.take(partition);
    if (batch.length === 0) {
      partition.busy -= 1;
      if (partition.busy === 0 && partition.waiting.length === 0) this.partitions.delete(partitionKey);
      return;
    }
    try {
      if (batch.length === 1) {
        const [only] = batch as [Waiting];
        await only.write.alone().then(only.resolve, only.reject);
        return;
      }
      let responses: TableTransactionEntityResponse[] | undefined;
      try {
        const client = await this.client();
        this.transactions += 1;
        this.batched += batch.length;
        responses = (await client.submitTransaction(batch.map((w) => w.write.action))).subResponses;
      } catch {
        // All or nothing: some write in it conflicted or the service refused the whole request. Each
        // write then runs on its own and its caller sees exactly what its own write met.
        await Promise.all(batch.map((w) => w.write.alone().then(w.resolve, w.reject)));
        return;
      }
      for (const [i, w] of batch.entries()) {
        const response = subResponseFor(responses, w.write.rowKey, i);
        w.resolve(w.write.fromResponse(response));
      }
    } finally {
      void this.next(partitionKey, partition);
    }
  }

  /** The next transaction's writes: in arrival order, each row at most once, callers that gave up left out. */
  private take(partition: Partition): Waiting[] {
    const batch: Waiting[] = [];
    const rows = new Set<string>();
    const later: Waiting[] = [];
    for (const w of partition.waiting) {
      if (w.signal?.aborted) {
        w.reject(w.signal.reason);
        continue;
      }
      if (batch.length < maxTransactionSize && !rows.has(w.write.rowKey)) {
        rows.add(w.write.rowKey);
        batch.push(w);
      } else later.push(w);
    }
    partition.waiting = later;
    return batch;
  }
}

/**
 * The sub-response of a transaction's `index`-th entity. The SDK reads each sub-response's RowKey from
 * its Location header, URL-encoded (`alice%40contoso.com%7C…`): compared decoded, else by position
 * (Table Storage answers in the order it was asked).
 */
export function subResponseFor(
  responses: readonly TableTransactionEntityResponse[],
  rowKey: string,
  index: number,
): TableTransactionEntityResponse | undefined {
  const decoded = (key: string | undefined) => {
    if (key === undefined) return undefined;
    try {
      return decodeURIComponent(key);
    } catch {
      return key;
    }
  };
  return responses.find((r) => decoded(r.rowKey) === rowKey) ?? responses[index];
}
