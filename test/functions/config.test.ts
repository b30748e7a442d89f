import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { useServices } from '../../shared/composition.js';
import { loadSettings } from '../../shared/config/settings.js';
import { InMemoryQueue } from '../../shared/queue/inMemoryQueue.js';
import { InMemoryConfigStore } from '../fakes/inMemoryConfigStore.js';
import { ConfigMother } from '../mothers/configMother.js';
import {
  configApiBody as bodyOf,
  getConfigDocument as get,
  putConfigDocument as put,
} from '../support/configApi.js';
import { testServices } from '../support/services.js';

let runtime: 'local' | 'azure' = 'local';
let configStore: InMemoryConfigStore;

afterAll(() => {
  useServices(undefined);
});
beforeEach(() => {
  configStore = new InMemoryConfigStore();
  runtime = 'local';
  install();
});

function install(): void {
  const services = testServices({ queue: new InMemoryQueue() });
  useServices({
    ...services,
    configStore,
    settings: loadSettings({
      CLAWBACK_RUNTIME: runtime,
      CLAWBACK_TABLES_CONNECTION: 'UseDevelopmentStorage=true',
      ServiceBusConnection__fullyQualifiedNamespace: 'sb.example.net',
    }),
  });
}

/** A valid document using every part once; each test changes its own copy. */
function example(): Record<string, unknown> {
  return ConfigMother.hybrid().build();
}

describe('GET and PUT /api/config', () => {
  it('answers 404 before any configuration is applied', async () => {
    const response = await get();
    expect(response.status).toBe(404);
    expect(bodyOf(response).error.code).toBe('ConfigNotFound');
  });

  it('applies a document and returns it with its version, secrets as references only', async () => {
    const applied = await put(example());
    expect(applied.status).toBe(200);
    expect(bodyOf(applied)).toMatchObject({ changed: true, applied: true });
    const response = await get();
    expect(response.status).toBe(200);
    const body = bodyOf(response);
    expect(body.version).toBe(bodyOf(applied).version);
    expect((response.headers as Record<string, string>).etag).toBe(`"${body.version}"`);
    const profiles = body.document.profiles as Record<string, unknown>[];
    expect(profiles[0]?.certificate).toEqual({ keyVaultSecret: 'contoso-graph-cert' });
    expect(profiles[1]?.trustedCa).toEqual({ keyVaultSecret: 'contoso-ews-ca' });
    expect(body.document.domains).toEqual({
      'contoso.com': 'hybrid',
      'xn--bcher-kva.example': 'contoso-online',
      ALL: 'contoso-online',
    });
    expect(body.document.chains).toEqual([
      { name: 'hybrid', profiles: ['contoso-online', 'contoso-onprem'] },
    ]);
    expect(body.document.forwardTo).toBe('soc@contoso.com');
  });

  it('is idempotent: the same document again keeps the version and changes nothing', async () => {
    const first = bodyOf(await put(example()));
    const second = bodyOf(await put(example()));
    expect(second.version).toBe(first.version);
    expect(second.changed).toBe(false);
  });

  it('gives a changed document a new version', async () => {
    const first = bodyOf(await put(example()));
    const changed = example();
    (changed.settings as Record<string, unknown>).maxAttempts = 5;
    const second = bodyOf(await put(changed));
    expect(second.version).not.toBe(first.version);
    expect(second.changed).toBe(true);
    expect(bodyOf(await get()).document.settings).toMatchObject({ maxAttempts: 5 });
  });

  it('refuses an invalid document as a whole, listing every problem with its path, and keeps the applied one', async () => {
    const applied = bodyOf(await put(example()));
    const bad = example();
    (bad.settings as Record<string, unknown>).maxAttempts = 6;
    bad.chains = [{ name: 'hybrid', profiles: ['contoso-online', 'nope'] }];
    const response = await put(bad);
    expect(response.status).toBe(400);
    expect(bodyOf(response).error.code).toBe('ValidationFailed');
    expect(bodyOf(response).error.details?.map((d) => d.path)).toEqual(
      expect.arrayContaining(['settings.maxAttempts', 'chains[0].profiles[1]']),
    );
    expect(bodyOf(await get()).version).toBe(applied.version);
  });

  it('answers 400 InvalidJson for a body that is not JSON', async () => {
    const response = await put('{ not json');
    expect(response.status).toBe(400);
    expect(bodyOf(response).error.code).toBe('InvalidJson');
  });

  it('with If-Match of the current version, applies; with a stale version, answers 412 and keeps the current document', async () => {
    const v1 = bodyOf(await put(example())).version;
    const second = example();
    (second.settings as Record<string, unknown>).mode = 'simulate';
    const v2Response = await put(second, { 'if-match': `"${v1}"` });
    expect(v2Response.status).toBe(200);
    const v2 = bodyOf(v2Response).version;

    const third = example();
    (third.settings as Record<string, unknown>).maxAttempts = 1;
    const stale = await put(third, { 'if-match': `"${v1}"` });
    expect(stale.status).toBe(412);
    expect(bodyOf(stale).error.code).toBe('VersionMismatch');
    expect(bodyOf(await get()).version).toBe(v2);
  });

  it('a dry run validates and answers the normalised document and its version without applying it', async () => {
    const response = await put(example(), {}, '?dryRun=true');
    expect(response.status).toBe(200);
    expect(bodyOf(response)).toMatchObject({ applied: false, changed: true });
    expect((bodyOf(response).document.domains as Record<string, string>)['xn--bcher-kva.example']).toBe(
      'contoso-online',
    );
    expect((await get()).status).toBe(404);
  });

  it('in Azure, refuses file and env secret references with their paths', async () => {
    runtime = 'azure';
    install();
    const doc = example();
    (doc.profiles as Record<string, unknown>[])[0]!.certificate = { file: 'cert.pem' };
    (doc.sources as Record<string, unknown>[])[0]!.signingSecret = { env: 'TAP_SECRET' };
    const response = await put(doc);
    expect(response.status).toBe(400);
    expect(bodyOf(response).error.details?.map((d) => d.path)).toEqual([
      'profiles[0].certificate',
      'sources[0].signingSecret',
    ]);
  });
});
