import type { ApiClient } from './api.js';
import { CliError, exitCodes } from './api.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Progress bars only on a terminal. */
  isTty: boolean;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

export interface Context {
  api: ApiClient;
  io: CliIo;
  flags: Map<string, string | true>;
  json: boolean;
  /** `--all`: every row instead of the summary. */
  all: boolean;
}

export const print = (ctx: Context, value: unknown) => ctx.io.stdout(`${JSON.stringify(value, null, 2)}\n`);

export function arity(args: string[], names: string[]): string[] {
  if (args.length !== names.length)
    throw new CliError(`Expected ${names.map((n) => `<${n}>`).join(' ')}.`, exitCodes.usage);
  return args;
}

export const str = (flags: Map<string, string | true>, name: string): string | undefined => {
  const v = flags.get(name);
  return typeof v === 'string' ? v : undefined;
};

/** `a 3, b 1` for the non-zero counts, largest first. */
export function countsLine(counts: Record<string, number>): string {
  return (
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none'
  );
}

export function countBy<T>(
  items: readonly T[],
  key: (item: T) => string | undefined,
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const k = key(item);
    if (k !== undefined) counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

export interface FailureGroup<T> {
  reason: string;
  count: number;
  example: T;
}

/** Failures grouped by reason, largest group first, each with its first row as the example. */
export function groupFailures<T extends { reason?: string | undefined }>(
  rows: readonly T[],
): FailureGroup<T>[] {
  const groups = new Map<string, FailureGroup<T>>();
  for (const row of rows) {
    const reason = row.reason ?? 'Unknown';
    const group = groups.get(reason);
    if (group) group.count += 1;
    else groups.set(reason, { reason, count: 1, example: row });
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

/** Summaries stay short: the top groups, then how to see the rest. */
export const summaryGroups = 10;
