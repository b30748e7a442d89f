import type { HttpClient } from '@azure/core-rest-pipeline';

import type { ConfigDocument, PullConfig } from '../config/document.js';
import { ensureError, toClawbackError, type ValidationError } from '../errors.js';
import type { CursorStore, SourceCursor } from '../ports/cursors.js';
import type { CallOptions } from '../ports/mail.js';
import type { QueueSender } from '../ports/queue.js';
import type { ResultStore } from '../ports/results.js';
import type { SecretSource } from '../ports/secrets.js';
import type { SourceFormat } from '../sources/index.js';
import { acceptVerdicts, parseAnyVerdictBody } from '../verdicts/ingest.js';
import { limits, type VerdictChange } from '../verdicts/schema.js';
import { pullCiscoSecureEndpoint } from './ciscoSecureEndpoint.js';
import { pullDefender } from './defender.js';
import { pullProofpointTap } from './proofpointTap.js';
import type { PullConnector, PullContext } from './types.js';

export interface PullDeps {
  store: ResultStore;
  queue: QueueSender;
  cursors: CursorStore;
  secrets: SecretSource;
  identityHttpClient?: HttpClient | undefined;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  log?: (line: string) => void;
}

export type PullOutcome =
  | { source: string; kind: 'notDue'; nextRunAt: string }
  | { source: string; kind: 'succeeded'; events: number; readThrough: string | undefined }
  | { source: string; kind: 'failed'; reason: string; detail: string; nextRunAt: string };

const connectors: { [K in PullConfig['type']]: PullConnector<Extract<PullConfig, { type: K }>> } = {
  'proofpoint-tap': pullProofpointTap,
  'cisco-secure-endpoint': pullCiscoSecureEndpoint,
  defender: pullDefender,
};

/** A failing connector waits twice as long after each failure, up to an hour, unless the platform said how long. */
const maxBackoffMs = 60 * 60_000;
/** The timer fires once a minute; a source is due a little before its interval is up, not a tick late. */
const dueSlackMs = 5_000;

/**
 * Runs every configured pull connector that is due, one after another; one failing never stops the
 * others. Each ends with its cursor row written: where it read to, and its last error.
 */
export async function pullSources(
  config: ConfigDocument,
  deps: PullDeps,
  options?: CallOptions,
): Promise<PullOutcome[]> {
  const outcomes: PullOutcome[] = [];
  for (const source of config.sources)
    if (source.pull) outcomes.push(await pullSource(source.name, source.pull, config, deps, options));
  return outcomes;
}

