/** One line of a document diff: a path and what happened to its value. */
export interface Change {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Lists named things (profiles, chains, sources) by name and policies by verdict, so a reorder is not a change. */
function keyed(path: string, items: unknown[]): Map<string, unknown> | undefined {
  const key = path === 'policies' ? 'verdict' : 'name';
  if (!items.every((i) => isObject(i) && typeof i[key] === 'string')) return undefined;
  return new Map(items.map((i) => [String((i as Record<string, unknown>)[key]), i]));
}

function join(path: string, key: string): string {
  if (path === '') return key;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** Differences between two JSON documents, path by path, in a stable order. */
export function diffDocuments(before: unknown, after: unknown, path = ''): Change[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (before === undefined) return [{ path, kind: 'added', after }];
  if (after === undefined) return [{ path, kind: 'removed', before }];
  if (Array.isArray(before) && Array.isArray(after)) {
    const a = keyed(path, before);
    const b = keyed(path, after);
    if (a && b) {
      const keys = [...new Set([...a.keys(), ...b.keys()])];
      return keys.flatMap((k) => diffDocuments(a.get(k), b.get(k), `${path}[${k}]`));
    }
    return [{ path, kind: 'changed', before, after }];
  }
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => diffDocuments(before[k], after[k], join(path, k)));
  }
  return [{ path, kind: 'changed', before, after }];
}

export function formatChange(change: Change): string {
  const show = (v: unknown) => JSON.stringify(v);
  if (change.kind === 'added') return `+ ${change.path}: ${show(change.after)}`;
  if (change.kind === 'removed') return `- ${change.path}: ${show(change.before)}`;
  return `~ ${change.path}: ${show(change.before)} → ${show(change.after)}`;
}
