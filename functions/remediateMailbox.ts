import { app, type InvocationContext } from '@azure/functions';

import { systemCaller } from '../shared/app/approval.js';
import { followForwardsHook } from '../shared/app/followForwards.js';
import { remediateMailbox as remediateMailboxUseCase } from '../shared/app/remediateMailbox.js';
import { maxDeliveryCount, queues, serviceBusConnection } from '../shared/bindings.js';
import { chaosCrash } from '../shared/chaos/chaos.js';
import { getServices } from '../shared/composition.js';
import { enqueueCopies } from '../shared/recipients/fanOut.js';
import { remediationMessageSchema } from '../shared/verdicts/messages.js';

/**
 * `remediations` queue (sessions: one mailbox at a time) → lease the row, act, record what happened.
 * A transient failure or an exception schedules a later delivery instead of failing this one, so the
 * backoff honours Retry-After rather than Service Bus's immediate redelivery.
 */
export async function remediateMailbox(message: unknown, context: InvocationContext): Promise<void> {
  const parsed = remediationMessageSchema.safeParse(message);
  if (!parsed.success)
    throw new Error(
      `remediations message is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
    );
  const work = parsed.data;
  const services = getServices();
  const stored = await services.configStore.get();
  if (!stored)
    throw new Error(
      'No configuration document has been applied; the message will be retried and then dead-lettered for replay.',
    );
  const config = stored.document;
  const deliveryCount = Number(context.triggerMetadata?.deliveryCount ?? 1);
  const log = (line: string) => context.log(line);
  const result = await remediateMailboxUseCase(
    work,
    { deliveryCount, maxDeliveryCount, owner: context.invocationId },
    {
      store: services.store,
      config,
      backendFor: (profile) => services.backendFor(profile, config),
      send: (messages, options) => services.queue.send(queues.remediations.name, messages, options),
      expandGroup: (members) =>
        enqueueCopies(
          { ...work, action: work.action },
          members.map((recipient) => ({ ...work, recipient })),
          { rows: services.store, queue: services.queue },
        ),
      log,
      leaseMs: services.leaseMs,
      crash: services.chaos && chaosCrash(services.chaos),
      followForwards: followForwardsHook({ rows: services.store, queue: services.queue, config, log }),
      // The auditing mail backend names whose work each mailbox action is: every call carries it.
      audit: { who: systemCaller('remediateMailbox'), verdictId: work.verdictId },
    },
  );
  if (result.kind === 'skipped')
    context.log(`remediation skipped verdict=${work.verdictId} row=${work.rowKey}: ${result.why}`);
}

app.serviceBusQueue('remediateMailbox', {
  queueName: queues.remediations.name,
  connection: serviceBusConnection,
  isSessionsEnabled: queues.remediations.sessions,
  handler: remediateMailbox,
});
