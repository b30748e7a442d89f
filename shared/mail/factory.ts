import type { HttpClient } from '@azure/core-rest-pipeline';

import type { ConfigDocument, Profile } from '../config/document.js';
import type { MailBackend } from '../ports/mail.js';
import type { SecretSource } from '../ports/secrets.js';
import { lazyBackend } from './lazyBackend.js';

export interface MailBackendFactoryDeps {
  secrets: SecretSource;
  /** Reaches a sandbox or fake token endpoint; production leaves it unset. */
  identityHttpClient?: HttpClient;
  /** An extra CA the EWS client trusts besides the profile's trustedCa (the local on-premises sandbox). */
  ewsCa?: string;
  log?: (line: string) => void;
}

/**
 * One backend per profile and per configuration that shapes it, reused across invocations so a
 * worker keeps its credentials, token caches and folder caches. Each backend's module loads on its
 * first call (see lazyBackend), so importing the factory loads neither Graph nor EWS.
 */
export function createMailBackendFactory(
  deps: MailBackendFactoryDeps,
): (profile: Profile, config: ConfigDocument) => MailBackend {
  const cache = new Map<string, MailBackend>();
  return (profile, config) => {
    const key = JSON.stringify([profile, config.settings, config.forwardTo]);
    let backend = cache.get(key);
    if (!backend) {
      backend = build(profile, config, deps);
      cache.set(key, backend);
    }
    return backend;
  };
}

function build(profile: Profile, config: ConfigDocument, deps: MailBackendFactoryDeps): MailBackend {
  const common = {
    secrets: deps.secrets,
    maxAttempts: config.settings.maxAttempts,
    forwardTo: config.forwardTo,
    ...(deps.log ? { log: deps.log } : {}),
  };
  switch (profile.type) {
    case 'graph':
      return lazyBackend(
        'graph',
        async () => {
          const { createGraphMailBackend } = await import('./graph/graphMailBackend.js');
          return createGraphMailBackend(profile, {
            ...common,
            timeoutSeconds: config.settings.graphTimeoutSeconds,
            identityHttpClient: deps.identityHttpClient,
          });
        },
        true,
      );
    case 'ews':
      return lazyBackend(
        'ews',
        async () => {
          const { createEwsMailBackend } = await import('./ews/ewsMailBackend.js');
          return createEwsMailBackend(profile, {
            ...common,
            timeoutSeconds: config.settings.ewsTimeoutSeconds,
            ...(deps.ewsCa ? { xhrOptions: { ca: deps.ewsCa } } : {}),
          });
        },
        false,
      );
  }
}
