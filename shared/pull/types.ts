import type { HttpClient } from '@azure/core-rest-pipeline';

import type { ConfigDocument, PullConfig } from '../config/document.js';
import type { SecretSource } from '../ports/secrets.js';
import type { SourceFormat } from '../sources/index.js';

/** What a connector run may do; the driver (run.ts) owns the cursor row and the ingest path. */
export interface PullContext<T extends PullConfig = PullConfig> {
  /** The configured source name, used as the verdicts' `source`. */
  source: string;
  pull: T;
  config: ConfigDocument;
  /** End of the last window fully read, undefined on the first run. */
  readThrough: string | undefined;
  secrets: SecretSource;
  identityHttpClient?: HttpClient | undefined;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  abortSignal?: AbortSignal | undefined;
  log: (line: string) => void;
  /**
   * Each native event through the same validation and `(source, eventId)` idempotency as a POST;
   * resolves once every one is durably accepted (or refused as invalid, which no retry would change).
   */
  ingest(
    events: unknown[],
    format: SourceFormat,
    eventId?: (change: { eventId: string }) => string,
  ): Promise<void>;
  /** Everything up to `readThrough` is ingested: the cursor may move there (never further). */
  advance(readThrough: string): Promise<void>;
  /** The platform asked for quiet until then (a rate-limit reset): the next run waits for it. */
  notBefore(at: Date): void;
}

export type PullConnector<T extends PullConfig = PullConfig> = (context: PullContext<T>) => Promise<void>;

/** Windows overlap by this much, so an event indexed late at a window's edge is read on the next poll. */
export const overlapMs = 5 * 60_000;
/** How far back the first run of a connector reads. */
export const firstLookbackMs = 60 * 60_000;

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Where a run starts reading: the cursor less the overlap, or the first look-back. */
export function startOf(context: PullContext): number {
  const now = context.now().getTime();
  return context.readThrough === undefined
    ? now - firstLookbackMs
    : Math.min(Date.parse(context.readThrough) - overlapMs, now);
}

/** Only links to the configured host are followed: a paging link never carries the credentials elsewhere. */
export function sameOrigin(link: string, baseUrl: string): boolean {
  try {
    return new URL(link).origin === new URL(baseUrl).origin;
  } catch {
    return false;
  }
}
