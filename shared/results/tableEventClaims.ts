import { tables } from '../bindings.js';
import { ClawbackError } from '../errors.js';
import type { CallOptions } from '../ports/mail.js';
import type { EventClaims } from '../ports/results.js';
import { sanitizeKey, shortHash } from '../verdicts/ids.js';
import { text } from './columns.js';
import { claimEventsInTransactions } from './tableBatches.js';
import { signal, statusCode, storageFailure, type TableClients } from './tableClients.js';

/** `VerdictEvents`: PartitionKey the source, RowKey a hash of the event id; the owning verdict id. */
export class TableEventClaims implements EventClaims {
  constructor(private readonly tables: TableClients) {}

  async claimEvent(
    source: string,
    eventId: string,
    verdictId: string,
    options?: CallOptions,
  ): Promise<{ verdictId: string; created: boolean }> {
    const client = await this.tables.get(tables.verdictEvents);
    const key = { partitionKey: sanitizeKey(source), rowKey: shortHash(eventId, 40) };
    try {
      await client.createEntity({ ...key, EventId: eventId, VerdictId: verdictId }, signal(options));
      return { verdictId, created: true };
    } catch (error) {
      if (statusCode(error) !== 409) throw storageFailure('recording the event id', error);
    }
    const existing = await this.tables.getEntity(tables.verdictEvents, key.partitionKey, key.rowKey, options);
    const owner = text(existing?.VerdictId);
    if (!owner)
      throw new ClawbackError(
        'ConnectionError',
        'Table Storage lost the event index row while it was being read',
        {
          retryable: true,
        },
      );
    return { verdictId: owner, created: false };
  }

  /** `claimEvent` for many events: one entity-group transaction per source (see tableBatches.ts). */
  async claimEvents(
    claims: { source: string; eventId: string; verdictId: string }[],
    options?: CallOptions,
  ): Promise<{ verdictId: string; created: boolean }[]> {
    return claimEventsInTransactions(await this.tables.get(tables.verdictEvents), claims, this, options);
  }

  async releaseEvent(source: string, eventId: string, options?: CallOptions): Promise<void> {
    const client = await this.tables.get(tables.verdictEvents);
    try {
      await client.deleteEntity(sanitizeKey(source), shortHash(eventId, 40), {
        ...signal(options),
      });
    } catch (error) {
      if (statusCode(error) !== 404) throw storageFailure('releasing the event id', error);
    }
  }
}
