import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../../../local/sandbox/index.js';
import type { ConfigDocument, Profile } from '../../../../shared/config/document.js';
import { createGraphMailBackend } from '../../../../shared/mail/graph/graphMailBackend.js';
import type { MailBackend } from '../../../../shared/ports/mail.js';
import type { RemediationRecord } from '../../../../shared/ports/results.js';
import { remediate } from '../../../../shared/remediation/remediate.js';
import { TableResultStore } from '../../../../shared/results/tableResultStore.js';
import type { RemediationMessage } from '../../../../shared/verdicts/messages.js';
import type { ActionName } from '../../../../shared/verdicts/schema.js';
import { ConfigMother } from '../../../mothers/configMother.js';
import { ProfileMother } from '../../../mothers/profileMother.js';
import { type RunningAzurite, startAzurite } from '../../../support/azurite.js';
import { pemSecrets, rewritingClient } from '../../../support/identity.js';

const tenantId = '6a1f0c2e-58b4-4d0c-9a51-0f3c6a7d2b10';
const clientId = '0b8f7a3c-2d4e-4f61-8a9b-1c2d3e4f5a6b';
const appCert = createAppCertificate('clawback-graph-throttling-test');
const central = 'quarantine@contoso.com';
/** Two campaigns reach every recipient, so each mailbox has two remediations running at once. */
const campaigns = ['<campaign+2026/03=x@evil.example>', "<o'hare%20&more@evil.example>"];
const recipientCount = 40;
/** Even recipients quarantine into a hidden folder, odd ones into the central mailbox. */
const recipients = Array.from({ length: recipientCount }, (_, i) =>
  i % 2 === 0 ? `user${i}@contoso.com` : `user${i}@fabrikam.com`,
);
const actions: ActionName[] = ['quarantine', 'quarantine', 'moveToDeletedItems', 'softDelete'];
const copiesPerRecipient = [
  { folder: 'inbox', isRead: true },
  { folder: 'Invoices', isRead: false },
  { folder: 'Rules', isRead: true },
];

