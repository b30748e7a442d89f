import type { TokenCredential } from '@azure/core-auth';
import type { HttpClient } from '@azure/core-rest-pipeline';

import type { SecretRef } from '../config/document.js';
import { ClawbackError } from '../errors.js';
import { lazySecrets } from '../lazyClients.js';
import type { CallOptions } from '../ports/mail.js';
import type { SecretSource, SecretValue } from '../ports/secrets.js';
import { LocalSecretSource } from './localSecretSource.js';

export interface CompositeSecretSourceOptions {
  /** CLAWBACK_RUNTIME: file/env references are refused unless `local`. */
  runtime: 'azure' | 'local';
  /** A ready Key Vault source; otherwise one is built from `keyVaultUrl` and `credential` on first use. */
  keyVault?: SecretSource | undefined;
  /** A ready file/env source; otherwise a LocalSecretSource over `baseDir`. */
  local?: SecretSource | undefined;
  /** CLAWBACK_KEY_VAULT_URL; keyVaultSecret references fail with ConfigurationError without it. */
  keyVaultUrl?: string | undefined;
  /** Key Vault credential, or a factory called on the first Key Vault read (no identity is built otherwise). */
  credential?: TokenCredential | (() => TokenCredential) | undefined;
  /** CLAWBACK_SECRET_CACHE_SECONDS. */
  ttlSeconds?: number | undefined;
  /** Reaches a fake vault in tests. */
  httpClient?: HttpClient | undefined;
  /** Relative `file` references resolve against it; default the working directory. */
  baseDir?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

const defaultTtlSeconds = 300;

/** Sends each reference to the source that owns its kind; file/env references never leave a local run. */
export class CompositeSecretSource implements SecretSource {
  private keyVault: SecretSource | undefined;
  private readonly local: SecretSource;

  constructor(private readonly options: CompositeSecretSourceOptions) {
    this.keyVault = options.keyVault;
    this.local =
      options.local ??
      new LocalSecretSource({
        runtime: options.runtime,
        baseDir: options.baseDir ?? process.cwd(),
        ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }),
        ...(options.env ? { env: options.env } : {}),
      });
  }

  async getSecret(ref: SecretRef, options?: CallOptions): Promise<SecretValue> {
    if ('keyVaultSecret' in ref) return this.vault(ref.keyVaultSecret).getSecret(ref, options);
    if (this.options.runtime !== 'local')
      throw new ClawbackError(
        'ConfigurationError',
        'file/env secret references are only accepted when running locally; use keyVaultSecret in Azure.',
      );
    return this.local.getSecret(ref, options);
  }

  private vault(secretName: string): SecretSource {
    if (this.keyVault) return this.keyVault;
    const { keyVaultUrl, credential } = this.options;
    if (!keyVaultUrl)
      throw new ClawbackError(
        'ConfigurationError',
        `CLAWBACK_KEY_VAULT_URL is not set, so Key Vault secret "${secretName}" cannot be read.`,
      );
    if (!credential)
      throw new ClawbackError(
        'ConfigurationError',
        `No credential is configured for Key Vault ${keyVaultUrl}.`,
      );
    // The Key Vault SDK loads with the first Key Vault reference, not with the functions.
    this.keyVault = lazySecrets(async () => {
      const { KeyVaultSecretSource } = await import('./keyVaultSecretSource.js');
      return new KeyVaultSecretSource({
        vaultUrl: keyVaultUrl,
        credential: typeof credential === 'function' ? credential() : credential,
        ttlSeconds: this.options.ttlSeconds ?? defaultTtlSeconds,
        ...(this.options.httpClient ? { httpClient: this.options.httpClient } : {}),
      });
    });
    return this.keyVault;
  }
}
