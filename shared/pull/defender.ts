import { withSignal } from '../callOptions.js';
import type { GraphProfile, PullConfig } from '../config/document.js';
import { ClawbackError } from '../errors.js';
import { resolveGraphEndpoints } from '../mail/graph/endpoints.js';
import { loadCertificate } from '../secrets/certificate.js';
import { field, list, text } from '../sources/fields.js';
import { getJson } from './http.js';
import { iso, type PullConnector, type PullContext, sameOrigin, startOf } from './types.js';

type DefenderPull = Extract<PullConfig, { type: 'defender' }>;

/** Graph's limit for the security alert API: 150 requests a minute per app and tenant. */
export const defenderRequestsPerMinute = 150;
const requestLog = new Map<string, number[]>();

/** Waits until one more request keeps the app under the limit in the last minute. */
export async function throttle(key: string, context: Pick<PullContext, 'now' | 'sleep'>): Promise<void> {
  const sent = requestLog.get(key) ?? [];
  requestLog.set(key, sent);
  for (;;) {
    const now = context.now().getTime();
    while (sent.length > 0 && (sent[0] ?? 0) <= now - 60_000) sent.shift();
    if (sent.length < defenderRequestsPerMinute) break;
    await context.sleep((sent[0] ?? now) + 60_000 - now);
  }
  sent.push(context.now().getTime());
}

/**
 * Microsoft Defender alerts through Graph `security/alerts_v2`, with the named Graph profile's app
 * credential (permission SecurityAlert.Read.All): alerts from Defender for Office 365 updated since
 * the cursor (less the overlap), every page through `@odata.nextLink`. The event id is the alert id
 * plus its `lastUpdateDateTime`, so a reclassified alert is a new event and a re-read one is not.
 */
export const pullDefender: PullConnector<DefenderPull> = async (context) => {
  const profile = context.config.profiles.find(
    (p): p is GraphProfile => p.name === context.pull.profile && p.type === 'graph',
  );
  if (!profile)
    throw new ClawbackError(
      'ConfigurationError',
      `Source ${context.source} names Graph profile "${context.pull.profile}", which the configuration does not define.`,
    );
  const secret = await context.secrets.getSecret(profile.certificate, withSignal(context));
  // Loaded on first use, so importing the timer's module loads no identity SDK (cold start).
  const { getGraphTokenProvider } = await import('../mail/graph/credentials.js');
  const tokens = getGraphTokenProvider({
    profile,
    certificate: loadCertificate(secret, { label: `certificate of profile ${profile.name}` }),
    timeoutSeconds: context.config.settings.graphTimeoutSeconds,
    identityHttpClient: context.identityHttpClient,
  });
  const base = (context.pull.baseUrl ?? resolveGraphEndpoints(profile).graphEndpoint).replace(/\/+$/, '');
  const askedAt = context.now();
  const filter = `lastUpdateDateTime ge ${iso(startOf(context))} and serviceSource eq 'microsoftDefenderForOffice365'`;
  let url: string | undefined = `${base}/v1.0/security/alerts_v2?$filter=${encodeURIComponent(filter)}`;
  while (url !== undefined) {
    await throttle(`${profile.tenantId}|${profile.clientId}`, context);
    let token: string;
    try {
      token = await tokens.getToken(context.abortSignal);
    } catch (error) {
      throw new ClawbackError(
        'AuthenticationError',
        `No Graph token for profile ${profile.name}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const response = await getJson(
      url,
      { authorization: `Bearer ${token}` },
      `Graph security alerts (${context.source})`,
      {
        abortSignal: context.abortSignal,
        now: context.now,
      },
    );
    const alerts = list(field(response.body, 'value')).filter(
      (a) => text(a, 'serviceSource')?.toLowerCase() === 'microsoftdefenderforoffice365',
    );
    for (const alert of alerts) {
      const updated = text(alert, 'lastUpdateDateTime') ?? '';
      await context.ingest(
        [alert],
        'microsoft-defender',
        (change) => `${text(alert, 'id') ?? ''}@${updated}:${change.eventId.split(':').slice(2).join(':')}`,
      );
    }
    const next = text(response.body, '@odata.nextLink');
    if (next !== undefined && !sameOrigin(next, base))
      throw new ClawbackError(
        'ConfigurationError',
        `Graph gave a next link to another host: ${new URL(next).host}`,
      );
    url = next;
  }
  await context.advance(askedAt.toISOString());
};
