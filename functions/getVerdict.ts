import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { routes } from '../shared/bindings.js';
import { getServices } from '../shared/composition.js';
import { errorResponse, jsonResponse, urlFor } from '../shared/http/responses.js';
import { isVerdictId } from '../shared/verdicts/ids.js';

/** GET /api/verdicts/{id}?pageSize=&continuationToken= — the verdict row and a page of its rows. */
export async function getVerdict(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const id = request.params.id ?? '';
  if (!isVerdictId(id)) return errorResponse(404, 'VerdictNotFound', `There is no verdict "${id}".`);
  const pageSizeText = request.query.get('pageSize') ?? '100';
  const pageSize = Number(pageSizeText);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)
    return errorResponse(400, 'ValidationFailed', 'pageSize must be an integer from 1 to 1000.', [
      { path: 'pageSize', message: 'must be an integer from 1 to 1000' },
    ]);
  const continuationToken = request.query.get('continuationToken') ?? undefined;
  const { store } = getServices();
  const verdict = await store.getVerdict(id);
  if (!verdict) return errorResponse(404, 'VerdictNotFound', `There is no verdict "${id}".`);
  const page = await store.listRemediations(id, { pageSize, continuationToken });
  const next = page.continuationToken
    ? `${urlFor(request, `verdicts/${id}`)}?pageSize=${pageSize}&continuationToken=${encodeURIComponent(page.continuationToken)}`
    : undefined;
  return jsonResponse(200, {
    verdict,
    remediations: page.items,
    continuationToken: page.continuationToken,
    next,
  });
}

app.http('getVerdict', {
  ...routes.getVerdict,
  methods: [...routes.getVerdict.methods],
  handler: getVerdict,
});
