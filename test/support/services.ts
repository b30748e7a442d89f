import type { Services } from '../../shared/composition.js';
import type { ConfigDocument, ConfigDocumentInput, Profile } from '../../shared/config/document.js';
import { loadSettings } from '../../shared/config/settings.js';
import { TableConfigStore } from '../../shared/config/tableConfigStore.js';
import type { MailBackend } from '../../shared/ports/mail.js';
import type { QueueSender } from '../../shared/ports/queue.js';
import type { SecretSource } from '../../shared/ports/secrets.js';
import { InMemoryResultStore } from '../../shared/results/memory/inMemoryResultStore.js';
import { TableResultStore } from '../../shared/results/tableResultStore.js';
import { InMemoryConfigStore } from '../fakes/inMemoryConfigStore.js';
import { ConfigMother } from '../mothers/configMother.js';
import { ProfileMother } from '../mothers/profileMother.js';

export const noSecrets: SecretSource = {
  getSecret: () => Promise.reject(new Error('no secrets in this test')),
};

/** The signing secret of the `proofpoint-tap` source in the ingest tests (`signingSecret: { env: 'TAP_SECRET' }`). */
export const tapSecret = 'whsec-tap-0123456789';
/** Secrets holding only `env: TAP_SECRET`. */
export const tapSecrets: SecretSource = {
  getSecret: (ref) =>
    'env' in ref && ref.env === 'TAP_SECRET'
      ? Promise.resolve({ value: tapSecret })
      : Promise.reject(new Error('unknown secret')),
};

/**
 * Services for a component test: results and configuration in memory, or in Azurite when a test
 * passes `tablesConnection`; the given queue; mail backends from `backendFor` (fakes or real adapters).
 * Completion checks run 10 ms after fan-out, so a test that waits for the queue to go idle waits little.
 */
export function testServices(options: {
  tablesConnection?: string;
  queue: QueueSender;
  backendFor?: (profile: Profile, config: ConfigDocument) => MailBackend;
  secrets?: SecretSource;
}): Services {
  const connection = options.tablesConnection && {
    connectionString: options.tablesConnection,
    options: { allowInsecureConnection: true },
  };
  return {
    settings: loadSettings({
      CLAWBACK_RUNTIME: 'local',
      CLAWBACK_TABLES_CONNECTION: options.tablesConnection ?? 'UseDevelopmentStorage=true',
      CLAWBACK_COMPLETION_CHECK_MS: '10',
    }),
    store: connection ? new TableResultStore(connection) : new InMemoryResultStore(),
    configStore: connection ? new TableConfigStore(connection, 0) : new InMemoryConfigStore(),
    queue: options.queue,
    secrets: options.secrets ?? noSecrets,
    backendFor:
      options.backendFor ??
      (() => {
        throw new Error('no mail backend in this test');
      }),
  };
}

export const graphProfile = (name = 'contoso-online'): ConfigDocumentInput['profiles'][number] =>
  ProfileMother.graph({ name });

/** `ConfigMother.minimal()` with these parts replaced, parsed. */
export function configDocument(overrides: Partial<ConfigDocumentInput> = {}): ConfigDocument {
  return ConfigMother.minimal().with(overrides).parse();
}
