import { ComposedResultStore } from '../composedResultStore.js';
import { InMemoryDeliveries } from './inMemoryDeliveries.js';
import { InMemoryEventClaims } from './inMemoryEventClaims.js';
import { InMemoryRemediatedCopies } from './inMemoryRemediatedCopies.js';
import { InMemoryRemediationRows } from './inMemoryRemediationRows.js';
import { InMemoryVerdicts } from './inMemoryVerdicts.js';

/** Every results capability in memory, side by side: what component tests run on instead of Azurite. */
export class InMemoryResultStore extends ComposedResultStore<{
  verdicts: InMemoryVerdicts;
  rows: InMemoryRemediationRows;
  copies: InMemoryRemediatedCopies;
  deliveries: InMemoryDeliveries;
  events: InMemoryEventClaims;
}> {
  constructor() {
    super({
      verdicts: new InMemoryVerdicts(),
      rows: new InMemoryRemediationRows(),
      copies: new InMemoryRemediatedCopies(),
      deliveries: new InMemoryDeliveries(),
      events: new InMemoryEventClaims(),
    });
  }
}
