import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { routes } from '../shared/bindings.js';
import { getServices } from '../shared/composition.js';
import { ensureError, ValidationError } from '../shared/errors.js';
import { acceptVerdicts, parseVerdictBody } from '../shared/verdicts/ingest.js';
import { limits } from '../shared/verdicts/schema.js';
import { errorResponse, jsonResponse, urlFor } from './http.js';

const jsonContentType = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const tooLarge = () =>
  errorResponse(
    413,
    'PayloadTooLarge',
    `The body is larger than ${limits.maxBodyBytes} bytes (1 MiB); split the verdicts over several requests.`,
  );

/** POST /api/verdicts — validates, enqueues on `verdicts`, and only then answers 202. */
export async function ingestVerdict(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  if (!jsonContentType.test(request.headers.get('content-type') ?? ''))
    return errorResponse(
      415,
      'UnsupportedMediaType',
      'Send verdicts as JSON with "Content-Type: application/json".',
    );
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limits.maxBodyBytes) return tooLarge();
  const raw = Buffer.from(await request.arrayBuffer());
  if (raw.byteLength > limits.maxBodyBytes) return tooLarge();

  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    return errorResponse(400, 'InvalidJson', `The body is not valid JSON: ${ensureError(error).message}`);
  }
  let parsed: ReturnType<typeof parseVerdictBody>;
  try {
    parsed = parseVerdictBody(body);
  } catch (error) {
    if (error instanceof ValidationError)
      return errorResponse(400, 'ValidationFailed', error.message, error.details);
    throw error;
  }

  const services = getServices();
  let accepted: Awaited<ReturnType<typeof acceptVerdicts>>;
  try {
    accepted = await acceptVerdicts(parsed.changes, services);
  } catch (error) {
    context.error(
      `verdicts not accepted: the queue or the store refused them: ${ensureError(error).message}`,
    );
    return errorResponse(
      503,
      'QueueUnavailable',
      'The verdict could not be queued durably; nothing was accepted. Retry later.',
    );
  }
  const results = accepted.map((a) => ({
    verdictId: a.verdictId,
    status: 'accepted',
    statusUrl: urlFor(request, `verdicts/${a.verdictId}`),
  }));
  for (const a of accepted)
    context.log(`verdict ${a.verdictId} ${a.created ? 'accepted' : 'was already accepted (repeat)'}`);
  const status = accepted.some((a) => a.created) ? 202 : 200;
  return jsonResponse(status, parsed.isArray ? { verdicts: results } : results[0]);
}

app.http('ingestVerdict', {
  ...routes.ingestVerdict,
  methods: [...routes.ingestVerdict.methods],
  handler: ingestVerdict,
});
