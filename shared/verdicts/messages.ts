import { z } from 'zod';

import { actionNames, modes, verdictChangeSchema, verdictValues } from './schema.js';

/** Body of a `verdicts` queue message: one accepted verdict change. */
export const verdictMessageSchema = z.object({
  verdictId: z.string().min(1),
  acceptedAt: z.string().datetime(),
  change: verdictChangeSchema,
});
export type VerdictMessage = z.infer<typeof verdictMessageSchema>;

/** Body of a `remediations` queue message: one (verdict, recipient, message) to act on. */
export const remediationMessageSchema = z.object({
  verdictId: z.string().min(1),
  rowKey: z.string().min(1),
  recipient: z.string().min(1),
  /** Empty when the source gave none: the backend then finds the copy by sender, subject and time. */
  internetMessageId: z.string(),
  verdict: z.enum(verdictValues),
  action: z.enum(actionNames),
  mode: z.enum(modes),
  /** The threat's partition in `RemediatedCopies` (what a clean verdict restores from). */
  threatKey: z.string().min(1),
  /** 1 for the first try; a scheduled retry carries the next number. */
  attempt: z.number().int().min(1),
  /** Deliveries of this attempt that ended in an exception and were rescheduled with backoff. */
  failures: z.number().int().min(0).optional(),
  sender: z.string().optional(),
  subject: z.string().optional(),
  receivedAt: z.string().optional(),
  /**
   * The row's ETag when this fan-out created it: the first delivery leases the row with it, without
   * reading it first (a conflict means the row changed, and the delivery reads it as any other would).
   */
  rowEtag: z.string().min(1).optional(),
  /** How many forwards away from a copy the verdict named (follow forwards: 1 or 2). */
  derivedDepth: z.number().int().min(1).max(2).optional(),
});
export type RemediationMessage = z.infer<typeof remediationMessageSchema>;
