import { auditAfter } from '../audit/events.js';
import type { SecretRef } from '../config/document.js';
import { ensureError, type ValidationError } from '../errors.js';
import type { AuditLog } from '../ports/audit.js';
import type { ConfigStore } from '../ports/config.js';
import type { QueueSender } from '../ports/queue.js';
import type { ResultStore } from '../ports/results.js';
import type { SecretSource } from '../ports/secrets.js';
import { type AcceptedVerdict, acceptVerdicts, parseAnyVerdictBody } from '../verdicts/ingest.js';
import type { VerdictChange } from '../verdicts/schema.js';
import { checkSources, type SignedSource, signersFor } from '../verdicts/signature.js';

export interface AcceptVerdictsDeps {
  store: ResultStore;
  queue: QueueSender;
  configStore: ConfigStore;
  secrets: SecretSource;
  now?: () => Date;
  /** Issue 13: each newly accepted verdict is audited as accepted from `who`; a failed audit write only warns. */
  audit?: { log: AuditLog | undefined; who: string; warn: (line: string) => void };
}

export interface VerdictRequest {
  /** The parsed JSON body. */
  body: unknown;
  /** The bytes the signature covers. */
  rawBody: Buffer;
  /** `?format=`, when given. */
  format: string | null;
  /** `X-Clawback-Signature`, when given. */
  signature: string | null;
}

type Problem = { path: string; message: string };

export type AcceptVerdictsOutcome =
  | { kind: 'invalid'; message: string; details: Problem[] }
  | { kind: 'unauthorized'; message: string }
  | { kind: 'secretUnavailable'; cause: Error }
  | { kind: 'queueUnavailable'; cause: Error }
  /** `verdicts` is empty when a native body held nothing to act on; `notes` says why. */
  | { kind: 'accepted'; isArray: boolean; verdicts: AcceptedVerdict[]; notes: Problem[] };

async function authorize(
  request: VerdictRequest,
  changes: VerdictChange[],
  deps: AcceptVerdictsDeps,
): Promise<AcceptVerdictsOutcome | undefined> {
  const stored = await deps.configStore.get();
  const required = signersFor<SecretRef>(
    changes.map((c) => c.source),
    {
      sources: stored?.document.sources ?? [],
      requireSignature: stored?.document.settings.requireSignature ?? false,
    },
  );
  if (!required.ok) return { kind: 'unauthorized', message: required.message };
  if (required.signers.length === 0) return undefined;
  let signed: SignedSource[];
  try {
    signed = await Promise.all(
      required.signers.map(async (s) => ({
        name: s.name,
        secret: (await deps.secrets.getSecret(s.secretRef)).value,
      })),
    );
  } catch (error) {
    return { kind: 'secretUnavailable', cause: ensureError(error) };
  }
  const check = checkSources(request.signature, request.rawBody, signed);
  return check.ok ? undefined : { kind: 'unauthorized', message: check.message };
}

interface Waiting {
  changes: VerdictChange[];
  audit: AcceptVerdictsDeps['audit'];
  resolve: (accepted: AcceptedVerdict[]) => void;
  reject: (error: unknown) => void;
}

/** A flush takes whole requests until it holds this many verdict changes. */
const maxChangesPerFlush = 200;

/** Each request's share of a flush's accepted verdicts: the flush accepts them in batch order. */
function perRequest(batch: Waiting[], accepted: AcceptedVerdict[]): AcceptedVerdict[][] {
  let offset = 0;
  return batch.map((w) => accepted.slice(offset, (offset += w.changes.length)));
}

/** The `accepted` audit rows of a flush's requests, each under its own caller, issued together. */
async function auditBatch(batch: Waiting[], accepted: AcceptedVerdict[]): Promise<void> {
  await Promise.all(
    perRequest(batch, accepted).map((mine, i) => {
      const w = batch[i]!;
      return w.audit ? auditAccepted(w.changes, mine, w.audit) : Promise.resolve();
    }),
  );
}

