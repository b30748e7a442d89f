import { HttpRequest, type HttpResponseInit, InvocationContext } from '@azure/functions';

import { ingestVerdict } from '../../functions/ingestVerdict.js';
import type { Services } from '../../shared/composition.js';
import type { ConfigDocumentInput } from '../../shared/config/document.js';
import { loadSettings } from '../../shared/config/settings.js';
import type { ConfigStore } from '../../shared/ports/config.js';
import type { QueueSender } from '../../shared/ports/queue.js';
import type { ResultStore, VerdictRecord } from '../../shared/ports/results.js';
import type { SecretSource } from '../../shared/ports/secrets.js';
import { InMemoryQueue } from '../../shared/queue/inMemoryQueue.js';
import { ConfigMother } from '../mothers/configMother.js';

/**
 * The part of the result store ingest uses, in memory, counting every row it writes (a batch of n
 * rows counts n) so a test can say "nothing was written" or "two rows per verdict".
 */
export class InMemoryIngestStore {
  readonly claims = new Map<string, string>();
  readonly verdicts = new Map<string, VerdictRecord>();
  writes = 0;

  private key(source: string, eventId: string): string {
    return `${source}\n${eventId}`;
  }

  claimEvent(source: string, eventId: string, verdictId: string) {
    const owner = this.claims.get(this.key(source, eventId));
    if (owner) return Promise.resolve({ verdictId: owner, created: false });
    this.writes += 1;
    this.claims.set(this.key(source, eventId), verdictId);
    return Promise.resolve({ verdictId, created: true });
  }

  async claimEvents(claims: { source: string; eventId: string; verdictId: string }[]) {
    const results = [];
    for (const c of claims) results.push(await this.claimEvent(c.source, c.eventId, c.verdictId));
    return results;
  }

  releaseEvent(source: string, eventId: string) {
    if (this.claims.delete(this.key(source, eventId))) this.writes += 1;
    return Promise.resolve();
  }

  createVerdict(record: VerdictRecord) {
    if (this.verdicts.has(record.verdictId)) return Promise.resolve(false);
    this.writes += 1;
    this.verdicts.set(record.verdictId, record);
    return Promise.resolve(true);
  }

  async createVerdicts(records: VerdictRecord[]) {
    const results = [];
    for (const r of records) results.push(await this.createVerdict(r));
    return results;
  }

  getVerdict(verdictId: string) {
    return Promise.resolve(this.verdicts.get(verdictId));
  }
}

export const signingSecret = 'whsec-property-0123456789';

export function fixedConfig(overrides: Partial<ConfigDocumentInput> = {}): ConfigStore {
  const document = ConfigMother.minimal()
    .withSources({ name: 'proofpoint-tap', signingSecret: { env: 'TAP_SECRET' } }, { name: 'soar' })
    .with(overrides)
    .parse();
  return {
    get: () => Promise.resolve({ document, version: 'fixed' }),
    put: () => Promise.reject(new Error('read-only in this test')),
  };
}

export const fixedSecrets: SecretSource = {
  getSecret: (ref) =>
    'env' in ref && ref.env === 'TAP_SECRET'
      ? Promise.resolve({ value: signingSecret })
      : Promise.reject(new Error('unknown secret')),
};

/** Services for the ingest handler with every port in memory. */
export function ingestServices(configStore: ConfigStore = fixedConfig()): {
  services: Services;
  store: InMemoryIngestStore;
  queue: InMemoryQueue;
  /** Bodies the queue took, in order. */
  sent: unknown[];
} {
  const store = new InMemoryIngestStore();
  const queue = new InMemoryQueue();
  const sent: unknown[] = [];
  const sender: QueueSender = {
    send: async (name, messages, options) => {
      await queue.send(name, messages, options);
      sent.push(...messages.map((m) => m.body));
    },
    close: () => queue.close(),
  };
  return {
    store,
    queue,
    sent,
    services: {
      settings: loadSettings({
        CLAWBACK_RUNTIME: 'local',
        CLAWBACK_TABLES_CONNECTION: 'UseDevelopmentStorage=true',
      }),
      store: store as unknown as ResultStore,
      configStore,
      queue: sender,
      secrets: fixedSecrets,
      backendFor: () => {
        throw new Error('no mail backend in ingest tests');
      },
    },
  };
}

const context = () => new InvocationContext({ functionName: 'ingestVerdict', logHandler: () => undefined });

/** POST /api/verdicts straight into the handler, as the host would call it. */
export function postToHandler(
  body: string | Uint8Array,
  headers: Record<string, string> = { 'content-type': 'application/json' },
  query = '',
): Promise<HttpResponseInit> {
  const request = new HttpRequest({
    method: 'POST',
    url: `http://localhost:7071/api/verdicts${query}`,
    headers,
    body: typeof body === 'string' ? { string: body } : { bytes: Buffer.from(body) },
  });
  return ingestVerdict(request, context());
}

export interface ErrorBody {
  error: { code: string; message: string; details?: { path: string; message: string }[] };
}

export const errorOf = (response: HttpResponseInit) => (response.jsonBody as ErrorBody).error;
