import { domainToASCII } from 'node:url';

import { z, type ZodError } from 'zod';

import { actionNames, modes, verdictValues } from '../verdicts/schema.js';
import { httpsOrLoopback, mailbox, profileName, profileSchema, secretRefSchema } from './profiles.js';
import { pullSchemaOf } from './pull.js';

export {
  clouds,
  type EwsProfile,
  ewsProfileSchema,
  type GraphProfile,
  graphProfileSchema,
  isLoopbackHost,
  type Profile,
  profileSchema,
  type SecretRef,
  secretRefSchema,
} from './profiles.js';

/** Every limit of the configuration document, in one place, so the docs and the tests read the same numbers. */
export const configLimits = {
  maxAttempts: { min: 1, max: 5 },
  graphTimeoutSeconds: { min: 15, max: 90 },
  ewsTimeoutSeconds: { min: 15, max: 90 },
  profiles: { min: 1, max: 50 },
  chains: { max: 5 },
  chainProfiles: { min: 1, max: 10 },
  domains: { min: 1, max: 1000 },
  sources: { max: 50 },
  nameLength: { max: 63 },
  sourceNameLength: { max: 64 },
  approvalHours: { min: 1, max: 720 },
  retentionDays: { min: 1, max: 3650 },
  approvalAbove: { min: 0, max: 1_000_000 },
} as const;

/** The catch-all key of `domains`: recipients whose domain has no mapping of its own. */
export const catchAllDomain = 'ALL';

const settingsSchema = z
  .object({
    maxAttempts: z
      .number()
      .int()
      .min(configLimits.maxAttempts.min)
      .max(configLimits.maxAttempts.max)
      .default(3),
    graphTimeoutSeconds: z
      .number()
      .int()
      .min(configLimits.graphTimeoutSeconds.min)
      .max(configLimits.graphTimeoutSeconds.max)
      .default(30),
    ewsTimeoutSeconds: z
      .number()
      .int()
      .min(configLimits.ewsTimeoutSeconds.min)
      .max(configLimits.ewsTimeoutSeconds.max)
      .default(30),
    mode: z.enum(modes).default('enforce'),
    /** How long a verdict waits for approval before it expires as rejected. */
    approvalHours: z
      .number()
      .int()
      .min(configLimits.approvalHours.min)
      .max(configLimits.approvalHours.max)
      .default(24),
    /** Audit, ledger and cursor rows older than this many days are deleted. */
    retentionDays: z
      .number()
      .int()
      .min(configLimits.retentionDays.min)
      .max(configLimits.retentionDays.max)
      .default(90),
    /** Every verdict must be signed by a source declared in `sources` (SPEC §2). */
    requireSignature: z.boolean().default(false),
  })
  .strict();

const chainSchema = z
  .object({
    name: profileName,
    profiles: z
      .array(profileName)
      .min(configLimits.chainProfiles.min, 'a chain lists at least one profile')
      .max(
        configLimits.chainProfiles.max,
        `a chain lists at most ${configLimits.chainProfiles.max} profiles`,
      ),
  })
  .strict();

const policySchema = z
  .object({
    verdict: z.enum(verdictValues),
    action: z.enum(actionNames),
    mode: z.enum(modes).optional(),
    /** More recipients than this: simulate first and wait for an admin's approval. */
    approvalAbove: z
      .number()
      .int()
      .min(configLimits.approvalAbove.min)
      .max(configLimits.approvalAbove.max)
      .optional(),
  })
  .strict();

/** A platform Clawback polls itself (SPEC §9); `baseUrl` may point at a local fake over loopback http. */
export const pullSchema = pullSchemaOf({
  secretRef: secretRefSchema,
  httpsUrl: httpsOrLoopback,
  profileName,
});
export type PullConfig = z.infer<typeof pullSchema>;

const sourceSchema = z
  .object({
    name: z.string().min(1).max(configLimits.sourceNameLength.max),
    signingSecret: secretRefSchema.optional(),
    pull: pullSchema.optional(),
  })
  .strict();

const domainLabel = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A domain as routing compares it: lower case, IDN labels in punycode (`bücher.example` →
 * `xn--bcher-kva.example`). Undefined when it is not a host name with at least two labels.
 */
