import type { CallOptions } from '../../ports/mail.js';
import type { DeliveriesLedger, Page, PageRequest } from '../../ports/results.js';
import type { DeliveryEntry } from '../../verdicts/deliveries.js';
import { shortHash } from '../../verdicts/ids.js';
import { MemoryTable, turn } from './memoryTable.js';

/** `Deliveries` in memory: the same delivery twice is one row. */
export class InMemoryDeliveries implements DeliveriesLedger {
  readonly table = new MemoryTable<DeliveryEntry>();

  async recordDeliveries(entries: DeliveryEntry[], _options?: CallOptions): Promise<void> {
    await turn();
    for (const d of entries) {
      const recipient = d.recipient.toLowerCase();
      this.table.upsert(d.threatKey, `${shortHash(d.internetMessageId)}|${recipient}`, { ...d, recipient });
    }
  }

  async listDeliveries(
    threatKey: string,
    page: PageRequest,
    _options?: CallOptions,
  ): Promise<Page<DeliveryEntry>> {
    await turn();
    return this.table.page(threatKey, page, (d) => d);
  }
}
