import { z } from 'zod';

import { emailAddress, internetMessageIdSchema, limits } from './schema.js';

/**
 * One delivered message for the ledger (`POST /api/deliveries`): a mail gateway or the platform that
 * scanned it reports which threats (attachment hashes, URLs) reached which recipients. A later verdict
 * that names only the threat finds its copies here.
 */
export const deliverySchema = z
  .object({
    internetMessageId: internetMessageIdSchema,
    recipients: z
      .array(emailAddress)
      .min(1, 'must list at least one recipient')
      .max(limits.maxRecipientsPerMessage, `must list at most ${limits.maxRecipientsPerMessage} recipients`),
    sender: emailAddress.optional(),
    subject: z.string().max(2048).optional(),
    receivedAt: z.string().datetime({ offset: true, message: 'must be an ISO 8601 date-time' }).optional(),
    sha256: z
      .array(
        z
          .string()
          .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hexadecimal characters')
          .transform((v) => v.toLowerCase()),
      )
      .max(100, 'must list at most 100 hashes')
      .optional(),
    urls: z
      .array(z.string().url('must be an absolute URL').max(8192))
      .max(100, 'must list at most 100 URLs')
      .optional(),
  })
  .strict()
  .refine((d) => (d.sha256?.length ?? 0) + (d.urls?.length ?? 0) > 0, {
    message: 'must name at least one sha256 or url',
  });
export type Delivery = z.infer<typeof deliverySchema>;

/** One ledger row: a threat reached a recipient in a message. */
export interface DeliveryEntry {
  threatKey: string;
  internetMessageId: string;
  recipient: string;
  sender?: string | undefined;
  subject?: string | undefined;
  receivedAt?: string | undefined;
}
