import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  acceptVerdictRequest,
  type AcceptVerdictsDeps,
  type VerdictRequest,
} from '../../../shared/app/acceptVerdicts.js';
import { InMemoryAuditLog } from '../../../shared/audit/inMemoryAuditLog.js';
import type { ConfigDocumentInput } from '../../../shared/config/document.js';
import type { OutgoingMessage, QueueSender } from '../../../shared/ports/queue.js';
import type { SecretSource } from '../../../shared/ports/secrets.js';
import { InMemoryResultStore } from '../../../shared/results/memory/inMemoryResultStore.js';
import type { VerdictMessage } from '../../../shared/verdicts/messages.js';
import { signBody } from '../../../shared/verdicts/signature.js';
import { InMemoryConfigStore } from '../../fakes/inMemoryConfigStore.js';
import { VerdictChangeMother } from '../../mothers/verdictChangeMother.js';
import { configDocument, noSecrets } from '../../support/services.js';

const now = new Date('2026-11-30T09:00:00.000Z');

/** Records every send; `hold()` makes sends wait until `release()`, as a slow Service Bus would. */
function recordingQueue() {
  const sends: OutgoingMessage[][] = [];
  let gate: Promise<void> | undefined;
  let open: () => void = () => undefined;
  let refusal: Error | undefined;
  const queue: QueueSender = {
    send: async (_name, messages) => {
      if (gate) await gate;
      if (refusal) throw refusal;
      sends.push(messages);
    },
    close: () => Promise.resolve(),
  };
  return {
    queue,
    sends,
    hold: () => {
      gate = new Promise<void>((resolve) => (open = resolve));
    },
    release: () => {
      gate = undefined;
      open();
    },
    refuse: (error: Error | undefined) => (refusal = error),
  };
}

async function setUp(
  options: { config?: Partial<ConfigDocumentInput>; secrets?: SecretSource; audit?: boolean } = {},
) {
  const store = new InMemoryResultStore();
  const configStore = new InMemoryConfigStore();
  if (options.config) await configStore.put(configDocument(options.config));
  const q = recordingQueue();
  const audit = new InMemoryAuditLog();
  const warnings: string[] = [];
  const deps: AcceptVerdictsDeps = {
    store,
    queue: q.queue,
    configStore,
    secrets: options.secrets ?? noSecrets,
    now: () => now,
    ...(options.audit === false
      ? {}
      : { audit: { log: audit, who: 'key:ingest', warn: (l: string) => warnings.push(l) } }),
  };
  return { store, deps, audit, warnings, ...q };
}

function request(body: unknown, extra: Partial<VerdictRequest> = {}): VerdictRequest {
  return { body, rawBody: Buffer.from(JSON.stringify(body)), format: null, signature: null, ...extra };
}

const sentBodies = (sends: OutgoingMessage[][]) => sends.flat().map((m) => m.body as VerdictMessage);

