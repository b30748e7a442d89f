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

/** A `/v2/siem/*` response: any of the event lists, or just `queryEndTime` for an empty window. */
export function looksLikeProofpointTap(body: unknown): boolean {
  return (
    isRecord(body) &&
    (eventLists.some((name) => field(body, name) !== undefined) || field(body, 'queryEndTime') !== undefined)
  );
}

/** Why the lists other than `messagesDelivered` never yield a verdict change. */
const ignoredLists: Record<Exclude<(typeof eventLists)[number], 'messagesDelivered'>, string> = {
  messagesBlocked: 'blocked messages never reached a mailbox, so there is nothing to pull back',
  clicksPermitted:
    'a click is a user action; the message it came from arrives in messagesDelivered with the same GUID and threat',
  clicksBlocked: 'a blocked click changes no message in a mailbox',
};

function verdictOf(threat: unknown): 'malicious' | 'clean' | undefined {
  const status = lowerText(threat, 'threatStatus');
  const classification = lowerText(threat, 'classification');
  if (status === 'active' && (classification === 'malware' || classification === 'phish')) return 'malicious';
  if (status === 'falsepositive') return 'clean';
  return undefined;
}

/**
 * Proofpoint TAP SIEM events (`/v2/siem/all` and its subsets) → one verdict change per delivered
 * message and threat whose status makes it a verdict: active malware/phish → malicious,
 * falsePositive → clean. The eventId carries the verdict because TAP reports a false positive on the
 * same GUID and threatID as the original detection, and the idempotency key must tell them apart.
 */
export function normaliseProofpointTap(body: unknown): NormaliseResult {
  if (!looksLikeProofpointTap(body))
    return failure(
      '$',
      'is not a Proofpoint TAP SIEM response: expected an object with messagesDelivered, messagesBlocked, ' +
        'clicksPermitted or clicksBlocked (the /v2/siem/all shape)',
    );
  const details: Problem[] = [];
  const notes: Problem[] = [];
  const changes: Record<string, unknown>[] = [];
  for (const name of eventLists) {
    const events = field(body, name);
    if (events === undefined || events === null) continue;
    if (!Array.isArray(events)) {
      details.push({ path: name, message: 'must be an array of events' });
      continue;
    }
    if (name !== 'messagesDelivered') {
      if (events.length > 0)
        notes.push({ path: name, message: `${events.length} event(s) left out: ${ignoredLists[name]}` });
      continue;
    }
    events.forEach((event, index) => {
      changes.push(...deliveredEvent(event, pathOf(name, index), details, notes));
    });
  }
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
          '(only active malware/phish and falsePositive are)',
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
      eventId: `${guid}:${threatId}:${verdict}`,
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
 * The delivered message, or undefined to leave it to the delivery ledger when TAP gives no usable
 * Message-ID (real events can carry `messageID: ""`).
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
  if (internetMessageId === undefined || recipients.length === 0) {
    notes.push({
      path,
      message:
        internetMessageId === undefined
          ? 'no usable messageID: the delivery ledger resolves the messages by the threat'
          : 'no recipient addresses: the delivery ledger resolves the messages by the threat',
    });
    return undefined;
  }
  return [
    compact({
      internetMessageId,
      recipients,
      // `sender` has a hashed local part; the From address is what a mailbox search can match.
      sender: addresses(field(event, 'fromAddress'))[0] ?? addresses(field(event, 'sender'))[0],
      subject: fits.subject(verbatim(event, 'subject')),
      receivedAt: fits.receivedAt(text(event, 'messageTime')),
    }),
  ];
}
