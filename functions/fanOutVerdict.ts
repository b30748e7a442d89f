import { app, type InvocationContext } from '@azure/functions';

import { applyApprovalGate } from '../shared/app/approval.js';
import { queues, serviceBusConnection } from '../shared/bindings.js';
import { getServices } from '../shared/composition.js';
import { ClawbackError } from '../shared/errors.js';
import { fanOut } from '../shared/recipients/fanOut.js';
import { verdictMessageSchema } from '../shared/verdicts/messages.js';

/**
 * `verdicts` queue → one row and one `remediations` message per (recipient, message). A throw makes
 * Service Bus redeliver; after maxDeliveryCount the message is dead-lettered for replay.
 */
export async function fanOutVerdict(message: unknown, context: InvocationContext): Promise<void> {
  const parsed = verdictMessageSchema.safeParse(message);
  if (!parsed.success)
    throw new Error(
      `verdicts message is not a verdict: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
    );
  const services = getServices();
  const stored = await services.configStore.get();
  if (!stored)
    throw new ClawbackError(
      'ConfigurationError',
      'No configuration document has been applied; apply one, then replay this message from the dead-letter queue.',
    );
  await fanOut(parsed.data, {
    store: services.store,
    queue: services.queue,
    config: stored.document,
    batchSize: services.settings.CLAWBACK_FANOUT_BATCH_SIZE,
    log: (l) => context.log(l),
    gate: (m, d, o) =>
      applyApprovalGate(m, d, { store: services.store, config: stored.document, audit: services.audit }, o),
  });
}

app.serviceBusQueue('fanOutVerdict', {
  queueName: queues.verdicts.name,
  connection: serviceBusConnection,
  handler: fanOutVerdict,
});
