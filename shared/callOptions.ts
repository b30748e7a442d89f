import type { CallOptions } from './ports/mail.js';

/**
 * The abort signal of a call, as SDK options: absent rather than `undefined` when there is none
 * (the Azure SDK's option types are exact about optional properties).
 */
export function withSignal(options?: CallOptions | { abortSignal?: AbortSignal | undefined }): {
  abortSignal?: AbortSignal;
} {
  return options?.abortSignal ? { abortSignal: options.abortSignal } : {};
}