export function normalizeDomain(domain: string): string | undefined {
  const ascii = domainToASCII(domain.trim().toLowerCase().replace(/\.$/, ''));
  if (ascii === '' || ascii.length > 253) return undefined;
  const labels = ascii.split('.');
  return labels.length >= 2 && labels.every((l) => domainLabel.test(l)) ? ascii : undefined;
}

/** The key a `domains` entry is stored and looked up under: `ALL`, or the normalised domain. */
function domainKey(domain: string): string | undefined {
  return domain === catchAllDomain ? domain : normalizeDomain(domain);
}

export const configDocumentSchema = z
  .object({
    settings: settingsSchema.default({}),
    profiles: z
      .array(profileSchema)
      .min(configLimits.profiles.min, 'must define at least one profile')
      .max(configLimits.profiles.max, `must define at most ${configLimits.profiles.max} profiles`),
    chains: z
      .array(chainSchema)
      .max(configLimits.chains.max, `at most ${configLimits.chains.max} chains`)
      .default([]),
    domains: z
      .record(z.string(), profileName)
      .refine(
        (d) => Object.keys(d).length >= configLimits.domains.min,
        'must map at least one domain (or ALL)',
      )
      .refine(
        (d) => Object.keys(d).length <= configLimits.domains.max,
        `must map at most ${configLimits.domains.max} domains`,
      ),
    policies: z.array(policySchema).default([]),
    forwardTo: mailbox.optional(),
    sources: z
      .array(sourceSchema)
      .max(configLimits.sources.max, `must list at most ${configLimits.sources.max} sources`)
      .default([]),
  })
  .strict()
  .superRefine((doc, ctx) => {
    const names = new Set<string>();
    doc.profiles.forEach((p, i) => {
      if (names.has(p.name))
        ctx.addIssue({
          code: 'custom',
          path: ['profiles', i, 'name'],
          message: `duplicate profile name "${p.name}"`,
        });
      names.add(p.name);
      if (p.quarantineTarget === 'mailbox' && !p.quarantineMailbox)
        ctx.addIssue({
          code: 'custom',
          path: ['profiles', i, 'quarantineMailbox'],
          message: 'is required when quarantineTarget is "mailbox"',
        });
    });
    const chainNames = new Set(doc.chains.map((c) => c.name));
    const seenChains = new Set<string>();
    doc.chains.forEach((c, i) => {
      if (names.has(c.name) || seenChains.has(c.name))
        ctx.addIssue({
          code: 'custom',
          path: ['chains', i, 'name'],
          message: `name "${c.name}" is already used by a profile or chain`,
        });
      seenChains.add(c.name);
      const inChain = new Set<string>();
      c.profiles.forEach((p, j) => {
        if (chainNames.has(p) && !names.has(p))
          ctx.addIssue({
            code: 'custom',
            path: ['chains', i, 'profiles', j],
            message: `"${p}" is a chain; a chain lists profiles only, not other chains`,
          });
        else if (!names.has(p))
          ctx.addIssue({
            code: 'custom',
            path: ['chains', i, 'profiles', j],
            message: `"${p}" is not a defined profile`,
          });
        if (inChain.has(p))
          ctx.addIssue({
            code: 'custom',
            path: ['chains', i, 'profiles', j],
            message: `"${p}" is listed twice in the chain`,
          });
        inChain.add(p);
      });
    });
    const seenDomains = new Map<string, string>();
    for (const [domain, target] of Object.entries(doc.domains)) {
      const key = domainKey(domain);
      if (key === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['domains', domain],
          message:
            domain.toUpperCase() === catchAllDomain
              ? 'write the catch-all as "ALL" in capitals'
              : 'is not a domain name (e.g. contoso.com; internationalised names are accepted)',
        });
      } else {
        const earlier = seenDomains.get(key);
        if (earlier !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['domains', domain],
            message: `is the same domain as "${earlier}"; map each domain once`,
          });
        seenDomains.set(key, domain);
      }
      if (!names.has(target) && !chainNames.has(target))
        ctx.addIssue({
          code: 'custom',
          path: ['domains', domain],
          message: `"${target}" is neither a profile nor a chain`,
        });
    }
    const policyVerdicts = new Set<string>();
    doc.policies.forEach((p, i) => {
      if (policyVerdicts.has(p.verdict))
        ctx.addIssue({
          code: 'custom',
          path: ['policies', i, 'verdict'],
          message: 'verdict has more than one policy',
        });
      policyVerdicts.add(p.verdict);
      if ((p.action === 'forward' || p.action === 'forwardAndDelete') && !doc.forwardTo)
        ctx.addIssue({
          code: 'custom',
          path: ['policies', i, 'action'],
          message: 'forwarding needs forwardTo',
        });
      if (p.action === 'restore' && p.verdict !== 'clean')
        ctx.addIssue({
          code: 'custom',
          path: ['policies', i, 'action'],
          message: 'restore undoes a remediation and belongs to the "clean" verdict only',
        });
      if (p.verdict === 'clean' && p.action !== 'restore' && p.action !== 'none')
        ctx.addIssue({
          code: 'custom',
          path: ['policies', i, 'action'],
          message: 'a clean verdict can only restore (or do nothing); it never removes mail',
        });
    });
    const sourceNames = new Set<string>();
    doc.sources.forEach((s, i) => {
      if (sourceNames.has(s.name))
        ctx.addIssue({
          code: 'custom',
          path: ['sources', i, 'name'],
          message: `duplicate source "${s.name}"`,
        });
      sourceNames.add(s.name);
      const pull = s.pull;
      if (pull?.type === 'defender' && doc.profiles.find((p) => p.name === pull.profile)?.type !== 'graph')
        ctx.addIssue({
          code: 'custom',
          path: ['sources', i, 'pull', 'profile'],
          message: `"${pull.profile}" is no Graph profile of this document; Defender alerts are read through a Graph profile's credential`,
        });
    });
  })
  .transform((doc) => ({
    ...doc,
    domains: Object.fromEntries(Object.entries(doc.domains).map(([d, t]) => [domainKey(d) ?? d, t])),
  }));
