import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../../local/sandbox/index.js';
import { SimulatedCrash } from '../../../shared/chaos/crash.js';
import { type Services, useServices } from '../../../shared/composition.js';
import type { ConfigDocument, ConfigDocumentInput } from '../../../shared/config/document.js';
import { createMailBackendFactory } from '../../../shared/mail/factory.js';
import { InMemoryQueue } from '../../../shared/queue/inMemoryQueue.js';
import type { CrashPoint } from '../../../shared/remediation/record.js';
import { remediate, type RemediateDeps } from '../../../shared/remediation/remediate.js';
import type { RemediationMessage } from '../../../shared/verdicts/messages.js';
import { FakeEwsServer } from '../../fakes/ewsServer.js';
import { ProfileMother } from '../../mothers/profileMother.js';
import { VerdictChangeMother } from '../../mothers/verdictChangeMother.js';
import { hybridSecrets, rewritingClient } from '../../support/identity.js';
import { Pipeline } from '../../support/pipeline.js';
import { folderNamesOf } from '../../support/sandboxMail.js';
import { configDocument, testServices } from '../../support/services.js';

/**
 * SPEC §6 exactly-once, asserted on what the servers saw: the Graph sandbox and the fake Exchange
 * Server (through the real ews-javascript-api). Each action meets concurrent duplicate deliveries
 * and a simulated crash at every point between its steps, then a redelivery.
 */

const alice = 'alice@contoso.com';
const central = 'quarantine@contoso.com';
const appCert = createAppCertificate('clawback-exactly-once-test');
const ewsPassword = 'Ews-p@ss&<word>';
const secrets = hybridSecrets(appCert, ewsPassword);

let tenant: SandboxTenant;
let exchange: FakeEwsServer;
let services: Services;
let pipeline: Pipeline;
let config: ConfigDocument;
let sequence = 0;

interface Backend {
  kind: 'graph' | 'ews';
  profile(): ConfigDocumentInput['profiles'][number];
  deliver(internetMessageId: string, folder: 'inbox' | 'Invoices'): void;
  locations(internetMessageId: string): string[];
  /** Forwards the server sent out for copies of the message (ids of the copies taken before acting). */
  forwards(internetMessageId: string, copyIds: string[]): number;
  copyIds(internetMessageId: string): string[];
}

const ewsFolders = new Map<string, string>();
const backends: Backend[] = [
  {
    kind: 'graph',
    profile: () => ProfileMother.graph({ name: 'online', ...ProfileMother.sandboxEndpoints(tenant) }),
    deliver: (internetMessageId, folder) =>
      void tenant.addMessage(alice, { internetMessageId, subject: 'Invoice', folder }),
    locations: (internetMessageId) => folderNamesOf(tenant, alice, internetMessageId),
    forwards: (internetMessageId) =>
      tenant.forwards.filter((f) => f.mailbox === alice && f.internetMessageId === internetMessageId).length,
    copyIds: () => [],
  },
  {
    kind: 'ews',
    profile: () =>
      ProfileMother.ews({ name: 'online', ewsUrl: exchange.url, auth: 'ntlm', access: 'impersonation' }),
    deliver: (internetMessageId, folder) => {
      let target: string = folder;
      if (folder === 'Invoices') {
        target = ewsFolders.get(folder) ?? exchange.addFolder(alice, folder, 'inbox');
        ewsFolders.set(folder, target);
      }
      exchange.addMessage(alice, { internetMessageId, subject: 'Invoice', folder: target });
    },
    locations: (internetMessageId) =>
      exchange
        .copiesOf(alice, internetMessageId)
        .map((m) => {
          const folder = exchange.folder(m.folderId);
          return folder?.distinguished ?? folder?.name ?? m.folderId;
        })
        .sort(),
    forwards: (_id, copyIds) => exchange.sent.filter((s) => copyIds.includes(s.referenceItemId)).length,
    copyIds: (internetMessageId) => exchange.copiesOf(alice, internetMessageId).map((m) => m.id),
  },
];

const actions = ['forward', 'forwardAndDelete', 'quarantine', 'softDelete'] as const;
type Action = (typeof actions)[number];
const delivered = ['Invoices', 'inbox'];
const expectedPlaces: Record<Action, string[]> = {
  forward: delivered,
  forwardAndDelete: ['recoverableitemsdeletions', 'recoverableitemsdeletions'],
  quarantine: ['Clawback Quarantine', 'Clawback Quarantine'],
  softDelete: ['recoverableitemsdeletions', 'recoverableitemsdeletions'],
};

