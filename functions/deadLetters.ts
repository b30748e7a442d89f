import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { DefaultAzureCredential } from '@azure/identity';
import { z } from 'zod';

import { queues, routes } from '../shared/bindings.js';
import { getServices, type Services } from '../shared/composition.js';
import { hasDeadLetterStore, InMemoryDeadLetters } from '../shared/deadletters/inMemoryDeadLetters.js';
import { ServiceBusDeadLetters } from '../shared/deadletters/serviceBusDeadLetters.js';
import { ensureError } from '../shared/errors.js';
import { errorResponse, jsonResponse } from '../shared/http/responses.js';
import type { DeadLetterQueue } from '../shared/ports/deadLetters.js';

const queueNames: string[] = Object.values(queues).map((q) => q.name);
const maxPerCall = 500;
const dlqs = new WeakMap<Services, DeadLetterQueue>();

/** The local runtime's queue keeps its dead letters itself; in Azure they are read from Service Bus. */
function deadLetterQueue(services: Services): DeadLetterQueue {
  let dlq = dlqs.get(services);
  if (!dlq) {
    const s = services.settings;
    dlq = hasDeadLetterStore(services.queue)
      ? new InMemoryDeadLetters(services.queue)
      : ServiceBusDeadLetters.fromSettings({
          connectionString: s.ServiceBusConnection,
          fullyQualifiedNamespace: s.ServiceBusConnection__fullyQualifiedNamespace,
          credential: () =>
            new DefaultAzureCredential(
              s.AZURE_CLIENT_ID ? { managedIdentityClientId: s.AZURE_CLIENT_ID } : {},
            ),
        });
    dlqs.set(services, dlq);
  }
  return dlq;
}

function selectedQueues(request: HttpRequest): string[] | HttpResponseInit {
  const queue = request.query.get('queue');
  if (queue === null || queue === '') return queueNames;
  if (!queueNames.includes(queue))
    return errorResponse(400, 'ValidationFailed', `There is no queue "${queue}".`, [
      { path: 'queue', message: `must be one of ${queueNames.join(', ')}` },
    ]);
  return [queue];
}

/** GET /api/deadletters?queue= (admin) — dead-lettered messages with the reason Service Bus recorded. */
export async function listDeadLetters(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const selected = selectedQueues(request);
  if (!Array.isArray(selected)) return selected;
  const dlq = deadLetterQueue(getServices());
  const deadLetters = [];
  for (const queue of selected) deadLetters.push(...(await dlq.list(queue, maxPerCall)));
  return jsonResponse(200, { deadLetters });
}

const replaySchema = z
  .object({
    queue: z.enum(queueNames as [string, ...string[]]),
    messageIds: z.array(z.string().min(1)).min(1).max(maxPerCall).optional(),
  })
  .strict();

/**
 * POST /api/deadletters/replay {queue, messageIds?} (admin) — puts dead letters back on their queue
 * (all of them, up to 500, without `messageIds`). The handlers are idempotent, so a replay of work
 * that had partly happened finishes it without repeating an effect.
 */
export async function replayDeadLetters(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  let body: unknown;
  try {
    body = JSON.parse((await request.text()) || '{}');
  } catch (error) {
    return errorResponse(400, 'InvalidJson', `The body is not valid JSON: ${ensureError(error).message}`);
  }
  const parsed = replaySchema.safeParse(body);
  if (!parsed.success)
    return errorResponse(
      400,
      'ValidationFailed',
      'Send {"queue": "<queue>", "messageIds": [...]} (messageIds optional).',
      parsed.error.issues.map((i) => ({ path: i.path.join('.') || '$', message: i.message })),
    );
  const result = await deadLetterQueue(getServices()).replay(
    parsed.data.queue,
    parsed.data.messageIds,
    maxPerCall,
  );
  context.log(
    `dead letters replayed queue=${parsed.data.queue} replayed=${result.replayed.length} missing=${result.missing.length}`,
  );
  return jsonResponse(200, { queue: parsed.data.queue, ...result });
}

app.http('listDeadLetters', {
  ...routes.listDeadLetters,
  methods: [...routes.listDeadLetters.methods],
  handler: listDeadLetters,
});
app.http('replayDeadLetters', {
  ...routes.replayDeadLetters,
  methods: [...routes.replayDeadLetters.methods],
  handler: replayDeadLetters,
});
