import type { ConfigDocument } from '../config/document.js';
import type { CallOptions } from './mail.js';

export interface StoredConfig {
  document: ConfigDocument;
  version: string;
  /** When this version was applied (ISO 8601 UTC), when the store knows it. */
  updatedAt?: string | undefined;
}

/** Thrown by a conditional `put` when the stored version is not the one the caller based its change on. */
export class ConfigVersionConflictError extends Error {
  override readonly name = 'ConfigVersionConflictError';
  constructor(readonly currentVersion: string | undefined) {
    super(
      currentVersion === undefined
        ? 'No configuration has been applied yet, so there is no version to match.'
        : `The configuration is now at version ${currentVersion}; reload it and apply your change again.`,
    );
  }
}

/** Where the configuration document lives (Table Storage); read through a short per-worker cache. */
export interface ConfigStore {
  get(options?: CallOptions): Promise<StoredConfig | undefined>;
  /**
   * Replaces the whole document; `ifVersion` makes it conditional (ConfigVersionConflictError when
   * the stored version differs). Returns the new version, which is the same for the same document.
   */
  put(document: ConfigDocument, ifVersion?: string, options?: CallOptions): Promise<string>;
}
