import type { CallOptions } from '../../ports/mail.js';
import type { EventClaims } from '../../ports/results.js';
import { MemoryTable, turn } from './memoryTable.js';

/** `VerdictEvents` in memory: the first claim of `(source, eventId)` wins. */
export class InMemoryEventClaims implements EventClaims {
  readonly table = new MemoryTable<{ verdictId: string }>();

  async claimEvent(
    source: string,
    eventId: string,
    verdictId: string,
    _options?: CallOptions,
  ): Promise<{ verdictId: string; created: boolean }> {
    await turn();
    if (this.table.create(source, eventId, { verdictId })) return { verdictId, created: true };
    return { verdictId: this.table.get(source, eventId)?.value.verdictId ?? verdictId, created: false };
  }

  async releaseEvent(source: string, eventId: string, _options?: CallOptions): Promise<void> {
    await turn();
    this.table.delete(source, eventId);
  }
}
