import { z } from 'zod';

export const verdictValues = ['malicious', 'suspicious', 'clean'] as const;
export type VerdictValue = (typeof verdictValues)[number];

export const actionNames = [
  'hardDelete',
  'softDelete',
  'moveToDeletedItems',
  'moveToJunk',
  'quarantine',
  'forward',
  'forwardAndDelete',
  'restore',
  'none',
] as const;
export type ActionName = (typeof actionNames)[number];

export const modes = ['enforce', 'simulate'] as const;
export type Mode = (typeof modes)[number];

export const limits = {
  maxBodyBytes: 1024 * 1024,
  maxVerdictsPerRequest: 100,
  maxMessagesPerVerdict: 1000,
  maxRecipientsPerMessage: 10_000,
  maxMessageIdLength: 998,
} as const;

// Deliberately plain: one local part, one domain with at least one dot or a single label host.
const emailPattern = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+$/;
// RFC 5322 msg-id: "<" id-left "@" id-right ">", no whitespace or CR/LF anywhere.
const messageIdPattern = /^<[^\s<>]+@[^\s<>]+>$/;
const isoDateTime = z.string().datetime({ offset: true, message: 'must be an ISO 8601 date-time' });

// C0, DEL and C1 controls, and UTF-16 halves without their other half (SPEC §2). Table Storage, OData
// filters and XML all choke on them, so they are refused at the door rather than escaped everywhere.
const controlOrLoneSurrogateSource =
  '[\\u0000-\\u001f\\u007f-\\u009f]|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]';
const controlOrLoneSurrogate = new RegExp(controlOrLoneSurrogateSource);
const controlOrLoneSurrogates = new RegExp(controlOrLoneSurrogateSource, 'g');

/** True when the text holds a control character (U+0000–U+001F, U+007F–U+009F) or a lone surrogate. */
export function hasControlCharacters(value: string): boolean {
  return controlOrLoneSurrogate.test(value);
}

/** Free text keeps its words: each control character or lone surrogate becomes a space. */
export function replaceControlCharacters(value: string): string {
  return value.replace(controlOrLoneSurrogates, ' ');
}

const controlMessage =
  'must not contain control characters (U+0000–U+001F, U+007F–U+009F) or lone surrogates';

/**
 * A string that names something (identifier, address, name): refused when it holds a control character,
 * checked before any trimming so `"a@b.example\n"` is refused, not silently repaired.
 */
export function identifierText<T extends z.ZodTypeAny>(inner: T) {
  return z
    .string()
    .refine((v) => !hasControlCharacters(v), controlMessage)
    .pipe(inner);
}

export const emailAddress = identifierText(
  z
    .string()
    .trim()
    .min(3)
    .max(320)
    .regex(emailPattern, 'must be an e-mail address')
    .transform((v) => v.toLowerCase()),
);

export const internetMessageIdSchema = identifierText(
  z
    .string()
    .max(limits.maxMessageIdLength, `must be at most ${limits.maxMessageIdLength} characters`)
    .refine((v) => messageIdPattern.test(v), 'must be an RFC 5322 message id like <id@host>'),
);

/** `source` names are compared trimmed and lower-cased everywhere, the signing-secret lookup included. */
export const sourceName = identifierText(
  z
    .string()
    .trim()
    .min(1)
    .max(64)
    .transform((v) => v.toLowerCase()),
);

export const threatSchema = z
  .object({
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hexadecimal characters')
      .transform((v) => v.toLowerCase())
      .optional(),
    url: identifierText(z.string().url('must be an absolute URL').max(8192)).optional(),
    filename: identifierText(z.string().min(1).max(1024)).optional(),
    name: identifierText(z.string().min(1).max(256)).optional(),
  })
  .strict()
  .refine((t) => t.sha256 !== undefined || t.url !== undefined, {
    message: 'must have at least one of sha256 or url',
  });

export const deliveredMessageSchema = z
  .object({
    // Empty or missing keeps the recipients: their copies are found by the fallback search or the ledger.
    internetMessageId: internetMessageIdSchema.or(z.literal('').transform(() => undefined)).optional(),
    recipients: z
      .array(emailAddress)
      .min(1, 'must list at least one recipient')
      .max(limits.maxRecipientsPerMessage, `must list at most ${limits.maxRecipientsPerMessage} recipients`),
    sender: emailAddress.optional(),
    subject: z.string().max(2048).transform(replaceControlCharacters).optional(),
    receivedAt: isoDateTime.optional(),
  })
  .strict();

export const verdictChangeSchema = z
  .object({
    eventId: identifierText(z.string().min(1).max(200)),
    source: sourceName,
    verdict: z.enum(verdictValues),
    previousVerdict: z.enum(verdictValues).optional(),
    observedAt: isoDateTime.optional(),
    threat: threatSchema,
    messages: z
      .array(deliveredMessageSchema)
      .max(limits.maxMessagesPerVerdict, `must list at most ${limits.maxMessagesPerVerdict} messages`)
      .optional(),
    action: z.enum(actionNames).optional(),
  })
  .strict();

export type VerdictChange = z.infer<typeof verdictChangeSchema>;
export type DeliveredMessage = z.infer<typeof deliveredMessageSchema>;

export const verdictRequestSchema = z.union([
  verdictChangeSchema,
  z
    .array(verdictChangeSchema)
    .min(1, 'must hold at least one verdict')
    .max(limits.maxVerdictsPerRequest, `must hold at most ${limits.maxVerdictsPerRequest} verdicts`),
]);
