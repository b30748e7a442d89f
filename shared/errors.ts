import { types } from 'node:util';

/**
 * The one error type adapters throw. `code` is a SPEC §3 failure reason, so a row's `Reason` column is
 * always `error.code`; `detail` is the sentence an operator reads in the `Detail` column.
 */
export const failureReasons = [
  'MessageNotFound',
  'InvalidMailbox',
  'MailboxInaccessible',
  'AuthenticationError',
  'PermissionError',
  'ConnectionError',
  'Throttled',
  'NoProfileMapped',
  'ConfigurationError',
  'Unknown',
] as const;
export type FailureReason = (typeof failureReasons)[number];

export interface ClawbackErrorOptions {
  retryable?: boolean;
  /** Server-requested wait before the next attempt (Retry-After, BackOffMilliseconds). */
  retryAfterMs?: number;
  cause?: unknown;
}

export class ClawbackError extends Error {
  override readonly name = 'ClawbackError';
  readonly code: FailureReason;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: FailureReason, detail: string, options: ClawbackErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }

  get detail(): string {
    return this.message;
  }
}

/** Detects the project's error by name and code, so it works across module copies. */
export function isClawbackError(value: unknown): value is ClawbackError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { name?: unknown }).name === 'ClawbackError' &&
    failureReasons.includes((value as { code?: FailureReason }).code as FailureReason)
  );
}

/** True for any native error, including subclasses and errors from another realm. */
export function isError(value: unknown): value is Error {
  return types.isNativeError(value);
}

/** Normalises anything thrown into an Error, for every catch boundary. */
export function ensureError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(`Non-error thrown: ${JSON.stringify(value)}`);
  } catch {
    return new Error(`Non-error thrown: ${String(value)}`);
  }
}

/** Any error as a ClawbackError; unknown failures become `Unknown` with their message kept. */
export function toClawbackError(value: unknown): ClawbackError {
  if (isClawbackError(value)) return value;
  const error = ensureError(value);
  return new ClawbackError('Unknown', `Unexpected error: ${error.message}`, { cause: error });
}

/** Thrown for invalid input at the edges (HTTP bodies, configuration documents). */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    message: string,
    readonly details: { path: string; message: string }[],
  ) {
    super(message);
  }
}
