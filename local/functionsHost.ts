import { readdirSync } from 'node:fs';
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
