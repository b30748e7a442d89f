import type { ZodError } from 'zod';

/** Zod issues as `{path, message}` with paths like `messages[0].recipients[2]` (`$` for the whole body). */
export function issuesOf(
  error: ZodError,
  prefix: (string | number)[] = [],
): { path: string; message: string }[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path];
    return {
      path:
        path.length === 0
          ? '$'
          : path
              .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
              .join('')
              .replace(/^\./, ''),
      message: issue.message,
    };
  });
}
