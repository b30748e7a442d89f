import { types } from 'node:util';

/**
 * Every `ClawbackError` code with what it means and whether a retry can help (SPEC §3 failure reasons).
 * `retryable` is the default for the code; a thrower may still decide per case (a Graph 503 is a
 * retryable `ConnectionError`, a TLS name mismatch is not). docs/errors.md is checked against this table.
 */
export const failureReasonTable = {
  MessageNotFound: {
    retryable: false,
    meaning: 'The message is not (or no longer) in the mailbox, or not in the folder it was expected in.',
  },
  InvalidMailbox: {
    retryable: false,
    meaning: 'The recipient address does not resolve to a mailbox in the tenant or organisation.',
  },
  MailboxInaccessible: {
    retryable: false,
    meaning: 'The mailbox exists but cannot be opened (disabled, moved, on hold, or not licensed).',
  },
  AuthenticationError: {
    retryable: false,
    meaning: 'Getting a token or signing in failed: wrong tenant, client id, secret or certificate.',
  },
  PermissionError: {
    retryable: false,
    meaning: 'Signed in, but the app lacks the permission or impersonation right for the action.',
  },
  ConnectionError: {
    retryable: true,
    meaning: 'The service could not be reached or answered with a server error or an unreadable body.',
  },
  Throttled: {
    retryable: true,
    meaning: 'The service asked to slow down (HTTP 429, ServerBusy); retried after the wait it gave.',
  },
  NoProfileMapped: {
    retryable: false,
    meaning: 'No connection profile routes the recipient, so nothing can act on the mailbox.',
  },
  ConfigurationError: {
    retryable: false,
    meaning: 'A setting or the applied configuration is missing or contradicts itself.',
  },
  Unknown: {
    retryable: false,
    meaning: 'An unexpected failure; the detail keeps the original message.',
  },
} as const satisfies Record<string, { retryable: boolean; meaning: string }>;

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
] as const satisfies readonly (keyof typeof failureReasonTable)[];
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

/** An Error from any realm or module copy (a vm context, a worker), without `instanceof`. */
export function isError(value: unknown): value is Error {
  return types.isNativeError(value) || hasName(value, undefined);
}

/** True for an object with a string `name` and `message` (and, when given, that exact name). */
function hasName(value: unknown, name: string | undefined): value is Error {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { name?: unknown; message?: unknown };
  return (
    typeof candidate.name === 'string' &&
    typeof candidate.message === 'string' &&
    (name === undefined || candidate.name === name)
  );
}

/** Type guard for an error class told apart by its `name`, the pattern every project error follows. */
export function isNamedError<T extends Error>(name: string): (value: unknown) => value is T {
  return (value: unknown): value is T => hasName(value, name);
}

/** Normalises anything thrown into an Error, for every catch boundary. */
export function ensureError(value: unknown): Error {
  if (isError(value)) return value;
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

export const isValidationError = isNamedError<ValidationError>('ValidationError');
