import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { LocalRuntime } from '../../local/runtime.js';
import { sampleMessageId, sampleVerdict } from '../../local/sampleTenant.js';
import { startTestRuntime } from '../support/runtime.js';

let runtime: LocalRuntime;
let stop: () => Promise<void>;
const lines: string[] = [];

beforeAll(async () => {
  ({ runtime, stop } = await startTestRuntime((line) => lines.push(line)));
});
afterAll(() => stop?.());

type Status = {
  verdict: { status: string; succeeded: number; notFound: number; done: number; recipients: number };
  remediations: {
    recipient: string;
    status: string;
    reason?: string;
    profile?: string;
    backend?: string;
    detail?: string;
  }[];
};

async function waitForCompletion(statusUrl: string): Promise<Status> {
  for (;;) {
    const status = (await (await fetch(statusUrl.replace('localhost', '127.0.0.1'))).json()) as Status;
    if (status.verdict.status.startsWith('completed')) return status;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('local runtime (what npm start serves)', () => {
  it('takes the sample verdict from HTTP through both queues to the mailboxes of both sandboxes and into the tables', async () => {
    const api = runtime.apiUrl.replace('localhost', '127.0.0.1');
    expect(
      runtime.tenant
        .mailbox('alice@contoso.com')
        .messages.some((m) => m.internetMessageId === sampleMessageId),
    ).toBe(true);
    expect(runtime.onprem.copiesOf('dan@contoso.com', sampleMessageId)).toHaveLength(1);

    const response = await fetch(`${api}/verdicts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sampleVerdict('runtime-test-1')),
    });
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as { verdictId: string; statusUrl: string };

    const status = await waitForCompletion(accepted.statusUrl);
    expect(status.verdict).toMatchObject({
      status: 'completed',
      recipients: 4,
      succeeded: 3,
      notFound: 1,
      done: 4,
    });
    const byRecipient = Object.fromEntries(status.remediations.map((r) => [r.recipient, r]));
    expect(byRecipient['alice@contoso.com']).toMatchObject({
      status: 'succeeded',
      profile: 'sandbox-online',
      backend: 'graph',
    });
    expect(byRecipient['bob@contoso.com']).toMatchObject({ status: 'succeeded' });
    expect(byRecipient['carol@contoso.com']).toMatchObject({ status: 'notFound', reason: 'MessageNotFound' });
    // Graph knows Dan but cannot reach his on-premises mailbox, so the hybrid chain falls through to EWS.
    expect(byRecipient['dan@contoso.com']).toMatchObject({
      status: 'succeeded',
      profile: 'sandbox-onprem',
      backend: 'ews',
    });

    const visible = (address: string) =>
      runtime.tenant
        .mailbox(address)
        .messages.filter(
          (m) =>
            m.internetMessageId === sampleMessageId &&
            !['recoverableitemsdeletions'].includes(folderName(address, m.folderId)),
        );
    expect(visible('alice@contoso.com')).toEqual([]);
    expect(visible('bob@contoso.com')).toEqual([]);
    expect(
      runtime.onprem
        .copiesOf('dan@contoso.com', sampleMessageId)
        .map((m) => runtime.onprem.folderPath(m.folderId)),
    ).toEqual(['Recoverable Items/Deletions']);
    expect(runtime.onprem.requests.some((r) => r.impersonated === 'dan@contoso.com')).toBe(true);

    const table = TableClient.fromConnectionString(runtime.tableConnectionString, 'Remediations', {
      allowInsecureConnection: true,
    });
    const rows: { Status: string }[] = [];
    for await (const row of table.listEntities<{ Status: string }>({
      queryOptions: { filter: `PartitionKey eq '${accepted.verdictId}'` },
    }))
      rows.push(row);
    expect(rows.map((r) => r.Status).sort()).toEqual(['notFound', 'succeeded', 'succeeded', 'succeeded']);
    expect(lines.some((l) => l.includes('fan-out complete'))).toBe(true);
  });

  it('shows a mailbox of either sandbox over HTTP and answers unknown routes with 404', async () => {
    const origin = runtime.apiUrl.replace('localhost', '127.0.0.1').replace(/\/api$/, '');
    const mailbox = await fetch(`${origin}/sandbox/mailboxes/alice@contoso.com`);
    expect(mailbox.status).toBe(200);
    expect(((await mailbox.json()) as { messages: unknown[] }).messages.length).toBeGreaterThan(0);
    const onprem = await fetch(`${origin}/sandbox/onprem/mailboxes/dan@contoso.com`);
    expect(onprem.status).toBe(200);
    const dan = (await onprem.json()) as { messages: { subject: string; folder: string }[] };
    expect(dan.messages).toContainEqual(
      expect.objectContaining({ subject: 'Weekly update', folder: 'Inbox' }),
    );
    expect((await fetch(`${origin}/sandbox/onprem/mailboxes/alice@contoso.com`)).status).toBe(404);
    expect((await fetch(`${origin}/api/nothing-here`)).status).toBe(404);
    expect((await fetch(`${origin}/api/health`)).status).toBe(200);
  });
});

describe('every action against the sandbox tenant (what the README walks through)', () => {
  const threat = { sha256: 'c'.repeat(64), filename: 'macro.docm' };

  async function post(body: Record<string, unknown>): Promise<Status> {
    const api = runtime.apiUrl.replace('localhost', '127.0.0.1');
    const response = await fetch(`${api}/verdicts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(202);
    return waitForCompletion(((await response.json()) as { statusUrl: string }).statusUrl);
  }

  /** Delivers a fresh copy to Alice, posts a verdict asking for `action`, and says where the copy is now. */
  async function apply(action: string): Promise<{ status: Status; folders: string[]; messageId: string }> {
    const messageId = `<try-${action}@mail.northwind-traders.example>`;
    runtime.tenant.addMessage('alice@contoso.com', {
      internetMessageId: messageId,
      subject: `Try ${action}`,
      isRead: true,
    });
    const status = await post({
      eventId: `try-${action}`,
      source: 'soar',
      verdict: 'malicious',
      action,
      threat,
      messages: [{ internetMessageId: messageId, recipients: ['alice@contoso.com'] }],
    });
    const folders = runtime.tenant
      .mailbox('alice@contoso.com')
      .messages.filter((m) => m.internetMessageId === messageId)
      .map((m) => folderName('alice@contoso.com', m.folderId));
    return { status, folders, messageId };
  }

  it.each([
    ['none', ['inbox']],
    ['moveToJunk', ['junkemail']],
    ['moveToDeletedItems', ['deleteditems']],
    ['softDelete', ['recoverableitemsdeletions']],
    ['hardDelete', []],
    ['quarantine', ['Clawback Quarantine']],
  ])('%s leaves the copy in %j', async (action, folders) => {
    const result = await apply(action);
    expect(result.status.remediations[0]).toMatchObject({ status: 'succeeded', profile: 'sandbox-online' });
    expect(result.folders.filter((f) => f !== 'recoverableitemspurges')).toEqual(folders);
    if (action === 'none')
      expect(result.status.remediations[0]?.detail).toBe(
        'Found 1 copy; the action is none, so nothing was changed.',
      );
  });

  it('forward sends the copy to the configured SOC address only, and forwardAndDelete also removes it', async () => {
    const forwarded = await apply('forward');
    expect(forwarded.folders).toEqual(['inbox']);
    expect(
      runtime.tenant.forwards.filter((f) => f.internetMessageId === forwarded.messageId).map((f) => f.to),
    ).toEqual([['soc@contoso.com']]);
    const both = await apply('forwardAndDelete');
    expect(both.folders.filter((f) => f === 'inbox')).toEqual([]);
    expect(runtime.tenant.forwards.some((f) => f.internetMessageId === both.messageId)).toBe(true);
  });

  it('a clean verdict for the same threat puts the quarantined and moved copies back where they were', async () => {
    const clean = await post({
      eventId: 'try-clean',
      source: 'soar',
      verdict: 'clean',
      previousVerdict: 'malicious',
      threat,
    });
    const byAction = (action: string) =>
      runtime.tenant
        .mailbox('alice@contoso.com')
        .messages.filter((m) => m.internetMessageId === `<try-${action}@mail.northwind-traders.example>`)
        .map((m) => ({ folder: folderName('alice@contoso.com', m.folderId), isRead: m.isRead }));
    for (const action of ['moveToJunk', 'moveToDeletedItems', 'softDelete', 'quarantine'])
      expect(byAction(action), action).toEqual([{ folder: 'inbox', isRead: true }]);
    const statuses = clean.remediations.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 'succeeded')).toHaveLength(4);
    expect(statuses.filter((s) => s === 'notReversible')).toHaveLength(3);
  });
});

function folderName(address: string, folderId: string): string {
  const folder = runtime.tenant.mailbox(address).folders.find((f) => f.id === folderId);
  return folder?.wellKnownName ?? folder?.displayName ?? '';
}
