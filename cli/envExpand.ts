import { CliError, exitCodes } from './api.js';

const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string of a configuration file with the caller's
 * environment, so one example file follows the ports a local run was started with. Only the CLI
 * expands; the app stores exactly what it is sent.
 */
export function expandEnvironment(value: unknown, env: NodeJS.ProcessEnv): unknown {
  const missing = new Set<string>();
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string')
      return node.replace(reference, (_match, name: string, fallback: string | undefined) => {
        const set = env[name];
        if (set !== undefined && set !== '') return set;
        if (fallback !== undefined) return fallback;
        missing.add(name);
        return '';
      });
    if (Array.isArray(node)) return node.map(walk);
    if (typeof node === 'object' && node !== null)
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
    return node;
  };
  const expanded = walk(value);
  if (missing.size > 0)
    throw new CliError(
      `The file refers to environment variables that are not set: ${[...missing].join(', ')} (write \${NAME:-default} for a default).`,
      exitCodes.invalid,
    );
  return expanded;
}
