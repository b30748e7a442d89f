import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { applyConfiguration, conflictMessage, parseIfMatch } from '../shared/app/applyConfiguration.js';
import { readConfiguration } from '../shared/app/readConfiguration.js';
import { callerOf } from '../shared/audit/caller.js';
import { routes } from '../shared/bindings.js';
import { getServices } from '../shared/composition.js';
import { ensureError } from '../shared/errors.js';
import { errorResponse, jsonResponse } from '../shared/http/responses.js';

const maxDocumentBytes = 1024 * 1024;

const withETag = (response: HttpResponseInit, version: string): HttpResponseInit => ({
  ...response,
  headers: { ...(response.headers as Record<string, string>), etag: `"${version}"` },
});
const noConfig = 'No configuration has been applied yet; PUT one to /api/config.';

/** GET /api/config (admin) — the applied document and its version (also the ETag); secrets only as references. */
export async function getConfig(
  _request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const stored = await readConfiguration({ configStore: getServices().configStore });
  if (!stored) return errorResponse(404, 'ConfigNotFound', noConfig);
  const { version, updatedAt, document } = stored;
  return withETag(jsonResponse(200, { version, updatedAt, document }), version);
}

/**
 * PUT /api/config (admin) — applies a whole document (invalid ones refused with every problem listed).
 * `If-Match: <version>[, …]` makes it conditional (412 when another version was applied meanwhile;
 * `*` only requires that some document is applied); `?dryRun=true` validates without applying.
 */
export async function putConfig(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const raw = Buffer.from(await request.arrayBuffer());
  if (raw.byteLength > maxDocumentBytes)
    return errorResponse(413, 'PayloadTooLarge', 'The configuration document is larger than 1 MiB.');
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    return errorResponse(400, 'InvalidJson', `The body is not valid JSON: ${ensureError(error).message}`);
  }
  const { configStore, settings, audit } = getServices();
  const condition = parseIfMatch(request.headers.get('if-match'));
  const dryRun = request.query.get('dryRun') === 'true';
  const result = await applyConfiguration(
    { body, condition, dryRun },
    {
      configStore,
      runtime: settings.CLAWBACK_RUNTIME,
      audit: {
        log: audit,
        who: callerOf(request.headers, settings.CLAWBACK_RUNTIME),
        warn: (line) => context.warn(line),
      },
    },
  );
  if (result.kind === 'invalid') {
    const n = result.problems.length;
    const message = `The configuration has ${n} ${n === 1 ? 'problem' : 'problems'}; nothing was applied.`;
    return errorResponse(400, 'ValidationFailed', message, result.problems);
  }
  if (result.kind === 'conflict')
    return errorResponse(412, 'VersionMismatch', conflictMessage(result.currentVersion));
  const { version, previousVersion, changed } = result;
  const summary = { version, previousVersion, changed };
  if (result.kind === 'planned')
    return jsonResponse(200, { ...summary, applied: false, document: result.document });
  if (changed) context.log(`configuration version ${version} applied (was ${previousVersion ?? 'none'})`);
  return withETag(jsonResponse(200, { ...summary, applied: true }), version);
}

app.http('getConfig', { ...routes.getConfig, methods: [...routes.getConfig.methods], handler: getConfig });
app.http('putConfig', { ...routes.putConfig, methods: [...routes.putConfig.methods], handler: putConfig });
