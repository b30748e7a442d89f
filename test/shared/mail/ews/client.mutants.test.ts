import { describe, expect, it } from 'vitest';

import { ClawbackError } from '../../../../shared/errors.js';
import { EwsClient, surelyNotSent } from '../../../../shared/mail/ews/client.js';
import { EwsNetworkFailure } from '../../../../shared/mail/ews/errors.js';
import { createEwsMailBackend } from '../../../../shared/mail/ews/ewsMailBackend.js';
import type { EwsFakeOptions } from '../../../fakes/ewsServer.js';
import {
  ewsDepsWith as depsWith,
  ewsProfileFor as profileFor,
  failureOf,
  messageId,
  parsedEwsBackendFor as backendFor,
  secretsOf,
  startedEwsFakes as servers,
  startEwsFakeWith,
} from '../../../support/ewsBackend.js';

const alice = 'alice@contoso.com';

const startFake = (options: EwsFakeOptions = {}) => startEwsFakeWith(options, alice);

describe('EwsClient credentials', () => {
  it('reads the password and has no CA when none is configured', async () => {
    const client = new EwsClient(profileFor('https://127.0.0.1/EWS/Exchange.asmx'), depsWith());
    expect(await client.credentials()).toEqual({ password: 'p@ss', ca: undefined });
  });

  it('joins the profile CA and the extra trust anchors with a line break', async () => {
    const client = new EwsClient(
      profileFor('https://127.0.0.1/EWS/Exchange.asmx', { trustedCa: { keyVaultSecret: 'ews-ca' } }),
      depsWith({
        secrets: secretsOf({ 'ews-password': 'p@ss', 'ews-ca': 'PROFILE-CA' }),
        xhrOptions: { ca: 'EXTRA-CA' },
      }),
    );
    expect(await client.credentials()).toEqual({ password: 'p@ss', ca: 'PROFILE-CA\nEXTRA-CA' });
  });

  it('an unreadable password secret is a ConfigurationError naming the secret and the profile', async () => {
    const profile = profileFor('https://127.0.0.1/EWS/Exchange.asmx');
    const client = new EwsClient(profile, depsWith({ secrets: secretsOf({}) }));
    const error = await failureOf(client.credentials());
    expect(error.code).toBe('ConfigurationError');
    expect(error.detail).toBe(`The password secret of EWS profile "${profile.name}" cannot be read.`);
    expect((error as Error & { cause?: unknown }).cause).toEqual(new Error('no secret ews-password'));
  });

  it('an unreadable CA secret is a ConfigurationError naming the trustedCa secret', async () => {
    const profile = profileFor('https://127.0.0.1/EWS/Exchange.asmx', {
      trustedCa: { keyVaultSecret: 'ews-ca' },
    });
    const client = new EwsClient(profile, depsWith());
    const error = await failureOf(client.credentials());
    expect(error.detail).toBe(`The trustedCa secret of EWS profile "${profile.name}" cannot be read.`);
  });

  it('a ClawbackError from the secret source is passed on unchanged', async () => {
    const denied = new ClawbackError('PermissionError', 'Key Vault denied get on ews-password.');
    const client = new EwsClient(
      profileFor('https://127.0.0.1/EWS/Exchange.asmx'),
      depsWith({ secrets: { getSecret: () => Promise.reject(denied) } }),
    );
    expect(await client.credentials().catch((e: unknown) => e)).toBe(denied);
  });
});

describe('surelyNotSent', () => {
  const connectionError = (code: string | undefined) =>
    new ClawbackError('ConnectionError', 'failed', { cause: new EwsNetworkFailure(code, 'x') });

  it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'])('%s never reached Exchange', (code) => {
    expect(surelyNotSent(connectionError(code))).toBe(true);
  });

  it('a reset connection or an unknown code may have reached Exchange', () => {
    expect(surelyNotSent(connectionError('ECONNRESET'))).toBe(false);
    expect(surelyNotSent(connectionError(undefined))).toBe(false);
    expect(surelyNotSent(new ClawbackError('ConnectionError', 'failed'))).toBe(false);
  });

  it('throttling never reached Exchange', () => {
    expect(surelyNotSent(new ClawbackError('Throttled', 'busy', { retryable: true }))).toBe(true);
  });
});

