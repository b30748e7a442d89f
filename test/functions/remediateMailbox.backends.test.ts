import { InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { remediateMailbox } from '../../functions/remediateMailbox.js';
import { createAppCertificate, type SandboxTenant, startSandboxTenant } from '../../local/sandbox/index.js';
import type { Services } from '../../shared/composition.js';
import type { ConfigDocumentInput } from '../../shared/config/document.js';
import { createMailBackendFactory } from '../../shared/mail/factory.js';
import { InMemoryQueue } from '../../shared/queue/inMemoryQueue.js';
import { FakeEwsServer } from '../fakes/ewsServer.js';
import { ProfileMother } from '../mothers/profileMother.js';
import { VerdictChangeMother } from '../mothers/verdictChangeMother.js';
import { startHarness, stopHarness } from '../support/harness.js';
import { hybridSecrets, rewritingClient } from '../support/identity.js';
import { Pipeline } from '../support/pipeline.js';
import { folderNamesOf } from '../support/sandboxMail.js';

/**
 * One suite, two backends: the same verdicts go through the fan-out and remediation functions with the
 * real Graph backend against the sandbox tenant, then with the real EWS backend against the fake
 * Exchange Server. Each side also plays the profile that does not own the mailbox in a hybrid chain.
 */

const alice = 'alice@contoso.com';
const mallory = 'mallory@contoso.com';
const nobody = 'nobody@contoso.com';
/** Hosted online: Graph reaches it, Exchange Server has no such mailbox. */
const gina = 'gina@contoso.com';
/** Hosted on-premises: Graph knows the user but cannot reach the mailbox. */
const dan = 'dan@contoso.com';
const maxAttempts = 3;
/** A group (Graph) / distribution list (EWS) of Alice and Mallory, with no mailbox of its own. */
const team = 'team@contoso.com';
/** Member of the team next to Alice; no other scenario touches her mailbox. */
const tess = 'tess@contoso.com';

const appCert = createAppCertificate('clawback-backends-test');
const ewsPassword = 'Ews-p@ss&<word>';
const secrets = hybridSecrets(appCert, ewsPassword);

let tenant: SandboxTenant;
let exchange: FakeEwsServer;
let queue: InMemoryQueue;
let services: Services;
let sequence = 0;
let pipeline: Pipeline;

type ProfileInput = ConfigDocumentInput['profiles'][number];

/** What a scenario needs from one backend: its profile, and a way to arrange and inspect its mailboxes. */
interface Backend {
  kind: 'graph' | 'ews';
  profileName: string;
  profile(): ProfileInput;
  /** The mailbox this backend owns and the other profile of a hybrid chain cannot reach. */
  ownMailbox: string;
  deliver(mailbox: string, internetMessageId: string, folder?: 'inbox' | 'junkemail' | 'Invoices'): void;
  /** Where the visible copies are: well-known folder names, display names otherwise. */
  locations(mailbox: string, internetMessageId: string): string[];
  denyAccess(mailbox: string): void;
  /** Throttles every request for the mailbox, however often the adapter retries in place, until released. */
  throttle(mailbox: string): void;
  releaseThrottle(): void;
  /** Whether this backend's server was asked about the mailbox. */
  wasAskedAbout(mailbox: string): boolean;
}

const graph: Backend = {
  kind: 'graph',
  profileName: 'contoso-online',
  profile: () => ProfileMother.graph(ProfileMother.sandboxEndpoints(tenant)),
  ownMailbox: gina,
  deliver: (mailbox, internetMessageId, folder = 'inbox') => {
    tenant.addMessage(mailbox, { internetMessageId, subject: 'Invoice', folder });
  },
  locations: (mailbox, internetMessageId) => folderNamesOf(tenant, mailbox, internetMessageId),
  denyAccess: (mailbox) => {
    tenant.script({
      match: { mailbox },
      respond: {
        status: 403,
        body: {
          error: { code: 'ErrorAccessDenied', message: 'Access is denied. Check credentials and try again.' },
        },
      },
    });
  },
  throttle: (mailbox) => {
    tenant.script({ match: { mailbox }, respond: { status: 429 } });
  },
  releaseThrottle: () => tenant.clearScripts(),
  wasAskedAbout: (mailbox) => tenant.requests.some((r) => r.mailbox === mailbox),
};

const ewsFolders = new Map<string, string>();
const ews: Backend = {
  kind: 'ews',
  profileName: 'contoso-onprem',
  profile: () => ProfileMother.ews({ ewsUrl: exchange.url, auth: 'ntlm', access: 'impersonation' }),
  ownMailbox: dan,
  deliver: (mailbox, internetMessageId, folder = 'inbox') => {
    let target: string = folder;
    if (folder === 'Invoices') {
      const key = `${mailbox}|${folder}`;
      target = ewsFolders.get(key) ?? exchange.addFolder(mailbox, folder, 'inbox');
      ewsFolders.set(key, target);
    }
    exchange.addMessage(mailbox, { internetMessageId, subject: 'Invoice', folder: target });
  },
  locations: (mailbox, internetMessageId) =>
    exchange
      .copiesOf(mailbox, internetMessageId)
      .map((m) => {
        const folder = exchange.folder(m.folderId);
        return folder?.distinguished ?? folder?.name ?? m.folderId;
      })
      .sort(),
  denyAccess: (mailbox) => exchange.denyImpersonation(mailbox),
  throttle: () => exchange.fail('*', { kind: 'serverBusy', backOffMs: 5 }, 1000),
  releaseThrottle: () => exchange.clearFaults(),
  wasAskedAbout: (mailbox) => exchange.requests.some((r) => r.impersonated === mailbox),
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
    mailboxes: [
      { address: alice },
      { address: mallory },
      { address: gina },
      { address: tess },
      { address: dan, kind: 'notEnabledForRest' },
    ],
    groups: [{ address: team, displayName: 'Team', members: [alice, tess] }],
  });
  exchange = await FakeEwsServer.start({
    auth: 'ntlm',
    username: 'CONTOSO\\svc-clawback',
    password: ewsPassword,
  });
  for (const mailbox of [alice, mallory, dan, tess]) exchange.addMailbox(mailbox);
  exchange.addDistributionList(team, [{ address: alice }, { address: tess }]);
});
afterAll(async () => {
  stopHarness();
  await exchange?.close();
  await tenant?.close();
});