describe('acceptVerdictRequest', () => {
  it('accepts one verdict: claims it, enqueues it, records it and audits it as accepted', async () => {
    const { store, deps, sends, audit } = await setUp();
    const change = VerdictChangeMother.malicious({ source: 'soar', eventId: 'evt-1' });

    const outcome = await acceptVerdictRequest(request(change), deps);
    expect(outcome).toMatchObject({ kind: 'accepted', isArray: false, notes: [] });
    const verdicts = outcome.kind === 'accepted' ? outcome.verdicts : [];
    expect(verdicts).toEqual([{ verdictId: expect.any(String) as unknown, created: true }]);
    const id = verdicts[0]!.verdictId;

    expect(sentBodies(sends)).toEqual([
      {
        verdictId: id,
        acceptedAt: now.toISOString(),
        change: expect.objectContaining({ eventId: 'evt-1' }) as unknown,
      },
    ]);
    expect(await store.getVerdict(id)).toMatchObject({
      source: 'soar',
      eventId: 'evt-1',
      status: 'accepted',
    });
    expect(
      audit.entries.map(({ who, what, verdictId, detail }) => ({ who, what, verdictId, detail })),
    ).toEqual([
      { who: 'key:ingest', what: 'accepted', verdictId: id, detail: 'malicious from soar, event evt-1' },
    ]);
  });

  it('a repeated event answers the first verdict, and adds no audit row', async () => {
    const { deps, audit } = await setUp();
    const change = VerdictChangeMother.malicious({ source: 'soar', eventId: 'evt-1' });
    const first = await acceptVerdictRequest(request(change), deps);
    const again = await acceptVerdictRequest(request([change]), deps);

    expect(again).toMatchObject({
      kind: 'accepted',
      isArray: true,
      verdicts: [
        { verdictId: first.kind === 'accepted' ? first.verdicts[0]?.verdictId : '', created: false },
      ],
    });
    expect(audit.entries).toHaveLength(1);
  });

  it('an array audits each verdict it created, once, in order', async () => {
    const { deps, audit } = await setUp();
    const a = VerdictChangeMother.malicious({ source: 'soar', eventId: 'evt-a' });
    const b = VerdictChangeMother.malicious({ source: 'edr', eventId: 'evt-b', verdict: 'suspicious' });

    const outcome = await acceptVerdictRequest(request([a, b, a]), deps);
    expect(outcome.kind === 'accepted' && outcome.verdicts.map((v) => v.created)).toEqual([
      true,
      true,
      false,
    ]);
    expect(audit.entries.map((e) => e.detail)).toEqual([
      'malicious from soar, event evt-a',
      'suspicious from edr, event evt-b',
    ]);
  });

  it('without an audit trail, or when its write fails, the verdict is still accepted', async () => {
    const quiet = await setUp({ audit: false });
    expect((await acceptVerdictRequest(request(VerdictChangeMother.malicious()), quiet.deps)).kind).toBe(
      'accepted',
    );
    expect(quiet.sends).toHaveLength(1);

    const failing = await setUp();
    failing.deps.audit = {
      log: { append: () => Promise.reject(new Error('table down')), list: () => Promise.resolve([]) },
      who: 'key:ingest',
      warn: (l) => failing.warnings.push(l),
    };
    expect((await acceptVerdictRequest(request(VerdictChangeMother.malicious()), failing.deps)).kind).toBe(
      'accepted',
    );
    expect(failing.warnings).toEqual([expect.stringContaining('accepted') as unknown as string]);
  });

  it('refuses an invalid body with every problem and writes nothing', async () => {
    const { store, deps, sends, audit } = await setUp();

    const outcome = await acceptVerdictRequest(request({ eventId: 'e', source: 'soar' }), deps);
    expect(outcome).toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('problem(s) in the verdict') as unknown,
    });
    expect(outcome.kind === 'invalid' && outcome.details.map((d) => d.path)).toEqual(
      expect.arrayContaining(['verdict', 'threat']),
    );
    expect(sends).toEqual([]);
    expect(audit.entries).toEqual([]);
    expect(await store.claimEvent('soar', 'e', 'probe')).toEqual({ verdictId: 'probe', created: true });
  });

  it('an error other than a validation problem is thrown, not answered as an invalid body', async () => {
    const { deps, sends } = await setUp();
    const body = {
      get eventId(): string {
        throw new Error('the body exploded');
      },
    };
    await expect(acceptVerdictRequest(request({}, { body }), deps)).rejects.toThrow('the body exploded');
    expect(sends).toEqual([]);
  });

  it('a native body with nothing to act on is accepted empty with the reason, and nothing is written', async () => {
    const all = JSON.parse(
      readFileSync(path.resolve(__dirname, '../../fixtures/sources/proofpoint-siem-all.json'), 'utf8'),
    ) as Record<string, unknown>;
    const body = { ...all, messagesDelivered: [], clicksPermitted: [] };
    // Signing is required, yet nothing is refused: there is no source to check.
    const { deps, sends, audit } = await setUp({
      config: { settings: { requireSignature: true } },
    });

    expect(await acceptVerdictRequest(request(body, { format: 'proofpoint-tap' }), deps)).toEqual({
      kind: 'accepted',
      isArray: true,
      verdicts: [],
      notes: [
        {
          path: 'messagesBlocked',
          message: expect.stringContaining('1 event(s) left out') as unknown,
        },
      ],
    });
    expect(sends).toEqual([]);
    expect(audit.entries).toEqual([]);
  });

  it('with signatures required, refuses a source that is not declared and writes nothing', async () => {
    const { deps, sends } = await setUp({
      config: { settings: { requireSignature: true } },
    });
    expect(
      await acceptVerdictRequest(request(VerdictChangeMother.malicious({ source: 'soar' })), deps),
    ).toEqual({
      kind: 'unauthorized',
      message:
        'Source "soar" is not declared in sources, and settings.requireSignature accepts only declared, signed sources.',
    });
    expect(sends).toEqual([]);
  });

  it("checks a declared source's signature with its secret: unsigned is refused, signed is accepted", async () => {
    const secrets: SecretSource = {
      getSecret: (ref) =>
        'keyVaultSecret' in ref && ref.keyVaultSecret === 'soar-signing'
          ? Promise.resolve({ value: 'soar-secret' })
          : Promise.reject(new Error('unknown secret')),
    };
    const { deps, sends } = await setUp({
      config: { sources: [{ name: 'soar', signingSecret: { keyVaultSecret: 'soar-signing' } }] },
      secrets,
    });
    const change = VerdictChangeMother.malicious({ source: 'soar' });
    const raw = Buffer.from(JSON.stringify(change));

    expect(await acceptVerdictRequest(request(change), deps)).toEqual({
      kind: 'unauthorized',
      message: 'X-Clawback-Signature is required for this source. (source "soar")',
    });
    expect(
      await acceptVerdictRequest(request(change, { signature: signBody(raw, 'another-secret') }), deps),
    ).toMatchObject({ kind: 'unauthorized' });
    expect(sends).toEqual([]);

    const signed = await acceptVerdictRequest(
      request(change, { rawBody: raw, signature: signBody(raw, 'soar-secret') }),
      deps,
    );
    expect(signed.kind).toBe('accepted');
    expect(sends).toHaveLength(1);
  });

  it('a signing secret that cannot be read is reported as such, and nothing is written', async () => {
    const unavailable = new Error('Key Vault unreachable');
    const { deps, sends } = await setUp({
      config: { sources: [{ name: 'soar', signingSecret: { keyVaultSecret: 'soar-signing' } }] },
      secrets: { getSecret: () => Promise.reject(unavailable) },
    });
    expect(
      await acceptVerdictRequest(request(VerdictChangeMother.malicious({ source: 'soar' })), deps),
    ).toEqual({
      kind: 'secretUnavailable',
      cause: unavailable,
    });
    expect(sends).toEqual([]);
  });

  it('when the queue refuses, answers so, records nothing and releases the claim for a retry', async () => {
    const { store, deps, sends, audit, refuse } = await setUp();
    const refusal = new Error('Service Bus down');
    refuse(refusal);
    const change = VerdictChangeMother.malicious({ source: 'soar', eventId: 'evt-q' });

    expect(await acceptVerdictRequest(request(change), deps)).toEqual({
      kind: 'queueUnavailable',
      cause: refusal,
    });
    expect(audit.entries).toEqual([]);
    expect(await store.listVerdicts({ from: new Date(0), to: new Date(now.getTime() + 1000) }, 10)).toEqual(
      [],
    );

    refuse(undefined);
    expect(await acceptVerdictRequest(request(change), deps)).toMatchObject({
      verdicts: [{ created: true }],
    });
    expect(sends).toHaveLength(1);
  });

  it('requests arriving during a flush are enqueued together in the next, up to 200 changes a flush', async () => {
    const { store, deps, sends, hold, release } = await setUp();
    const body = (tag: string, n: number) =>
      Array.from({ length: n }, (_, i) =>
        VerdictChangeMother.malicious({ source: 'soar', eventId: `${tag}-${i}` }),
      );

    hold();
    const first = acceptVerdictRequest(request(body('first', 1)), deps);
    await new Promise((resolve) => setImmediate(resolve));
    const waiting = [
      acceptVerdictRequest(request(body('a', 100)), deps),
      acceptVerdictRequest(request(body('b', 100)), deps),
      acceptVerdictRequest(request(body('c', 5)), deps),
    ];
    await new Promise((resolve) => setImmediate(resolve));
    release();
    const outcomes = await Promise.all([first, ...waiting]);

    expect(sends.map((s) => s.length)).toEqual([1, 200, 5]);
    // Each request gets back its own verdicts, in its own order.
    for (const [n, tag] of ['first', 'a', 'b', 'c'].entries()) {
      const outcome = outcomes[n]!;
      const ids = outcome.kind === 'accepted' ? outcome.verdicts.map((v) => v.verdictId) : [];
      const events = await Promise.all(ids.map(async (id) => (await store.getVerdict(id))?.eventId));
      expect(events).toEqual(events.map((_, i) => `${tag}-${i}`));
      expect(events.length).toBeGreaterThan(0);
    }
  });

  it('a flush that fails answers every request in it, and the next request flushes again', async () => {
    const { deps, hold, release, refuse, sends } = await setUp();
    hold();
    const first = acceptVerdictRequest(request(VerdictChangeMother.malicious()), deps);
    await new Promise((resolve) => setImmediate(resolve));
    const second = acceptVerdictRequest(request(VerdictChangeMother.malicious()), deps);
    const third = acceptVerdictRequest(request(VerdictChangeMother.malicious()), deps);
    refuse(new Error('Service Bus down'));
    release();
    expect((await Promise.all([first, second, third])).map((o) => o.kind)).toEqual([
      'queueUnavailable',
      'queueUnavailable',
      'queueUnavailable',
    ]);

    refuse(undefined);
    expect((await acceptVerdictRequest(request(VerdictChangeMother.malicious()), deps)).kind).toBe(
      'accepted',
    );
    expect(sends).toHaveLength(1);
  });
});

describe('acceptVerdictRequest, when the configuration cannot be read', () => {
  it('a native body with nothing to act on is still answered: the configuration is not needed', async () => {
    const all = JSON.parse(
      readFileSync(path.resolve(__dirname, '../../fixtures/sources/proofpoint-siem-all.json'), 'utf8'),
    ) as Record<string, unknown>;
    const { deps, sends } = await setUp();
    deps.configStore = {
      get: () => Promise.reject(new Error('table down')),
      put: () => Promise.reject(new Error('no')),
    };

    const outcome = await acceptVerdictRequest(
      request({ ...all, messagesDelivered: [], clicksPermitted: [] }, { format: 'proofpoint-tap' }),
      deps,
    );
    expect(outcome).toMatchObject({ kind: 'accepted', verdicts: [] });
    expect(sends).toEqual([]);
    await expect(acceptVerdictRequest(request(VerdictChangeMother.malicious()), deps)).rejects.toThrow(
      'table down',
    );
  });
});
