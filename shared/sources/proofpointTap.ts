import {
  addresses,
  canonicalMessageId,
  checkChange,
  compact,
  failure,
  field,
  fits,
  isAbsoluteUrl,
  isRecord,
  isSha256,
  list,
  lowerText,
  type NormaliseResult,
  pathOf,
  type Problem,
  result,
  text,
  verbatim,
} from './fields.js';

const source = 'proofpoint-tap';
const eventLists = ['messagesDelivered', 'messagesBlocked', 'clicksPermitted', 'clicksBlocked'] as const;
type EventList = (typeof eventLists)[number];

function looksLikeEnvelope(body: unknown): boolean {
  return (
    isRecord(body) &&
    (eventLists.some((name) => field(body, name) !== undefined) || field(body, 'queryEndTime') !== undefined)
  );
}

/** One message or click event as the SIEM API lists them: a GUID and its threats, or a click. */
function looksLikeEvent(value: unknown): boolean {
  return (
    isRecord(value) &&
    field(value, 'GUID') !== undefined &&
    (field(value, 'threatsInfoMap') !== undefined ||
      field(value, 'messageID') !== undefined ||
      field(value, 'clickTime') !== undefined)
  );
}

/** A `/v2/siem/*` response (any of the event lists, or just `queryEndTime` for an empty window), one event, or an array of events. */
export function looksLikeProofpointTap(body: unknown): boolean {
  if (Array.isArray(body)) return body.length > 0 && looksLikeEvent(body[0]);
  return looksLikeEnvelope(body) || looksLikeEvent(body);
}

/** Why the lists other than `messagesDelivered` never yield a verdict change. */
const ignoredLists: Record<Exclude<EventList, 'messagesDelivered'>, string> = {
  messagesBlocked: 'blocked messages never reached a mailbox, so there is nothing to pull back',
  clicksPermitted:
    'a click is a user action; the message it came from arrives in messagesDelivered with the same GUID and threat',
  clicksBlocked: 'a blocked click changes no message in a mailbox',
};

/**
 * Which list a bare event belongs to: a click has a click time; a message TAP held back names the
 * quarantine folder it went to; any other message event was delivered.
 */
function listOf(event: unknown): EventList {
  if (field(event, 'clickTime') !== undefined) return 'clicksPermitted';
  return text(event, 'quarantineFolder') !== undefined ? 'messagesBlocked' : 'messagesDelivered';
}

/** The events of a body, each with the list it belongs to and its path; a list that is no array is a problem. */
function eventsOf(body: unknown, details: Problem[]): { kind: EventList; event: unknown; path: string }[] {
  if (Array.isArray(body))
    return list(body).map((event, i) => ({ kind: listOf(event), event, path: pathOf(i) }));
  if (!looksLikeEnvelope(body)) return [{ kind: listOf(body), event: body, path: '$' }];
  return eventLists.flatMap((name) => {
    const events = field(body, name);
    if (events === undefined || events === null) return [];
    if (!Array.isArray(events)) {
      details.push({ path: name, message: 'must be an array of events' });
      return [];
    }
    return list(events).map((event, i) => ({ kind: name, event, path: pathOf(name, i) }));
  });
}

function verdictOf(threat: unknown): 'malicious' | 'clean' | undefined {
  const status = lowerText(threat, 'threatStatus');
  const classification = lowerText(threat, 'classification');
  if (status === 'active' && (classification === 'malware' || classification === 'phish')) return 'malicious';
  if (status === 'cleared' || status === 'falsepositive') return 'clean';
  return undefined;
}

/**
 * Proofpoint TAP SIEM events (`/v2/siem/all` and its subsets, one event, or an array of events) → one
 * verdict change per delivered message and threat whose status makes it a verdict: active
 * malware/phish → malicious, cleared or falsePositive → clean. The event id is GUID + threatID +
 * threatStatus: TAP reports a later `cleared` on the same GUID and threatID as the detection, and the
 * idempotency key must tell them apart.
 */
export function normaliseProofpointTap(body: unknown): NormaliseResult {
  if (!looksLikeProofpointTap(body))
    return failure(
      '$',
      'is not a Proofpoint TAP SIEM event: expected a /v2/siem/* response (messagesDelivered, messagesBlocked, ' +
        'clicksPermitted or clicksBlocked), one message event or an array of them, each with a GUID',
    );
  const details: Problem[] = [];
  const notes: Problem[] = [];
  const changes: Record<string, unknown>[] = [];
  const left = new Map<Exclude<EventList, 'messagesDelivered'>, number>();
  for (const { kind, event, path } of eventsOf(body, details)) {
    if (kind === 'messagesDelivered') changes.push(...deliveredEvent(event, path, details, notes));
    else left.set(kind, (left.get(kind) ?? 0) + 1);
  }
  for (const [kind, count] of left)
    notes.push({ path: kind, message: `${count} event(s) left out: ${ignoredLists[kind]}` });
  return result(changes, details, notes);
}

