import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { ConfigDocumentInput } from '../../shared/config/document.js';
import { sandboxPullSources } from '../sampleTenant.js';
import type { SandboxTenant } from '../sandbox/index.js';
import { demo, platformCredentials, type Platforms, startPlatforms } from './index.js';

/** A platform secret written where a file secret reference finds it. */
function secretFile(dataDir: string, name: string, value: string): string {
  const dir = path.join(dataDir, 'secrets');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return file;
}

/**
 * The fake polling APIs next to the sandbox tenant: Carol receives the two messages their seeded events
 * are about, the platforms' secrets are written as file secrets, and the sample configuration's pull
 * sources are returned pointing at them.
 */
export async function startSandboxPlatforms(options: {
  tenant: SandboxTenant;
  dataDir: string;
  ports?: { tap?: number; amp?: number; defender?: number } | undefined;
  tapClearedAfterMs?: number | undefined;
}): Promise<{ platforms: Platforms; sources: NonNullable<ConfigDocumentInput['sources']> }> {
  const { tenant } = options;
  const received = new Date(Date.now() - 30 * 60_000).toISOString();
  for (const message of [demo.tapMessage, demo.defenderMessage])
    tenant.addMessage(demo.recipient, { ...message, receivedDateTime: received });
  const platforms = await startPlatforms({
    ports: options.ports,
    clearedAfterMs: options.tapClearedAfterMs,
    // A token is good when the sandbox's Graph accepts it: the fake Defender API trusts the same issuer.
    validateGraphToken: async (token) =>
      (
        await fetch(`${tenant.graphEndpoint}/v1.0/users/${encodeURIComponent(demo.recipient)}`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).ok,
  });
  const sources = sandboxPullSources(
    { tap: platforms.tap.url, amp: platforms.amp.url, defender: platforms.defender.url },
    {
      tapSecret: secretFile(options.dataDir, 'sandbox-tap-secret', platformCredentials.tapSecret),
      ampApiKey: secretFile(options.dataDir, 'sandbox-amp-api-key', platformCredentials.ampApiKey),
    },
    platformCredentials,
  );
  return { platforms, sources };
}
