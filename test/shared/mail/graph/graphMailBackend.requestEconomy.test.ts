import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  createAppCertificate,
  type SandboxTenant,
  startSandboxTenant,
} from '../../../../local/sandbox/index.js';
import type { ConfigDocument, Profile } from '../../../../shared/config/document.js';
import { createMailBackendFactory } from '../../../../shared/mail/factory.js';
import { graphMailboxConcurrency } from '../../../../shared/mail/graph/mailboxLimiter.js';
import type { MailBackend } from '../../../../shared/ports/mail.js';
import { LocalSecretSource } from '../../../../shared/secrets/localSecretSource.js';
import { ConfigMother } from '../../../mothers/configMother.js';
import { MailboxMother } from '../../../mothers/mailboxMother.js';
import { ProfileMother } from '../../../mothers/profileMother.js';
import { rewritingClient } from '../../../support/identity.js';

const tenantId = '3c1d9e7a-4b2f-4e0a-9d61-7f2a5b8c0e14';
const clientId = '8a2b4c6d-1e3f-4a5b-9c7d-2e4f6a8b0c1d';
const appCert = createAppCertificate('clawback-request-economy-test');
const campaign = '<economy+1/x=@evil.example>';
const recipients = Array.from({ length: 100 }, (_, i) => `r${i}@contoso.com`);
const crowded = 'crowded@contoso.com';
const crowdedCopies = 500;
const solo = 'solo@contoso.com';
const invoice = { subject: 'Invoice' };

/**
 * What Graph sees of a remediation, counted by the sandbox: operations per copy, concurrency per
 * mailbox, token requests and secret reads. Counts only; nothing here is timed.
 */
describe('Graph request economy', () => {
  let tenant: SandboxTenant;
  let dir: string;
  let secrets: LocalSecretSource;
  let backendFor: (profile: Profile, config: ConfigDocument) => MailBackend;
  let config: ConfigDocument;

  beforeAll(async () => {
    tenant = await startSandboxTenant({
      apps: [{ tenantId, clientId, certificatePem: appCert.certPem }],
      mailboxes: [
        ...recipients.map((address) => MailboxMother.sandbox(address, campaign, { message: invoice })),
        MailboxMother.sandbox(solo, campaign, { message: invoice }),
        // Every fifth copy in a folder of its own.
        MailboxMother.sandbox(crowded, campaign, {
          copies: crowdedCopies,
          folders: ['Rules', 'inbox', 'inbox', 'inbox', 'inbox'],
          message: invoice,
        }),
      ],
      // Long enough that requests to one mailbox really overlap, as they do against Exchange Online.
      latencyMs: 5,
      mailboxConcurrencyLimit: graphMailboxConcurrency,
      mailboxConcurrencyRetryAfterSeconds: 1,
      seed: 20261130,
    });
    dir = mkdtempSync(path.join(tmpdir(), 'clawback-economy-'));
    writeFileSync(path.join(dir, 'app.pem'), appCert.pemBundle);
    secrets = new LocalSecretSource({ runtime: 'local', baseDir: dir, ttlSeconds: 300 });
    backendFor = createMailBackendFactory({
      secrets,
      identityHttpClient: rewritingClient(tenant.publicAuthorityHost, tenant.authorityHost),
    });
    config = ConfigMother.minimal()
      .withProfiles(
        ProfileMother.graph({
          name: 'online',
          tenantId,
          clientId,
          certificate: { file: 'app.pem' },
          ...ProfileMother.sandboxEndpoints(tenant),
        }),
      )
      .withDomains({ 'contoso.com': 'online' })
      .withPolicies({ verdict: 'malicious', action: 'softDelete' })
      .withSettings({ maxAttempts: 5, graphTimeoutSeconds: 30 })
      .parse();
  });
  afterAll(async () => {
    await tenant.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const profile = (): Profile => config.profiles[0] as Profile;
  const remediateMailbox = async (mailbox: string): Promise<void> => {
    const backend = backendFor(profile(), config);
    const { items } = await backend.findMessages(mailbox, { internetMessageId: campaign });
    await backend.applyActions?.(mailbox, items, 'softDelete');
  };
  const inRecoverableItems = (mailbox: string): number => {
    const state = tenant.mailbox(mailbox);
    const dumpster = state.folders.find((f) => f.wellKnownName === 'recoverableitemsdeletions');
    return state.messages.filter((m) => m.internetMessageId === campaign && m.folderId === dumpster?.id)
      .length;
  };

  it('remediates 100 recipients with at most 3 Graph operations per copy, 1 token request and 1 secret read', async () => {
    tenant.resetCounters();
    const queue = [...recipients];
    // 16 mailboxes at once, as the local runtime's default.
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) await remediateMailbox(next);
      }),
    );
    for (const mailbox of recipients) {
      expect(inRecoverableItems(mailbox)).toBe(1);
      expect(tenant.operationCounts(mailbox)).toEqual({ search: 1, folder: 1, delete: 1 });
    }
    expect(tenant.operationCounts().batch ?? 0).toBe(0);
    expect(tenant.tokenRequests).toBe(1);
    expect(secrets.reads).toBe(1);
  });

  it("names a copy's folder in the same round trip as its action, not in one before it", async () => {
    tenant.resetCounters();
    // Held long enough that an action waiting for the lookup could only start after it answered.
    tenant.script({ match: { mailbox: solo, pathIncludes: '/mailFolders/' }, respond: { delayMs: 1500 } });
    try {
      await remediateMailbox(solo);
    } finally {
      tenant.clearScripts();
    }
    expect(tenant.requests.map((r) => r.operation)).toEqual(['search', 'delete', 'folder']);
    expect(tenant.maxConcurrency(solo)).toBe(2);
  });

  it('fully remediates a mailbox holding 500 copies through per-request 429s, never above 4 at once', async () => {
    tenant.resetCounters();
    tenant.script({
      match: { mailbox: crowded, method: 'DELETE' },
      // About 25 of the 500 deletes; five in a row for one copy (its attempts) is a 1-in-10⁶ event.
      probability: 0.05,
      respond: { status: 429, headers: { 'Retry-After': '0' } },
    });
    try {
      await remediateMailbox(crowded);
    } finally {
      tenant.clearScripts();
    }
    expect(inRecoverableItems(crowded)).toBe(crowdedCopies);
    const counts = tenant.operationCounts(crowded);
    // One search page for all 500, one lookup per folder they were found in (Inbox, Rules).
    expect(counts.search).toBe(1);
    expect(counts.folder).toBe(2);
    const deletes = tenant.requests.filter((r) => r.mailbox === crowded && r.operation === 'delete');
    expect(deletes.filter((r) => r.status === 204)).toHaveLength(crowdedCopies);
    expect(deletes.some((r) => r.status === 429)).toBe(true);
    expect(tenant.maxConcurrency(crowded)).toBeLessThanOrEqual(graphMailboxConcurrency);
    expect(tenant.maxConcurrency(crowded)).toBe(graphMailboxConcurrency);
  });
});
