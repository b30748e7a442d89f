import type { Services } from '../composition.js';
import { ClawbackError } from '../errors.js';
import type { CallOptions } from '../ports/mail.js';
import { type PullOutcome, pullSources } from '../pull/run.js';

/**
 * The timer's use case: every `sources[].pull` of the applied configuration whose interval is up is
 * polled once. Azure has no way to register one timer per configured source, so one timer runs them
 * all and each source's own interval, backoff and rate-limit wait live in its `SourceCursors` row.
 */
export async function pullConfiguredSources(
  services: Services,
  log: (line: string) => void,
  options?: CallOptions,
): Promise<PullOutcome[]> {
  const stored = await services.configStore.get(options);
  if (!stored) return [];
  if (!services.cursors)
    throw new ClawbackError('ConfigurationError', 'These services have no SourceCursors store.');
  return pullSources(
    stored.document,
    {
      store: services.store,
      queue: services.queue,
      cursors: services.cursors,
      secrets: services.secrets,
      identityHttpClient: services.identityHttpClient,
      log,
    },
    options,
  );
}