beforeAll(async () => {
  tenant = await startSandboxTenant({
    apps: [
      {
        tenantId: '6a1f0c2e-58b4-4d0c-9a51-0f3c6a7d2b10',
        tenantDomain: 'contoso.onmicrosoft.com',
        clientId: '4f1b2f43-5a0c-4d6e-8f5e-0c1ab2c3d4e5',
        certificatePem: appCert.certPem,
      },
    ],
    mailboxes: [{ address: alice }, { address: 'soc@contoso.com' }, { address: central }],
  });
  exchange = await FakeEwsServer.start({
    auth: 'ntlm',
    username: 'CONTOSO\\svc-clawback',
    password: ewsPassword,
  });
  exchange.addMailbox(alice);
  exchange.addMailbox(central);
});
afterAll(async () => {
  useServices(undefined);
  await exchange?.close();
  await tenant?.close();
});

async function setUp(
  backend: Backend,
  profile: ConfigDocumentInput['profiles'][number] = backend.profile(),
): Promise<void> {
  const queue = new InMemoryQueue();
  queue.declare('remediations', { sessions: true });
  services = testServices({
    queue,
    secrets,
    backendFor: createMailBackendFactory({
      secrets,
      identityHttpClient: rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost),
    }),
  });
  config = configDocument({
    settings: { maxAttempts: 3 },
    profiles: [profile],
    domains: { 'contoso.com': 'online' },
    policies: [
      { verdict: 'malicious', action: 'hardDelete' },
      { verdict: 'clean', action: 'restore' },
    ],
    forwardTo: 'soc@contoso.com',
  });
  await services.configStore.put(config);
  useServices(services);
  pipeline = new Pipeline(services, queue);
}

/** A message no other case uses, delivered twice (Inbox and a subfolder), and its remediation message. */
async function arrange(backend: Backend, action: Action) {
  sequence += 1;
  const internetMessageId = `<once-${sequence}.${Date.now()}@evil.example>`;
  backend.deliver(internetMessageId, 'inbox');
  backend.deliver(internetMessageId, 'Invoices');
  const copyIds = backend.copyIds(internetMessageId);
  const { verdictId, messages } = await pipeline.fanOut(
    VerdictChangeMother.malicious({ action, messages: [{ internetMessageId, recipients: [alice] }] }),
  );
  const message = messages[0];
  if (!message) throw new Error('no remediation message');
  return { internetMessageId, copyIds, verdictId, message };
}

function deps(overrides: Partial<RemediateDeps> = {}): RemediateDeps {
  return {
    store: services.store,
    config,
    backendFor: (profile) => services.backendFor(profile, config),
    scheduleRetry: () => Promise.resolve(),
    leaseMs: 60_000,
    ...overrides,
  };
}

/** A redelivery that comes after the crashed owner's lease has run out. */
const later = () => new Date(Date.now() + 120_000);

function crashAt(point: CrashPoint): (at: CrashPoint) => void {
  return (at) => {
    if (at === point) throw new SimulatedCrash(`test crash ${point}`);
  };
}

describe.each(backends)('exactly once through the $kind backend', (backend) => {
  beforeAll(() => setUp(backend));

  describe.each(actions)('%s', (action) => {
    it('three concurrent deliveries of the same message act once', async () => {
      const { internetMessageId, copyIds, verdictId, message } = await arrange(backend, action);
      const results = await Promise.all([1, 2, 3].map(() => remediate(message, deps())));

      expect(results.filter((r) => r.kind === 'done')).toHaveLength(1);
      expect(backend.locations(internetMessageId)).toEqual(expectedPlaces[action]);
      expect(backend.forwards(internetMessageId, copyIds)).toBe(action.startsWith('forward') ? 1 : 0);
      const row = await pipeline.row(verdictId, message);
      expect(row).toMatchObject({ status: 'succeeded' });
      expect(row.reason).toBeUndefined();
    });

    it.each(['afterClaim', 'afterIntent', 'afterAction', 'afterRecord'] as const)(
      'a crash %s and a redelivery after the lease act once and record what happened',
      async (point) => {
        const { internetMessageId, copyIds, verdictId, message } = await arrange(backend, action);
        await expect(remediate(message, deps({ crash: crashAt(point) }))).rejects.toThrow(/test crash/);
        const redelivered: RemediationMessage = { ...message };
        const [again, duplicate] = await Promise.all([
          remediate(redelivered, deps({ now: later })),
          remediate(redelivered, deps({ now: later })),
        ]);

        expect([again.kind, duplicate.kind].filter((k) => k === 'done').length).toBe(
          point === 'afterRecord' ? 0 : 1,
        );
        expect(backend.locations(internetMessageId)).toEqual(expectedPlaces[action]);
        expect(backend.forwards(internetMessageId, copyIds)).toBe(action.startsWith('forward') ? 1 : 0);
        const row = await pipeline.row(verdictId, message);
        expect(row).toMatchObject({ status: 'succeeded' });
        expect(row.reason).toBeUndefined();
        if (action !== 'forward') expect(row.originalFolder).toBeTruthy();
      },
    );
  });
});

