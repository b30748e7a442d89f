import type { HttpClient } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../../../local/sandbox/index.js';
import { forwardMarker, type GraphMailBackendDeps } from '../../../../shared/mail/graph/graphMailBackend.js';
import type { ActionOptions, MailItem } from '../../../../shared/ports/mail.js';
import { folderNameIn, sandboxGraphBackend } from '../../../support/graphBackend.js';
import { rejection, rewritingClient } from '../../../support/identity.js';
import { folderNamesOf } from '../../../support/sandboxMail.js';

const tenantId = '6a1f0c2e-58b4-4d0c-9a51-0f3c6a7d2b10';
const clientId = '0b8f7a3c-2d4e-4f61-8a9b-1c2d3e4f5a6b';
const appCert = createAppCertificate('clawback-graph-forward-mutants');
const mailbox = 'carol@contoso.com';
const soc = 'soc@contoso.com';

describe('forward (forward.ts) against the sandbox tenant', () => {
  let tenant: SandboxTenant;
  let identityHttpClient: HttpClient;
  let sequence = 0;

  const backendFor = (deps: Partial<GraphMailBackendDeps> = { forwardTo: soc }) =>
    sandboxGraphBackend(
      tenant,
      { tenantId, clientId, pemBundle: appCert.pemBundle, identityHttpClient },
      {},
      deps,
    );

  /** A fresh lure in carol's inbox, found as `remediate` finds it. */
  const lure = async (): Promise<{ id: string; item: MailItem }> => {
    sequence += 1;
    const id = `<fwd-${sequence}@evil.example>`;
    tenant.addMessage(mailbox, { internetMessageId: id, subject: `Lure ${sequence}`, folder: 'inbox' });
    const [item] = (await backendFor().findMessages(mailbox, { internetMessageId: id })).items;
    return { id, item: item! };
  };
  const forwardsOf = (id: string) => tenant.forwards.filter((f) => f.internetMessageId === id);
  const since = (before: number) => tenant.requests.slice(before).filter((r) => r.mailbox === mailbox);
  const calls = (before: number) =>
    since(before).map(
      (r) =>
        `${r.method} ${r.path.replace(/\/v1\.0\/users\/[^/]+/, '').replace(/\/messages\/[^/?]+/, '/messages/ID')}`,
    );
  const effect = (key: string, recovering: boolean): ActionOptions => ({ effect: { key, recovering } });
  const sentCopies = (marker: string) =>
    tenant
      .mailbox(mailbox)
      .messages.filter((m) => m.internetMessageId === marker)
      .map((m) => ({ folder: folderNameIn(tenant, mailbox, m.folderId), isDraft: m.isDraft }));

  beforeAll(async () => {
    tenant = await startSandboxTenant({
      apps: [{ tenantId, clientId, certificatePem: appCert.certPem }],
      mailboxes: [{ address: mailbox }, { address: soc }],
    });
    identityHttpClient = rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost);
  });
  afterAll(() => tenant.close());
  beforeEach(() => tenant.clearScripts());

  it('refuses, sending nothing, when no forward address is configured', async () => {
    const { id, item } = await lure();
    const before = tenant.requests.length;
    const error = await rejection(backendFor({}).applyAction(mailbox, item, 'forward'));
    expect(error).toMatchObject({
      code: 'ConfigurationError',
      message: 'Forwarding needs forwardTo in the configuration document.',
    });
    expect(forwardsOf(id)).toEqual([]);
    expect(since(before).filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('without an effect marker, forwards once with the comment and leaves the original', async () => {
    const { id, item } = await lure();
    const before = tenant.requests.length;
    expect(await backendFor().applyAction(mailbox, item, 'forward')).toMatchObject({
      status: 'succeeded',
      detail: `forwarded to ${soc}`,
    });
    expect(forwardsOf(id)).toEqual([
      {
        mailbox,
        messageId: item.id,
        internetMessageId: id,
        to: [soc],
        comment: `Forwarded by Clawback from ${mailbox} after a verdict change.`,
      },
    ]);
    expect(calls(before).filter((c) => !c.startsWith('GET'))).toEqual(['POST /messages/ID/forward']);
    expect(folderNamesOf(tenant, mailbox, id)).toEqual(['inbox']);
  });

  it('a copy gone before the forward is already remediated, and is not deleted', async () => {
    const { id, item } = await lure();
    tenant.script({ match: { pathIncludes: '/forward', method: 'POST' }, respond: { status: 404 } });
    const before = tenant.requests.length;
    expect(await backendFor().applyAction(mailbox, item, 'forwardAndDelete')).toMatchObject({
      status: 'alreadyRemediated',
      detail: 'the message was already gone from the mailbox',
    });
    expect(since(before).filter((r) => r.method === 'DELETE')).toEqual([]);
    expect(folderNamesOf(tenant, mailbox, id)).toEqual(['inbox']);
  });

  it('forwardAndDelete without a marker says what it did and deletes the original', async () => {
    const { id, item } = await lure();
    expect(await backendFor().applyAction(mailbox, item, 'forwardAndDelete')).toMatchObject({
      status: 'succeeded',
      detail: `forwarded to ${soc} and deleted (Recoverable Items)`,
    });
    expect(forwardsOf(id)).toHaveLength(1);
    expect(folderNamesOf(tenant, mailbox, id)).toEqual(['recoverableitemsdeletions']);
  });

  it('with a marker, sends a marked draft: header, internetMessageId, recipient, comment', async () => {
    const { id, item } = await lure();
    const key = `row-${id}`;
    const marker = forwardMarker(key);
    const before = tenant.requests.length;
    expect(await backendFor().applyAction(mailbox, item, 'forward', effect(key, false))).toMatchObject({
      status: 'succeeded',
      detail: `forwarded to ${soc} as ${marker}`,
    });
    expect(forwardsOf(id)).toEqual([
      {
        mailbox,
        messageId: item.id,
        internetMessageId: id,
        to: [soc],
        comment: `Forwarded by Clawback from ${mailbox} after a verdict change.`,
        sentInternetMessageId: marker,
        headers: [{ name: 'X-Clawback-Remediation', value: key }],
      },
    ]);
    // Not recovering: no search for an earlier forward.
    expect(calls(before).filter((c) => !c.includes('$select=id,displayName'))).toEqual([
      'POST /messages/ID/createForward',
      'PATCH /messages/ID',
      'POST /messages/ID/send',
    ]);
    expect(sentCopies(marker)).toEqual([{ folder: 'sentitems', isDraft: false }]);
    expect(folderNamesOf(tenant, mailbox, id)).toEqual(['inbox']);
  });

  it('recovering after a sent forward sends no second one, and searches by the marker', async () => {
    const { id, item } = await lure();
    const key = `row-${id}`;
    const marker = forwardMarker(key);
    await backendFor().applyAction(mailbox, item, 'forward', effect(key, false));
    const before = tenant.requests.length;
    expect(await backendFor().applyAction(mailbox, item, 'forward', effect(key, true))).toMatchObject({
      status: 'succeeded',
      originalFolder: expect.stringMatching(/^Inbox \(/) as unknown,
      detail: `forwarded to ${soc} by an earlier attempt (${marker} is in Sent Items)`,
    });
    expect(forwardsOf(id)).toHaveLength(1);
    const searches = since(before).filter((r) => r.path.includes('/messages?'));
    expect(searches.map((r) => r.path)).toEqual([
      expect.stringContaining(`internetMessageId eq '${marker}'`),
    ]);
    expect(searches[0]!.path).toContain('$select=id,internetMessageId,parentFolderId,isDraft');
    expect(since(before).filter((r) => r.method === 'POST' || r.method === 'PATCH')).toEqual([]);
  });

  it('recovering with nothing earlier forwards as usual', async () => {
    const { id, item } = await lure();
    const key = `row-${id}`;
    const before = tenant.requests.length;
    expect(await backendFor().applyAction(mailbox, item, 'forward', effect(key, true))).toMatchObject({
      status: 'succeeded',
      detail: `forwarded to ${soc} as ${forwardMarker(key)}`,
    });
    expect(forwardsOf(id)).toHaveLength(1);
    expect(since(before).filter((r) => r.path.endsWith('/createForward'))).toHaveLength(1);
  });

  it('recovering after an unsent draft sends that draft instead of making another', async () => {
    const { id, item } = await lure();
    const key = `row-${id}`;
    const marker = forwardMarker(key);
    tenant.script({ match: { pathIncludes: '/send', method: 'POST' }, times: 1, respond: { status: 400 } });
    await rejection(backendFor().applyAction(mailbox, item, 'forward', effect(key, false)));
    expect(sentCopies(marker)).toEqual([{ folder: 'drafts', isDraft: true }]);
    expect(forwardsOf(id)).toEqual([]);
    const before = tenant.requests.length;
    expect(await backendFor().applyAction(mailbox, item, 'forward', effect(key, true))).toMatchObject({
      status: 'succeeded',
      detail: `forwarded to ${soc} as ${marker}`,
    });
    expect(since(before).filter((r) => r.path.endsWith('/createForward'))).toEqual([]);
    expect(forwardsOf(id)).toHaveLength(1);
    expect(sentCopies(marker)).toEqual([{ folder: 'sentitems', isDraft: false }]);
  });

  it('recovering prefers the sent forward over a leftover draft', async () => {
    const { id, item } = await lure();
    const key = `row-${id}`;
    const marker = forwardMarker(key);
    tenant.script({ match: { pathIncludes: '/send', method: 'POST' }, times: 1, respond: { status: 400 } });
    await rejection(backendFor().applyAction(mailbox, item, 'forward', effect(key, false)));
    await backendFor().applyAction(mailbox, item, 'forward', effect(key, false));
    expect(sentCopies(marker).sort((a, b) => String(a.folder).localeCompare(String(b.folder)))).toEqual([
      { folder: 'drafts', isDraft: true },
      { folder: 'sentitems', isDraft: false },
    ]);
    const before = tenant.requests.length;
    expect(await backendFor().applyAction(mailbox, item, 'forward', effect(key, true))).toMatchObject({
      status: 'succeeded',
      detail: expect.stringContaining('by an earlier attempt') as unknown,
    });
    expect(since(before).filter((r) => r.method === 'POST')).toEqual([]);
    expect(forwardsOf(id)).toHaveLength(1);
  });

  it('recovering prefers the sent forward even when a newer leftover draft is listed first', async () => {
    const { id, item } = await lure();
    const key = `row-${id}`;
    const marker = forwardMarker(key);
    // An earlier attempt's forward, sent long ago: older than any draft made now, so Graph's search
    // (newest first) lists it after the draft below.
    tenant.addMessage(mailbox, {
      internetMessageId: marker,
      subject: `FW: Lure ${sequence}`,
      from: mailbox,
      toRecipients: [soc],
      isRead: true,
      folder: 'sentitems',
      receivedDateTime: '2020-01-01T00:00:00Z',
      internetMessageHeaders: [{ name: 'X-Clawback-Remediation', value: key }],
    });
    // A later attempt that missed it made a draft of its own and died before sending it.
    tenant.script({ match: { pathIncludes: '/send', method: 'POST' }, times: 1, respond: { status: 400 } });
    await rejection(backendFor().applyAction(mailbox, item, 'forward', effect(key, false)));
    const leftover = [
      { folder: 'drafts', isDraft: true },
      { folder: 'sentitems', isDraft: false },
    ];
    expect(sentCopies(marker).sort((a, b) => String(a.folder).localeCompare(String(b.folder)))).toEqual(
      leftover,
    );
    const socCopies = () => tenant.mailbox(soc).messages.filter((m) => m.internetMessageId === marker);
    expect(socCopies()).toEqual([]);
    const before = tenant.requests.length;
    expect(await backendFor().applyAction(mailbox, item, 'forward', effect(key, true))).toMatchObject({
      status: 'succeeded',
      detail: `forwarded to ${soc} by an earlier attempt (${marker} is in Sent Items)`,
    });
    // The draft is neither sent nor replaced: the recipient gets no (second) copy.
    expect(since(before).filter((r) => r.method !== 'GET')).toEqual([]);
    expect(forwardsOf(id)).toEqual([]);
    expect(socCopies()).toEqual([]);
    expect(sentCopies(marker).sort((a, b) => String(a.folder).localeCompare(String(b.folder)))).toEqual(
      leftover,
    );
    expect(folderNamesOf(tenant, mailbox, id)).toEqual(['inbox']);
  });

  it('forwardAndDelete with a marker: earlier forward found, original deleted, both said', async () => {
    const { id, item } = await lure();
    const key = `row-${id}`;
    const marker = forwardMarker(key);
    await backendFor().applyAction(mailbox, item, 'forward', effect(key, false));
    expect(
      await backendFor().applyAction(mailbox, item, 'forwardAndDelete', effect(key, true)),
    ).toMatchObject({
      status: 'succeeded',
      originalFolder: expect.stringMatching(/^Inbox \(/) as unknown,
      detail: `forwarded to ${soc} by an earlier attempt (${marker} is in Sent Items) and deleted (Recoverable Items)`,
    });
    expect(forwardsOf(id)).toHaveLength(1);
    expect(folderNamesOf(tenant, mailbox, id)).toEqual(['recoverableitemsdeletions']);
  });

  it.each([
    { step: 'forward', method: 'POST', path: '/forward', action: 'forward', key: undefined },
    { step: 'forward draft', method: 'POST', path: '/createForward', action: 'forward', key: 'k' },
    { step: 'forward draft update', method: 'PATCH', path: '/messages/', action: 'forward', key: 'k' },
    { step: 'forward send', method: 'POST', path: '/send', action: 'forward', key: 'k' },
    { step: 'delete', method: 'DELETE', path: '/messages/', action: 'forwardAndDelete', key: undefined },
  ] as const)('a rejected $step is reported as that step', async ({ step, method, path, action, key }) => {
    const { item } = await lure();
    tenant.script({ match: { mailbox, method, pathIncludes: path }, times: 1, respond: { status: 400 } });
    const options = key === undefined ? undefined : effect(`${key}-${item.id}`, false);
    const error = await rejection(backendFor().applyAction(mailbox, item, action, options));
    expect(error.detail ?? error.message).toContain(`Graph rejected ${step} for mailbox ${mailbox} (`);
  });

  it('the marker is derived from the key alone, distinct per key', () => {
    expect(forwardMarker('a')).toBe(forwardMarker('a'));
    expect(forwardMarker('a')).not.toBe(forwardMarker('b'));
    expect(forwardMarker('a')).toMatch(/^<clawback\.[0-9a-f]{40}@clawback\.invalid>$/);
  });
});