/** Fresh queue and configuration; the backends are built by the production factory from the profiles. */
async function setUp(config: Partial<ConfigDocumentInput>): Promise<void> {
  ({ queue, services, pipeline } = await startHarness({
    config: { settings: { maxAttempts }, ...config },
    secrets,
    backendFor: createMailBackendFactory({
      secrets,
      identityHttpClient: rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost),
    }),
  }));
}

const context = () =>
  new InvocationContext({ functionName: 'remediateMailbox', logHandler: () => undefined });

/** A verdict for a message id no other scenario uses, so the shared servers need no reset. */
function verdictFor(recipient: string): { internetMessageId: string; change: Record<string, unknown> } {
  sequence += 1;
  const internetMessageId = `<case-${sequence}.${Date.now()}@evil.example>`;
  return {
    internetMessageId,
    change: VerdictChangeMother.malicious({ messages: [{ internetMessageId, recipients: [recipient] }] }),
  };
}

describe.each([graph, ews])('a verdict through the $kind backend', (backend) => {
  const mappedToIt = (overrides: Partial<ConfigDocumentInput> = {}) =>
    setUp({
      profiles: [graph.profile(), ews.profile()],
      domains: { 'contoso.com': backend.profileName },
      ...overrides,
    });

  it('removes the copy from where it was and records succeeded with the profile and backend', async () => {
    await mappedToIt();
    const { internetMessageId, change } = verdictFor(alice);
    backend.deliver(alice, internetMessageId);

    const { verdictId, messages } = await pipeline.fanOut(change);
    await remediateMailbox(messages[0], context());

    expect(await pipeline.row(verdictId, messages[0])).toMatchObject({
      status: 'succeeded',
      action: 'softDelete',
      profile: backend.profileName,
      backend: backend.kind,
      attempts: 1,
    });
    expect(backend.locations(alice, internetMessageId)).toEqual(['recoverableitemsdeletions']);
    await pipeline.check();
    expect(await services.store.getVerdict(verdictId)).toMatchObject({ status: 'completed', succeeded: 1 });
  });

  it('acts on every copy in the mailbox', async () => {
    await mappedToIt({ policies: [{ verdict: 'malicious', action: 'moveToDeletedItems' }] });
    const { internetMessageId, change } = verdictFor(alice);
    backend.deliver(alice, internetMessageId);
    backend.deliver(alice, internetMessageId, 'Invoices');

    const { verdictId, messages } = await pipeline.fanOut(change);
    await remediateMailbox(messages[0], context());

    const result = await pipeline.row(verdictId, messages[0]);
    expect(result.status).toBe('succeeded');
    expect(result.detail).toMatch(/2 of 2 copies/);
    expect(backend.locations(alice, internetMessageId)).toEqual(['deleteditems', 'deleteditems']);
  });

  it('records notFound with reason MessageNotFound when the mailbox has no copy', async () => {
    await mappedToIt();
    const { verdictId, messages } = await pipeline.fanOut(verdictFor(alice).change);
    await remediateMailbox(messages[0], context());
    expect(await pipeline.row(verdictId, messages[0])).toMatchObject({
      status: 'notFound',
      reason: 'MessageNotFound',
      backend: backend.kind,
    });
    const { detail } = await pipeline.row(verdictId, messages[0]);
    if (backend.kind === 'graph') expect(detail).toMatch(/cannot search In-Place Archive/);
    else expect(detail).not.toMatch(/Archive/);
  });

  it('in simulate mode finds the copy, leaves it where it is and records simulated', async () => {
    await mappedToIt({ policies: [{ verdict: 'malicious', action: 'hardDelete', mode: 'simulate' }] });
    const { internetMessageId, change } = verdictFor(alice);
    backend.deliver(alice, internetMessageId);

    const { verdictId, messages } = await pipeline.fanOut(change);
    await remediateMailbox(messages[0], context());

    const result = await pipeline.row(verdictId, messages[0]);
    expect(result).toMatchObject({ status: 'simulated', backend: backend.kind });
    expect(result.detail).toMatch(/Would apply hardDelete to 1 copy/);
    expect(backend.locations(alice, internetMessageId)).toEqual(['inbox']);
  });

  it('records alreadyRemediated when the copy is already where the action puts it', async () => {
    await mappedToIt({ policies: [{ verdict: 'malicious', action: 'moveToJunk' }] });
    const { internetMessageId, change } = verdictFor(alice);
    backend.deliver(alice, internetMessageId, 'junkemail');

    const { verdictId, messages } = await pipeline.fanOut(change);
    await remediateMailbox(messages[0], context());

    expect((await pipeline.row(verdictId, messages[0])).status).toBe('alreadyRemediated');
    expect(backend.locations(alice, internetMessageId)).toEqual(['junkemail']);
  });

  it('fails a mailbox that exists under no profile with InvalidMailbox', async () => {
    await mappedToIt();
    const { verdictId, messages } = await pipeline.fanOut(verdictFor(nobody).change);
    await remediateMailbox(messages[0], context());
    const result = await pipeline.row(verdictId, messages[0]);
    expect(result).toMatchObject({ status: 'failed', reason: 'InvalidMailbox' });
    expect(result.detail).toContain(nobody);
  });

  it('fails at once with PermissionError when the service identity may not open the mailbox', async () => {
    await mappedToIt();
    backend.denyAccess(mallory);
    const { internetMessageId, change } = verdictFor(mallory);
    backend.deliver(mallory, internetMessageId);

    const { verdictId, messages } = await pipeline.fanOut(change);
    await remediateMailbox(messages[0], context());

    const result = await pipeline.row(verdictId, messages[0]);
    expect(result).toMatchObject({ status: 'failed', reason: 'PermissionError', attempts: 1 });
    expect(result.detail).toContain(mallory);
    expect(queue.stats('remediations').scheduled).toBe(0);
    expect(backend.locations(mallory, internetMessageId)).toEqual(['inbox']);
  });

  it('schedules a retry when throttled and succeeds on the scheduled attempt', async () => {
    await mappedToIt();
    const { internetMessageId, change } = verdictFor(alice);
    backend.deliver(alice, internetMessageId);
    const { verdictId, messages } = await pipeline.fanOut(change);

    backend.throttle(alice);
    await remediateMailbox(messages[0], context());
    expect(await pipeline.row(verdictId, messages[0])).toMatchObject({
      status: 'pending',
      reason: 'Throttled',
      attempts: 1,
    });
    expect(backend.locations(alice, internetMessageId)).toEqual(['inbox']);

    backend.releaseThrottle();
    const [retry] = await pipeline.drain();
    expect(retry).toMatchObject({ attempt: 2, rowKey: messages[0]?.rowKey });
    await remediateMailbox(retry, context());
    expect(await pipeline.row(verdictId, messages[0])).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(backend.locations(alice, internetMessageId)).toEqual(['recoverableitemsdeletions']);
  });

  it('quarantines into a hidden folder, and a clean verdict puts the copy back into its original folder', async () => {
    await mappedToIt({
      policies: [
        { verdict: 'malicious', action: 'quarantine' },
        { verdict: 'clean', action: 'restore' },
      ],
    });
    const { internetMessageId, change } = verdictFor(alice);
    backend.deliver(alice, internetMessageId, 'Invoices');
    const quarantined = await pipeline.fanOut(change);
    await remediateMailbox(quarantined.messages[0], context());
    expect(await pipeline.row(quarantined.verdictId, quarantined.messages[0])).toMatchObject({
      status: 'succeeded',
      action: 'quarantine',
    });
    expect(backend.locations(alice, internetMessageId)).toEqual(['Clawback Quarantine']);

    const clean = await pipeline.fanOut({
      ...change,
      eventId: `${String(change.eventId)}-clean`,
      verdict: 'clean',
      previousVerdict: 'malicious',
    });
    await remediateMailbox(clean.messages[0], context());
    expect(await pipeline.row(clean.verdictId, clean.messages[0])).toMatchObject({
      status: 'succeeded',
      action: 'restore',
      backend: backend.kind,
    });
    expect(backend.locations(alice, internetMessageId)).toEqual(['Invoices']);
  });

  it('expands a group recipient into one row per member mailbox, each remediated', async () => {
    await mappedToIt();
    const { internetMessageId, change } = verdictFor(team);
    backend.deliver(alice, internetMessageId);
    backend.deliver(tess, internetMessageId);
    const { verdictId, messages } = await pipeline.fanOut(change);
    await remediateMailbox(messages[0], context());
    expect((await pipeline.row(verdictId, messages[0])).detail).toMatch(
      /is a group.*expanded into 2 member mailboxes/,
    );
    const members = await pipeline.drain();
    expect(members.map((m) => m.recipient).sort()).toEqual([alice, tess]);
    for (const m of members) await remediateMailbox(m, context());
    expect(backend.locations(alice, internetMessageId)).toEqual(['recoverableitemsdeletions']);
    expect(backend.locations(tess, internetMessageId)).toEqual(['recoverableitemsdeletions']);
    await pipeline.check();
    expect(await services.store.getVerdict(verdictId)).toMatchObject({
      status: 'completed',
      recipients: 3,
      done: 3,
    });
  });

  it('in a hybrid chain, moves past the profile that does not own the mailbox and records the one that does', async () => {
    const other = backend === graph ? ews : graph;
    await mappedToIt({
      chains: [{ name: 'hybrid', profiles: [other.profileName, backend.profileName] }],
      domains: { 'contoso.com': 'hybrid' },
    });
    const mailbox = backend.ownMailbox;
    const { internetMessageId, change } = verdictFor(mailbox);
    backend.deliver(mailbox, internetMessageId);

    const { verdictId, messages } = await pipeline.fanOut(change);
    await remediateMailbox(messages[0], context());

    expect(await pipeline.row(verdictId, messages[0])).toMatchObject({
      status: 'succeeded',
      profile: backend.profileName,
      backend: backend.kind,
    });
    expect(other.wasAskedAbout(mailbox)).toBe(true);
    expect(backend.locations(mailbox, internetMessageId)).toEqual(['recoverableitemsdeletions']);
  });
});
