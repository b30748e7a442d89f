import { readdirSync } from 'node:fs';
import type http from 'node:http';
import Module from 'node:module';
import path from 'node:path';

/** A binding as the Functions host receives it (type, direction and the trigger's options). */
export interface BindingMetadata {
  type: string;
  direction: 'in' | 'out';
  route?: string;
  methods?: string[];
  authLevel?: string;
  queueName?: string;
  connection?: string;
  isSessionsEnabled?: boolean;
  [key: string]: unknown;
}

export interface RegisteredFunction {
  name: string;
  bindings: Record<string, BindingMetadata>;
  trigger: BindingMetadata;
  handler: (...args: unknown[]) => unknown;
}

interface CoreFunctionMetadata {
  name: string;
  bindings: Record<string, BindingMetadata>;
}

type ModuleWithLoad = typeof Module & { _load: (request: string, ...rest: unknown[]) => unknown };

let sink: RegisteredFunction[] | undefined;

const fakeCore = {
  setProgrammingModel: () => undefined,
  registerHook: () => ({ dispose: () => undefined }),
  log: () => undefined,
  getProgrammingModel: () => undefined,
  registerFunction: (metadata: CoreFunctionMetadata, handler: (...args: unknown[]) => unknown) => {
    const trigger = Object.values(metadata.bindings).find((b) => /Trigger$/.test(b.type));
    if (!trigger) throw new Error(`function ${metadata.name} has no trigger`);
    if (!sink) throw new Error(`function ${metadata.name} registered outside captureRegistrations()`);
    sink.push({ name: metadata.name, bindings: metadata.bindings, trigger, handler });
    return { dispose: () => undefined };
  },
};

let hooked = false;
/**
 * Stands in for `@azure/functions-core`, the module the real host injects. `@azure/functions` looks
 * it up once and keeps it, so the stand-in stays installed for the life of the process.
 */
function installFakeCore(): void {
  if (hooked) return;
  const mod = Module as ModuleWithLoad;
  const originalLoad = mod._load;
  mod._load = function load(this: unknown, request: string, ...rest: unknown[]) {
    if (request === '@azure/functions-core') return fakeCore;
    return originalLoad.call(this, request, ...rest);
  };
  hooked = true;
}

/**
 * Runs `load` (which imports function modules) and returns every `app.*` registration it made,
 * exactly as Azure's host would receive it. The local runtime and the tests both read the app's own
 * registrations this way: there is no second copy of routes, auth levels or queue names.
 */
export async function captureRegistrations(load: () => unknown): Promise<RegisteredFunction[]> {
  installFakeCore();
  const registry: RegisteredFunction[] = [];
  sink = registry;
  try {
    await load();
  } finally {
    sink = undefined;
  }
  return registry;
}

/** Loads every compiled function module of a folder (the package's `main` glob). */
export function loadRegistrations(functionsDir: string): Promise<RegisteredFunction[]> {
  return captureRegistrations(() => {
    for (const file of readdirSync(functionsDir)
      .filter((f) => f.endsWith('.js'))
      .sort()) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(path.join(functionsDir, file));
    }
  });
}

/** `verdicts/{id}` → a matcher for `/api/verdicts/<id>` that returns the route parameters. */
export function routeMatcher(route: string): (pathname: string) => Record<string, string> | undefined {
  const names: string[] = [];
  const pattern = route
    .split('/')
    .map((segment) => {
      const param = /^\{([A-Za-z0-9_]+)(?::[^}]*)?\??\}$/.exec(segment);
      if (param?.[1]) {
        names.push(param[1]);
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  const regex = new RegExp(`^/api/${pattern}/?$`);
  return (pathname) => {
    const match = regex.exec(pathname);
    if (!match) return undefined;
    return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(match[i + 1] ?? '')]));
  };
}

function refuse(res: http.ServerResponse, status: number, code: string, message: string): undefined {
  // The rest of a refused body is not read: the connection closes once the answer is out.
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
  res.end(JSON.stringify({ error: { code, message } }));
  return undefined;
}

/**
 * The request's URL (on the Host it named, when that is a host name), or a 400 when its path cannot be
 * decoded: a bad percent-encoding such as `%E0%A4` or `%zz` would otherwise throw inside a route match
 * and surface as a 500.
 */
export function requestUrl(req: http.IncomingMessage, res: http.ServerResponse): URL | undefined {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', `http://${hostOf(req)}`);
    decodeURIComponent(url.pathname);
  } catch {
    return refuse(res, 400, 'BadRequest', 'The request path is not a valid percent-encoded URL path.');
  }
  return url;
}

/**
 * Reads a request body up to `maxBytes`, as the Functions host caps it: 413 at once when the declared
 * length is larger, or as soon as the bytes read pass the limit, without buffering any more of them.
 * Undefined when it answered the request itself.
 */
export async function readBodyWithin(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  maxBytes: number,
): Promise<Buffer | undefined> {
  const tooLarge = () => refuse(res, 413, 'PayloadTooLarge', `The body is larger than ${maxBytes} bytes.`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > maxBytes) return tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/** The Host header when it is a host name or address with an optional port; `localhost` otherwise. */
function hostOf(req: http.IncomingMessage): string {
  const host = req.headers.host ?? '';
  return /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i.test(host) ? host : 'localhost';
}
