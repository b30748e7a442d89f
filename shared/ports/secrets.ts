import type { SecretRef } from '../config/document.js';
import type { CallOptions } from './mail.js';

export interface SecretValue {
  value: string;
  /** Key Vault `contentType`, e.g. `application/x-pkcs12` or `application/x-pem-file`. */
  contentType?: string | undefined;
}

/** Resolves a secret reference (`keyVaultSecret`, or `file` / `env` when running locally). */
export interface SecretSource {
  getSecret(ref: SecretRef, options?: CallOptions): Promise<SecretValue>;
}
