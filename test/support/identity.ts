import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';

import type { AppCertificate } from '../../local/sandbox/index.js';
import { type ClawbackError, isClawbackError } from '../../shared/errors.js';
import type { SecretSource } from '../../shared/ports/secrets.js';

/**
 * The identity and Key Vault clients only accept https hosts; this client lets them keep their real
 * https URLs while the request goes to a plain-http fake on loopback. The request is copied, never
 * mutated: the Key Vault challenge policy compares the original URL.
 */
export function rewritingClient(from: string, to: string): HttpClient {
  const inner = createDefaultHttpClient();
  return {
    sendRequest: (request) =>
      inner.sendRequest({ ...request, url: request.url.replace(from, to), allowInsecureConnection: true }),
  };
}

/** A secret source that hands out one PEM bundle (key + certificate) for any reference. */
export function pemSecrets(pem: string): SecretSource {
  return { getSecret: () => Promise.resolve({ value: pem, contentType: 'application/x-pem-file' }) };
}

/**
 * The Key Vault of the hybrid profiles that reach the sandbox tenant and a fake Exchange Server:
 * `contoso-graph-cert` is the app's certificate, `contoso-ews-password` the EWS password, any other
 * secret is rejected.
 */
export function hybridSecrets(appCert: AppCertificate, ewsPassword: string): SecretSource {
  return {
    getSecret: (ref) => {
      const name = 'keyVaultSecret' in ref ? ref.keyVaultSecret : '';
      if (name === 'contoso-graph-cert')
        return Promise.resolve({ value: appCert.pemBundle, contentType: 'application/x-pem-file' });
      if (name === 'contoso-ews-password') return Promise.resolve({ value: ewsPassword });
      return Promise.reject(new Error(`no secret ${name}`));
    },
  };
}

/** Awaits a promise that must reject with a ClawbackError, and returns that error. */
export async function rejection(promise: Promise<unknown>): Promise<ClawbackError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isClawbackError(error)) throw new Error(`expected a ClawbackError, got ${String(error)}`);
  return error;
}
