import type {
  DeliveriesLedger,
  EventClaims,
  RemediatedCopies,
  RemediationRows,
  ResultStore,
  Verdicts,
} from '../ports/results.js';

/** One implementation of each results capability. */
export interface ResultParts {
  verdicts: Verdicts;
  rows: RemediationRows;
  copies: RemediatedCopies;
  deliveries: DeliveriesLedger;
  events: EventClaims;
}

/**
 * The capabilities side by side as the one `ResultStore` the composition root hands out; the table
 * and the in-memory stores differ only in their parts, which stay reachable with their own types.
 */
export abstract class ComposedResultStore<P extends ResultParts> implements ResultStore {
  readonly verdicts: P['verdicts'];
  readonly rows: P['rows'];
  readonly copies: P['copies'];
  readonly deliveries: P['deliveries'];
  readonly events: P['events'];

  protected constructor(parts: P) {
    this.verdicts = parts.verdicts;
    this.rows = parts.rows;
    this.copies = parts.copies;
    this.deliveries = parts.deliveries;
    this.events = parts.events;
  }

  createVerdict: ResultStore['createVerdict'] = (...a) => this.verdicts.createVerdict(...a);
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
}
