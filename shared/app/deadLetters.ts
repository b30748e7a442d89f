import { z } from 'zod';

import { queues } from '../bindings.js';
import type { DeadLetter, DeadLetterQueue, ReplayResult } from '../ports/deadLetters.js';
import type { CallOptions } from '../ports/mail.js';

export const deadLetterQueueNames: string[] = Object.values(queues).map((q) => q.name);
/** One call reads or replays at most this many dead letters per queue, so an answer stays small. */
export const maxDeadLettersPerCall = 500;

type Problem = { path: string; message: string };

export type ListDeadLettersResult =
  { kind: 'invalid'; message: string; problems: Problem[] } | { kind: 'listed'; deadLetters: DeadLetter[] };

/** Lists the dead letters of one queue, or of every queue when `queue` is empty. */
export async function listDeadLetters(
  args: { queue: string | null },
  deps: { deadLetters: DeadLetterQueue },
  options?: CallOptions,
): Promise<ListDeadLettersResult> {
  const { queue } = args;
  if (queue !== null && queue !== '' && !deadLetterQueueNames.includes(queue))
    return {
      kind: 'invalid',
      message: `There is no queue "${queue}".`,
      problems: [{ path: 'queue', message: `must be one of ${deadLetterQueueNames.join(', ')}` }],
    };
  const selected = queue === null || queue === '' ? deadLetterQueueNames : [queue];
  const deadLetters: DeadLetter[] = [];
  for (const name of selected)
    deadLetters.push(...(await deps.deadLetters.list(name, maxDeadLettersPerCall, options)));
  return { kind: 'listed', deadLetters };
}

const replaySchema = z
  .object({
    queue: z.enum(deadLetterQueueNames as [string, ...string[]]),
    messageIds: z.array(z.string().min(1)).min(1).max(maxDeadLettersPerCall).optional(),
  })
  .strict();

export type ReplayDeadLettersResult =
  | { kind: 'invalid'; message: string; problems: Problem[] }
  | ({ kind: 'replayed'; queue: string } & ReplayResult);

/**
 * Puts dead letters back on their queue (all of them, up to the per-call maximum, without
 * `messageIds`). The handlers are idempotent, so replaying work that had partly happened finishes it
 * without repeating an effect.
 */
export async function replayDeadLetters(
  args: { body: unknown },
  deps: { deadLetters: DeadLetterQueue },
  options?: CallOptions,
): Promise<ReplayDeadLettersResult> {
  const parsed = replaySchema.safeParse(args.body);
  if (!parsed.success)
    return {
      kind: 'invalid',
      message: 'Send {"queue": "<queue>", "messageIds": [...]} (messageIds optional).',
      problems: parsed.error.issues.map((i) => ({ path: i.path.join('.') || '$', message: i.message })),
    };
  const { queue, messageIds } = parsed.data;
  const result = await deps.deadLetters.replay(queue, messageIds, maxDeadLettersPerCall, options);
  return { kind: 'replayed', queue, ...result };
}
