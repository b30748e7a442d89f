import { afterEach, expect } from 'vitest';

import type { EwsProfile } from '../../shared/config/document.js';
import type { ClawbackError } from '../../shared/errors.js';
import {
  createEwsMailBackend,
  type EwsBackendDeps,
  type EwsMailBackend,
} from '../../shared/mail/ews/ewsMailBackend.js';
import type { MailItem } from '../../shared/ports/mail.js';
import type { SecretSource } from '../../shared/ports/secrets.js';
import { type EwsFakeOptions, FakeEwsServer } from '../fakes/ewsServer.js';
import { ProfileMother } from '../mothers/profileMother.js';

/*
 * The real EWS backend against a fake Exchange server with basic auth, as the backend's module tests
 * use it: fakes started here are closed after each test of the file that imports this.
 */

/** The fakes started here and not closed yet; a test that closes one itself takes it out. */
export const startedEwsFakes: FakeEwsServer[] = [];
afterEach(async () => {
  await Promise.all(startedEwsFakes.splice(0).map((s) => s.close()));
});

/** The Internet message id the EWS tests deliver, and the one `findOne` looks for unless told another. */
export const messageId = '<CAF123@mail.contoso.com>';

/** A fake EWS server holding the given (empty) mailboxes. */
export async function startEwsFake(...mailboxes: string[]): Promise<FakeEwsServer> {
  return startEwsFakeWith({}, ...mailboxes);
}

/** A fake EWS server started with `options` (TLS, NTLM, …), holding the given (empty) mailboxes. */
export async function startEwsFakeWith(
  options: EwsFakeOptions,
  ...mailboxes: string[]
): Promise<FakeEwsServer> {
  const fake = await FakeEwsServer.start({ username: 'CONTOSO\\svc-clawback', password: 'p@ss', ...options });
  startedEwsFakes.push(fake);
  for (const mailbox of mailboxes) fake.addMailbox(mailbox);
  return fake;
}

/** Secrets by Key Vault secret name; a name not among `values` is rejected. */
export function secretsOf(values: Record<string, string>): SecretSource {
  return {
    getSecret: (ref) => {
      const name = 'keyVaultSecret' in ref ? ref.keyVaultSecret : '';
      const value = values[name];
      return value === undefined
        ? Promise.reject(new Error(`no secret ${name}`))
        : Promise.resolve({ value });
    },
  };
}

/** A secret source that answers the fake's password for any secret. */
export const anySecret: SecretSource = {
  getSecret: () => Promise.resolve({ value: 'p@ss' }),
};

/** The parsed basic-auth profile for the EWS endpoint `url`, its password in the secret `ews-password`. */
export function ewsProfileFor(url: string, profile: Partial<EwsProfile> = {}): EwsProfile {
  return ProfileMother.parsedEws({
    ewsUrl: url,
    password: { keyVaultSecret: 'ews-password' },
    auth: 'basic',
    ...profile,
  });
}

/** The backend's dependencies: `ews-password` holds the fake's password, retries quick, deadlines of 2 s. */
export function ewsDepsWith(deps: Partial<EwsBackendDeps> = {}): EwsBackendDeps {
  return {
    secrets: secretsOf({ 'ews-password': 'p@ss' }),
    timeoutSeconds: 15,
    timeoutMs: 2000,
    maxAttempts: 3,
    retryDelayMs: 1,
    ...deps,
  };
}

/**
 * The backend for a basic-auth profile pointing at `fake`, retries quick, deadlines of 2 s: `profile`
 * is laid over the parsed profile as given (so it can unset what the schema fills in), and every
 * secret is the fake's password.
 */
export function ewsBackendFor(
  fake: FakeEwsServer,
  profile: Partial<EwsProfile> = {},
  deps: Partial<EwsBackendDeps> = {},
): EwsMailBackend {
  return createEwsMailBackend(
    { ...ewsProfileFor(fake.url, profile), ...profile },
    ewsDepsWith({ secrets: anySecret, ...deps }),
  );
}

/** The backend for `ewsProfileFor(fake.url, profile)` (the profile as the schema parses it) and `ewsDepsWith(deps)`. */
export function parsedEwsBackendFor(
  fake: FakeEwsServer,
  profile: Partial<EwsProfile> = {},
  deps: Partial<EwsBackendDeps> = {},
): EwsMailBackend {
  return createEwsMailBackend(ewsProfileFor(fake.url, profile), ewsDepsWith(deps));
}

/** The one copy of `id` the backend finds in `mailbox`; finding none or several fails the test. */
export async function findOne(backend: EwsMailBackend, mailbox: string, id = messageId): Promise<MailItem> {
  const found = await backend.findMessages(mailbox, { internetMessageId: id });
  expect(found.items).toHaveLength(1);
  return found.items[0] as MailItem;
}

/** What `promise` rejects with; a promise that resolves fails the test. */
export async function rejectionOf(promise: Promise<unknown>): Promise<ClawbackError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as ClawbackError,
  );
  if (!error) throw new Error('expected a rejection');
  return error;
}

/** The ClawbackError `promise` rejects with; resolving, or rejecting with another error, fails the test. */
export async function failureOf(promise: Promise<unknown>): Promise<ClawbackError> {
  const error = await rejectionOf(promise);
  expect(error.name).toBe('ClawbackError');
  return error;
}

/** How many requests of `operation` the fake has answered. */
export function countOf(fake: FakeEwsServer, operation: string): number {
  return fake.operations().filter((o) => o === operation).length;
}