/**
 * Group commit: requests that arrive while a flush is running wait for the next one, which claims,
 * enqueues and records all their verdicts together (one claim transaction per source, one send, one
 * verdict transaction, and alongside the record the batch's `accepted` audit rows in one
 * transaction). An idle service flushes at once, so a lone request waits for nobody. Each request is
 * still answered only after its own verdicts are claimed, enqueued and recorded.
 */
class IngestBatcher {
  private readonly waiting: Waiting[] = [];
  private flushing = false;

  constructor(private readonly deps: AcceptVerdictsDeps) {}

  accept(changes: VerdictChange[], audit: AcceptVerdictsDeps['audit']): Promise<AcceptedVerdict[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ changes, audit, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.waiting.length > 0) {
      const batch: Waiting[] = [];
      let size = 0;
      while (this.waiting.length > 0 && (batch.length === 0 || size < maxChangesPerFlush)) {
        const next = this.waiting.shift()!;
        batch.push(next);
        size += next.changes.length;
      }
      try {
        const accepted = await acceptVerdicts(
          batch.flatMap((w) => w.changes),
          this.deps,
          { alongsideRecord: (all) => auditBatch(batch, all) },
        );
        perRequest(batch, accepted).forEach((mine, i) => batch[i]!.resolve(mine));
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    this.flushing = false;
  }
}

const batchers = new WeakMap<ResultStore, WeakMap<QueueSender, IngestBatcher>>();

function batcherFor(deps: AcceptVerdictsDeps): IngestBatcher {
  let byQueue = batchers.get(deps.store);
  if (!byQueue) batchers.set(deps.store, (byQueue = new WeakMap()));
  let batcher = byQueue.get(deps.queue);
  if (!batcher) byQueue.set(deps.queue, (batcher = new IngestBatcher(deps)));
  return batcher;
}

/**
 * POST /api/verdicts as a use case (SPEC §2): validate the body in any recognised format, check the
 * sources' signatures, then claim, enqueue and record every verdict change. Nothing is acknowledged
 * before it is durably enqueued; nothing is written or enqueued for a refused request.
 */
export async function acceptVerdictRequest(
  request: VerdictRequest,
  deps: AcceptVerdictsDeps,
): Promise<AcceptVerdictsOutcome> {
  let parsed: ReturnType<typeof parseAnyVerdictBody>;
  try {
    parsed = parseAnyVerdictBody(request.body, request.format);
  } catch (error) {
    const e = ensureError(error);
    if (e.name !== 'ValidationError') throw e;
    return { kind: 'invalid', message: e.message, details: (e as ValidationError).details };
  }
  if (parsed.changes.length === 0)
    return { kind: 'accepted', isArray: true, verdicts: [], notes: parsed.notes };
  const refused = await authorize(request, parsed.changes, deps);
  if (refused) return refused;
  let verdicts: AcceptedVerdict[];
  try {
    verdicts = await batcherFor(deps).accept(parsed.changes, deps.audit);
  } catch (error) {
    return { kind: 'queueUnavailable', cause: ensureError(error) };
  }
  return { kind: 'accepted', isArray: parsed.isArray, verdicts, notes: parsed.notes };
}

/** Issue 13: one `accepted` audit row per verdict this request created (a repeat adds none). */
function auditAccepted(
  changes: VerdictChange[],
  verdicts: AcceptedVerdict[],
  audit: NonNullable<AcceptVerdictsDeps['audit']>,
): Promise<void> {
  const entries = verdicts.flatMap((a, i) => {
    const change = changes[i];
    return a.created && change
      ? [
          {
            who: audit.who,
            what: 'accepted' as const,
            verdictId: a.verdictId,
            detail: `${change.verdict} from ${change.source}, event ${change.eventId}`,
          },
        ]
      : [];
  });
  return auditAfter(audit.log, entries, audit.warn);
}
