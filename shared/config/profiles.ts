import { z } from 'zod';

/*
 * The connection profiles of the configuration document (SPEC §4) and the value types they are built
 * from; `document.ts` assembles the whole document around them.
 */

/** A reference to a secret; only `keyVaultSecret` is accepted when the app runs in Azure. */
export const secretRefSchema = z.union([
  z
    .object({ keyVaultSecret: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, 'must be a Key Vault secret name') })
    .strict(),
  z.object({ file: z.string().min(1) }).strict(),
  z
    .object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name') })
    .strict(),
]);
export type SecretRef = z.infer<typeof secretRefSchema>;

export const profileName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    'must be 1–63 lower-case letters, digits and -, starting with a letter or digit',
  );
export const mailbox = z
  .string()
  .regex(/^[^\s@]+@[^\s@]+$/, 'must be an e-mail address')
  .transform((v) => v.toLowerCase());

export const httpsOrLoopback = z
  .string()
  .url()
  .refine((value) => {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  }, 'must use https (http is allowed for loopback hosts only)');

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export const clouds = ['global', 'usgov', 'usgovdod', 'china'] as const;

export const graphProfileSchema = z
  .object({
    name: profileName,
    type: z.literal('graph'),
    tenantId: z.string().min(1),
    clientId: z.string().uuid('must be the application (client) id, a GUID'),
    certificate: secretRefSchema,
    cloud: z.enum(clouds).default('global'),
    authorityHost: httpsOrLoopback.nullish(),
    graphEndpoint: httpsOrLoopback.nullish(),
    quarantineTarget: z.enum(['folder', 'mailbox']).default('folder'),
    quarantineMailbox: mailbox.optional(),
    quarantineFolder: z.string().min(1).max(255).default('Clawback Quarantine'),
    folderPerRecipient: z.boolean().default(true),
    searchRecoverableItems: z.boolean().default(false),
    fallbackSearch: z.boolean().default(false),
    followForwards: z.boolean().default(false),
    /** An extra CA for a TLS-inspecting proxy or a sovereign endpoint, trusted besides Node's own. */
    trustedCa: secretRefSchema.optional(),
  })
  .strict();
export type GraphProfile = z.infer<typeof graphProfileSchema>;

export const ewsProfileSchema = z
  .object({
    name: profileName,
    type: z.literal('ews'),
    ewsUrl: httpsOrLoopback,
    username: z.string().min(1),
    password: secretRefSchema,
    auth: z.enum(['ntlm', 'basic']).default('ntlm'),
    access: z.enum(['impersonation', 'fullAccess']).default('impersonation'),
    trustedCa: secretRefSchema.optional(),
    quarantineTarget: z.enum(['folder', 'mailbox']).default('folder'),
    quarantineMailbox: mailbox.optional(),
    quarantineFolder: z.string().min(1).max(255).default('Clawback Quarantine'),
    folderPerRecipient: z.boolean().default(true),
    searchArchive: z.boolean().default(false),
    searchRecoverableItems: z.boolean().default(false),
    fallbackSearch: z.boolean().default(false),
    quarantineHeader: z.string().min(1).default('X-Clawback-Quarantined'),
    restoreHeader: z.string().min(1).default('X-Clawback-Restored'),
    followForwards: z.boolean().default(false),
  })
  .strict();
export type EwsProfile = z.infer<typeof ewsProfileSchema>;

export const profileSchema = z.discriminatedUnion('type', [graphProfileSchema, ewsProfileSchema]);
export type Profile = z.infer<typeof profileSchema>;
