import { jsonResponse, type SandboxRequest, type SandboxResponse } from '../http.js';
import { GraphError } from './context.js';

/** Graph's limit on requests per JSON batch. */
const maxBatchSize = 20;
/** Graph hands Outlook at most four requests of an unordered batch at a time. */
const batchParallelism = 4;

interface BatchItem {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  dependsOn: string[];
}

function invalidBatch(message: string): GraphError {
  return new GraphError(400, 'BadRequest', message);
}

function parseItems(body: Buffer): BatchItem[] {
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalidBatch('Invalid batch payload format.');
  }
  const requests = (payload as { requests?: unknown } | null)?.requests;
  if (!Array.isArray(requests) || requests.length === 0) throw invalidBatch('Invalid batch payload format.');
  if (requests.length > maxBatchSize) {
    throw invalidBatch(`The number of requests in a batch must not exceed ${maxBatchSize}.`);
  }
  const items = requests.map((raw: unknown): BatchItem => {
    const r = (raw ?? {}) as Record<string, unknown>;
    if (
      typeof r.id !== 'string' ||
      r.id === '' ||
      typeof r.method !== 'string' ||
      typeof r.url !== 'string'
    ) {
      throw invalidBatch('Every batch request needs a string id, method and url.');
    }
    if (/^[a-z]+:\/\//i.test(r.url))
      throw invalidBatch(`Batch request ${r.id}: the url must be relative, like /users/...`);
    const headers = Object.fromEntries(
      Object.entries((r.headers ?? {}) as Record<string, unknown>).map(([k, v]) => [
        k.toLowerCase(),
        String(v),
      ]),
    );
    if (r.body !== undefined && headers['content-type'] === undefined) {
      throw invalidBatch(`Batch request ${r.id} has a body but no Content-Type header.`);
    }
    const dependsOn = Array.isArray(r.dependsOn) ? r.dependsOn.map(String) : [];
    return { id: r.id, method: r.method.toUpperCase(), url: r.url, headers, body: r.body, dependsOn };
  });
  const ids = new Set(items.map((i) => i.id));
  if (ids.size !== items.length) throw invalidBatch('Batch request ids must be unique.');
  for (const item of items) {
    const unknown = item.dependsOn.find((d) => !ids.has(d) || d === item.id);
    if (unknown !== undefined)
      throw invalidBatch(`Batch request ${item.id} depends on unknown request ${unknown}.`);
  }
  rejectCycles(items);
  return items;
}

function rejectCycles(items: BatchItem[]): void {
  const byId = new Map(items.map((i) => [i.id, i]));
  const done = new Set<string>();
  const visit = (item: BatchItem, path: Set<string>): void => {
    if (done.has(item.id)) return;
    if (path.has(item.id)) throw invalidBatch(`Batch request ${item.id} is part of a dependsOn cycle.`);
    path.add(item.id);
    for (const id of item.dependsOn) {
      const dependency = byId.get(id);
      if (dependency !== undefined) visit(dependency, path);
    }
    path.delete(item.id);
    done.add(item.id);
  };
  for (const item of items) visit(item, new Set());
}

/** A fixed number of slots; `run` waits for one. */
function limiter(slots: number): <T>(task: () => Promise<T>) => Promise<T> {
  let free = slots;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (free === 0) await new Promise<void>((resolve) => waiting.push(resolve));
    else free -= 1;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next === undefined) free += 1;
      else next();
    }
  };
}

function itemBody(response: SandboxResponse): unknown {
  // Non-JSON item bodies (MIME from $value) travel base64-encoded inside the JSON batch response.
  if (response.text !== undefined) return Buffer.from(response.text, 'utf8').toString('base64');
  return response.json;
}

/**
 * `POST /v1.0/$batch`: each item runs through the same handling as a top-level request (scripted faults,
 * auth, throttling) with the batch's own token; responses come back in no particular order.
 */
export async function runBatch(
  envelope: SandboxRequest,
  graphBase: string,
  execute: (request: SandboxRequest) => Promise<SandboxResponse>,
  shuffle: <T>(items: T[]) => T[],
): Promise<SandboxResponse> {
  const items = parseItems(envelope.body);
  const slot = limiter(batchParallelism);
  const results = new Map<string, Promise<SandboxResponse>>();

  const run = (item: BatchItem): Promise<SandboxResponse> => {
    const existing = results.get(item.id);
    if (existing !== undefined) return existing;
    const started = (async (): Promise<SandboxResponse> => {
      const dependencies = await Promise.all(
        items.filter((i) => item.dependsOn.includes(i.id)).map((dependency) => run(dependency)),
      );
      if (dependencies.some((d) => d.status >= 400)) {
        return jsonResponse(424, {
          error: { code: 'FailedDependency', message: 'A request this request depends on failed.' },
        });
      }
      const body =
        item.body === undefined
          ? Buffer.alloc(0)
          : Buffer.from(typeof item.body === 'string' ? item.body : JSON.stringify(item.body), 'utf8');
      const request: SandboxRequest = {
        method: item.method,
        url: new URL(`${graphBase}/v1.0${item.url.startsWith('/') ? '' : '/'}${item.url}`),
        headers: { ...item.headers, authorization: envelope.headers.authorization },
        body,
        inBatch: true,
      };
      return slot(() => execute(request));
    })();
    results.set(item.id, started);
    return started;
  };

  const responses = await Promise.all(
    items.map(async (item) => {
      const response = await run(item);
      const body = itemBody(response);
      return {
        id: item.id,
        status: response.status,
        headers: response.headers,
        ...(body === undefined ? {} : { body }),
      };
    }),
  );
  return jsonResponse(200, { responses: shuffle(responses) });
}
