import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { listDeadLetters as list, replayDeadLetters as replay } from '../shared/app/deadLetters.js';
import { routes } from '../shared/bindings.js';
import { deadLetterQueueOf, getServices } from '../shared/composition.js';
import { ensureError } from '../shared/errors.js';
import { errorResponse, jsonResponse } from '../shared/http/responses.js';

/** GET /api/deadletters?queue= (admin) — dead-lettered messages with the reason Service Bus recorded. */
export async function listDeadLetters(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const result = await list(
    { queue: request.query.get('queue') },
    { deadLetters: deadLetterQueueOf(getServices()) },
  );
  if (result.kind === 'invalid')
    return errorResponse(400, 'ValidationFailed', result.message, result.problems);
  return jsonResponse(200, { deadLetters: result.deadLetters });
}

/** POST /api/deadletters/replay {queue, messageIds?} (admin) — puts dead letters back on their queue. */
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
  const result = await replay({ body }, { deadLetters: deadLetterQueueOf(getServices()) });
  if (result.kind === 'invalid')
    return errorResponse(400, 'ValidationFailed', result.message, result.problems);
  context.log(
    `dead letters replayed queue=${result.queue} replayed=${result.replayed.length} missing=${result.missing.length}`,
  );
  return jsonResponse(200, { queue: result.queue, replayed: result.replayed, missing: result.missing });
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
