import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { routes } from '../shared/bindings.js';
import { loadSettings } from '../shared/config/settings.js';
import { jsonResponse } from './http.js';

/**
 * GET /api/health — anonymous, so it says only whether the app's settings are valid; the list of
 * problems goes to the log, never to an unauthenticated caller.
 */
export function health(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    loadSettings();
    return Promise.resolve(jsonResponse(200, { status: 'ok' }));
  } catch (error) {
    context.error(String(error));
    return Promise.resolve(jsonResponse(503, { status: 'misconfigured' }));
  }
}

app.http('health', { ...routes.health, methods: [...routes.health.methods], handler: health });
