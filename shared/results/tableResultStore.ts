import type { ResultStore } from '../ports/results.js';
import { ComposedResultStore } from './composedResultStore.js';
import { TableClients, type TableConnection } from './tableClients.js';
import { TableDeliveries } from './tableDeliveries.js';
import { TableEventClaims } from './tableEventClaims.js';
import { TableRemediatedCopies } from './tableRemediatedCopies.js';
import { TableRemediationRows } from './tableRemediationRows.js';
import { TableVerdicts } from './tableVerdicts.js';

export type { TableConnection } from './tableClients.js';

/**
 * Every results table over one connection (Azure Table Storage; Azurite locally), as the composition
 * root hands it out. Each capability lives in its own adapter; this only puts them side by side.
 */
export class TableResultStore extends ComposedResultStore<{
  verdicts: TableVerdicts;
  rows: TableRemediationRows;
  copies: TableRemediatedCopies;
  deliveries: TableDeliveries;
  events: TableEventClaims;
}> {
  constructor(connection: TableConnection) {
    const clients = new TableClients(connection);
    super({
      verdicts: new TableVerdicts(clients),
      rows: new TableRemediationRows(clients),
      copies: new TableRemediatedCopies(clients),
      deliveries: new TableDeliveries(clients),
      events: new TableEventClaims(clients),
    });
  }

  /** Ingest's group commit: entity-group transactions, which only Table Storage has. */
  createVerdicts: NonNullable<ResultStore['createVerdicts']> = (...a) => this.verdicts.createVerdicts(...a);
  claimEvents: NonNullable<ResultStore['claimEvents']> = (...a) => this.events.claimEvents(...a);
}