export async function pullSource(
  name: string,
  pull: PullConfig,
  config: ConfigDocument,
  deps: PullDeps,
  options?: CallOptions,
): Promise<PullOutcome> {
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? (() => undefined);
  const started = now();
  const cursor: SourceCursor = (await deps.cursors.get(name, options)) ?? {
    source: name,
    type: pull.type,
    eventsIngested: 0,
    consecutiveFailures: 0,
  };
  if (cursor.nextRunAt !== undefined && Date.parse(cursor.nextRunAt) > started.getTime())
    return { source: name, kind: 'notDue', nextRunAt: cursor.nextRunAt };
  cursor.type = pull.type;
  cursor.lastRunAt = started.toISOString();
  let events = 0;
  let quietUntil = 0;
  const context: PullContext = {
    source: name,
    pull,
    config,
    readThrough: cursor.readThrough,
    secrets: deps.secrets,
    identityHttpClient: deps.identityHttpClient,
    now,
    sleep: deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    abortSignal: options?.abortSignal,
    log,
    ingest: async (items, format, eventId) => {
      events += await ingestEvents(name, pull, items, format, eventId, deps, log, options);
    },
    advance: async (readThrough) => {
      // Never backwards: a window that ends before the cursor (the overlap) leaves it where it is.
      if (cursor.readThrough !== undefined && Date.parse(readThrough) <= Date.parse(cursor.readThrough))
        return;
      cursor.readThrough = readThrough;
      cursor.eventsIngested += events;
      events = 0;
      await deps.cursors.put(cursor, options);
    },
    notBefore: (at) => {
      quietUntil = Math.max(quietUntil, at.getTime());
    },
  };
  try {
    await (connectors[pull.type] as PullConnector)(context);
    const next = Math.max(started.getTime() + pull.intervalSeconds * 1000 - dueSlackMs, quietUntil);
    Object.assign(cursor, {
      eventsIngested: cursor.eventsIngested + events,
      consecutiveFailures: 0,
      lastSuccessAt: now().toISOString(),
      lastError: undefined,
      lastErrorDetail: undefined,
      nextRunAt: new Date(next).toISOString(),
    });
    await deps.cursors.put(cursor, options);
    log(`pull ${name}: read through ${cursor.readThrough ?? '(nothing)'}`);
    return { source: name, kind: 'succeeded', events, readThrough: cursor.readThrough };
  } catch (caught) {
    const error = toClawbackError(caught);
    const failures = cursor.consecutiveFailures + 1;
    const backoff =
      error.retryAfterMs ?? Math.min(pull.intervalSeconds * 1000 * 2 ** (failures - 1), maxBackoffMs);
    const nextRunAt = new Date(Math.max(now().getTime() + backoff, quietUntil)).toISOString();
    Object.assign(cursor, {
      eventsIngested: cursor.eventsIngested + events,
      consecutiveFailures: failures,
      lastError: error.code,
      lastErrorDetail: error.detail,
      lastErrorAt: now().toISOString(),
      nextRunAt,
    });
    await deps.cursors.put(cursor, options).catch(() => undefined);
    // Alert rules match "pull connector failed source=<name> reason=<code>"; keep the wording.
    log(
      `pull connector failed source=${name} reason=${error.code} failures=${failures} nextRunAt=${nextRunAt}: ${error.detail}`,
    );
    return { source: name, kind: 'failed', reason: error.code, detail: error.detail, nextRunAt };
  }
}

/**
 * The POST path for polled events: each native event is parsed and validated on its own by the same
 * function a POST body goes through, so one event Clawback cannot use is noted and skipped instead of
 * holding the window back forever; the valid ones are accepted with the same idempotency.
 */
async function ingestEvents(
  source: string,
  pull: PullConfig,
  items: unknown[],
  format: SourceFormat,
  eventId: ((change: { eventId: string }) => string) | undefined,
  deps: PullDeps,
  log: (line: string) => void,
  options?: CallOptions,
): Promise<number> {
  const changes: VerdictChange[] = [];
  for (const item of items) {
    try {
      for (const change of parseAnyVerdictBody(item, format).changes)
        changes.push({
          ...change,
          source,
          ...(eventId ? { eventId: eventId(change) } : {}),
          // The source's configured action is a request like a POST's `action`: policy still decides.
          ...(change.action === undefined && pull.action !== undefined ? { action: pull.action } : {}),
        });
    } catch (caught) {
      if (ensureError(caught).name !== 'ValidationError') throw caught;
      const error = caught as ValidationError;
      log(
        `pull ${source}: an event was left out: ${error.details.map((d) => `${d.path} ${d.message}`).join('; ')}`,
      );
    }
  }
  for (let i = 0; i < changes.length; i += limits.maxVerdictsPerRequest) {
    const accepted = await acceptVerdicts(changes.slice(i, i + limits.maxVerdictsPerRequest), deps, options);
    for (const a of accepted) if (a.created) log(`pull ${source}: verdict ${a.verdictId} accepted`);
  }
  return changes.length;
}

/** The connectors' state for the report: where each has read to, and its last error if it is failing. */
export async function sourceStatuses(cursors: CursorStore, options?: CallOptions): Promise<SourceCursor[]> {
  return (await cursors.list(options)).sort((a, b) => a.source.localeCompare(b.source));
}
