import type { TokenCredential } from '@azure/core-auth';
import type { HttpClient } from '@azure/core-rest-pipeline';

import { auditingFactory } from './audit/auditingBackend.js';
import { TableAuditLog } from './audit/tableAuditLog.js';
import type { Chaos } from './chaos/chaos.js';
import type { ConfigDocument, Profile } from './config/document.js';
import { type AppSettings, loadSettings } from './config/settings.js';
import { TableConfigStore } from './config/tableConfigStore.js';
import { TableCursorStore } from './cursors/tableCursorStore.js';
import { hasDeadLetterStore, InMemoryDeadLetters } from './deadletters/inMemoryDeadLetters.js';
import { ClawbackError } from './errors.js';
import { lazyCredential, lazyDeadLetters, lazyQueue, lazySecrets } from './lazyClients.js';
import { createMailBackendFactory } from './mail/factory.js';
import type { AuditLog, RetentionStore } from './ports/audit.js';
import type { ConfigStore } from './ports/config.js';
import type { CursorStore } from './ports/cursors.js';
import type { DeadLetterQueue } from './ports/deadLetters.js';
import type { MailBackend } from './ports/mail.js';
import type { QueueSender } from './ports/queue.js';
import type { ResultStore } from './ports/results.js';
import type { SecretSource } from './ports/secrets.js';
import { type TableConnection, TableResultStore } from './results/tableResultStore.js';
import { CompositeSecretSource } from './secrets/compositeSecretSource.js';
import { LocalSecretSource } from './secrets/localSecretSource.js';

/** Everything the functions need, built once per worker. */
export interface Services {
  settings: AppSettings;
  store: ResultStore;
  configStore: ConfigStore;
  queue: QueueSender;
  secrets: SecretSource;
  /** `SourceCursors`: where each pull connector has read to (absent in services built for other tests). */
  cursors?: CursorStore | undefined;
  /** Reaches a sandbox token endpoint for the Defender connector; production leaves it unset. */
  identityHttpClient?: HttpClient | undefined;
  /** The backend for a profile, cached per profile so credentials and token caches are reused. */
  backendFor(profile: Profile, config: ConfigDocument): MailBackend;
  /** The `Audit` trail; optional so services assembled by hand (tests) may go without. */
  audit?: AuditLog;
  retention?: RetentionStore;
  /** Fault injection, set only by the local runtime when CLAWBACK_CHAOS asks for it. */
  chaos?: Chaos | undefined;
  /** How long a remediation holds its row's lease (default 5 minutes); the local runtime shortens it. */
  leaseMs?: number | undefined;
  /** The queues' dead letters: the in-memory queue's own locally, Service Bus's (loaded on first use) in Azure. */
  deadLetters?: DeadLetterQueue | undefined;
}

let current: Services | undefined;

function tableConnection(settings: AppSettings, credential: () => TokenCredential): TableConnection {
  if (settings.CLAWBACK_TABLES_CONNECTION) {
    const local =
      /^(UseDevelopmentStorage=true|DefaultEndpointsProtocol=http;)/i.test(
        settings.CLAWBACK_TABLES_CONNECTION,
      ) || /127\.0\.0\.1|localhost/.test(settings.CLAWBACK_TABLES_CONNECTION);
    return {
      connectionString: settings.CLAWBACK_TABLES_CONNECTION,
      options: { allowInsecureConnection: local },
    };
  }
  if (settings.CLAWBACK_TABLES_ENDPOINT)
    return { endpoint: settings.CLAWBACK_TABLES_ENDPOINT, credential: credential() };
  throw new ClawbackError('ConfigurationError', 'No Table Storage setting is present.');
}

/**
 * Builds the production services from app settings: managed identity for Service Bus, Storage and
 * Key Vault in Azure, connection strings only where a local setting gives one. The identity, Service
 * Bus and Key Vault SDKs load on first use, so a function that never calls them never loads them.
 */
