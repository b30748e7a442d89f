import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type LocalRuntime, startLocalRuntime } from '../../../local/runtime.js';
import type { SandboxMailbox } from '../../../local/sandbox/types.js';
import { type Chaos, createChaos } from '../../../shared/chaos/chaos.js';
import type { RemediationRecord, VerdictRecord } from '../../../shared/ports/results.js';
import { rewritingClient } from '../../support/identity.js';
import { registerAllFunctions } from '../../support/runtime.js';

/**
 * SPEC §6 under fault injection: every chaos fault at 10 % or more, a fixed seed, 200 recipients of
 * the Graph sandbox (a fifth of them with two or three copies), one verdict per action and then one
 * clean verdict per threat. Sized by counts; the sandbox answers without latency.
 */
const groups = [
  'forward',
  'forwardAndDelete',
  'quarantineFolder',
  'softDelete',
  'quarantineMailbox',
] as const;
type Group = (typeof groups)[number];
const perGroup = 40;
const central = 'quarantine@contoso.com';
const hiddenFolder = 'Clawback Quarantine';

const messageIdOf = (group: Group) => `<chaos-${group}@mail.northwind-traders.example>`;
const sha256Of = (group: Group) => String(groups.indexOf(group) + 1).repeat(64);
/** The mailbox-quarantine group lives in a domain of its own, mapped to a profile that quarantines centrally. */
const recipientsOf = (group: Group) =>
  Array.from(
    { length: perGroup },
    (_, i) => `${group.toLowerCase()}-${i}@${group === 'quarantineMailbox' ? 'fabrikam.com' : 'contoso.com'}`,
  );
/** Folders each recipient's copies were delivered to: every fifth holds more than one copy. */
const foldersOf = (i: number): string[] =>
  i % 10 === 0 ? ['inbox', 'Invoices', 'archive'] : i % 5 === 0 ? ['inbox', 'Invoices'] : ['inbox'];

let runtime: LocalRuntime;
let chaos: Chaos;
let dataDir: string;
const verdictIds = new Map<string, string>();
const afterAction = new Map<Group, Map<string, string[]>>();
let heldAfterAction = 0;

/** Quarantine copies in the central mailbox's folders (a deleted one sits in its Recoverable Items). */
const centralCopies = () => {
  const state = runtime.tenant.mailbox(central);
  const recoverable = new Set(
    state.folders.filter((f) => f.wellKnownName?.startsWith('recoverableitems')).map((f) => f.id),
  );
  return state.messages.filter(
    (m) => m.internetMessageId === messageIdOf('quarantineMailbox') && !recoverable.has(m.folderId),
  ).length;
};

function mailboxes(): SandboxMailbox[] {
  return groups.flatMap((group) =>
    recipientsOf(group).map((address, i) => ({
      address,
      messages: foldersOf(i).map((folder) => ({
        internetMessageId: messageIdOf(group),
        subject: `Chaos ${group}`,
        from: 'billing@northwind-traders.example',
        folder,
      })),
    })),
  );
}

async function post(body: Record<string, unknown>): Promise<string> {
  // A table fault can reach ingest too; a platform retries a 5xx, and a repeat returns the same verdict.
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${runtime.apiUrl.replace('localhost', '127.0.0.1')}/verdicts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.status === 200 || response.status === 202)
      return ((await response.json()) as { verdictId: string }).verdictId;
    if (response.status < 500 || attempt >= 20) throw new Error(`ingest answered ${response.status}`);
  }
}

function verdict(group: Group, value: 'malicious' | 'clean', action?: string): Record<string, unknown> {
  return {
    eventId: `chaos-${group}-${value}`,
    source: 'soar',
    verdict: value,
    ...(action ? { action } : {}),
    threat: { sha256: sha256Of(group), filename: `${group}.pdf.js` },
    messages: [{ internetMessageId: messageIdOf(group), recipients: recipientsOf(group) }],
  };
}

async function addCentralQuarantineProfile(): Promise<void> {
  const stored = await runtime.services.configStore.get();
  if (!stored) throw new Error('no configuration');
  const document = structuredClone(stored.document);
  const online = document.profiles.find((p) => p.type === 'graph');
  if (online?.type !== 'graph') throw new Error('no Graph profile');
  document.profiles.push({
    ...online,
    name: 'sandbox-central',
    quarantineTarget: 'mailbox',
    quarantineMailbox: central,
  });
  document.domains['fabrikam.com'] = 'sandbox-central';
  await runtime.services.configStore.put(document);
}

/** Where each copy of the group's message is in a mailbox, by folder name. */
function placesOf(address: string, group: Group): string[] {
  const state = runtime.tenant.mailbox(address);
  return state.messages
    .filter((m) => m.internetMessageId === messageIdOf(group))
    .map((m) => {
      const folder = state.folders.find((f) => f.id === m.folderId);
      return folder?.wellKnownName ?? folder?.displayName ?? '?';
    })
    .sort();
}

