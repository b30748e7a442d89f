import { type Fault, type PlatformServer, startPlatformServer } from './server.js';

export interface FakeDefenderOptions {
  /** Whether a bearer token is one the (sandbox) token endpoint issued for Graph. */
  validateToken: (token: string) => Promise<boolean>;
  port?: number;
  alerts?: Record<string, unknown>[];
  pageSize?: number;
  now?: () => Date;
}

export interface FakeDefender extends PlatformServer {
  alerts: Record<string, unknown>[];
  fail(fault: Fault): void;
}

/** `lastUpdateDateTime ge 2026-…Z`, optionally `and serviceSource eq '…'`: what the connector sends. */
function parseFilter(filter: string): { since: number; serviceSource?: string | undefined } | undefined {
  const match = /^lastUpdateDateTime ge (\S+)(?: and serviceSource eq '([^']+)')?$/.exec(filter.trim());
  const since = match?.[1] === undefined ? Number.NaN : Date.parse(match[1]);
  return Number.isNaN(since) ? undefined : { since, serviceSource: match?.[2] };
}

/**
 * Microsoft Graph `GET /v1.0/security/alerts_v2` for the Defender connector: a bearer token from the
 * sandbox's token endpoint, `$filter` on `lastUpdateDateTime` (and `serviceSource`), `@odata.nextLink`
 * paging, and Graph's 150 requests a minute, past which it answers 429 with Retry-After.
 */
export async function startFakeDefender(options: FakeDefenderOptions): Promise<FakeDefender> {
  const now = options.now ?? (() => new Date());
  const alerts = [...(options.alerts ?? [])];
  const faults: Fault[] = [];
  const recent: number[] = [];
  const server = await startPlatformServer(
    options.port ?? 0,
    async ({ method, url, authorization }) => {
      const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
      if (token === undefined || !(await options.validateToken(token)))
        return {
          status: 401,
          body: {
            error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty or invalid.' },
          },
        };
      const at = now().getTime();
      while (recent.length > 0 && (recent[0] ?? 0) <= at - 60_000) recent.shift();
      recent.push(at);
      if (recent.length > 150)
        return {
          status: 429,
          headers: { 'retry-after': String(Math.ceil(((recent[0] ?? at) + 60_000 - at) / 1000)) },
          body: { error: { code: 'TooManyRequests', message: 'Too many requests.' } },
        };
      const fault = faults.shift();
      if (fault) return fault;
      if (method !== 'GET' || url.pathname !== '/v1.0/security/alerts_v2')
        return { status: 404, body: { error: { code: 'ResourceNotFound', message: 'Resource not found.' } } };
      const filter = parseFilter(url.searchParams.get('$filter') ?? '');
      if (!filter)
        return { status: 400, body: { error: { code: 'BadRequest', message: 'Invalid filter clause.' } } };
      const matching = alerts
        .filter((a) => Date.parse(String(a.lastUpdateDateTime)) >= filter.since)
        .filter((a) => filter.serviceSource === undefined || a.serviceSource === filter.serviceSource);
      const skip = Number(url.searchParams.get('$skiptoken') ?? 0);
      const size = options.pageSize ?? 50;
      const page = matching.slice(skip, skip + size);
      const next = new URL(url.toString());
      next.searchParams.set('$skiptoken', String(skip + size));
      return {
        status: 200,
        body: {
          '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2',
          value: page,
          ...(skip + size < matching.length ? { '@odata.nextLink': next.toString() } : {}),
        },
      };
    },
    now,
  );
  return { ...server, alerts, fail: (fault) => faults.push(fault) };
}
