import { checkBasic, type Fault, type PlatformServer, startPlatformServer } from './server.js';

/** A message event as TAP lists it, and when TAP created it (what `interval` selects on). */
export interface TapEvent {
  createdAt: Date;
  event: Record<string, unknown>;
}

export interface FakeTapOptions {
  principal: string;
  secret: string;
  port?: number;
  events?: TapEvent[];
  now?: () => Date;
}

export interface FakeTap extends PlatformServer {
  add(event: TapEvent): void;
  /** After `requests` more requests are answered, the next gets this instead (e.g. 500, or 429 with Retry-After). */
  failAfter(requests: number, fault: Fault): void;
  events: TapEvent[];
}

const hourMs = 60 * 60_000;
const horizonMs = 7 * 24 * hourMs;

/**
 * Proofpoint TAP's SIEM API as its documentation describes it: `GET /v2/siem/all` (and the
 * messages/clicks subsets) with `interval=<start>/<end>` in ISO 8601, HTTP Basic with the service
 * principal and secret, at most one hour per request, nothing older than seven days, no paging;
 * events are selected by the time TAP created them, which for a retroactive verdict is later than
 * the message.
 */
export async function startFakeTap(options: FakeTapOptions): Promise<FakeTap> {
  const now = options.now ?? (() => new Date());
  const events: TapEvent[] = [...(options.events ?? [])];
  const faults: { after: number; fault: Fault }[] = [];
  let answered = 0;
  const server = await startPlatformServer(
    options.port ?? 0,
    ({ method, url, authorization }) => {
      if (!checkBasic(authorization, options.principal, options.secret))
        return { status: 401, body: 'The credentials provided are invalid.' };
      answered++;
      const due = faults.findIndex((f) => answered > f.after);
      if (due >= 0) return faults.splice(due, 1)[0]?.fault ?? { status: 500 };
      const lists: Record<string, string> = {
        '/v2/siem/all': 'all',
        '/v2/siem/messages/delivered': 'messagesDelivered',
        '/v2/siem/issues': 'messagesDelivered',
      };
      const which = lists[url.pathname];
      if (method !== 'GET' || which === undefined) return { status: 404, body: 'Not found' };
      const interval = url.searchParams.get('interval') ?? '';
      const [from, to] = interval.split('/').map((t) => Date.parse(t));
      if (from === undefined || to === undefined || Number.isNaN(from) || Number.isNaN(to) || from >= to)
        return {
          status: 400,
          body: 'The interval parameter must be two ISO 8601 times, start/end, start before end.',
        };
      if (to - from > hourMs)
        return { status: 400, body: 'The requested interval is too long: at most one hour.' };
      if (from < now().getTime() - horizonMs)
        return { status: 400, body: 'The requested start time is too far into the past: at most 7 days.' };
      const end = Math.min(to, now().getTime());
      const delivered = events
        .filter((e) => e.createdAt.getTime() >= from && e.createdAt.getTime() < end)
        .map((e) => e.event);
      return {
        status: 200,
        body: {
          queryEndTime: new Date(end).toISOString(),
          messagesDelivered: delivered,
          messagesBlocked: [],
          clicksPermitted: [],
          clicksBlocked: [],
        },
      };
    },
    now,
  );
  return {
    ...server,
    events,
    add: (event) => events.push(event),
    failAfter: (requests, fault) => faults.push({ after: answered + requests, fault }),
  };
}