function deliveredEvent(
  event: unknown,
  path: string,
  details: Problem[],
  notes: Problem[],
): Record<string, unknown>[] {
  if (!isRecord(event)) {
    details.push({ path, message: 'must be an object' });
    return [];
  }
  const threats = field(event, 'threatsInfoMap');
  if (threats !== undefined && threats !== null && !Array.isArray(threats)) {
    details.push({ path: pathOf(path, 'threatsInfoMap'), message: 'must be an array' });
    return [];
  }
  const relevant = list(threats)
    .map((threat, index) => ({
      threat,
      path: `${path}.threatsInfoMap[${index}]`,
      verdict: verdictOf(threat),
    }))
    .filter((t) => {
      if (t.verdict !== undefined) return true;
      notes.push({
        path: t.path,
        message:
          `threatStatus "${lowerText(t.threat, 'threatStatus') ?? '(none)'}" with classification ` +
          `"${lowerText(t.threat, 'classification') ?? '(none)'}" is no verdict Clawback acts on ` +
          '(only active malware/phish, cleared and falsePositive are)',
      });
      return false;
    });
  if (relevant.length === 0) return [];

  const guid = text(event, 'GUID');
  if (guid === undefined) {
    details.push({ path, message: 'has no GUID, which the verdict change needs as its event id' });
    return [];
  }
  const messages = deliveredMessage(event, path, notes);
  const changes: Record<string, unknown>[] = [];
  for (const { threat, path: threatPath, verdict } of relevant) {
    const threatId = text(threat, 'threatID');
    const status = lowerText(threat, 'threatStatus') ?? verdict;
    if (threatId === undefined) {
      details.push({
        path: threatPath,
        message: 'has no threatID, which the verdict change needs in its event id',
      });
      continue;
    }
    const identified = threatOf(event, threat, threatPath, details);
    if (identified === undefined) continue;
    const change = compact({
      eventId: `${guid}:${threatId}:${status}`,
      source,
      verdict,
      observedAt: fits.observedAt(text(threat, 'threatTime')),
      threat: identified,
      messages,
    });
    if (checkChange(change, threatPath, details)) changes.push(change);
  }
  return changes;
}

/** The threat as Clawback keys it: the SHA-256 of an attachment threat, the URL of a URL threat — never a guess. */
function threatOf(
  event: Record<string, unknown>,
  threat: unknown,
  path: string,
  details: Problem[],
): Record<string, unknown> | undefined {
  const type = lowerText(threat, 'threatType');
  const value = text(threat, 'threat');
  let identified: Record<string, unknown>;
  if (type === 'attachment') {
    if (!isSha256(value)) {
      details.push({
        path: pathOf(path, 'threat'),
        message:
          'an attachment threat must carry the attachment SHA-256 (64 hexadecimal characters) in "threat"',
      });
      return undefined;
    }
    const sha256 = value.toLowerCase();
    const part = list(field(event, 'messageParts')).find((p) => text(p, 'sha256')?.toLowerCase() === sha256);
    identified = { sha256, filename: fits.filename(text(part, 'filename')) };
  } else if (type === 'url') {
    if (!isAbsoluteUrl(value)) {
      details.push({
        path: pathOf(path, 'threat'),
        message:
          'a URL threat must carry an absolute URL in "threat" (TAP sometimes reports a bare host name; ' +
          'Clawback does not guess a scheme)',
      });
      return undefined;
    }
    identified = { url: value };
  } else {
    details.push({
      path: pathOf(path, 'threatType'),
      message:
        `threatType "${type ?? '(none)'}" names no attachment SHA-256 or URL, and every Clawback verdict ` +
        'needs one; poll the SIEM API with threatType=attachment&threatType=url',
    });
    return undefined;
  }
  return compact({ ...identified, name: fits.threatName(lowerText(threat, 'classification')) });
}

/**
 * The delivered message. Real events can carry `messageID: ""`: the recipients are kept without an id
 * and their copies are found through the ledger or a search by sender, subject and received time.
 * Without recipients too, the ledger resolves the copies by the threat alone.
 */
function deliveredMessage(
  event: Record<string, unknown>,
  path: string,
  notes: Problem[],
): Record<string, unknown>[] | undefined {
  const internetMessageId = canonicalMessageId(field(event, 'messageID'));
  // The envelope recipients are the mailboxes it was delivered to; header addresses are the fallback.
  const envelope = addresses(field(event, 'recipient'));
  const recipients =
    envelope.length > 0 ? envelope : addresses(field(event, 'toAddresses'), field(event, 'ccAddresses'));
  if (recipients.length === 0) {
    notes.push({
      path,
      message: 'no recipient addresses: the delivery ledger resolves the messages by the threat',
    });
    return undefined;
  }
  if (internetMessageId === undefined)
    notes.push({
      path,
      message:
        'no usable messageID: the recipients are kept, and their copies are found through the delivery ledger or by sender, subject and received time',
    });
  return [
    compact({
      internetMessageId,
      recipients,
      // `sender` has a hashed local part; the From address is what a mailbox search can match.
      sender:
        addresses(field(event, 'fromAddress'), headerAddress(text(event, 'headerFrom')))[0] ??
        addresses(field(event, 'sender'))[0],
      subject: fits.subject(verbatim(event, 'subject')),
      receivedAt: fits.receivedAt(text(event, 'messageTime')),
    }),
  ];
}

/** `"A. Badguy" <badguy@evil.zz>` → `badguy@evil.zz`. */
function headerAddress(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return /<([^<>]+)>\s*$/.exec(value)?.[1] ?? value;
}
