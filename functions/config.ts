import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { applyConfiguration, conflictMessage, parseIfMatch } from '../shared/app/applyConfiguration.js';
import { callerOf } from '../shared/audit/caller.js';
import { routes } from '../shared/bindings.js';
import { getServices } from '../shared/composition.js';
import { ensureError } from '../shared/errors.js';
import { errorResponse, jsonResponse } from './http.js';

const maxDocumentBytes = 1024 * 1024;

function withETag(response: HttpResponseInit, version: string): HttpResponseInit {
  return { ...response, headers: { ...(response.headers as Record<string, string>), etag: `"${version}"` } };
}

/**
 * GET /api/config (admin) — the applied document and its version (also the ETag). Secrets appear
 * only as the references the document holds (`keyVaultSecret`, or `file` / `env` locally).
 */
export async function getConfig(
  _request: HttpRequest,
  _context: InvocationContext,
): Promise<HttpResponseInit> {
  const stored = await getServices().configStore.get();
  if (!stored)
    return errorResponse(
      404,
      'ConfigNotFound',
      'No configuration has been applied yet; PUT one to /api/config.',
    );
  return withETag(
    jsonResponse(200, { version: stored.version, updatedAt: stored.updatedAt, document: stored.document }),
    stored.version,
  );
}

/**
 * PUT /api/config (admin) — applies a whole document. Invalid documents are refused with every
 * problem listed; the same document always gets the same version, so a repeat changes nothing.
 * `If-Match: <version>[, …]` makes it conditional (412 when someone applied another version meanwhile;
 * `If-Match: *` only requires that some document is applied);
 * `?dryRun=true` validates and answers the normalised document without applying it.
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
  const services = getServices();
  const result = await applyConfiguration(
    {
      body,
      condition: parseIfMatch(request.headers.get('if-match')),
      dryRun: request.query.get('dryRun') === 'true',
    },
    {
      configStore: services.configStore,
      runtime: services.settings.CLAWBACK_RUNTIME,
      audit: {
        log: services.audit,
        who: callerOf(request.headers, services.settings.CLAWBACK_RUNTIME),
        warn: (line) => context.warn(line),
      },
    },
  );
  switch (result.kind) {
    case 'invalid':
      return errorResponse(
        400,
        'ValidationFailed',
        `The configuration has ${result.problems.length} ${result.problems.length === 1 ? 'problem' : 'problems'}; nothing was applied.`,
        result.problems,
      );
    case 'conflict':
      return conflict(result.currentVersion);
    case 'planned':
      return jsonResponse(200, { ...summary(result), applied: false, document: result.document });
    case 'applied':
      if (result.changed)
        context.log(
          `configuration version ${result.version} applied (was ${result.previousVersion ?? 'none'})`,
        );
      return withETag(jsonResponse(200, { ...summary(result), applied: true }), result.version);
  }
}

const summary = (r: { version: string; previousVersion: string | undefined; changed: boolean }) => ({
  version: r.version,
  previousVersion: r.previousVersion,
  changed: r.changed,
});

function conflict(currentVersion: string | undefined): HttpResponseInit {
  return errorResponse(412, 'VersionMismatch', conflictMessage(currentVersion));
}

app.http('getConfig', { ...routes.getConfig, methods: [...routes.getConfig.methods], handler: getConfig });
app.http('putConfig', { ...routes.putConfig, methods: [...routes.putConfig.methods], handler: putConfig });
