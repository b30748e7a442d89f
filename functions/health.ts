import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { routes } from '../shared/bindings.js';
import { getServices } from '../shared/composition.js';
import { jsonResponse } from '../shared/http/responses.js';

/**
 * GET /api/health — anonymous, so it says only whether the app could build its services from its
 * settings; the list of problems goes to the log, never to an unauthenticated caller.
 */
export function health(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    getServices();
    return Promise.resolve(jsonResponse(200, { status: 'ok' }));
  } catch (error) {
    context.error(String(error));
    return Promise.resolve(jsonResponse(503, { status: 'misconfigured' }));
  }
}

app.http('health', { ...routes.health, methods: [...routes.health.methods], handler: health });
