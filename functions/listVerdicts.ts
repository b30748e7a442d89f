import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { listVerdicts, verdictListLimits } from '../shared/app/listVerdicts.js';
import { routes } from '../shared/bindings.js';
import { getServices } from '../shared/composition.js';
import { errorResponse, jsonResponse, urlFor } from './http.js';

const day = 86_400_000;

/**
 * GET /api/verdicts?from=&to=&status=&limit=&continuationToken= — verdicts received in the range
 * (default: the last 30 days), newest first; `next` links the following page.
 */
export async function listVerdictsHttp(
  request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const q = request.query;
  const problems: { path: string; message: string }[] = [];
  const time = (name: string, fallback: Date) => {
    const text = q.get(name);
    if (!text) return fallback;
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) problems.push({ path: name, message: 'must be an ISO 8601 date-time' });
    return new Date(ms);
  };
  const to = time('to', new Date());
  const from = time('from', new Date(to.getTime() - verdictListLimits.defaultDays * day));
  const limit = Number(q.get('limit') ?? verdictListLimits.defaultLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > verdictListLimits.maxLimit)
    problems.push({ path: 'limit', message: `must be an integer from 1 to ${verdictListLimits.maxLimit}` });
  if (to.getTime() - from.getTime() > verdictListLimits.maxDays * day || from >= to)
    problems.push({ path: 'from', message: `must be before to, at most ${verdictListLimits.maxDays} days` });
  const token = /^(\d+)\.(.+)$/.exec(q.get('continuationToken') ?? '');
  if (q.get('continuationToken') && !token)
    problems.push({ path: 'continuationToken', message: 'is not a token this route issued' });
  if (problems.length > 0) return errorResponse(400, 'ValidationFailed', 'The query is not valid.', problems);

  const page = await listVerdicts(
    {
      from,
      to,
      status: q.get('status') ?? undefined,
      limit,
      after: token ? { receivedAtMs: Number(token[1]), verdictId: token[2] ?? '' } : undefined,
    },
    { store: getServices().store },
  );
  let next: string | undefined;
  if (page.after) {
    const params = new URLSearchParams(q);
    params.set('to', to.toISOString());
    params.set('from', from.toISOString());
    params.set('continuationToken', `${page.after.receivedAtMs}.${page.after.verdictId}`);
    next = `${urlFor(request, 'verdicts')}?${params.toString()}`;
  }
  return jsonResponse(200, { verdicts: page.verdicts, ...(next ? { next } : {}) });
}

app.http('listVerdicts', {
  ...routes.listVerdicts,
  methods: [...routes.listVerdicts.methods],
  handler: listVerdictsHttp,
});
