import { ClawbackError, ensureError } from '../errors.js';

export interface PullResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/** `Retry-After` in seconds or as an HTTP date → milliseconds from now. */
export function retryAfterMs(headers: Headers, now: Date): number | undefined {
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/**
 * GET a platform's JSON API. Everything but 2xx becomes a ClawbackError whose code is the reason the
 * connector's cursor row and alert show: 401 AuthenticationError, 403 PermissionError, 429 Throttled
 * (with the server's wait), 5xx and network failures ConnectionError (retryable).
 */
export async function getJson(
  url: string,
  headers: Record<string, string>,
  what: string,
  options: { abortSignal?: AbortSignal | undefined; now: () => Date },
): Promise<PullResponse> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json', ...headers },
      ...(options.abortSignal ? { signal: options.abortSignal } : {}),
    });
  } catch (error) {
    throw new ClawbackError(
      'ConnectionError',
      `${what} could not be reached: ${ensureError(error).message}`,
      {
        retryable: true,
        cause: error,
      },
    );
  }
  const text = await response.text();
  const brief = text.slice(0, 200).replace(/\s+/g, ' ');
  if (response.status === 401)
    throw new ClawbackError('AuthenticationError', `${what} refused the credentials (HTTP 401): ${brief}`);
  if (response.status === 403)
    throw new ClawbackError('PermissionError', `${what} denied access (HTTP 403): ${brief}`);
  const wait = retryAfterMs(response.headers, options.now());
  const after = wait === undefined ? {} : { retryAfterMs: wait };
  if (response.status === 429)
    throw new ClawbackError('Throttled', `${what} is throttling requests (HTTP 429)`, {
      retryable: true,
      ...after,
    });
  if (response.status >= 500)
    throw new ClawbackError('ConnectionError', `${what} failed (HTTP ${response.status}): ${brief}`, {
      retryable: true,
      ...after,
    });
  if (response.status < 200 || response.status >= 300)
    throw new ClawbackError('ConfigurationError', `${what} answered HTTP ${response.status}: ${brief}`);
  try {
    return {
      status: response.status,
      headers: response.headers,
      body: text === '' ? {} : (JSON.parse(text) as unknown),
    };
  } catch (error) {
    throw new ClawbackError('ConnectionError', `${what} answered with a body that is not JSON`, {
      retryable: true,
      cause: error,
    });
  }
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}
