import type { ResultStore } from '../../ports/results.js';
import { InMemoryDeliveries } from './inMemoryDeliveries.js';
import { InMemoryEventClaims } from './inMemoryEventClaims.js';
import { InMemoryRemediatedCopies } from './inMemoryRemediatedCopies.js';
import { InMemoryRemediationRows } from './inMemoryRemediationRows.js';
import { InMemoryVerdicts } from './inMemoryVerdicts.js';

/** Every results capability in memory, side by side: what component tests run on instead of Azurite. */
export class InMemoryResultStore implements ResultStore {
  readonly verdicts = new InMemoryVerdicts();
  readonly rows = new InMemoryRemediationRows();
  readonly copies = new InMemoryRemediatedCopies();
  readonly deliveries = new InMemoryDeliveries();
  readonly events = new InMemoryEventClaims();

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