export type ConfigDocument = z.output<typeof configDocumentSchema>;
export type ConfigDocumentInput = z.input<typeof configDocumentSchema>;

export interface ConfigProblem {
  path: string;
  message: string;
}

export type ConfigValidation =
  { ok: true; document: ConfigDocument } | { ok: false; problems: ConfigProblem[] };

/** `profiles[0].certificate`, the path notation every endpoint reports problems with. */
export function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '$';
  return path
    .map((p) =>
      typeof p === 'number' ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`,
    )
    .join('')
    .replace(/^\./, '');
}

export function zodProblems(error: ZodError): ConfigProblem[] {
  return error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}

/**
 * Validates a whole document for the runtime it will run in. Every problem is returned, with its
 * path, so an operator fixes them in one pass: schema problems and, in Azure, every `file` / `env`
 * secret reference (those exist for local development, where the secrets sit on the developer's disk).
 */
export function validateConfigDocument(
  input: unknown,
  context: { runtime: 'azure' | 'local' },
): ConfigValidation {
  const parsed = configDocumentSchema.safeParse(input);
  const problems = parsed.success ? [] : zodProblems(parsed.error);
  if (context.runtime === 'azure') problems.push(...localSecretReferences(input));
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, document: parsed.data };
}

const secretFields = {
  profiles: ['certificate', 'password', 'trustedCa'],
  sources: ['signingSecret', 'pull.secret', 'pull.apiKey'],
} as const;

function localSecretReferences(input: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (typeof input !== 'object' || input === null) return problems;
  for (const [list, fields] of Object.entries(secretFields)) {
    const items = (input as Record<string, unknown>)[list];
    if (!Array.isArray(items)) continue;
    items.forEach((item: unknown, i) => {
      if (typeof item !== 'object' || item === null) return;
      for (const field of fields) {
        const ref = field
          .split('.')
          .reduce<unknown>(
            (at, key) =>
              typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined,
            item,
          );
        if (typeof ref !== 'object' || ref === null) continue;
        const kind = 'file' in ref ? 'file' : 'env' in ref ? 'env' : undefined;
        if (kind)
          problems.push({
            path: formatPath([list, i, ...field.split('.')]),
            message: `a "${kind}" secret reference works only when Clawback runs locally; in Azure use { "keyVaultSecret": "<name>" }`,
          });
      }
    });
  }
  return problems;
}
