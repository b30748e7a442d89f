import { app, type InvocationContext } from '@azure/functions';

import { systemCaller } from '../shared/app/approval.js';
import { followForwardsHook } from '../shared/app/followForwards.js';
import { withAuditScope } from '../shared/audit/scope.js';
import { queues, serviceBusConnection } from '../shared/bindings.js';
import { getServices } from '../shared/composition.js';
import { enqueueCopies } from '../shared/recipients/fanOut.js';
import { remediate } from '../shared/remediation/remediate.js';
import { type RemediationMessage, remediationMessageSchema } from '../shared/verdicts/messages.js';

/**
 * `remediations` queue (sessions: one mailbox at a time) → find and act, write the result. A
 * transient failure schedules the next attempt as a new message instead of failing this delivery, so
 * the backoff honours Retry-After rather than Service Bus's immediate redelivery.
 */
export async function remediateMailbox(message: unknown, context: InvocationContext): Promise<void> {
  const parsed = remediationMessageSchema.safeParse(message);
  if (!parsed.success)
    throw new Error(
      `remediations message is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
    );
  const work: RemediationMessage = parsed.data;
  const services = getServices();
  const stored = await services.configStore.get();
  if (!stored)
    throw new Error(
      'No configuration document has been applied; the message will be retried and then dead-lettered for replay.',
    );
  const config = stored.document;
  const log = (line: string) => context.log(line);
  // The auditing mail backend reads whose work this is; the port itself carries no verdict.
  const run = () =>
    remediate(work, {
      store: services.store,
      config,
      backendFor: (profile) => services.backendFor(profile, config),
      scheduleRetry: (next, at) =>
        services.queue.send(queues.remediations.name, [
          {
            body: next,
            messageId: `${next.verdictId}|${next.rowKey}|${next.attempt}`,
            sessionId: next.recipient,
            scheduledEnqueueTime: at,
          },
        ]),
      expandGroup: (members) =>
        enqueueCopies(
          { ...work, action: work.action },
          members.map((recipient) => ({ ...work, recipient })),
          { rows: services.store, queue: services.queue },
        ),
      log,
      followForwards: followForwardsHook({ rows: services.store, queue: services.queue, config, log }),
    });
  const result = await withAuditScope(
    { who: systemCaller('remediateMailbox'), verdictId: work.verdictId },
    run,
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
