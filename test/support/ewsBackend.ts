import { afterEach } from 'vitest';

import type { EwsProfile } from '../../shared/config/document.js';
import {
  createEwsMailBackend,
  type EwsBackendDeps,
  type EwsMailBackend,
} from '../../shared/mail/ews/ewsMailBackend.js';
import type { SecretSource } from '../../shared/ports/secrets.js';
import { FakeEwsServer } from '../fakes/ewsServer.js';
import { ProfileMother } from '../mothers/profileMother.js';

/**
 * The real EWS backend against a fake Exchange server with basic auth, as the backend's module tests
 * use it: fakes started here are closed after each test of the file that imports this.
 */
const servers: FakeEwsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A fake EWS server holding the given (empty) mailboxes. */
export async function startEwsFake(...mailboxes: string[]): Promise<FakeEwsServer> {
  const fake = await FakeEwsServer.start({ username: 'CONTOSO\\svc-clawback', password: 'p@ss' });
  servers.push(fake);
  for (const mailbox of mailboxes) fake.addMailbox(mailbox);
  return fake;
}

const secrets: SecretSource = {
  getSecret: () => Promise.resolve({ value: 'p@ss' }),
};

/** The backend for a basic-auth profile pointing at `fake`, retries quick, deadlines of 2 s. */
export function ewsBackendFor(
  fake: FakeEwsServer,
  profile: Partial<EwsProfile> = {},
  deps: Partial<EwsBackendDeps> = {},
): EwsMailBackend {
  const parsed = ProfileMother.parsedEws({
    ewsUrl: fake.url,
    password: { keyVaultSecret: 'ews-password' },
    auth: 'basic',
    ...profile,
  });
  return createEwsMailBackend(
    { ...parsed, ...profile },
    { secrets, timeoutSeconds: 15, timeoutMs: 2000, maxAttempts: 3, retryDelayMs: 1, ...deps },
  );
}
