import { app, type InvocationContext, type Timer } from '@azure/functions';

import { applyRetention } from '../shared/audit/retention.js';
import { timers } from '../shared/bindings.js';
import { getServices } from '../shared/composition.js';

/** Daily: audit, ledger and cursor rows older than `settings.retentionDays` are deleted. */
export async function retention(_timer: Timer, context: InvocationContext): Promise<void> {
  const services = getServices();
  const stored = await services.configStore.get();
  if (!stored || !services.retention) {
    context.log('retention skipped: no configuration applied or no table storage');
    return;
  }
  const deleted = await applyRetention({
    retention: services.retention,
    audit: services.audit,
    retentionDays: stored.document.settings.retentionDays,
  });
  context.log(
    `retention removed audit=${deleted.audit} deliveries=${deleted.deliveries} sourceCursors=${deleted.sourceCursors}`,
  );
}

app.timer('retention', { schedule: timers.retention.schedule, handler: retention });
