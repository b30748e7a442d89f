import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { callerOf } from '../shared/audit/caller.js';
import { auditAfter } from '../shared/audit/events.js';
import { routes } from '../shared/bindings.js';
import { getServices, type Services } from '../shared/composition.js';
import { ensureError, ValidationError } from '../shared/errors.js';
import { acceptVerdicts, parseAnyVerdictBody } from '../shared/verdicts/ingest.js';
import { checkSources, signatureHeader, type SignedSource } from '../shared/verdicts/signature.js';
import { errorResponse, jsonResponse, readJsonBody, urlFor } from './http.js';

/** Sources with a signing secret must sign the raw body (SPEC §2); others rely on the function key. */
async function checkSignature(
  request: HttpRequest,
  raw: Buffer,
  sourceNames: string[],
  services: Services,
): Promise<HttpResponseInit | undefined> {
  const stored = await services.configStore.get();
  const named = new Set(sourceNames);
  const configured = (stored?.document.sources ?? []).filter((s) => named.has(s.name) && s.signingSecret);
  if (configured.length === 0) return undefined;
  const signed: SignedSource[] = [];
  for (const source of configured) {
    if (source.signingSecret)
      signed.push({
        name: source.name,
        secret: (await services.secrets.getSecret(source.signingSecret)).value,
      });
  }
  const check = checkSources(request.headers.get(signatureHeader), raw, signed);
  return check.ok ? undefined : errorResponse(401, 'InvalidSignature', check.message);
}

/** POST /api/verdicts — validates, enqueues on `verdicts`, and only then answers 202. */
export async function ingestVerdict(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const read = await readJsonBody(request, 'verdicts');
  if ('response' in read) return read.response;
  const { raw, body } = read;
  let parsed: ReturnType<typeof parseAnyVerdictBody>;
  try {
    parsed = parseAnyVerdictBody(body, request.query.get('format'));
  } catch (error) {
    if (error instanceof ValidationError)
      return errorResponse(400, 'ValidationFailed', error.message, error.details);
    throw error;
  }
  // A native body can hold nothing to act on (an empty polling window): say so, accept nothing.
  if (parsed.changes.length === 0) return jsonResponse(200, { verdicts: [], notes: parsed.notes });

  const services = getServices();
  let unauthorized: HttpResponseInit | undefined;
  try {
    unauthorized = await checkSignature(
      request,
      raw,
      parsed.changes.map((c) => c.source),
      services,
    );
  } catch (error) {
    context.error(`signing secret unavailable: ${ensureError(error).message}`);
    return errorResponse(
      503,
      'SecretUnavailable',
      'The signing secret of this source could not be read; nothing was accepted. Retry later.',
    );
  }
  if (unauthorized) return unauthorized;
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
  const who = callerOf(request.headers, services.settings.CLAWBACK_RUNTIME);
  await auditAfter(
    services.audit,
    accepted.flatMap((a, i) => {
      const change = parsed.changes[i];
      return a.created && change
        ? [
            {
              who,
              what: 'accepted' as const,
              verdictId: a.verdictId,
              detail: `${change.verdict} from ${change.source}, event ${change.eventId}`,
            },
          ]
        : [];
    }),
    (line) => context.warn(line),
  );
  const status = accepted.some((a) => a.created) ? 202 : 200;
  const notes = parsed.notes.length > 0 ? { notes: parsed.notes } : {};
  return jsonResponse(status, parsed.isArray ? { verdicts: results, ...notes } : results[0]);
}

app.http('ingestVerdict', {
  ...routes.ingestVerdict,
  methods: [...routes.ingestVerdict.methods],
  handler: ingestVerdict,
});
