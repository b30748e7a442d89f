import { isNamedError } from '../shared/errors.js';

/** Exit codes, so scripts can tell failures apart. */
export const exitCodes = {
  ok: 0,
  /** The command ran and reports a failure (a connection test that failed, a verdict with failures). */
  failed: 1,
  usage: 2,
  invalid: 3,
  notFound: 4,
  conflict: 5,
  unauthorized: 6,
  unavailable: 7,
} as const;

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
    readonly details: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

export const isCliError = isNamedError<CliError>('CliError');

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/** The app's HTTP API: base URL (`…:7071`, `/api` added) and the Functions key sent as `x-functions-key`. */
export class ApiClient {
  private readonly base: string;

  constructor(
    url: string,
    private readonly key: string | undefined,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    const trimmed = url.replace(/\/+$/, '');
    this.base = trimmed.endsWith('/api') ? trimmed : `${trimmed}/api`;
  }

  async request(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; accept?: string } = {},
  ): Promise<ApiResponse> {
    const headers: Record<string, string> = {
      accept: options.accept ?? 'application/json',
      ...options.headers,
    };
    if (this.key) headers['x-functions-key'] = this.key;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.base}/${path}`, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal: AbortSignal.timeout(120_000),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      throw new CliError(
        `Cannot reach ${this.base} (${cause?.code ?? (error as Error).message}). Is the app running (npm start) and is --url right?`,
        exitCodes.unavailable,
      );
    }
    const text = await response.text();
    let body: unknown = undefined;
    if (/json/i.test(response.headers.get('content-type') ?? '') && text !== '') {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        body = undefined;
      }
    }
    return { status: response.status, headers: response.headers, body, text };
  }

  /** The response when it is 2xx; otherwise a CliError with the app's own message and an exit code for the status. */
  async ok(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; accept?: string } = {},
  ): Promise<ApiResponse> {
    const response = await this.request(method, path, options);
    if (response.status >= 200 && response.status < 300) return response;
    throw toCliError(response);
  }
}

export function toCliError(response: ApiResponse): CliError {
  const error = (
    response.body as
      | { error?: { code?: string; message?: string; details?: { path: string; message: string }[] } }
      | undefined
  )?.error;
  const message = error?.message ?? (response.text.trim().slice(0, 300) || `HTTP ${response.status}`);
  const code = error?.code ? `${error.code}: ` : '';
  const status = response.status;
  const exitCode =
    status === 400 || status === 413 || status === 415
      ? exitCodes.invalid
      : status === 404
        ? exitCodes.notFound
        : status === 409 || status === 412
          ? exitCodes.conflict
          : status === 401 || status === 403
            ? exitCodes.unauthorized
            : exitCodes.unavailable;
  const hint =
    status === 401 || status === 403 ? ' Pass the function or admin key with --key (or CLAWBACK_KEY).' : '';
  return new CliError(`${code}${message}${hint}`, exitCode, error?.details ?? []);
}
