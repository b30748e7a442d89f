import type { ResultStore } from '../ports/results.js';
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
export class TableResultStore implements ResultStore {
  readonly verdicts: TableVerdicts;
  readonly rows: TableRemediationRows;
  readonly copies: TableRemediatedCopies;
  readonly deliveries: TableDeliveries;
  readonly events: TableEventClaims;

  constructor(connection: TableConnection) {
    const clients = new TableClients(connection);
    this.verdicts = new TableVerdicts(clients);
    this.rows = new TableRemediationRows(clients);
    this.copies = new TableRemediatedCopies(clients);
    this.deliveries = new TableDeliveries(clients);
    this.events = new TableEventClaims(clients);
  }

  createVerdict: ResultStore['createVerdict'] = (...a) => this.verdicts.createVerdict(...a);
  createVerdicts: NonNullable<ResultStore['createVerdicts']> = (...a) => this.verdicts.createVerdicts(...a);
  getVerdict: ResultStore['getVerdict'] = (...a) => this.verdicts.getVerdict(...a);
  readVerdict: ResultStore['readVerdict'] = (...a) => this.verdicts.readVerdict(...a);
  listVerdicts: ResultStore['listVerdicts'] = (...a) => this.verdicts.listVerdicts(...a);
  mergeVerdict: ResultStore['mergeVerdict'] = (...a) => this.verdicts.mergeVerdict(...a);
  updateVerdict: ResultStore['updateVerdict'] = (...a) => this.verdicts.updateVerdict(...a);

  createRemediations: ResultStore['createRemediations'] = (...a) => this.rows.createRemediations(...a);
  getRemediation: ResultStore['getRemediation'] = (...a) => this.rows.getRemediation(...a);
  updateRemediation: ResultStore['updateRemediation'] = (...a) => this.rows.updateRemediation(...a);
  listRemediations: ResultStore['listRemediations'] = (...a) => this.rows.listRemediations(...a);
  listRemediationOutcomes: ResultStore['listRemediationOutcomes'] = (...a) =>
    this.rows.listRemediationOutcomes(...a);

  recordRemediatedCopy: ResultStore['recordRemediatedCopy'] = (...a) =>
    this.copies.recordRemediatedCopy(...a);
  getRemediatedCopy: ResultStore['getRemediatedCopy'] = (...a) => this.copies.getRemediatedCopy(...a);
  listRemediatedCopies: ResultStore['listRemediatedCopies'] = (...a) =>
    this.copies.listRemediatedCopies(...a);
  markRestored: ResultStore['markRestored'] = (...a) => this.copies.markRestored(...a);

  recordDeliveries: ResultStore['recordDeliveries'] = (...a) => this.deliveries.recordDeliveries(...a);
  listDeliveries: ResultStore['listDeliveries'] = (...a) => this.deliveries.listDeliveries(...a);

  claimEvent: ResultStore['claimEvent'] = (...a) => this.events.claimEvent(...a);
  releaseEvent: ResultStore['releaseEvent'] = (...a) => this.events.releaseEvent(...a);
  claimEvents: NonNullable<ResultStore['claimEvents']> = (...a) => this.events.claimEvents(...a);
}
