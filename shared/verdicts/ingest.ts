import { queues } from '../bindings.js';
import { ValidationError } from '../errors.js';
import type { CallOptions } from '../ports/mail.js';
import type { QueueSender } from '../ports/queue.js';
import type { ResultStore } from '../ports/results.js';
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
  return {
    changes: normalised.changes.map((c) => verdictChangeSchema.parse(c)),
    isArray: true,
    format: chosen,
    notes: normalised.notes,
  };
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

/**
 * Accepts verdict changes: each `(source, eventId)` is claimed, then all are enqueued in one send.
 * Only after the queue took them are they recorded as accepted; if the queue refuses, the claims
 * are released and the error propagates, so nothing is recorded and a retry starts afresh.
 */
export async function acceptVerdicts(
  changes: VerdictChange[],
  deps: IngestDeps,
  options?: CallOptions,
): Promise<AcceptedVerdict[]> {
  const now = deps.now ?? (() => new Date());
  const acceptedAt = now();
  const claims: (AcceptedVerdict & { message: VerdictMessage })[] = [];
  for (const change of changes) {
    const claim = await deps.store.claimEvent(
      change.source,
      change.eventId,
      newVerdictId(acceptedAt),
      options,
    );
    claims.push({
      ...claim,
      message: { verdictId: claim.verdictId, acceptedAt: acceptedAt.toISOString(), change },
    });
  }
  try {
    // Repeats are sent again with the same message id: if the first send never landed this one does,
    // and if it did, Service Bus duplicate detection drops it.
    await deps.queue.send(
      queues.verdicts.name,
      claims.map((c) => ({ body: c.message, messageId: c.verdictId })),
      options,
    );
  } catch (error) {
    await Promise.allSettled(
      claims
        .filter((c) => c.created)
        .map((c) => deps.store.releaseEvent(c.message.change.source, c.message.change.eventId)),
    );
    throw error;
  }
  for (const c of claims.filter((x) => x.created)) {
    await deps.store.createVerdict(
      acceptedVerdictRecord(c.verdictId, c.message.change, c.message.acceptedAt),
      options,
    );
  }
  return claims.map(({ verdictId, created }) => ({ verdictId, created }));
}
