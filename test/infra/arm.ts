import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/*
 * The infrastructure tests read the ARM JSON the real Bicep compiler produced (npm run infra:build), not
 * the Bicep text. When that output is missing or older than a file under infra/, it is built here first.
 */

export const repoRoot = path.resolve(__dirname, '../..');
export const infraDir = path.join(repoRoot, 'infra');
const outDir = path.join(repoRoot, '.infra-build');

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export interface ArmResource {
  type: string;
  apiVersion?: string;
  name: string;
  scope?: string;
  location?: string;
  kind?: string;
  copy?: { name: string; count: string | number };
  properties?: Record<string, Json>;
  [key: string]: Json | undefined;
}
export interface ArmTemplate {
  parameters?: Record<string, { type: string; defaultValue?: Json; metadata?: { description?: string } }>;
  variables?: Record<string, Json>;
  resources: ArmResource[] | Record<string, ArmResource>;
  outputs?: Record<string, { type: string; value: Json; metadata?: { description?: string } }>;
  [key: string]: unknown;
}
/** One resource of the compiled template, with the (nested) template it sits in. */
export interface Placed {
  /** `main`, or the module's short name (`storage`, `functionapp`, ...). */
  module: string;
  template: ArmTemplate;
  resource: ArmResource;
}

function newestInfraChange(): number {
  const walk = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((e) =>
        e.isDirectory() ? walk(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).mtimeMs,
      ),
    );
  return Math.max(walk(infraDir), statSync(path.join(repoRoot, 'tools', 'bicep', 'bicep.csproj')).mtimeMs);
}

