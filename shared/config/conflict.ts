import type { ConfigVersionConflictError } from '../ports/config.js';

/** Detects the conflict by name, so it works across module copies (no instanceof across packages). */
export function isConfigVersionConflict(error: unknown): error is ConfigVersionConflictError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { name?: unknown }).name === 'ConfigVersionConflictError'
  );
}
