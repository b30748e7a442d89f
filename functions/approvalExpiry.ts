import { app, type InvocationContext, type Timer } from '@azure/functions';

import { expireWaiting } from '../shared/app/approval.js';
import { timers } from '../shared/bindings.js';
import { getServices } from '../shared/composition.js';

/** Every few minutes: verdicts past their approval window (`settings.approvalHours`) end as rejected. */
export async function approvalExpiry(_timer: Timer, context: InvocationContext): Promise<void> {
  const services = getServices();
  const stored = await services.configStore.get();
  if (!stored) return;
  const expired = await expireWaiting({
    ...services,
    config: stored.document,
    checkDelayMs: services.settings.CLAWBACK_COMPLETION_CHECK_MS,
  });
  if (expired > 0) context.log(`approval window passed for ${expired} verdicts; they are rejected`);
}

app.timer('approvalExpiry', { schedule: timers.approvalExpiry.schedule, handler: approvalExpiry });