describe('EwsClient retries', () => {
  it('doubles the wait per attempt after a refused connection, naming the mailbox', async () => {
    const fake = await startFake();
    const url = fake.url;
    await fake.close();
    servers.splice(servers.indexOf(fake), 1);
    const lines: string[] = [];
    const backend = createEwsMailBackend(
      profileFor(url),
      depsWith({ maxAttempts: 3, retryDelayMs: 4, log: (l) => lines.push(l) }),
    );

    const error = await failureOf(backend.findMessages(alice, { internetMessageId: messageId }));

    expect(error.code).toBe('ConnectionError');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(`for ${alice}: ConnectionError, attempt 1 of 3, retrying in 4 ms`);
    expect(lines[1]).toContain(`for ${alice}: ConnectionError, attempt 2 of 3, retrying in 8 ms`);
  });

  it('retries a repeatable request after an HTTP 500 that may have reached Exchange', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    fake.fail('FindFolder', { kind: 'empty500' });

    const found = await backendFor(fake, {}, { maxAttempts: 2 }).findMessages(alice, {
      internetMessageId: messageId,
    });

    expect(found.items).toHaveLength(1);
    expect(fake.operations().filter((o) => o === 'FindFolder')).toHaveLength(2);
  });

  it('sleeps through a back-off exactly as long as the deadline', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    fake.fail('FindFolder', { kind: 'serverBusy', backOffMs: 3000 });

    const found = await backendFor(fake, {}, { maxAttempts: 2, timeoutMs: 3000 }).findMessages(alice, {
      internetMessageId: messageId,
    });

    expect(found.items).toHaveLength(1);
    expect(fake.operations().filter((o) => o === 'FindFolder')).toHaveLength(2);
  });

  it('an abort during the back-off ends with the failure that caused it and sends nothing more', async () => {
    const fake = await startFake();
    fake.fail('FindFolder', { kind: 'serverBusy', backOffMs: 1000 });
    const controller = new AbortController();

    const error = await failureOf(
      backendFor(fake, {}, { maxAttempts: 3, log: () => controller.abort() }).findMessages(
        alice,
        { internetMessageId: messageId },
        { abortSignal: controller.signal },
      ),
    );

    expect(error).toMatchObject({ code: 'Throttled', retryAfterMs: 1000 });
    expect(fake.operations().filter((o) => o === 'FindFolder')).toHaveLength(1);
  });

  it('names the service account when a call is not for a mailbox', async () => {
    const fake = await startFake();
    fake.addDistributionList('all@contoso.com', [{ address: alice }]);
    fake.fail('ExpandDL', { kind: 'serverBusy', backOffMs: 1 });
    const lines: string[] = [];

    await backendFor(fake, {}, { log: (l) => lines.push(l) }).expandDistributionList('all@contoso.com');

    expect(lines).toEqual([
      `ews ExpandDL (all@contoso.com) on ${fake.host} for the service account: Throttled, attempt 1 of 3, retrying in 1 ms`,
    ]);
  });

  it('names GetFolder when a well-known folder lookup is retried', async () => {
    const fake = await startFake();
    fake.fail('GetFolder', { kind: 'serverBusy', backOffMs: 1 });
    const lines: string[] = [];

    await backendFor(fake, {}, { log: (l) => lines.push(l) }).testConnection(alice);

    expect(lines).toEqual([
      `ews GetFolder on ${fake.host} for ${alice}: Throttled, attempt 1 of 3, retrying in 1 ms`,
    ]);
    expect(fake.operations()).toEqual(['GetFolder', 'GetFolder']);
  });
});

describe('EwsClient transport over plain http with a trusted CA', () => {
  it('an http URL is still reached with the profile CA configured', async () => {
    const fake = await startFake();
    fake.addMessage(alice, { internetMessageId: messageId });
    const backend = backendFor(
      fake,
      { trustedCa: { keyVaultSecret: 'ews-ca' } },
      { secrets: secretsOf({ 'ews-password': 'p@ss', 'ews-ca': 'not a certificate' }) },
    );

    const found = await backend.findMessages(alice, { internetMessageId: messageId });

    expect(found.items).toHaveLength(1);
    expect(fake.requests.every((r) => String(r.headers.authorization ?? '').startsWith('Basic'))).toBe(true);
  });
});
