import { HttpRequest, type HttpResponseInit, InvocationContext } from '@azure/functions';

import { getConfig, putConfig } from '../../functions/config.js';

const context = () => new InvocationContext({ functionName: 'config', logHandler: () => undefined });

/** `PUT /api/config` with a document (serialised unless it is a string already). */
export function putConfigDocument(
  body: unknown,
  headers: Record<string, string> = {},
  query = '',
): Promise<HttpResponseInit> {
  return putConfig(
    new HttpRequest({
      method: 'PUT',
      url: `http://localhost:7071/api/config${query}`,
      headers: { 'content-type': 'application/json', ...headers },
      body: { string: typeof body === 'string' ? body : JSON.stringify(body) },
    }),
    context(),
  );
}

/** `GET /api/config`. */
export function getConfigDocument(): Promise<HttpResponseInit> {
  return getConfig(new HttpRequest({ method: 'GET', url: 'http://localhost:7071/api/config' }), context());
}

/** What `/api/config` answers: the applied document and its version, or an error with its details. */
export type ConfigApiBody = Record<string, unknown> & {
  error: { code: string; details?: { path: string; message: string }[] };
  document: Record<string, unknown>;
  version: string;
  changed: boolean;
};
export const configApiBody = (r: HttpResponseInit) => r.jsonBody as ConfigApiBody;
