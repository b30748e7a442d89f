import type { CallOptions } from './mail.js';

/** One pull connector's row in `SourceCursors` (SPEC §5): where it has read to, and how it last fared. */
export interface SourceCursor {
  /** The configured source name (`sources[].name`). */
  source: string;
  type: string;
  /** End of the last window fully read and ingested; the next poll starts here, less an overlap. */
  readThrough?: string | undefined;
  /** Not before this time: the polling interval, a rate-limit reset or a failure's backoff. */
  nextRunAt?: string | undefined;
  lastRunAt?: string | undefined;
  lastSuccessAt?: string | undefined;
  /** Events the connector handed to ingest over its life (repeats included). */
  eventsIngested: number;
  consecutiveFailures: number;
  /** Failure reason code of the last failed run (SPEC §3 reasons); cleared by a success. */
  lastError?: string | undefined;
  lastErrorDetail?: string | undefined;
  lastErrorAt?: string | undefined;
}

export interface CursorStore {
  get(source: string, options?: CallOptions): Promise<SourceCursor | undefined>;
  /** Writes the whole row (one writer per source: the timer runs as a singleton). */
  put(cursor: SourceCursor, options?: CallOptions): Promise<void>;
  list(options?: CallOptions): Promise<SourceCursor[]>;
}
