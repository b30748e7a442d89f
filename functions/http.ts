import type { HttpRequest, HttpResponseInit } from '@azure/functions';

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
