import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { acceptVerdictRequest } from '../shared/app/acceptVerdicts.js';
import { callerOf } from '../shared/audit/caller.js';
import { routes } from '../shared/bindings.js';
import { getServices } from '../shared/composition.js';
import { errorResponse, jsonResponse, readJsonBody, urlFor } from '../shared/http/responses.js';
import { signatureHeader } from '../shared/verdicts/signature.js';

/** POST /api/verdicts — validates, checks signatures, enqueues on `verdicts`, and only then answers 202. */
export async function ingestVerdict(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const read = await readJsonBody(request, 'verdicts');
  if ('response' in read) return read.response;
  const services = getServices();
  const outcome = await acceptVerdictRequest(
    {
      body: read.body,
      rawBody: read.raw,
      format: request.query.get('format'),
      signature: request.headers.get(signatureHeader),
    },
    {
      ...services,
      audit: {
        log: services.audit,
        who: callerOf(request.headers, services.settings.CLAWBACK_RUNTIME),
        warn: (line) => context.warn(line),
      },
    },
  );
  switch (outcome.kind) {
    case 'invalid':
      return errorResponse(400, 'ValidationFailed', outcome.message, outcome.details);
    case 'unauthorized':
      return errorResponse(401, 'InvalidSignature', outcome.message);
    case 'secretUnavailable':
      context.error(`signing secret unavailable: ${outcome.cause.message}`);
      return errorResponse(
        503,
        'SecretUnavailable',
        'The signing secret of this source could not be read; nothing was accepted. Retry later.',
      );
    case 'queueUnavailable':
      context.error(`verdicts not accepted: the queue or the store refused them: ${outcome.cause.message}`);
      return errorResponse(
        503,
        'QueueUnavailable',
        'The verdict could not be queued and recorded durably. Retry the same request later: a repeat never starts a verdict twice.',
      );
  }
  const notes = outcome.notes.length > 0 ? { notes: outcome.notes } : {};
  // A native body can hold nothing to act on (an empty polling window): say so, accept nothing.
  if (outcome.verdicts.length === 0) return jsonResponse(200, { verdicts: [], notes: outcome.notes });
  const results = outcome.verdicts.map((a) => ({
    verdictId: a.verdictId,
    status: 'accepted',
    statusUrl: urlFor(request, `verdicts/${a.verdictId}`),
  }));
  for (const a of outcome.verdicts)
    context.log(`verdict ${a.verdictId} ${a.created ? 'accepted' : 'was already accepted (repeat)'}`);
  const status = outcome.verdicts.some((a) => a.created) ? 202 : 200;
  return jsonResponse(status, outcome.isArray ? { verdicts: results, ...notes } : results[0]);
}

app.http('ingestVerdict', {
  ...routes.ingestVerdict,
  methods: [...routes.ingestVerdict.methods],
  handler: ingestVerdict,
});
