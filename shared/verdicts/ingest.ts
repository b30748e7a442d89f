import { queues } from '../bindings.js';
import { ValidationError } from '../errors.js';
import type { CallOptions } from '../ports/mail.js';
import type { QueueSender } from '../ports/queue.js';
import type { ResultStore, VerdictRecord } from '../ports/results.js';
import {
  detectFormat,
  isSourceFormat,
  normalise,
  type SourceFormat,
  sourceFormats,
} from '../sources/index.js';
import { newVerdictId } from './ids.js';
import { issuesOf } from './issues.js';
import type { VerdictMessage } from './messages.js';
import { acceptedVerdictRecord } from './record.js';
import { limits, type VerdictChange, verdictChangeSchema } from './schema.js';

/**
 * Validates a parsed body: one verdict change or an array of 1–100. Every problem in every element
 * is reported, with its path, in one ValidationError.
 */
export function parseVerdictBody(body: unknown): { changes: VerdictChange[]; isArray: boolean } {
  if (Array.isArray(body)) {
    if (body.length === 0)
      throw new ValidationError('The request holds no verdicts.', [
        { path: '$', message: 'must hold at least one verdict' },
      ]);
    if (body.length > limits.maxVerdictsPerRequest)
      throw new ValidationError('The request holds too many verdicts.', [
        {
          path: '$',
          message: `must hold at most ${limits.maxVerdictsPerRequest} verdicts (got ${body.length})`,
        },
      ]);
    const details: { path: string; message: string }[] = [];
    const changes: VerdictChange[] = [];
    body.forEach((element, index) => {
      const parsed = verdictChangeSchema.safeParse(element);
      if (parsed.success) changes.push(parsed.data);
      else details.push(...issuesOf(parsed.error, [index]));
    });
    if (details.length > 0)
      throw new ValidationError(`${details.length} problem(s) in the verdicts.`, details);
    return { changes, isArray: true };
  }
  const parsed = verdictChangeSchema.safeParse(body);
  if (!parsed.success) {
    const details = issuesOf(parsed.error);
    throw new ValidationError(`${details.length} problem(s) in the verdict.`, details);
  }
  return { changes: [parsed.data], isArray: false };
}

/**
 * A request body in any recognised format → validated generic verdict changes. `format` comes from
 * `?format=`; without it the shape decides. Native formats may yield no changes at all (an empty
 * polling window) and say in `notes` what they left out and why.
 */
export function parseAnyVerdictBody(
  body: unknown,
  format?: string | null,
): {
  changes: VerdictChange[];
  isArray: boolean;
  format: SourceFormat;
  notes: { path: string; message: string }[];
} {
  if (format !== undefined && format !== null && !isSourceFormat(format))
    throw new ValidationError(`Unknown format "${format}".`, [
      { path: 'format', message: `must be one of ${sourceFormats.join(', ')}` },
    ]);
  const chosen = format ?? detectFormat(body);
  if (chosen === 'generic') return { ...parseVerdictBody(body), format: chosen, notes: [] };
  const normalised = normalise(chosen, body);
  if (!normalised.ok)
    throw new ValidationError(
      `${normalised.details.length} problem(s) in the ${chosen} body.`,
      normalised.details,
    );
  const changes: VerdictChange[] = [];
  const details: { path: string; message: string }[] = [];
  normalised.changes.forEach((c, index) => {
    const parsed = verdictChangeSchema.safeParse(c);
    if (parsed.success) changes.push(parsed.data);
    else details.push(...issuesOf(parsed.error, [index]));
  });
  if (details.length > 0)
    throw new ValidationError(`${details.length} problem(s) in the ${chosen} body.`, details);
  return { changes, isArray: true, format: chosen, notes: normalised.notes };
}

export interface AcceptedVerdict {
  verdictId: string;
  /** false when `(source, eventId)` had been accepted before: the earlier verdict id is returned. */
  created: boolean;
}