export function buildServices(settings: AppSettings, overrides: Partial<Services> = {}): Services {
  let azureCredential: TokenCredential | undefined;
  const credential = () =>
    (azureCredential ??= lazyCredential(async () => {
      const { DefaultAzureCredential } = await import('@azure/identity');
      return new DefaultAzureCredential(
        settings.AZURE_CLIENT_ID ? { managedIdentityClientId: settings.AZURE_CLIENT_ID } : {},
      );
    }));
  const connection = tableConnection(settings, credential);
  const keyVaultUrl = settings.CLAWBACK_KEY_VAULT_URL;
  const secrets =
    overrides.secrets ??
    new CompositeSecretSource({
      runtime: settings.CLAWBACK_RUNTIME,
      keyVault: keyVaultUrl
        ? lazySecrets(async () => {
            const { KeyVaultSecretSource } = await import('./secrets/keyVaultSecretSource.js');
            return new KeyVaultSecretSource({
              vaultUrl: keyVaultUrl,
              credential: credential(),
              ttlSeconds: settings.CLAWBACK_SECRET_CACHE_SECONDS,
            });
          })
        : undefined,
      local: new LocalSecretSource({
        runtime: settings.CLAWBACK_RUNTIME,
        baseDir: process.cwd(),
        ttlSeconds: settings.CLAWBACK_SECRET_CACHE_SECONDS,
      }),
    });
  const auditLog = new TableAuditLog(connection);
  const audit = overrides.audit ?? auditLog;
  // Every mailbox action is audited by a decorator, so the remediation flow stays unaware of it.
  const backendFor = auditingFactory(overrides.backendFor ?? createMailBackendFactory({ secrets }), audit);
  return {
    settings,
    store: overrides.store ?? new TableResultStore(connection),
    configStore:
      overrides.configStore ?? new TableConfigStore(connection, settings.CLAWBACK_CONFIG_CACHE_SECONDS),
    queue:
      overrides.queue ??
      lazyQueue(async () => {
        const { ServiceBusQueue } = await import('./queue/serviceBusQueue.js');
        return ServiceBusQueue.fromSettings(
          settings.ServiceBusConnection
            ? { connectionString: settings.ServiceBusConnection }
            : {
                fullyQualifiedNamespace: settings.ServiceBusConnection__fullyQualifiedNamespace ?? '',
                credential: credential(),
              },
        );
      }),
    secrets,
    cursors: overrides.cursors ?? new TableCursorStore(connection),
    identityHttpClient: overrides.identityHttpClient,
    backendFor,
    deadLetters:
      overrides.deadLetters ??
      (overrides.queue && hasDeadLetterStore(overrides.queue)
        ? new InMemoryDeadLetters(overrides.queue)
        : lazyDeadLetters(async () => {
            const { ServiceBusDeadLetters } = await import('./deadletters/serviceBusDeadLetters.js');
            return ServiceBusDeadLetters.fromSettings({
              connectionString: settings.ServiceBusConnection,
              fullyQualifiedNamespace: settings.ServiceBusConnection__fullyQualifiedNamespace,
              credential,
            });
          })),
    audit,
    retention: overrides.retention ?? auditLog,
  };
}

/** The dead-letter port of services built elsewhere too (tests), where only an in-memory queue can have one. */
export function deadLetterQueueOf(services: Services): DeadLetterQueue {
  if (services.deadLetters) return services.deadLetters;
  if (hasDeadLetterStore(services.queue)) return new InMemoryDeadLetters(services.queue);
  throw new ClawbackError('ConfigurationError', 'These services have no dead-letter queue.');
}

/** The worker's services, built on first use from `process.env`. */
export function getServices(): Services {
  current ??= buildServices(loadSettings());
  return current;
}

/** Installs services built elsewhere: the local runtime and component tests. */
export function useServices(services: Services | undefined): void {
  current = services;
}
