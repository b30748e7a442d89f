import type { ConfigDocument } from '../config/document.js';
import type { CallOptions } from './mail.js';

export interface StoredConfig {
  document: ConfigDocument;
  version: string;
}

/** Where the configuration document lives (Table Storage); read through a short per-worker cache. */
export interface ConfigStore {
  get(options?: CallOptions): Promise<StoredConfig | undefined>;
  /** Replaces the whole document; `ifVersion` makes it conditional. Returns the new version. */
  put(document: ConfigDocument, ifVersion?: string, options?: CallOptions): Promise<string>;
}
