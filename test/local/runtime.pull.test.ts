import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { demo } from '../../local/platforms/index.js';
import { type LocalRuntime, startLocalRuntime } from '../../local/runtime.js';
import { TableConfigStore } from '../../shared/config/tableConfigStore.js';
import type { VerdictRecord } from '../../shared/ports/results.js';
import { rewritingClient } from '../support/identity.js';
import { registerAllFunctions } from '../support/runtime.js';

let runtime: LocalRuntime;
let dataDir: string;
const log: string[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'clawback-pull-'));
  runtime = await startLocalRuntime({
    port: 0,
    tablePort: 0,
    dataDir,
    persistTables: false,
    functions: await registerAllFunctions(),
    identityHttpClientFor: (tenant) => rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost),
    log: (line) => log.push(line),
  });
}, 60_000);
afterAll(async () => {
  await runtime?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Where Carol's copy of a message is now: the display name of its folder, or undefined when gone. */
function folderOf(internetMessageId: string): string | undefined {
  const mailbox = runtime.tenant.mailbox(demo.recipient);
  const message = mailbox.messages.find((m) => m.internetMessageId === internetMessageId);
  return mailbox.folders.find((f) => f.id === message?.folderId)?.displayName;
}

async function verdictsFrom(source: string): Promise<VerdictRecord[]> {
  const rows = await runtime.services.store.listVerdicts(
    { from: new Date(Date.now() - 3600_000), to: new Date(Date.now() + 3600_000) },
    100,
  );
  return rows.filter((r) => r.source === source);
}

/** One timer tick, then everything it queued runs to the end. */
async function pollAndSettle(): Promise<void> {
  await runtime.runTimers();
  await runtime.queue.idle();
}

describe('pull connectors in the local runtime (the sandbox of npm start)', () => {
  it('a TAP event is pulled and quarantined, and a later lower-case cleared event with an empty messageID restores it', async () => {
    expect(folderOf(demo.tapMessage.internetMessageId)).toBe('Inbox');
    await pollAndSettle();
    expect(folderOf(demo.tapMessage.internetMessageId)).not.toBe('Inbox');
    expect(folderOf(demo.tapMessage.internetMessageId)).toBeDefined();
    const [malicious] = await verdictsFrom('proofpoint-tap');
    expect(malicious).toMatchObject({
      verdict: 'malicious',
      action: 'quarantine',
      status: 'completed',
      succeeded: 1,
    });

    // The cleared event as TAP emits it: lower-case enums, messageID "", recipients kept.
    const cleared = JSON.parse(
      readFileSync(
        path.resolve(__dirname, '../fixtures/sources/proofpoint-event-cleared-empty-messageid.json'),
        'utf8',
      ),
    ) as Record<string, unknown>;
    runtime.platforms.tap.add({ createdAt: new Date(Date.now() - 1500), event: cleared });
    // An operator's "poll now": the source's interval has not passed yet.
    const cursor = await runtime.services.cursors!.get('proofpoint-tap');
    await runtime.services.cursors!.put({ ...cursor!, nextRunAt: undefined });
    await pollAndSettle();

    expect(folderOf(demo.tapMessage.internetMessageId)).toBe('Inbox');
    const rows = await verdictsFrom('proofpoint-tap');
    // The overlapping window read the active event again: still one verdict for it.
    expect(rows.map((r) => r.verdict).sort()).toEqual(['clean', 'malicious']);
    expect(rows.find((r) => r.verdict === 'clean')).toMatchObject({
      action: 'restore',
      status: 'completed',
      succeeded: 1,
    });
  }, 120_000);

  it('a Defender alert is read with the Graph profile credential and its message moved to Junk', async () => {
    await pollAndSettle();
    expect(folderOf(demo.defenderMessage.internetMessageId)).toBe('Junk Email');
    const [alert] = await verdictsFrom('defender');
    expect(alert).toMatchObject({ verdict: 'malicious', url: demo.defenderUrl, status: 'completed' });
    expect(alert?.eventId).toMatch(/^fa637578995287051192_1436211@/);
    expect(runtime.platforms.defender.requests.every((r) => r.status === 200)).toBe(true);
  }, 120_000);

  it('a Secure Endpoint detection of a file no delivery was recorded for ends unresolved with a Note', async () => {
    await pollAndSettle();
    const [detection] = await verdictsFrom('cisco-secure-endpoint');
    expect(detection).toMatchObject({ sha256: demo.ampSha256, status: 'unresolved', recipients: 0 });
    expect(detection?.note).toMatch(/record deliveries \(POST \/api\/deliveries\)/);
    const statuses = await runtime.services.cursors!.list();
    expect(statuses.map((s) => [s.source, s.lastError])).toEqual(
      expect.arrayContaining([
        ['proofpoint-tap', undefined],
        ['cisco-secure-endpoint', undefined],
        ['defender', undefined],
      ]),
    );
  }, 120_000);
});

describe('a TAP event whose messageID is empty, with the fallback search allowed', () => {
  it('finds the copy by sender, subject and received time, quarantines it, and a cleared event restores it', async () => {
    const stored = await runtime.services.configStore.get();
    const document = structuredClone(stored!.document);
    for (const profile of document.profiles) profile.fallbackSearch = true;
    await runtime.services.configStore.put(document);
    const message = {
      internetMessageId: '<freight-quote.93a0@mail.tailspin-toys.example>',
      subject: 'Freight quote 93',
      from: 'quotes@tailspin-toys.example',
      receivedDateTime: new Date(Date.now() - 40 * 60_000).toISOString(),
    };
    runtime.tenant.addMessage(demo.recipient, message);
    const sha = 'c0ffee'.padEnd(64, '7');
    const event = (status: string) => {
      const e = JSON.parse(
        readFileSync(
          path.resolve(__dirname, '../fixtures/sources/proofpoint-event-cleared-empty-messageid.json'),
          'utf8',
        ),
      ) as Record<string, unknown>;
      Object.assign(e, {
        GUID: 'freight-quote-guid',
        subject: message.subject,
        fromAddress: [message.from],
        messageTime: message.receivedDateTime,
        messageParts: [{ disposition: 'attached', filename: 'quote.xlsm', sha256: sha }],
        threatsInfoMap: [
          {
            threatId: sha,
            threat: sha,
            threatType: 'attachment',
            classification: 'malware',
            threatStatus: status,
          },
        ],
      });
      return e;
    };
    const poll = async () => {
      const cursor = await runtime.services.cursors!.get('proofpoint-tap');
      await runtime.services.cursors!.put({ ...cursor!, nextRunAt: undefined });
      await pollAndSettle();
    };

    runtime.platforms.tap.add({ createdAt: new Date(Date.now() - 1500), event: event('active') });
    await poll();
    expect(folderOf(message.internetMessageId)).not.toBe('Inbox');
    expect(folderOf(message.internetMessageId)).toBeDefined();

    // TAP intervals are in whole seconds: an event of this very second is read by the next poll.
    runtime.platforms.tap.add({ createdAt: new Date(Date.now() - 1500), event: event('cleared') });
    await poll();
    expect(folderOf(message.internetMessageId)).toBe('Inbox');
  }, 120_000);
});

describe('the sample configuration in Table Storage', () => {
  it('reads its pull sources back as they were applied (what every later timer tick reads)', async () => {
    const applied = await runtime.services.configStore.get();
    const reread = await new TableConfigStore(
      { connectionString: runtime.tableConnectionString, options: { allowInsecureConnection: true } },
      0,
    ).get();
    expect(reread?.document.sources).toEqual(applied?.document.sources);
    expect(reread?.document.sources.map((s) => s.pull?.type)).toEqual([
      'proofpoint-tap',
      'cisco-secure-endpoint',
      'defender',
    ]);
  });
});
