import {
  checkChange,
  compact,
  failure,
  field,
  fits,
  isRecord,
  isSha256,
  list,
  lowerText,
  type NormaliseResult,
  pathOf,
  type Problem,
  result,
  text,
} from './fields.js';

const source = 'cisco-secure-endpoint';
const eventTypes = {
  retrospectiveDetection: { name: 'retrospective detection', id: 553648147 },
  threatDetected: { name: 'threat detected', id: 1090519054 },
};

function looksLikeEvent(value: unknown): boolean {
  return (
    isRecord(value) &&
    (field(value, 'event_type') !== undefined || field(value, 'event_type_id') !== undefined)
  );
}

/** A `/v1/events` response (`data` is an array there, one object in some exports), one event, or an array of events. */
export function looksLikeCiscoSecureEndpoint(body: unknown): boolean {
  if (Array.isArray(body)) return body.length > 0 && looksLikeEvent(body[0]);
  if (!isRecord(body)) return false;
  if (looksLikeEvent(body)) return true;
  const data = field(body, 'data');
  return (
    data !== undefined &&
    (field(body, 'version') !== undefined ||
      field(body, 'metadata') !== undefined ||
      looksLikeEvent(Array.isArray(data) ? data[0] : data))
  );
}

function eventsOf(body: unknown): { event: unknown; path: string }[] {
  if (Array.isArray(body)) return list(body).map((event, index) => ({ event, path: pathOf(index) }));
  if (looksLikeEvent(body)) return [{ event: body, path: '$' }];
  const data = field(body, 'data');
  if (Array.isArray(data)) return list(data).map((event, index) => ({ event, path: pathOf('data', index) }));
  return [{ event: data, path: 'data' }];
}

/**
 * Cisco Secure Endpoint (AMP) file detections → one verdict change per event, keyed on the file's
 * SHA-256 only: endpoint events say nothing about mail, so the delivery ledger finds the messages.
 */
export function normaliseCiscoSecureEndpoint(body: unknown): NormaliseResult {
  if (!looksLikeCiscoSecureEndpoint(body))
    return failure(
      '$',
      'is not a Cisco Secure Endpoint event: expected a /v1/events response ({version, metadata, data}), ' +
        'one event or an array of events, each with event_type',
    );
  const details: Problem[] = [];
  const notes: Problem[] = [];
  const changes: Record<string, unknown>[] = [];
  for (const { event, path } of eventsOf(body)) {
    const change = fromEvent(event, path, details, notes);
    if (change !== undefined && checkChange(change, path, details)) changes.push(change);
  }
  return result(changes, details, notes);
}

function fromEvent(
  event: unknown,
  path: string,
  details: Problem[],
  notes: Problem[],
): Record<string, unknown> | undefined {
  if (!isRecord(event)) {
    details.push({ path, message: 'must be an object' });
    return undefined;
  }
  const type = lowerText(event, 'event_type');
  const typeId = field(event, 'event_type_id');
  const matches = (t: { name: string; id: number }) => type === t.name || typeId === t.id;
  const retrospective = matches(eventTypes.retrospectiveDetection);
  if (!retrospective && !matches(eventTypes.threatDetected)) {
    notes.push({
      path,
      message: `event_type "${text(event, 'event_type') ?? String(typeId)}" is no file verdict (only Retrospective Detection and Threat Detected are)`,
    });
    return undefined;
  }
  const file = field(event, 'file');
  const sha256 = text(field(file, 'identity'), 'sha256');
  if (!isSha256(sha256)) {
    details.push({
      path: pathOf(path, 'file', 'identity', 'sha256'),
      message:
        'is missing or not 64 hexadecimal characters: a Secure Endpoint event reaches mail only through ' +
        "the file's SHA-256, so without it there is nothing to act on",
    });
    return undefined;
  }
  const eventId = eventIdOf(event, sha256);
  if (eventId === undefined) {
    details.push({
      path: pathOf(path, 'id'),
      message: 'is missing: the verdict change needs it as its event id',
    });
    return undefined;
  }
  // A retrospective event whose disposition is Clean is Cisco taking a detection back.
  const verdict = retrospective && lowerText(file, 'disposition') === 'clean' ? 'clean' : 'malicious';
  return compact({
    eventId,
    source,
    verdict,
    observedAt: fits.observedAt(text(event, 'date')) ?? fromUnixSeconds(field(event, 'timestamp')),
    threat: compact({
      sha256: sha256.toLowerCase(),
      filename: fits.filename(text(file, 'file_name')),
      name: fits.threatName(text(event, 'detection')),
    }),
  });
}

/**
 * Event ids are 64-bit integers; JSON.parse rounds those above 2^53 to a neighbour, so two events can
 * arrive with the same id. Such ids get the file and the event time appended: what can still collide
 * then is the same file judged at the same moment, which is one verdict as far as mail is concerned.
 */
function eventIdOf(event: Record<string, unknown>, sha256: string): string | undefined {
  const id = field(event, 'id');
  if (typeof id === 'string' && id.trim() !== '') return id.trim();
  if (typeof id !== 'number' || !Number.isFinite(id)) return undefined;
  if (Number.isSafeInteger(id)) return String(id);
  const when = [text(event, 'timestamp'), text(event, 'timestamp_nanoseconds')]
    .filter((x) => x !== undefined)
    .join('.');
  return `${String(id)}:${sha256.toLowerCase()}:${when || (text(event, 'date') ?? '')}`;
}

function fromUnixSeconds(value: unknown): string | undefined {
  return typeof value === 'number' && Number.isFinite(value)
    ? new Date(value * 1000).toISOString()
    : undefined;
}
