import { readFile } from 'node:fs/promises';
import { extname, isAbsolute, resolve } from 'node:path';

import type { SecretRef } from '../config/document.js';
import { ClawbackError } from '../errors.js';
import type { CallOptions } from '../ports/mail.js';
import type { SecretSource, SecretValue } from '../ports/secrets.js';
import { SecretCache } from './secretCache.js';

export interface LocalSecretSourceOptions {
  /** CLAWBACK_RUNTIME; file and env references exist for local development only. */
  runtime: 'azure' | 'local';
  /** Relative `file` references resolve against this directory (the configuration file's). */
  baseDir: string;
  env?: NodeJS.ProcessEnv;
  /** CLAWBACK_SECRET_CACHE_SECONDS: a value is read once per period, as from Key Vault. Default 300. */
  ttlSeconds?: number;
}

const defaultTtlSeconds = 300;
const binaryCertificateExtensions = new Set(['.pfx', '.p12']);
const pemExtensions = new Set(['.pem', '.crt', '.cer', '.key']);

/**
 * Resolves `{ file }` and `{ env }` references for a local run. A `.pfx`/`.p12` file is returned as
 * base64 with the PKCS#12 content type, the way Key Vault returns an imported certificate, so the
 * same certificate code reads both. A trailing newline of a text file is not part of the secret.
 */
export class LocalSecretSource implements SecretSource {
  private readonly env: NodeJS.ProcessEnv;
  private readonly cache: SecretCache;
  private readCount = 0;

  constructor(private readonly options: LocalSecretSourceOptions) {
    this.env = options.env ?? process.env;
    this.cache = new SecretCache(options.ttlSeconds ?? defaultTtlSeconds);
  }

  /** Files and variables actually read (cache misses), for the benchmark's secret-read figure. */
  get reads(): number {
    return this.readCount;
  }

  async getSecret(ref: SecretRef, options?: CallOptions): Promise<SecretValue> {
    if (this.options.runtime !== 'local')
      throw new ClawbackError(
        'ConfigurationError',
        'file/env secret references are only accepted when running locally; use keyVaultSecret in Azure.',
      );
    if ('env' in ref)
      return this.cache.get(`env:${ref.env}`, () => this.readEnv(ref.env), options?.abortSignal);
    if ('file' in ref)
      return this.cache.get(`file:${ref.file}`, () => this.readSecretFile(ref.file), options?.abortSignal);
    throw new ClawbackError('ConfigurationError', 'Only file and env secret references can be read locally.');
  }

  private readEnv(name: string): Promise<SecretValue> {
    this.readCount += 1;
    const value = this.env[name];
    if (value === undefined || value === '')
      return Promise.reject(
        new ClawbackError(
          'ConfigurationError',
          `Environment variable ${name} (a secret reference) is not set.`,
        ),
      );
    return Promise.resolve({ value });
  }

  /** Shared by every concurrent reader, so no one caller's abort cancels it. */
  private async readSecretFile(file: string): Promise<SecretValue> {
    this.readCount += 1;
    const path = isAbsolute(file) ? file : resolve(this.options.baseDir, file);
    let content: Buffer;
    try {
      content = await readFile(path);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const why =
        code === 'ENOENT'
          ? 'does not exist'
          : `cannot be read (${typeof code === 'string' ? code : (error as Error).message})`;
      throw new ClawbackError('ConfigurationError', `Secret file ${path} ${why}.`, { cause: error });
    }
    const extension = extname(path).toLowerCase();
    if (binaryCertificateExtensions.has(extension))
      return { value: content.toString('base64'), contentType: 'application/x-pkcs12' };
    const text = content.toString('utf8');
    if (pemExtensions.has(extension)) return { value: text, contentType: 'application/x-pem-file' };
    return { value: text.replace(/\r?\n$/, '') };
  }
}
