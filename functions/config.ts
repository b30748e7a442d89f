import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { callerOf } from '../shared/audit/caller.js';
import { auditAfter } from '../shared/audit/events.js';
import { routes } from '../shared/bindings.js';
import { getServices } from '../shared/composition.js';
import { isConfigVersionConflict } from '../shared/config/conflict.js';
import { validateConfigDocument } from '../shared/config/document.js';
import { configVersion } from '../shared/config/tableConfigStore.js';
import { ensureError } from '../shared/errors.js';
import { errorResponse, jsonResponse } from './http.js';

const maxDocumentBytes = 1024 * 1024;

function withETag(response: HttpResponseInit, version: string): HttpResponseInit {
  return { ...response, headers: { ...(response.headers as Record<string, string>), etag: `"${version}"` } };
}

/** `If-Match: "abc"`, `If-Match: abc` or `W/"abc"`: the version the caller based its change on. */
function ifMatch(request: HttpRequest): string | undefined {
  const value = request.headers.get('if-match')?.trim();
  if (!value) return undefined;
  return value.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
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
 * `If-Match: <version>` makes it conditional (412 when someone applied another version meanwhile);
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
  const validation = validateConfigDocument(body, { runtime: services.settings.CLAWBACK_RUNTIME });
  if (!validation.ok)
    return errorResponse(
      400,
      'ValidationFailed',
      `The configuration has ${validation.problems.length} ${validation.problems.length === 1 ? 'problem' : 'problems'}; nothing was applied.`,
      validation.problems,
    );
  const document = validation.document;
  const current = await services.configStore.get();
  const expected = ifMatch(request);
  const version = configVersion(document);
  if (request.query.get('dryRun') === 'true') {
    if (expected !== undefined && current?.version !== expected) return conflict(current?.version);
    return jsonResponse(200, {
      version,
      previousVersion: current?.version,
      changed: current?.version !== version,
      applied: false,
      document,
    });
  }
  try {
    const applied = await services.configStore.put(document, expected);
    const changed = current?.version !== applied;
    if (changed) context.log(`configuration version ${applied} applied (was ${current?.version ?? 'none'})`);
    if (changed)
      await auditAfter(
        services.audit,
        [
          {
            who: callerOf(request.headers, services.settings.CLAWBACK_RUNTIME),
            what: 'configurationApplied',
            detail: `configuration version ${applied} applied (was ${current?.version ?? 'none'})`,
          },
        ],
        (line) => context.warn(line),
      );
    return withETag(
      jsonResponse(200, { version: applied, previousVersion: current?.version, changed, applied: true }),
      applied,
    );
  } catch (error) {
    if (isConfigVersionConflict(error)) return conflict(error.currentVersion);
    throw error;
  }
}

function conflict(currentVersion: string | undefined): HttpResponseInit {
  return errorResponse(
    412,
    'VersionMismatch',
    currentVersion === undefined
      ? 'No configuration has been applied yet, so If-Match cannot match; apply without If-Match.'
      : `The configuration is now at version ${currentVersion}; someone applied a change meanwhile. Reload it, merge, and apply again.`,
  );
}

app.http('getConfig', { ...routes.getConfig, methods: [...routes.getConfig.methods], handler: getConfig });
app.http('putConfig', { ...routes.putConfig, methods: [...routes.putConfig.methods], handler: putConfig });
