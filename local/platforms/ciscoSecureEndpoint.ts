import { checkBasic, type Fault, type PlatformServer, startPlatformServer } from './server.js';

export interface FakeCiscoOptions {
  clientId: string;
  apiKey: string;
  port?: number;
  /** Events as `/v1/events` lists them (each with `id`, `date`, `event_type_id`). */
  events?: Record<string, unknown>[];
  /** Largest page served whatever `limit` asks (500 as the API). */
  maxPageSize?: number;
  /** Requests allowed per rate-limit window (3000 an hour in the API's examples). */
  rateLimit?: number;
  rateWindowSeconds?: number;
  now?: () => Date;
}

export interface FakeCisco extends PlatformServer {
  events: Record<string, unknown>[];
  fail(fault: Fault): void;
  /** After this many more events have been served, the next request fails with 503 (a fault mid-stream). */
  failAfterEvents(count: number): void;
  /** The reset times the fake announced, in order: when each window's budget came back. */
  resets: Date[];
}

/**
 * Cisco Secure Endpoint's `GET /v1/events`: HTTP Basic with the API client id and key; `start_date`
 * (inclusive), repeated `event_type[]`, `limit` and `offset`; newest first; `metadata.links.next`
 * while more remain; `x-ratelimit-limit`, `-remaining`, `-reset` (seconds) and `-resetdate` on every
 * answer, and 429 once the window's budget is spent.
 */
export async function startFakeCiscoSecureEndpoint(options: FakeCiscoOptions): Promise<FakeCisco> {
  const now = options.now ?? (() => new Date());
  const events = [...(options.events ?? [])];
  const faults: Fault[] = [];
  const resets: Date[] = [];
  const limit = options.rateLimit ?? 3000;
  const windowMs = (options.rateWindowSeconds ?? 3600) * 1000;
  let windowStart = 0;
  let used = 0;
  let faultAfter: number | undefined;
  let served = 0;
  const server = await startPlatformServer(
    options.port ?? 0,
    ({ method, url, authorization }) => {
      if (!checkBasic(authorization, options.clientId, options.apiKey))
        return {
          status: 401,
          body: { version: 'v1.2.0', errors: [{ error_code: 401, description: 'Unauthorized' }] },
        };
      const at = now().getTime();
      if (at >= windowStart + windowMs) {
        windowStart = at;
        used = 0;
        resets.push(new Date(windowStart + windowMs));
      }
      used++;
      const resetAt = windowStart + windowMs;
      const rate = {
        'x-ratelimit-limit': String(limit),
        'x-ratelimit-remaining': String(Math.max(0, limit - used)),
        'x-ratelimit-reset': String(Math.max(0, Math.ceil((resetAt - at) / 1000))),
        'x-ratelimit-resetdate': new Date(resetAt).toISOString(),
      };
      if (used > limit)
        return { status: 429, headers: { ...rate, 'retry-after': rate['x-ratelimit-reset'] }, body: {} };
      const fault = faults.shift();
      if (fault) return { ...fault, headers: { ...rate, ...(fault.headers ?? {}) } };
      if (faultAfter !== undefined && served >= faultAfter) {
        faultAfter = undefined;
        return {
          status: 503,
          headers: rate,
          body: { errors: [{ error_code: 503, description: 'Service Unavailable' }] },
        };
      }
      if (method !== 'GET' || url.pathname !== '/v1/events') return { status: 404, headers: rate, body: {} };
      const start = Date.parse(url.searchParams.get('start_date') ?? '');
      const types = url.searchParams.getAll('event_type[]').map(Number);
      const pageSize = Math.min(Number(url.searchParams.get('limit') ?? 500), options.maxPageSize ?? 500);
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const matching = events
        .filter((e) => Number.isNaN(start) || Date.parse(String(e.date)) >= start)
        .filter((e) => types.length === 0 || types.includes(Number(e.event_type_id)))
        .sort((a, b) => Date.parse(String(b.date)) - Date.parse(String(a.date)));
      const page = matching.slice(offset, offset + pageSize);
      served += page.length;
      const link = (o: number) => {
        const next = new URL(url.toString());
        next.searchParams.set('offset', String(o));
        next.searchParams.set('limit', String(pageSize));
        return next.toString();
      };
      return {
        status: 200,
        headers: rate,
        body: {
          version: 'v1.2.0',
          metadata: {
            links: {
              self: link(offset),
              ...(offset > 0 ? { prev: link(Math.max(0, offset - pageSize)) } : {}),
              ...(offset + pageSize < matching.length ? { next: link(offset + pageSize) } : {}),
            },
            results: {
              total: matching.length,
              current_item_count: page.length,
              index: offset,
              items_per_page: pageSize,
            },
          },
          data: page,
        },
      };
    },
    now,
  );
  return {
    ...server,
    events,
    resets,
    fail: (fault) => faults.push(fault),
    failAfterEvents: (count) => {
      faultAfter = served + count;
    },
  };
}