function ensureBuilt(): void {
  const main = path.join(outDir, 'main.json');
  if (existsSync(main) && statSync(main).mtimeMs >= newestInfraChange()) return;
  try {
    execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'infra-build.mjs')], {
      cwd: repoRoot,
      stdio: 'pipe',
      encoding: 'utf8',
    });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`npm run infra:build failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

export function loadCompiled(): { main: ArmTemplate; parameterFiles: Map<string, Record<string, Json>> } {
  ensureBuilt();
  const main = JSON.parse(readFileSync(path.join(outDir, 'main.json'), 'utf8')) as ArmTemplate;
  const parameterFiles = new Map(
    readdirSync(outDir)
      .filter((f) => f.endsWith('.parameters.json'))
      .map((f) => {
        const doc = JSON.parse(readFileSync(path.join(outDir, f), 'utf8')) as {
          parameters: Record<string, Json>;
        };
        return [f, doc.parameters] as const;
      }),
  );
  return { main, parameterFiles };
}

export function resourcesOf(template: ArmTemplate): ArmResource[] {
  return Array.isArray(template.resources) ? template.resources : Object.values(template.resources);
}

export const isDeployment = (r: ArmResource) => r.type.toLowerCase() === 'microsoft.resources/deployments';

/** `[format('{0}-storage', deployment().name)]` -> `storage`. */
export function moduleName(deployment: ArmResource): string {
  const m = /'\{0\}-([\w-]+)'/.exec(deployment.name);
  if (!m) throw new Error(`cannot read the module name of ${deployment.name}`);
  return m[1]!;
}

export function nestedTemplate(deployment: ArmResource): ArmTemplate {
  return (deployment.properties as { template: ArmTemplate }).template;
}

/**
 * Every resource of the template and its modules. A `copy` loop over a literal variable array is expanded:
 * whole-string expressions `[variables('x')[copyIndex()].field]` become the item's field.
 */
export function flatten(main: ArmTemplate): Placed[] {
  const out: Placed[] = [];
  const visit = (template: ArmTemplate, module: string) => {
    for (const resource of resourcesOf(template)) {
      if (isDeployment(resource)) visit(nestedTemplate(resource), moduleName(resource));
      else for (const r of expandCopy(template, resource)) out.push({ module, template, resource: r });
    }
  };
  visit(main, 'main');
  return out;
}

function expandCopy(template: ArmTemplate, resource: ArmResource): ArmResource[] {
  if (!resource.copy) return [resource];
  const source = /^\[length\(variables\('(\w+)'\)\)\]$/.exec(String(resource.copy.count))?.[1];
  const items = source ? template.variables?.[source] : undefined;
  if (!Array.isArray(items)) return [resource];
  const pattern = new RegExp(`^\\[variables\\('${source}'\\)\\[copyIndex\\(\\)\\](?:\\.(\\w+))?\\]$`);
  const substitute = (value: Json, item: Json): Json => {
    if (typeof value === 'string') {
      const m = pattern.exec(value);
      if (!m) return value;
      return m[1] ? (item as Record<string, Json>)[m[1]]! : item;
    }
    if (Array.isArray(value)) return value.map((v) => substitute(v, item));
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, item)]));
    return value;
  };
  return items.map((item) => substitute(resource as unknown as Json, item) as unknown as ArmResource);
}

export function ofType(placed: Placed[], type: string): Placed[] {
  return placed.filter((p) => p.resource.type.toLowerCase() === type.toLowerCase());
}

/** Inlines `variables('x')` whose value is an expression or a string (one level deep is all we use). */
export function inlineVariables(expression: string, template: ArmTemplate): string {
  return expression.replace(/variables\('(\w+)'\)/g, (whole, name: string) => {
    const value = template.variables?.[name];
    if (typeof value !== 'string') return whole;
    return value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : `'${value}'`;
  });
}

/** The resource type an expression `[resourceId('<type>', ...)]` (or `resourceId(...)` inside) names. */
export function resourceIdType(expression: string | undefined): string | undefined {
  return /^\[?resourceId\('([^']+)'/.exec(expression ?? '')?.[1];
}

export function get(value: unknown, dotted: string): Json | undefined {
  let current: unknown = value;
  for (const key of dotted.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current as Json | undefined;
}

/** A property as text: strings as they are, anything else as JSON (absent: ''). */
export function text(value: unknown, dotted: string): string {
  const found = get(value, dotted);
  if (found === undefined) return '';
  return typeof found === 'string' ? found : JSON.stringify(found);
}

export function appSettings(site: ArmResource): Map<string, string> {
  const list = (get(site, 'properties.siteConfig.appSettings') ?? []) as { name: string; value: string }[];
  return new Map(list.map((s) => [s.name, String(s.value)]));
}

/** The module deployment resource `name` of the main template (`storage`, `functionapp`, ...). */
export function moduleDeployment(main: ArmTemplate, name: string): ArmResource {
  const found = resourcesOf(main).find((r) => isDeployment(r) && moduleName(r) === name);
  if (!found) throw new Error(`main.bicep has no module ${name}`);
  return found;
}

export function moduleParameter(main: ArmTemplate, module: string, parameter: string): string | undefined {
  const value = get(moduleDeployment(main, module), `properties.parameters.${parameter}.value`);
  return value === undefined ? undefined : JSON.stringify(value);
}

/** A deep copy to break on purpose: each guard must reject it. */
export function copyOf(main: ArmTemplate): ArmTemplate {
  return structuredClone(main);
}

/** The one resource of `type` in `module` of a (copied) template, to change in place. */
export function the(template: ArmTemplate, type: string, module?: string): ArmResource {
  const found = ofType(flatten(template), type).filter((p) => module === undefined || p.module === module);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0]!.resource;
}

/** Removes resources of `type` (in `module`, if given) from a (copied) template. */
export function without(template: ArmTemplate, type: string, module?: string): ArmTemplate {
  const strip = (t: ArmTemplate, name: string) => {
    const keep = (r: ArmResource) =>
      !(r.type.toLowerCase() === type.toLowerCase() && (module === undefined || module === name));
    if (Array.isArray(t.resources)) t.resources = t.resources.filter(keep);
    else t.resources = Object.fromEntries(Object.entries(t.resources).filter(([, r]) => keep(r)));
    for (const r of resourcesOf(t)) if (isDeployment(r)) strip(nestedTemplate(r), moduleName(r));
  };
  strip(template, 'main');
  return template;
}
