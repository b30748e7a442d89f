import { withSignal } from '../callOptions.js';
import type { PullConfig } from '../config/document.js';
import { field, list, text } from '../sources/fields.js';
import { basicAuth, getJson } from './http.js';
import { iso, type PullConnector, startOf } from './types.js';

type TapPull = Extract<PullConfig, { type: 'proofpoint-tap' }>;

/** TAP answers at most one hour per request and nothing older than seven days (less a margin for clock skew). */
const maxWindowMs = 60 * 60_000;
const horizonMs = 7 * 24 * 60 * 60_000 - 10 * 60_000;

/**
 * Proofpoint TAP SIEM API: `/v2/siem/all` one hour at a time from the cursor (less the overlap) to
 * now. Each window's delivered-message events are ingested before the cursor moves to its end, so a
 * failure part-way leaves the cursor at the last window that was read in full.
 */
export const pullProofpointTap: PullConnector<TapPull> = async (context) => {
  const { pull } = context;
  const secret = await context.secrets.getSecret(pull.secret, withSignal(context));
  const authorization = basicAuth(pull.principal, secret.value);
  const end = context.now().getTime();
  let start = startOf(context);
  if (start < end - horizonMs) {
    context.log(
      `pull ${context.source}: the cursor ${context.readThrough ?? ''} is older than TAP's 7-day horizon; reading from ${iso(end - horizonMs)}, events before it are out of reach`,
    );
    start = end - horizonMs;
  }
  const base = pull.baseUrl.replace(/\/+$/, '');
  while (start < end) {
    const windowEnd = Math.min(start + maxWindowMs, end);
    const interval = `${iso(start)}/${iso(windowEnd)}`;
    const response = await getJson(
      `${base}/v2/siem/all?format=json&interval=${encodeURIComponent(interval)}`,
      { authorization },
      `Proofpoint TAP (${context.source})`,
      { abortSignal: context.abortSignal, now: context.now },
    );
    const delivered = list(field(response.body, 'messagesDelivered'));
    await context.ingest(delivered, 'proofpoint-tap');
    // TAP says how far its answer reaches; the cursor never passes it.
    const reported = Date.parse(text(response.body, 'queryEndTime') ?? '');
    const readThrough = Number.isNaN(reported) ? windowEnd : Math.min(reported, windowEnd);
    await context.advance(new Date(readThrough).toISOString());
    start = windowEnd;
  }
};