async function rows(verdictId: string): Promise<RemediationRecord[]> {
  return (await runtime.services.store.listRemediations(verdictId, { pageSize: 1000 })).items;
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'clawback-chaos-'));
  chaos = createChaos(
    { redeliver: 0.1, crashAfterAction: 0.15, crashAfterRecord: 0.1, lockLost: 0.1, tableFault: 0.1 },
    20261130,
  );
  runtime = await startLocalRuntime({
    port: 0,
    tablePort: 0,
    dataDir,
    persistTables: false,
    functions: await registerAllFunctions(),
    identityHttpClientFor: (tenant) => rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost),
    extraMailboxes: mailboxes(),
    chaos,
    lockDurationMs: 300,
    // Mailbox calls stop half a second before the lease ends; 8 s leaves a loaded machine time for each call.
    leaseMs: 8000,
    log: () => undefined,
  });
  await addCentralQuarantineProfile();
  for (const group of groups) {
    const action = group.startsWith('quarantine') ? 'quarantine' : group;
    verdictIds.set(`${group}/malicious`, await post(verdict(group, 'malicious', action)));
  }
  await runtime.queue.idle();
  for (const group of groups)
    afterAction.set(group, new Map(recipientsOf(group).map((r) => [r, placesOf(r, group)])));
  heldAfterAction = centralCopies();
  for (const group of groups) verdictIds.set(`${group}/clean`, await post(verdict(group, 'clean')));
  await runtime.queue.idle();
}, 600_000);

afterAll(async () => {
  await runtime?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a chaos run through the Graph sandbox', () => {
  it('injects every fault', () => {
    for (const [fault, count] of Object.entries(chaos.injected)) expect(count, fault).toBeGreaterThan(0);
  });

  it('forwards exactly once per recipient, however often the message was delivered or crashed', () => {
    for (const group of ['forward', 'forwardAndDelete'] as const)
      for (const recipient of recipientsOf(group))
        expect(
          runtime.tenant.forwards.filter(
            (f) => f.mailbox === recipient && f.internetMessageId === messageIdOf(group),
          ),
          `${group} ${recipient}`,
        ).toHaveLength(1);
  });

  it('leaves every copy in exactly the one place its action puts it', () => {
    for (const group of groups)
      recipientsOf(group).forEach((recipient, i) => {
        const delivered = foldersOf(i).sort();
        const seen = afterAction.get(group)?.get(recipient);
        const n = delivered.length;
        const expected: Record<Group, string[]> = {
          forward: delivered,
          forwardAndDelete: Array<string>(n).fill('recoverableitemsdeletions'),
          quarantineFolder: Array<string>(n).fill(hiddenFolder),
          softDelete: Array<string>(n).fill('recoverableitemsdeletions'),
          // Graph cannot move across mailboxes: the original is deleted once its copy is in the central mailbox.
          quarantineMailbox: Array<string>(n).fill('recoverableitemsdeletions'),
        };
        expect(seen, `${group} ${recipient} after the action`).toEqual(expected[group]);
        const afterClean =
          group === 'forwardAndDelete'
            ? expected.forwardAndDelete
            : group === 'quarantineMailbox'
              ? [...delivered, ...expected.quarantineMailbox].sort()
              : delivered;
        expect(placesOf(recipient, group), `${group} ${recipient} after clean`).toEqual(afterClean);
      });
    // One quarantine copy per original copy, and every one of them brought back.
    const originals = recipientsOf('quarantineMailbox').reduce((n, _, i) => n + foldersOf(i).length, 0);
    expect(heldAfterAction).toBe(originals);
    expect(centralCopies()).toBe(0);
  });

  it('ends every row terminal with what happened: succeeded without a reason, notReversible for forwards', async () => {
    for (const group of groups) {
      const acted = await rows(verdictIds.get(`${group}/malicious`) ?? '');
      expect(acted).toHaveLength(perGroup);
      for (const row of acted)
        expect([row.recipient, row.status, row.reason]).toEqual([row.recipient, 'succeeded', undefined]);
      const cleaned = await rows(verdictIds.get(`${group}/clean`) ?? '');
      const expected = group.startsWith('forward') ? 'notReversible' : 'succeeded';
      expect(cleaned).toHaveLength(perGroup);
      for (const row of cleaned)
        expect([row.recipient, row.status, row.reason]).toEqual([row.recipient, expected, undefined]);
    }
  });

  it('counts every row exactly once and completes each verdict once', async () => {
    for (const [key, verdictId] of verdictIds) {
      const record: VerdictRecord | undefined = await runtime.services.store.getVerdict(verdictId);
      expect(record, key).toMatchObject({ status: 'completed', recipients: perGroup, done: perGroup });
      expect(record?.completedAt, key).toBeTruthy();
    }
  });
});