describe('a remediation run under heavy Graph throttling', () => {
  let azurite: RunningAzurite;
  let tenant: SandboxTenant;
  let store: TableResultStore;
  let refresh: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    azurite = await startAzurite();
    store = new TableResultStore({
      connectionString: azurite.connectionString,
      options: { allowInsecureConnection: true },
    });
    tenant = await startSandboxTenant({
      apps: [{ tenantId, clientId, certificatePem: appCert.certPem }],
      mailboxes: [
        { address: central },
        ...recipients.map((address) => ({
          address,
          messages: campaigns.flatMap((internetMessageId) =>
            copiesPerRecipient.map((copy) => ({ internetMessageId, subject: 'Prize', ...copy })),
          ),
        })),
      ],
      mailboxConcurrencyLimit: 4,
      seed: 20260301,
    });
  });
  afterAll(async () => {
    clearInterval(refresh);
    await tenant.close();
    await azurite.stop();
  });

  /**
   * 30% of Graph requests and batch items answered 429, a third each with `Retry-After: 0`, an HTTP
   * date in the past and an HTTP date about a second ahead (re-scripted so it stays ahead); the others
   * are answered after a short delay.
   */
  const throttle = () => {
    tenant.clearScripts();
    const ahead = new Date(Math.ceil((Date.now() + 1000) / 1000) * 1000).toUTCString();
    const past = new Date(Date.now() - 60_000).toUTCString();
    const forms: [number, string][] = [
      [0.1, '0'],
      [0.1 / 0.9, past],
      [0.1 / 0.8, ahead],
    ];
    for (const [probability, retryAfter] of forms)
      tenant.script({
        match: { pathIncludes: '/v1.0/' },
        probability,
        respond: { status: 429, headers: { 'Retry-After': retryAfter } },
      });
    // The rest take a little while, so requests to one mailbox really overlap.
    tenant.script({ match: { pathIncludes: '/v1.0/users/' }, respond: { delayMs: 5 } });
  };

  it('ends every recipient succeeded without a mailbox ever seeing more than 4 concurrent requests', async () => {
    const app = {
      tenantId,
      clientId,
      certificate: { keyVaultSecret: 'graph-cert' },
      ...ProfileMother.sandboxEndpoints(tenant),
    };
    const config: ConfigDocument = ConfigMother.minimal()
      .withProfiles(
        // Two searches per mailbox go out as one JSON batch, so batch items are throttled too.
        ProfileMother.graph({ name: 'in-place', ...app, searchRecoverableItems: true }),
        ProfileMother.graph({
          name: 'central',
          ...app,
          quarantineTarget: 'mailbox',
          quarantineMailbox: central,
        }),
      )
      .withDomains({ 'contoso.com': 'in-place', 'fabrikam.com': 'central' })
      .withPolicies({ verdict: 'malicious', action: 'quarantine' })
      .withSettings({ maxAttempts: 5, graphTimeoutSeconds: 15 })
      .parse();
    const identityHttpClient = rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost);
    const backends = new Map<string, MailBackend>();
    const backendFor = (profile: Profile): MailBackend => {
      let backend = backends.get(profile.name);
      if (!backend) {
        if (profile.type !== 'graph') throw new Error('graph profiles only');
        backend = createGraphMailBackend(profile, {
          secrets: pemSecrets(appCert.pemBundle),
          identityHttpClient,
          timeoutSeconds: config.settings.graphTimeoutSeconds,
          maxAttempts: config.settings.maxAttempts,
        });
        backends.set(profile.name, backend);
      }
      return backend;
    };

    const now = new Date().toISOString();
    const messages: RemediationMessage[] = [];
    for (const [c, internetMessageId] of campaigns.entries()) {
      const verdictId = `799999999999${c}-throttled`;
      await store.createVerdict({
        verdictId,
        source: 'test',
        eventId: `throttling-run-${c}`,
        verdict: 'malicious',
        status: 'fannedOut',
        recipients: recipientCount,
        succeeded: 0,
        failed: 0,
        notFound: 0,
        alreadyRemediated: 0,
        simulated: 0,
        notReversible: 0,
        partiallyRestored: 0,
        done: 0,
        receivedAt: now,
      });
      const rows: RemediationMessage[] = recipients.map((recipient, i) => ({
        verdictId,
        rowKey: `row-${String(i).padStart(2, '0')}`,
        recipient,
        internetMessageId,
        verdict: 'malicious',
        action: actions[i % actions.length] ?? 'quarantine',
        mode: 'enforce',
        threatKey: `campaign-${c}`,
        attempt: 1,
      }));
      await store.createRemediations(
        rows.map((m): RemediationRecord => ({
          verdictId,
          rowKey: m.rowKey,
          recipient: m.recipient,
          internetMessageId,
          action: m.action,
          status: 'pending',
          attempts: 0,
          updatedAt: now,
        })),
      );
      messages.push(...rows);
    }

    throttle();
    refresh = setInterval(throttle, 250);
    // Scheduled retries are delivered once the current attempt has recorded itself, as a queue would.
    let due = messages;
    let rounds = 0;
    while (due.length > 0) {
      const retries: RemediationMessage[] = [];
      const deps = {
        store,
        config,
        backendFor,
        scheduleRetry: (next: RemediationMessage) => {
          retries.push(next);
          return Promise.resolve();
        },
      };
      await Promise.all(due.map((message) => remediate(message, deps)));
      due = retries;
      rounds += 1;
    }
    clearInterval(refresh);
    tenant.clearScripts();

    for (const [c] of campaigns.entries()) {
      const rows = (await store.listRemediations(`799999999999${c}-throttled`, { pageSize: 1000 })).items;
      expect(
        rows.filter((r) => r.status !== 'succeeded').map((r) => [r.recipient, r.status, r.detail]),
      ).toEqual([]);
      expect(rows.map((r) => r.recipient)).toEqual(recipients);
    }
    const mailboxes = [...recipients, central];
    const peaks = mailboxes.map((mailbox) => tenant.maxConcurrency(mailbox));
    expect(mailboxes.filter((_, i) => (peaks[i] ?? 0) > 4)).toEqual([]);
    for (const recipient of recipients) {
      const state = tenant.mailbox(recipient);
      const leftBehind = state.messages.filter((m) => {
        const folder = state.folders.find((f) => f.id === m.folderId);
        return ['inbox', 'Invoices', 'Rules'].includes(folder?.wellKnownName ?? folder?.displayName ?? '');
      });
      expect({ recipient, leftBehind: leftBehind.length }).toEqual({ recipient, leftBehind: 0 });
    }
    const centrallyQuarantined = recipients.filter((_, i) => i % 2 === 1 && actions[i % 4] === 'quarantine');
    const quarantine = tenant.mailbox(central);
    for (const internetMessageId of campaigns) {
      const filed = quarantine.messages
        .filter((m) => m.internetMessageId === internetMessageId)
        .map((m) => quarantine.folders.find((f) => f.id === m.folderId)?.displayName)
        .filter((folder) => folder !== 'Deletions')
        .sort();
      // One quarantine copy per original copy (SPEC §3: each copy can be restored).
      expect(filed).toEqual(
        centrallyQuarantined.flatMap((r) => copiesPerRecipient.map(() => r.toLowerCase())).sort(),
      );
    }

    const requests = tenant.requests;
    const throttled = requests.filter((r) => r.status === 429);
    const throttledInBatch = throttled.filter((r) => r.batched === true);
    expect(throttled.length / requests.length).toBeGreaterThan(0.2);
    expect(throttledInBatch.length).toBeGreaterThan(0);
    console.log(
      `throttling run: ${messages.length} remediations of ${recipientCount} recipients in ${rounds} rounds, ${requests.length} Graph requests ` +
        `(${requests.filter((r) => r.batched).length} as $batch items), ${throttled.length} answered 429 ` +
        `(${throttledInBatch.length} inside batches), ${tenant.tokenRequests} token requests; ` +
        `peak concurrency per mailbox ${Math.max(...peaks)}`,
    );
  }, 120_000);
});
