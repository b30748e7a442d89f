import { randomUUID } from 'node:crypto';

/** A request as the sandbox's handlers see it, whether it came over the wire or as a `$batch` item. */
export interface SandboxRequest {
  method: string;
  /** Parsed against the origin the client used, so `searchParams` decodes `+` to a space as Graph does. */
  url: URL;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  body: Buffer;
  inBatch: boolean;
}

export interface SandboxResponse {
  status: number;
  headers: Record<string, string>;
  /** Serialised as JSON. */
  json?: unknown;
  /** Sent as is (MIME content). */
  text?: string;
}

export function jsonResponse(
  status: number,
  json: unknown,
  headers: Record<string, string> = {},
): SandboxResponse {
  return { status, headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers }, json };
}

export function emptyResponse(status: number, headers: Record<string, string> = {}): SandboxResponse {
  return { status, headers };
}

export function newRequestId(): string {
  return randomUUID();
}

/** Percent-decoding that leaves malformed sequences alone instead of throwing. */
export function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export function headerValue(headers: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : headers[key];
}