export interface IngestDeps {
  store: ResultStore;
  queue: QueueSender;
  now?: () => Date;
}

type Claim = { verdictId: string; created: boolean };

function claimAll(
  changes: VerdictChange[],
  verdictId: () => string,
  deps: IngestDeps,
  options?: CallOptions,
) {
  const claims = changes.map((c) => ({ source: c.source, eventId: c.eventId, verdictId: verdictId() }));
  if (deps.store.claimEvents) return deps.store.claimEvents(claims, options);
  return Promise.all(claims.map((c) => deps.store.claimEvent(c.source, c.eventId, c.verdictId, options)));
}

async function recordAll(records: VerdictRecord[], deps: IngestDeps, options?: CallOptions): Promise<void> {
  if (records.length === 0) return;
  if (deps.store.createVerdicts) await deps.store.createVerdicts(records, options);
  else await Promise.all(records.map((r) => deps.store.createVerdict(r, options)));
}

export interface AcceptVerdictsOptions extends CallOptions {
  /**
   * Runs once the new verdicts are enqueued, alongside their record (the ingest's `accepted` audit
   * rows): the call settles when both have. It must not reject.
   */
  alongsideRecord?: (accepted: AcceptedVerdict[]) => Promise<void>;
}

/**
 * Accepts verdict changes: each `(source, eventId)` is claimed, the new ones are enqueued in one send,
 * and only then recorded as accepted. A repeat whose verdict is recorded starts nothing, however late it
 * comes; a repeat whose verdict is not (its first request died between claim and record, or is still
 * running) is sent again under the same message id, which Service Bus drops if the first send landed.
 * If the queue refuses, the new claims are released and the error propagates: nothing is recorded.
 */
export async function acceptVerdicts(
  changes: VerdictChange[],
  deps: IngestDeps,
  { alongsideRecord, ...options }: AcceptVerdictsOptions = {},
): Promise<AcceptedVerdict[]> {
  const acceptedAt = (deps.now ?? (() => new Date()))();
  // The same event twice in one call (an array, or two requests batched together) is claimed once.
  const first = new Map<string, number>();
  const owner = changes.map((c, i) => {
    const key = `${c.source}\n${c.eventId}`;
    const seen = first.get(key);
    if (seen !== undefined) return seen;
    first.set(key, i);
    return i;
  });
  const unique = [...first.values()];
  const claimed = await claimAll(
    unique.map((i) => changes[i]!),
    () => newVerdictId(acceptedAt),
    deps,
    options,
  );
  const claims = new Map<number, Claim>(unique.map((i, n) => [i, claimed[n]!]));
  const unrecorded = await Promise.all(
    unique.map(async (i) => {
      const claim = claims.get(i)!;
      return claim.created || !(await deps.store.getVerdict(claim.verdictId, options));
    }),
  );
  const toSend = unique.filter((_, n) => unrecorded[n]);
  const messages: VerdictMessage[] = toSend.map((i) => ({
    verdictId: claims.get(i)!.verdictId,
    acceptedAt: acceptedAt.toISOString(),
    change: changes[i]!,
  }));
  try {
    if (messages.length > 0)
      await deps.queue.send(
        queues.verdicts.name,
        messages.map((m) => ({ body: m, messageId: m.verdictId })),
        options,
      );
  } catch (error) {
    await Promise.allSettled(
      unique
        .filter((i) => claims.get(i)!.created)
        .map((i) => deps.store.releaseEvent(changes[i]!.source, changes[i]!.eventId)),
    );
    throw error;
  }
  const accepted = changes.map((_, i) => {
    const claim = claims.get(owner[i]!)!;
    return { verdictId: claim.verdictId, created: claim.created && owner[i] === i };
  });
  await Promise.all([
    recordAll(
      messages.map((m) => acceptedVerdictRecord(m.verdictId, m.change, m.acceptedAt)),
      deps,
      options,
    ),
    alongsideRecord?.(accepted),
  ]);
  return accepted;
}
