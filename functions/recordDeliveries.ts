import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { routes } from '../shared/bindings.js';
import { getServices } from '../shared/composition.js';
import { ensureError, isValidationError } from '../shared/errors.js';
import { errorResponse, jsonResponse, readJsonBody } from '../shared/http/responses.js';
import { parseDeliveries } from '../shared/verdicts/ledger.js';

/**
 * POST /api/deliveries — the delivery ledger: which threats reached which recipients, so a verdict
 * that names only a hash or URL finds every copy. Written straight to the `Deliveries` table.
 */
export async function recordDeliveries(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const read = await readJsonBody(request, 'deliveries');
  if ('response' in read) return read.response;
  let entries: ReturnType<typeof parseDeliveries>;
  try {
    entries = parseDeliveries(read.body);
  } catch (error) {
    if (isValidationError(error)) return errorResponse(400, 'ValidationFailed', error.message, error.details);
    throw error;
  }
  try {
    await getServices().store.recordDeliveries(entries);
  } catch (error) {
    context.error(`deliveries not recorded: ${ensureError(error).message}`);
    return errorResponse(503, 'StoreUnavailable', 'The deliveries could not be recorded; retry later.');
  }
  context.log(`recorded ${entries.length} delivery ledger rows`);
  return jsonResponse(200, { recorded: entries.length });
}

app.http('recordDeliveries', {
  ...routes.recordDeliveries,
  methods: [...routes.recordDeliveries.methods],
  handler: recordDeliveries,
});