describe('a Graph forward whose send failed', () => {
  beforeAll(() => setUp(backends[0] as Backend));

  it('is sent once, from the draft the first attempt made, by the next attempt', async () => {
    const graph = backends[0] as Backend;
    const { internetMessageId, verdictId, message } = await arrange(graph, 'forward');
    tenant.script({
      match: { method: 'POST', pathIncludes: '/send', mailbox: alice },
      times: 3,
      respond: { status: 503 },
    });
    const retries: RemediationMessage[] = [];
    const first = await remediate(
      message,
      deps({ scheduleRetry: (next) => Promise.resolve(void retries.push(next)) }),
    );
    expect(first.kind).toBe('retry');
    expect(graph.forwards(internetMessageId, [])).toBe(0);

    const second = await remediate(retries[0] as RemediationMessage, deps());
    expect(second).toMatchObject({ kind: 'done', status: 'succeeded' });
    expect(graph.forwards(internetMessageId, [])).toBe(1);
    const drafts = tenant.mailbox(alice).messages.filter((m) => m.isDraft);
    expect(drafts).toEqual([]);
    const row = await pipeline.row(verdictId, message);
    expect(row).toMatchObject({ status: 'succeeded' });
    expect(row.reason).toBeUndefined();
  });
});

describe('an EWS restore of a copy soft-deleted from the In-Place Archive', () => {
  const carol = 'carol@contoso.com';
  const ews = backends[1] as Backend;
  beforeAll(async () => {
    exchange.addMailbox(carol, { archive: true });
    await setUp(ews, { ...ews.profile(), searchArchive: true } as ConfigDocumentInput['profiles'][number]);
  });

  it("finds the copy in the archive's Recoverable Items and puts it back in its archive folder", async () => {
    sequence += 1;
    const internetMessageId = `<archived-${sequence}.${Date.now()}@evil.example>`;
    exchange.addMessage(carol, { internetMessageId, subject: 'Invoice', folder: 'archiveinbox' });
    const where = () =>
      exchange.copiesOf(carol, internetMessageId).map((m) => exchange.folder(m.folderId)?.distinguished);
    const messages = [{ internetMessageId, recipients: [carol] }];

    const removed = await pipeline.fanOut(VerdictChangeMother.malicious({ action: 'softDelete', messages }));
    await remediate(removed.messages[0] as RemediationMessage, deps());
    expect(where()).toEqual(['archiverecoverableitemsdeletions']);

    const clean = await pipeline.fanOut(
      VerdictChangeMother.malicious({ verdict: 'clean', previousVerdict: 'malicious', messages }),
    );
    const restored = await remediate(clean.messages[0] as RemediationMessage, deps());
    expect(restored).toMatchObject({ kind: 'done', status: 'succeeded' });
    expect(where()).toEqual(['archiveinbox']);
  });
});

/** Quarantine copies of the message held in the central mailbox, outside its Recoverable Items. */
function held(backend: Backend, internetMessageId: string): number {
  if (backend.kind === 'ews') return exchange.copiesOf(central, internetMessageId).length;
  const state = tenant.mailbox(central);
  const dumpster = new Set(
    state.folders.filter((f) => f.wellKnownName?.startsWith('recoverableitems')).map((f) => f.id),
  );
  return state.messages.filter((m) => m.internetMessageId === internetMessageId && !dumpster.has(m.folderId))
    .length;
}

describe.each(backends)('quarantine to the central mailbox through the $kind backend', (backend) => {
  beforeAll(() =>
    setUp(backend, {
      ...backend.profile(),
      quarantineTarget: 'mailbox',
      quarantineMailbox: central,
    }),
  );

  it.each(['none', 'afterIntent', 'afterAction'] as const)(
    'holds one copy per original copy after duplicates and a crash (%s), and the clean verdict brings every one back',
    async (point) => {
      const { internetMessageId, message } = await arrange(backend, 'quarantine');
      if (point !== 'none')
        await expect(remediate(message, deps({ crash: crashAt(point) }))).rejects.toThrow(/test crash/);
      await Promise.all([1, 2].map(() => remediate(message, deps({ now: later }))));
      expect(held(backend, internetMessageId)).toBe(2);
      const visible = backend.locations(internetMessageId).filter((f) => !f.startsWith('recoverableitems'));
      expect(visible).toEqual([]);

      const clean = await pipeline.fanOut(
        VerdictChangeMother.malicious({
          verdict: 'clean',
          previousVerdict: 'malicious',
          messages: [{ internetMessageId, recipients: [alice] }],
        }),
      );
      const restore = clean.messages[0] as RemediationMessage;
      await expect(remediate(restore, deps({ crash: crashAt('afterAction') }))).rejects.toThrow(/test crash/);
      await Promise.all([1, 2].map(() => remediate(restore, deps({ now: later }))));
      expect(held(backend, internetMessageId)).toBe(0);
      const back = backend.locations(internetMessageId).filter((f) => !f.startsWith('recoverableitems'));
      expect(back).toHaveLength(2);
      expect(await pipeline.row(clean.verdictId, restore)).toMatchObject({ status: 'succeeded' });
    },
  );
});
