import type { HttpRequest, HttpResponseInit } from '@azure/functions';

import { ensureError } from '../shared/errors.js';
import { limits } from '../shared/verdicts/schema.js';

export interface ErrorBody {
  error: { code: string; message: string; details?: { path: string; message: string }[] };
}

/** The one error shape every endpoint answers with (SPEC §2). */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  details?: { path: string; message: string }[],
): HttpResponseInit {
  const body: ErrorBody = { error: { code, message, ...(details ? { details } : {}) } };
  return { status, jsonBody: body, headers: { 'content-type': 'application/json; charset=utf-8' } };
}

export function jsonResponse(status: number, body: unknown): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'content-type': 'application/json; charset=utf-8' } };
}

/** Absolute URL of another route of this app, built from the request so it works behind any host. */
export function urlFor(request: HttpRequest, path: string): string {
  return new URL(`/api/${path}`, request.url).toString();
}

const jsonContentType = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const charsetParameter = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a JSON request body within the 1 MiB limit: 415 when it is not declared JSON or declares a
 * charset other than UTF-8, 413 when it is too large (by its Content-Length or its actual size), 400
 * when its bytes are not UTF-8 (`InvalidEncoding`) or do not parse. `what` names the payload.
 */
export async function readJsonBody(
  request: HttpRequest,
  what: string,
): Promise<{ raw: Buffer; body: unknown } | { response: HttpResponseInit }> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!jsonContentType.test(contentType))
    return {
      response: errorResponse(
        415,
        'UnsupportedMediaType',
        `Send ${what} as JSON with "Content-Type: application/json".`,
      ),
    };
  const charset = charsetParameter.exec(contentType)?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')
    return {
      response: errorResponse(
        415,
        'UnsupportedMediaType',
        `Send ${what} as UTF-8 JSON; charset "${charset.replace(/[^\w.:-]/g, '?')}" is not accepted.`,
      ),
    };
  const tooLarge = () => ({
    response: errorResponse(
      413,
      'PayloadTooLarge',
      `The body is larger than ${limits.maxBodyBytes} bytes (1 MiB); split the ${what} over several requests.`,
    ),
  });
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limits.maxBodyBytes) return tooLarge();
  const raw = Buffer.from(await request.arrayBuffer());
  if (raw.byteLength > limits.maxBodyBytes) return tooLarge();
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return {
      response: errorResponse(400, 'InvalidEncoding', 'The body is not valid UTF-8; send it as UTF-8 JSON.'),
    };
  }
  try {
    return { raw, body: JSON.parse(text) };
  } catch (error) {
    return {
      response: errorResponse(
        400,
        'InvalidJson',
        `The body is not valid JSON: ${ensureError(error).message}`,
      ),
    };
  }
}
