import type { TransactionAction } from '@azure/data-tables';

import { tables } from '../bindings.js';
import type { CallOptions } from '../ports/mail.js';
import type { DeliveriesLedger, Page, PageRequest } from '../ports/results.js';
import type { DeliveryEntry } from '../verdicts/deliveries.js';
import { sanitizeKey, shortHash } from '../verdicts/ids.js';
import { dateTime, defined, text, time } from './columns.js';
import { signal, storageFailure, type TableClients } from './tableClients.js';

type Entity = { partitionKey: string; rowKey: string } & Record<string, unknown>;

/** `Deliveries`, the delivery ledger: PartitionKey the threat key, RowKey message-id hash + recipient. */
export class TableDeliveries implements DeliveriesLedger {
  constructor(private readonly tables: TableClients) {}

  async recordDeliveries(entries: DeliveryEntry[], options?: CallOptions): Promise<void> {
    const client = await this.tables.get(tables.deliveries);
    const byPartition = new Map<string, Entity[]>();
    for (const d of entries) {
      const partitionKey = sanitizeKey(d.threatKey);
      const entity: Entity = {
        partitionKey,
        // SPEC §5: message-id hash + recipient.
        rowKey: `${shortHash(d.internetMessageId)}|${sanitizeKey(d.recipient.toLowerCase())}`,
        ...defined({
          InternetMessageId: d.internetMessageId,
          Recipient: d.recipient.toLowerCase(),
          Sender: d.sender,
          Subject: d.subject,
          ReceivedAt: dateTime(d.receivedAt),
        }),
      };
      byPartition.set(partitionKey, [...(byPartition.get(partitionKey) ?? []), entity]);
    }
    try {
      for (const group of byPartition.values()) {
        for (let i = 0; i < group.length; i += 100) {
          await client.submitTransaction(
            group.slice(i, i + 100).map((e): TransactionAction => ['upsert', e, 'Replace']),
            signal(options),
          );
        }
      }
    } catch (error) {
      throw storageFailure('recording deliveries', error);
    }
  }

  listDeliveries(threatKey: string, page: PageRequest, options?: CallOptions): Promise<Page<DeliveryEntry>> {
    return this.tables.partitionPage(
      tables.deliveries,
      sanitizeKey(threatKey),
      page,
      (e) => ({
        threatKey,
        internetMessageId: text(e.InternetMessageId) ?? '',
        recipient: text(e.Recipient) ?? '',
        sender: text(e.Sender),
        subject: text(e.Subject),
        receivedAt: time(e.ReceivedAt),
      }),
      'listing deliveries',
      options,
    );
  }
}
