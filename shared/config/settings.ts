import { z } from 'zod';

/**
 * Every app setting Clawback reads, in one place. Each entry documents itself; `loadSettings` validates
 * all of them at once and fails with one message that lists every missing or invalid setting.
 * The Functions host reads its own settings (AzureWebJobsStorage, FUNCTIONS_WORKER_RUNTIME); those are
 * listed in `hostSettings` so the infrastructure tests can check the deployment sets them too.
 */
export const settingDocs = {
  CLAWBACK_RUNTIME: {
    meaning:
      '`azure` in a deployment; `local` for the local runtime and tests (allows file/env secret references).',
    example: 'azure',
    required: false,
  },
  ServiceBusConnection: {
    meaning: 'Service Bus connection string (local development against a real namespace only).',
    example: 'Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…',
    required: false,
  },
  ServiceBusConnection__fullyQualifiedNamespace: {
    meaning:
      'Service Bus namespace host for managed identity (Azure). One of this or ServiceBusConnection is required unless CLAWBACK_RUNTIME=local.',
    example: 'sb-clawback.servicebus.windows.net',
    required: false,
  },
  CLAWBACK_TABLES_ENDPOINT: {
    meaning: 'Table service endpoint reached with managed identity (Azure).',
    example: 'https://stclawback.table.core.windows.net',
    required: false,
  },
  CLAWBACK_TABLES_CONNECTION: {
    meaning:
      'Table Storage connection string (Azurite locally). One of this or CLAWBACK_TABLES_ENDPOINT is required.',
    example: 'UseDevelopmentStorage=true',
    required: false,
  },
  CLAWBACK_KEY_VAULT_URL: {
    meaning:
      'Key Vault holding certificates, passwords and signing secrets; required when the configuration references keyVaultSecret.',
    example: 'https://kv-clawback.vault.azure.net',
    required: false,
  },
  AZURE_CLIENT_ID: {
    meaning: 'Client id of the user-assigned managed identity used for Service Bus, Storage and Key Vault.',
    example: '00000000-0000-0000-0000-000000000000',
    required: false,
  },
  CLAWBACK_SECRET_CACHE_SECONDS: {
    meaning: 'How long a secret read from Key Vault is cached per worker.',
    example: '300',
    required: false,
  },
  CLAWBACK_CONFIG_CACHE_SECONDS: {
    meaning: 'How long the configuration document is cached per worker.',
    example: '30',
    required: false,
  },
  CLAWBACK_FANOUT_BATCH_SIZE: {
    meaning:
      'Rows written and messages sent per batch during fan-out (1–100, a table transaction holds at most 100).',
    example: '100',
    required: false,
  },
  CLAWBACK_COMPLETION_CHECK_MS: {
    meaning:
      "Milliseconds from fan-out to the first check of whether every row of a verdict is finished; later checks follow the rows' pace, up to 32 times this (hourly while no row finishes).",
    example: '1000',
    required: false,
  },
  CLAWBACK_MAX_CONCURRENT_MAILBOXES: {
    meaning:
      'Local runtime: mailboxes (remediations sessions) worked on at once. In Azure the same figure per instance is host.json extensions.serviceBus.maxConcurrentSessions (app setting AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentSessions overrides it).',
    example: '16',
    required: false,
  },
} as const;

export const hostSettings = ['AzureWebJobsStorage__accountName'] as const;

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();
const httpsUrl = (what: string) =>
  optionalString.refine(
    (v) =>
      v === undefined || /^https:\/\/[^\s/]+/.test(v) || /^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(v),
    {
      message: `must be an https URL of the ${what}`,
    },
  );
const intSetting = (min: number, max: number, fallback: number) =>
  optionalString
    .transform((v) => (v === undefined ? fallback : Number(v)))
    .refine((n) => Number.isInteger(n) && n >= min && n <= max, {
      message: `must be an integer from ${min} to ${max}`,
    });

/**
 * Mailboxes worked on at once by one worker (C in SPEC §10). Each holds at most four Graph requests,
 * so 16 keeps 64 in flight; host.json's maxConcurrentSessions matches it per instance in Azure.
 */
export const defaultConcurrentMailboxes = 16;

export const settingsSchema = z.object({
  CLAWBACK_RUNTIME: z.enum(['azure', 'local']).default('azure'),
  ServiceBusConnection: optionalString,
  ServiceBusConnection__fullyQualifiedNamespace: optionalString.refine(
    (v) => v === undefined || /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(v),
    'must be a host name such as sb-clawback.servicebus.windows.net',
  ),
  CLAWBACK_TABLES_ENDPOINT: httpsUrl('Table service'),
  CLAWBACK_TABLES_CONNECTION: optionalString,
  CLAWBACK_KEY_VAULT_URL: httpsUrl('Key Vault'),
  AZURE_CLIENT_ID: optionalString,
  CLAWBACK_SECRET_CACHE_SECONDS: intSetting(0, 86_400, 300),
  CLAWBACK_CONFIG_CACHE_SECONDS: intSetting(0, 3600, 30),
  CLAWBACK_FANOUT_BATCH_SIZE: intSetting(1, 100, 100),
  CLAWBACK_COMPLETION_CHECK_MS: intSetting(10, 60_000, 1000),
  CLAWBACK_MAX_CONCURRENT_MAILBOXES: intSetting(1, 256, defaultConcurrentMailboxes),
});

/** Settings that are required as one of a pair; checked on the raw values so they are reported even when others are invalid. */
function missingPairs(input: Record<string, string | undefined>): { path: string; message: string }[] {
  const present = (name: string) => (input[name] ?? '').trim() !== '';
  const problems: { path: string; message: string }[] = [];
  if (
    input.CLAWBACK_RUNTIME !== 'local' &&
    !present('ServiceBusConnection') &&
    !present('ServiceBusConnection__fullyQualifiedNamespace')
  )
    problems.push({
      path: 'ServiceBusConnection__fullyQualifiedNamespace',
      message: 'is required (or ServiceBusConnection with a connection string)',
    });
  if (!present('CLAWBACK_TABLES_ENDPOINT') && !present('CLAWBACK_TABLES_CONNECTION'))
    problems.push({
      path: 'CLAWBACK_TABLES_ENDPOINT',
      message: 'is required (or CLAWBACK_TABLES_CONNECTION)',
    });
  return problems;
}

export type AppSettings = z.output<typeof settingsSchema>;

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

/** Validates the environment once; every problem is listed in the one error thrown. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): AppSettings {
  const input: Record<string, string | undefined> = {};
  for (const name of Object.keys(settingDocs)) input[name] = env[name];
  const parsed = settingsSchema.safeParse(input);
  const issues = [
    ...(parsed.success
      ? []
      : parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(settings)', message: i.message }))),
    ...missingPairs(input),
  ];
  if (parsed.success && issues.length === 0) return parsed.data;
  const problems = issues.map((i) => `  - ${i.path}: ${i.message}`);
  throw new SettingsError(`Invalid app settings (${problems.length}):\n${problems.join('\n')}`);
}
