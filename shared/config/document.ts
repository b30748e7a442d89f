import { z } from 'zod';

import { actionNames, modes, verdictValues } from '../verdicts/schema.js';

/** A reference to a secret; only `keyVaultSecret` is accepted when the app runs in Azure. */
export const secretRefSchema = z.union([
  z.object({ keyVaultSecret: z.string().regex(/^[0-9a-zA-Z-]{1,127}$/, 'must be a Key Vault secret name') }).strict(),
  z.object({ file: z.string().min(1) }).strict(),
  z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name') }).strict(),
]);
export type SecretRef = z.infer<typeof secretRefSchema>;

const profileName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and -');
const mailbox = z
  .string()
  .regex(/^[^\s@]+@[^\s@]+$/, 'must be an e-mail address')
  .transform((v) => v.toLowerCase());

const httpsOrLoopback = z
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
  })
  .strict();
export type EwsProfile = z.infer<typeof ewsProfileSchema>;

export const profileSchema = z.discriminatedUnion('type', [graphProfileSchema, ewsProfileSchema]);
export type Profile = z.infer<typeof profileSchema>;

export const configDocumentSchema = z
  .object({
    settings: z
      .object({
        maxAttempts: z.number().int().min(1).max(5).default(3),
        graphTimeoutSeconds: z.number().int().min(15).max(90).default(30),
        ewsTimeoutSeconds: z.number().int().min(15).max(90).default(30),
        mode: z.enum(modes).default('enforce'),
      })
      .strict()
      .default({}),
    profiles: z.array(profileSchema).min(1, 'must define at least one profile'),
    chains: z
      .array(
        z
          .object({
            name: profileName,
            profiles: z.array(profileName).min(1).max(10, 'a chain lists at most 10 profiles'),
          })
          .strict(),
      )
      .max(5, 'at most 5 chains')
      .default([]),
    domains: z.record(z.string().min(1), profileName),
    policies: z
      .array(
        z
          .object({ verdict: z.enum(verdictValues), action: z.enum(actionNames), mode: z.enum(modes).optional() })
          .strict(),
      )
      .default([]),
    forwardTo: mailbox.optional(),
    sources: z
      .array(z.object({ name: z.string().min(1).max(64), signingSecret: secretRefSchema.optional() }).strict())
      .default([]),
  })
  .strict()
  .superRefine((doc, ctx) => {
    const names = new Set<string>();
    doc.profiles.forEach((p, i) => {
      if (names.has(p.name)) ctx.addIssue({ code: 'custom', path: ['profiles', i, 'name'], message: `duplicate profile name "${p.name}"` });
      names.add(p.name);
      if (p.quarantineTarget === 'mailbox' && !p.quarantineMailbox)
        ctx.addIssue({ code: 'custom', path: ['profiles', i, 'quarantineMailbox'], message: 'is required when quarantineTarget is "mailbox"' });
    });
    const chainNames = new Set<string>();
    doc.chains.forEach((c, i) => {
      if (names.has(c.name) || chainNames.has(c.name))
        ctx.addIssue({ code: 'custom', path: ['chains', i, 'name'], message: `name "${c.name}" is already used by a profile or chain` });
      chainNames.add(c.name);
      c.profiles.forEach((p, j) => {
        if (!names.has(p))
          ctx.addIssue({ code: 'custom', path: ['chains', i, 'profiles', j], message: `"${p}" is not a profile (chains list profiles only)` });
      });
    });
    const seenDomains = new Set<string>();
    for (const [domain, target] of Object.entries(doc.domains)) {
      const key = domain === 'ALL' ? domain : domain.toLowerCase();
      if (seenDomains.has(key)) ctx.addIssue({ code: 'custom', path: ['domains', domain], message: 'domain is mapped more than once' });
      seenDomains.add(key);
      if (!names.has(target) && !chainNames.has(target))
        ctx.addIssue({ code: 'custom', path: ['domains', domain], message: `"${target}" is neither a profile nor a chain` });
    }
    const policyVerdicts = new Set<string>();
    doc.policies.forEach((p, i) => {
      if (policyVerdicts.has(p.verdict)) ctx.addIssue({ code: 'custom', path: ['policies', i, 'verdict'], message: 'verdict has more than one policy' });
      policyVerdicts.add(p.verdict);
      if ((p.action === 'forward' || p.action === 'forwardAndDelete') && !doc.forwardTo)
        ctx.addIssue({ code: 'custom', path: ['policies', i, 'action'], message: 'forwarding needs forwardTo' });
    });
  });
export type ConfigDocument = z.infer<typeof configDocumentSchema>;
export type ConfigDocumentInput = z.input<typeof configDocumentSchema>;
