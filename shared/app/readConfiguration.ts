import type { ConfigStore, StoredConfig } from '../ports/config.js';
import type { CallOptions } from '../ports/mail.js';

/** The applied document with its version (also its ETag), or `undefined` before the first apply. */
export async function readConfiguration(
  deps: { configStore: ConfigStore },
  options?: CallOptions,
): Promise<StoredConfig | undefined> {
  return deps.configStore.get(options);
}
