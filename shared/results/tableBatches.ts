import type { TableClient, TableEntity, TransactionAction } from '@azure/data-tables';

import type { CallOptions } from '../ports/mail.js';
import { sanitizeKey, shortHash } from '../verdicts/ids.js';
import { statusCode, storageFailure as failure } from './tableClients.js';

/*
 * Ingest writes a burst of requests' rows together (group commit). Against Azurite a table request costs
 * far more than an entity in it (CPU per entity: ~1.5 ms alone, ~0.6 ms in tens, ~0.16 ms in hundreds),
 * so rows go in entity-group transactions: up to 100 rows of one partition, all or nothing.
 */

function signal(options?: CallOptions): { abortSignal?: AbortSignal } {
  return options?.abortSignal ? { abortSignal: options.abortSignal } : {};
}

/**
 * Inserts rows of one partition in transactions of up to 100; per row, whether it was new. A lone row
 * goes through `createOne` (no transaction: the SDK builds a new client for each one). A transaction that
 * meets an existing row (409) fails whole, and its rows are then inserted one by one through `createOne`.
 */
export async function createInTransactions(
  client: TableClient,
  rows: { entity: TableEntity<Record<string, unknown>>; createOne: () => Promise<boolean> }[],
  options?: CallOptions,
): Promise<boolean[]> {
  const created: boolean[] = [];
  for (let i = 0; i < rows.length; i += 100) {
    const chunk = rows.slice(i, i + 100);
    if (chunk.length === 1) {
      created.push(await chunk[0]!.createOne());
      continue;
    }
    try {
      await client.submitTransaction(
        chunk.map((r): TransactionAction => ['create', r.entity]),
        signal(options),
      );
      created.push(...chunk.map(() => true));
    } catch (error) {
      if (statusCode(error) !== 409) throw failure('writing rows in a transaction', error);
      for (const r of chunk) created.push(await r.createOne());
    }
  }
  return created;
}

export interface EventClaimer {
  claimEvent(
    source: string,
    eventId: string,
    verdictId: string,
    options?: CallOptions,
  ): Promise<{ verdictId: string; created: boolean }>;
}

/**
 * `claimEvent` for distinct events, one transaction per source partition of `VerdictEvents` (same keys:
 * the source, a hash of the event id). An event claimed before makes its transaction fail; its events
 * are then claimed one by one, so an earlier owner is found exactly as `claimEvent` finds it.
 */
export async function claimEventsInTransactions(
  client: TableClient,
  claims: { source: string; eventId: string; verdictId: string }[],
  claimer: EventClaimer,
  options?: CallOptions,
): Promise<{ verdictId: string; created: boolean }[]> {
  const byPartition = new Map<string, number[]>();
  claims.forEach((c, i) => {
    const key = sanitizeKey(c.source);
    byPartition.set(key, [...(byPartition.get(key) ?? []), i]);
  });
  const results = new Array<{ verdictId: string; created: boolean }>(claims.length);
  await Promise.all(
    [...byPartition].map(async ([partitionKey, indexes]) => {
      const outcomes = await createInTransactions(
        client,
        indexes.map((n) => {
          const c = claims[n]!;
          return {
            entity: {
              partitionKey,
              rowKey: shortHash(c.eventId, 40),
              EventId: c.eventId,
              VerdictId: c.verdictId,
            },
            createOne: async () => {
              results[n] = await claimer.claimEvent(c.source, c.eventId, c.verdictId, options);
              return results[n].created;
            },
          };
        }),
        options,
      );
      indexes.forEach((n, k) => {
        if (outcomes[k] && !results[n]) results[n] = { verdictId: claims[n]!.verdictId, created: true };
      });
    }),
  );
  return results;
}
