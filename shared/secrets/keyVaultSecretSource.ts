import type { TokenCredential } from '@azure/core-auth';
import type { HttpClient } from '@azure/core-rest-pipeline';
import { SecretClient } from '@azure/keyvault-secrets';

import type { SecretRef } from '../config/document.js';
import { ClawbackError, ensureError, isClawbackError } from '../errors.js';
import type { CallOptions } from '../ports/mail.js';
import type { SecretSource, SecretValue } from '../ports/secrets.js';
import { SecretCache } from './secretCache.js';

export interface KeyVaultSecretSourceOptions {
  /** CLAWBACK_KEY_VAULT_URL, e.g. `https://kv-clawback.vault.azure.net`. */
  vaultUrl: string;
  /** The app's managed identity in Azure; anything that issues Key Vault tokens elsewhere. */
  credential: TokenCredential;
  /** CLAWBACK_SECRET_CACHE_SECONDS: how long a value is reused before Key Vault is asked again. */
  ttlSeconds: number;
  /** Tests and the local runtime reach a fake vault through a rewriting client. */
  httpClient?: HttpClient;
  /** Retries of the SDK's own retry policy for network errors and 429/5xx (SDK default 3). */
  maxRetries?: number;
  now?: () => number;
}

/**
 * Reads `keyVaultSecret` references. Each value is cached for `ttlSeconds`, and concurrent reads of
 * the same secret share one request, so a burst of remediations costs one Key Vault call.
 */
export class KeyVaultSecretSource implements SecretSource {
  private readonly client: SecretClient;
  private readonly cache: SecretCache;
  private readonly vaultName: string;

  constructor(options: KeyVaultSecretSourceOptions) {
    this.client = new SecretClient(options.vaultUrl, options.credential, {
      ...(options.httpClient ? { httpClient: options.httpClient } : {}),
      ...(options.maxRetries === undefined ? {} : { retryOptions: { maxRetries: options.maxRetries } }),
    });
    this.vaultName = new URL(options.vaultUrl).host;
    this.cache = new SecretCache(options.ttlSeconds, options.now);
  }

  async getSecret(ref: SecretRef, options?: CallOptions): Promise<SecretValue> {
    if (!('keyVaultSecret' in ref))
      throw new ClawbackError('ConfigurationError', 'Key Vault can only resolve keyVaultSecret references.');
    const name = ref.keyVaultSecret;
    try {
      return await this.cache.get(name, () => this.read(name), options?.abortSignal);
    } catch (error) {
      throw this.translate(error, name);
    }
  }

  private async read(name: string): Promise<SecretValue> {
    try {
      const secret = await this.client.getSecret(name);
      if (secret.value === undefined)
        throw new ClawbackError(
          'ConfigurationError',
          `Key Vault secret "${name}" in ${this.vaultName} has no value (is it disabled?).`,
        );
      return { value: secret.value, contentType: secret.properties.contentType };
    } catch (error) {
      throw this.translate(error, name);
    }
  }

  private translate(error: unknown, name: string): ClawbackError {
    if (isClawbackError(error)) return error;
    const err = ensureError(error);
    const status = (err as { statusCode?: unknown }).statusCode;
    const code = (err as { code?: unknown }).code;
    if (status === 404)
      return new ClawbackError(
        'ConfigurationError',
        `Key Vault secret "${name}" does not exist in ${this.vaultName}.`,
        { cause: err },
      );
    if (status === 401 || status === 403)
      return new ClawbackError(
        'ConfigurationError',
        `Clawback may not read secret "${name}" in ${this.vaultName} (${String(status)}${typeof code === 'string' ? ` ${code}` : ''}): assign the app's managed identity the 'Key Vault Secrets User' role on the vault.`,
        { cause: err },
      );
    if (status === 429 || (typeof status === 'number' && status >= 500))
      return new ClawbackError(
        'ConnectionError',
        `Key Vault ${this.vaultName} answered ${status} reading secret "${name}".`,
        { retryable: true, cause: err },
      );
    if (err.name === 'AuthenticationError' || err.name === 'CredentialUnavailableError')
      return new ClawbackError(
        'AuthenticationError',
        `Clawback could not get a token for Key Vault ${this.vaultName}: ${err.message.split('\n')[0] ?? ''}`,
        { cause: err },
      );
    if (err.name === 'AbortError')
      return new ClawbackError('ConnectionError', `Reading secret "${name}" was cancelled.`, {
        retryable: true,
        cause: err,
      });
    return new ClawbackError(
      'ConnectionError',
      `Could not reach Key Vault ${this.vaultName} reading secret "${name}"${typeof code === 'string' ? ` (${code})` : ''}: ${err.message.split('\n')[0] ?? ''}`,
      { retryable: true, cause: err },
    );
  }
}
