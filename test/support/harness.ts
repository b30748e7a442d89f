import { type Services, useServices } from '../../shared/composition.js';
import type { ConfigDocument, ConfigDocumentInput, Profile } from '../../shared/config/document.js';
import type { MailBackend } from '../../shared/ports/mail.js';
import type { ResultStore } from '../../shared/ports/results.js';
import type { SecretSource } from '../../shared/ports/secrets.js';
import { InMemoryQueue } from '../../shared/queue/inMemoryQueue.js';
import { InMemoryMailBackend } from '../fakes/inMemoryMailBackend.js';
import { Pipeline } from './pipeline.js';
import { configDocument, testServices } from './services.js';

/** What a component test drives and looks at: the composition's services and the fakes behind them. */
export interface Harness {
  readonly queue: InMemoryQueue;
  /** The mail backend every profile gets unless `backendFor` says otherwise. */
  readonly backend: InMemoryMailBackend;
  readonly services: Services;
  readonly pipeline: Pipeline;
}

export interface HarnessOptions {
  /**
   * Parts of `configDocument()` to replace; the document is applied before the test runs. `null`: no
   * document at all, for a handler that reads none or a test of the unconfigured service.
   */
  config?: Partial<ConfigDocumentInput> | null;
  /** Picks a backend per profile; `backend` is the harness's own in-memory one. */
  backendFor?: (profile: Profile, config: ConfigDocument, backend: InMemoryMailBackend) => MailBackend;
  secrets?: SecretSource;
  /** A results store of the test's own (e.g. an `InMemoryResultStore` it inspects). */
  store?: ResultStore;
}

/**
 * Builds what a component test of the queue functions needs (results and configuration in memory, an
 * in-memory queue with the `remediations` sessions, an in-memory mail backend, the applied
 * configuration) and installs it as the composition's services. Call it per test (`beforeEach`) and
 * `stopHarness` once the file is done.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const queue = new InMemoryQueue();
  queue.declare('remediations', { sessions: true });
  const backend = new InMemoryMailBackend();
  const pick = options.backendFor;
  const built = testServices({
    queue,
    backendFor: pick ? (profile, config) => pick(profile, config, backend) : () => backend,
    ...(options.secrets && { secrets: options.secrets }),
  });
  const services = options.store ? { ...built, store: options.store } : built;
  if (options.config !== null) await services.configStore.put(configDocument(options.config));
  useServices(services);
  return { queue, backend, services, pipeline: new Pipeline(services, queue) };
}

/** The composition forgets the harness's services, so the next test file starts from none. */
export function stopHarness(): void {
  useServices(undefined);
}
