import { app, type InvocationContext } from '@azure/functions';

import { applyApprovalGate } from '../shared/app/approval.js';
import { queues, serviceBusConnection } from '../shared/bindings.js';
import { getServices } from '../shared/composition.js';
import { ClawbackError } from '../shared/errors.js';
import { checkCompletion, completionCheckSchema } from '../shared/recipients/completion.js';
import { fanOut } from '../shared/recipients/fanOut.js';
import { verdictMessageSchema } from '../shared/verdicts/messages.js';

/**
 * `verdicts` queue → one row and one `remediations` message per (recipient, message), then the
 * verdict's completion checks on the same queue. A throw makes Service Bus redeliver; after
 * maxDeliveryCount the message is dead-lettered for replay.
 */
export async function fanOutVerdict(message: unknown, context: InvocationContext): Promise<void> {
  const services = getServices();
  const store = services.store;
  const checkDelayMs = services.settings.CLAWBACK_COMPLETION_CHECK_MS;
  const log = (line: string) => context.log(line);
  const check = completionCheckSchema.safeParse(message);
  if (check.success) {
    const deps = { verdicts: store, rows: store, queue: services.queue, firstDelayMs: checkDelayMs, log };
    await checkCompletion(check.data, deps);
    return;
  }
  const parsed = verdictMessageSchema.safeParse(message);
  if (!parsed.success)
    throw new Error(
      `verdicts message is not a verdict: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
    );
  const stored = await services.configStore.get();
  if (!stored)
    throw new ClawbackError(
      'ConfigurationError',
      'No configuration document has been applied; apply one, then replay this message from the dead-letter queue.',
    );
  await fanOut(parsed.data, {
    verdicts: store,
    rows: store,
    deliveries: store,
    copies: store,
    queue: services.queue,
    config: stored.document,
    batchSize: services.settings.CLAWBACK_FANOUT_BATCH_SIZE,
    checkDelayMs,
    log,
    gate: (m, d, o) => applyApprovalGate(m, d, { store, config: stored.document, audit: services.audit }, o),
  });
}

app.serviceBusQueue('fanOutVerdict', {
  queueName: queues.verdicts.name,
  connection: serviceBusConnection,
  handler: fanOutVerdict,
});
