import { setTimeout as sleep } from 'node:timers/promises';

import { ClawbackError } from '../../errors.js';
import { parseRetryAfter } from './errors.js';

/** Graph's limit on requests per JSON batch. */
export const maxBatchItems = 20;

/** One request of a JSON batch; `url` is relative to the version root (`/users/…`), already encoded. */
export interface BatchRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One entry of the `responses` array of a batch answer. */
export interface BatchResponse {
  id: string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export type BatchResult =
  { ok: true; status: number; body: unknown } | { ok: false; status: number; error: ClawbackError };

/**
 * A failed batch item, shaped like the SDK's GraphError so the one translation serves both. The SDK's
 * retry handler never sees batch items, which is why the retry lives in {@link runBatch}.
 */
export class GraphBatchItemError extends Error {
  override readonly name = 'GraphError';
  readonly code: string | null;
  readonly headers: { get(name: string): string | null };

  constructor(
    readonly statusCode: number,
    readonly body: unknown,
    headers: Record<string, string> | undefined,
  ) {
    const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    super(typeof error?.message === 'string' ? error.message : `batch item answered ${statusCode}`);
    this.code = typeof error?.code === 'string' ? error.code : null;
    this.headers = { get: (name) => headerValue(headers, name) ?? null };
  }
}

export interface RunBatchOptions {
  /** Sends one envelope of at most {@link maxBatchItems} requests and returns its `responses`. */
  send(requests: (BatchRequest & { id: string })[]): Promise<BatchResponse[]>;
  /** Turns a failed item into the error the caller sees. */
  translate(error: GraphBatchItemError): ClawbackError;
  /** Attempts per item, the first included (settings.maxAttempts). */
  maxAttempts: number;
  /** Wait when a throttled item carries no Retry-After; doubled per attempt. */
  fallbackDelayMs: number;
  abortSignal?: AbortSignal | undefined;
}

const transientStatuses = new Set([429, 503, 504]);

interface PendingItem {
  index: number;
  attempts: number;
  readyAt: number;
}

/**
 * Runs `requests` through JSON batches: answers are matched by id (Graph returns them in any order),
 * and items answered 429/503/504 go into a later batch once their own Retry-After (seconds or HTTP
 * date) has passed, up to `maxAttempts` each; an item still throttled then fails as `Throttled`,
 * retryable. Results come back in the order of `requests`.
 */
export async function runBatch(requests: BatchRequest[], options: RunBatchOptions): Promise<BatchResult[]> {
  const results: (BatchResult | undefined)[] = requests.map(() => undefined);
  let pending: PendingItem[] = requests.map((_, index) => ({ index, attempts: 0, readyAt: 0 }));
  while (pending.length > 0) {
    const wait = Math.min(...pending.map((p) => p.readyAt)) - Date.now();
    if (wait > 0) await sleep(wait, undefined, { signal: options.abortSignal });
    const now = Date.now();
    const due = pending.filter((p) => p.readyAt <= now);
    const later = pending.filter((p) => p.readyAt > now);
    for (let start = 0; start < due.length; start += maxBatchItems) {
      const chunk = due.slice(start, start + maxBatchItems);
      const responses = await options.send(
        chunk.map((p) => ({ id: String(p.index + 1), ...(requests[p.index] as BatchRequest) })),
      );
      const byId = new Map(responses.map((r) => [String(r.id), r]));
      for (const item of chunk) {
        item.attempts += 1;
        const response = byId.get(String(item.index + 1));
        if (response === undefined) {
          results[item.index] = {
            ok: false,
            status: 0,
            error: new ClawbackError(
              'Unknown',
              `Graph's batch answer had no response for request ${item.index + 1}.`,
            ),
          };
        } else if (response.status >= 200 && response.status < 300) {
          results[item.index] = { ok: true, status: response.status, body: response.body };
        } else if (transientStatuses.has(response.status) && item.attempts < options.maxAttempts) {
          const retryAfter = parseRetryAfter(headerValue(response.headers, 'Retry-After') ?? null);
          item.readyAt = Date.now() + (retryAfter ?? options.fallbackDelayMs * 2 ** (item.attempts - 1));
          later.push(item);
        } else {
          const error = new GraphBatchItemError(response.status, response.body, response.headers);
          results[item.index] = { ok: false, status: response.status, error: options.translate(error) };
        }
      }
    }
    pending = later;
  }
  // Every item leaves `pending` only with a result.
  return results as BatchResult[];
}

function headerValue(headers: Record<string, string> | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : headers[key];
}
