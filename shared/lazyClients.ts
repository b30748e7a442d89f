import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';

import type { QueueSender } from './ports/queue.js';
import type { SecretSource } from './ports/secrets.js';

/**
 * Stand-ins that load a heavy SDK (identity, Service Bus, Key Vault) on first use rather than when a
 * function module is imported, so each function's cold start pays only for the clients it calls.
 */

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    if (loaded === undefined) {
      const attempt = load();
      loaded = attempt;
      // A failed load (a bad setting) is tried again by the next caller.
      attempt.catch(() => {
        if (loaded === attempt) loaded = undefined;
      });
    }
    return loaded;
  };
}

export function lazyCredential(load: () => Promise<TokenCredential>): TokenCredential {
  const get = once(load);
  return {
    getToken: async (scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> =>
      (await get()).getToken(scopes, options),
  };
}

export function lazyQueue(load: () => Promise<QueueSender>): QueueSender {
  let started = false;
  const get = once(() => {
    started = true;
    return load();
  });
  return {
    send: async (queueName, messages, options) => (await get()).send(queueName, messages, options),
    close: async () => {
      if (started) await (await get()).close();
    },
  };
}

export function lazySecrets(load: () => Promise<SecretSource>): SecretSource {
  const get = once(load);
  return { getSecret: async (ref, options) => (await get()).getSecret(ref, options) };
}
