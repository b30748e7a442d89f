import { z } from 'zod';

import { actionNames } from '../verdicts/schema.js';

/**
 * `sources[].pull` (SPEC §4, §9): a platform Clawback polls itself. Built from the document's own
 * field schemas (secret references, https-or-loopback URLs, profile names) so the rules stay one.
 */
export function pullSchemaOf<S extends z.ZodTypeAny, U extends z.ZodTypeAny, P extends z.ZodTypeAny>(fields: {
  secretRef: S;
  httpsUrl: U;
  profileName: P;
}) {
  /** What every pull connector shares: how often it polls, and the action it asks policy for. */
  const common = {
    intervalSeconds: z.number().int().min(30).max(3600).default(60),
    action: z.enum(actionNames).optional(),
  };
  return z.discriminatedUnion('type', [
    z
      .object({
        type: z.literal('proofpoint-tap'),
        baseUrl: fields.httpsUrl.default('https://tap-api-v2.proofpoint.com'),
        principal: z.string().min(1).max(256),
        secret: fields.secretRef,
        ...common,
      })
      .strict(),
    z
      .object({
        type: z.literal('cisco-secure-endpoint'),
        baseUrl: fields.httpsUrl.default('https://api.amp.cisco.com'),
        clientId: z.string().min(1).max(256),
        apiKey: fields.secretRef,
        eventTypes: z.array(z.number().int().positive()).min(1).max(20).default([553648147, 1090519054]),
        ...common,
      })
      .strict(),
    z
      .object({
        type: z.literal('defender'),
        profile: fields.profileName,
        /** Default: the profile's Graph endpoint. */
        baseUrl: fields.httpsUrl.optional(),
        ...common,
      })
      .strict(),
  ]);
}
