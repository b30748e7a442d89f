import { withSignal } from '../callOptions.js';
import type { PullConfig } from '../config/document.js';
import { ClawbackError } from '../errors.js';
import { field, list, text } from '../sources/fields.js';
import { basicAuth, getJson } from './http.js';
import { iso, type PullConnector, sameOrigin, startOf } from './types.js';

type CiscoPull = Extract<PullConfig, { type: 'cisco-secure-endpoint' }>;

/** A rate-limit reset longer than this ends the run; the next run starts after the reset. */
const maxInlineWaitMs = 120_000;
/** The reset is given in whole seconds; a little more absorbs the clocks' disagreement. */
const resetMarginMs = 250;

/**
 * Cisco Secure Endpoint `/v1/events` from the cursor (less the overlap), every page through
 * `metadata.links.next`. Pages are offset-based and newest first, so the window counts as read only
 * when the last page is ingested; the cursor then moves to when the first page was asked for. When
 * `x-ratelimit-remaining` reaches 0 the next request waits for `x-ratelimit-reset` seconds.
 */
export const pullCiscoSecureEndpoint: PullConnector<CiscoPull> = async (context) => {
  const { pull } = context;
  const key = await context.secrets.getSecret(pull.apiKey, withSignal(context));
  const authorization = basicAuth(pull.clientId, key.value);
  const base = pull.baseUrl.replace(/\/+$/, '');
  const askedAt = context.now();
  const types = pull.eventTypes.map((t) => `event_type[]=${t}`).join('&');
  let url: string | undefined =
    `${base}/v1/events?start_date=${encodeURIComponent(iso(startOf(context)))}&${types}&limit=500`;
  while (url !== undefined) {
    const response = await getJson(url, { authorization }, `Cisco Secure Endpoint (${context.source})`, {
      abortSignal: context.abortSignal,
      now: context.now,
    });
    await context.ingest(list(field(response.body, 'data')), 'cisco-secure-endpoint');
    const next = text(field(field(response.body, 'metadata'), 'links'), 'next');
    if (next !== undefined && !sameOrigin(next, base))
      throw new ClawbackError(
        'ConfigurationError',
        `Cisco Secure Endpoint gave a next link to another host: ${new URL(next).host}`,
      );
    const remaining = Number(response.headers.get('x-ratelimit-remaining') ?? Number.NaN);
    const resetMs = Number(response.headers.get('x-ratelimit-reset') ?? Number.NaN) * 1000 + resetMarginMs;
    if (remaining <= 0 && Number.isFinite(resetMs)) {
      const resetAt = new Date(context.now().getTime() + resetMs);
      context.notBefore(resetAt);
      if (next !== undefined) {
        if (resetMs > maxInlineWaitMs)
          throw new ClawbackError(
            'Throttled',
            `Cisco Secure Endpoint's rate limit resets in ${Math.ceil(resetMs / 1000)} s`,
            {
              retryable: true,
              retryAfterMs: resetMs,
            },
          );
        context.log(
          `pull ${context.source}: rate limit reached; waiting ${Math.ceil(resetMs / 1000)} s for its reset`,
        );
        await context.sleep(resetMs);
      }
    }
    url = next;
  }
  await context.advance(askedAt.toISOString());
};
