import type { ConfigDocument } from '../../shared/config/document.js';
import { configVersion } from '../../shared/config/tableConfigStore.js';
import {
  type ConfigStore,
  ConfigVersionConflictError,
  type StoredConfig,
} from '../../shared/ports/config.js';

/** The configuration document in memory, versioned as the table store versions it. */
export class InMemoryConfigStore implements ConfigStore {
  private current: StoredConfig | undefined;

  get(): Promise<StoredConfig | undefined> {
    return Promise.resolve(this.current && structuredClone(this.current));
  }

  put(document: ConfigDocument, ifVersion?: string): Promise<string> {
    if (ifVersion !== undefined && this.current?.version !== ifVersion)
      return Promise.reject(new ConfigVersionConflictError(this.current?.version));
    const version = configVersion(document);
    if (this.current?.version !== version)
      this.current = { document: structuredClone(document), version, updatedAt: new Date().toISOString() };
    return Promise.resolve(version);
  }
}
