import { threatKey } from '../verdicts/ids.js';
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

const source = 'defender';
const odataTypes = {
  alert: '#microsoft.graph.security.alert',
  message: '#microsoft.graph.security.analyzedmessageevidence',
  url: '#microsoft.graph.security.urlevidence',
};
/** Where a message never reached a mailbox, there is no copy to pull back or put back. */
const undelivered = {
  actions: new Set(['blocked']),
  locations: new Set(['quarantine', 'failed', 'dropped']),
};

function odataType(value: unknown): string | undefined {
  return lowerText(value, '@odata.type');
}

function looksLikeAlert(value: unknown): boolean {
  return (
    isRecord(value) &&
    (odataType(value) === odataTypes.alert ||
      (Array.isArray(field(value, 'evidence')) && field(value, 'id') !== undefined))
  );
}

/** A Graph change notification names a changed resource and carries none of its content. */
function looksLikeNotification(value: unknown): boolean {
  return (
    isRecord(value) && field(value, 'subscriptionId') !== undefined && field(value, 'resource') !== undefined
  );
}

/** One Graph security alert (v2), an array of them, or a Graph collection `{value: [...]}` of alerts or notifications. */
export function looksLikeMicrosoftDefender(body: unknown): boolean {
  if (Array.isArray(body)) return body.length > 0 && looksLikeAlert(body[0]);
  if (looksLikeAlert(body)) return true;
  const value = field(body, 'value');
  if (!Array.isArray(value)) return false;
  return (
    (text(body, '@odata.context') ?? '').toLowerCase().includes('alerts_v2') ||
    (value.length > 0 && (looksLikeAlert(value[0]) || looksLikeNotification(value[0])))
  );
}

function alertsOf(body: unknown): { alert: unknown; path: string }[] {
  if (Array.isArray(body)) return list(body).map((alert, index) => ({ alert, path: pathOf(index) }));
  if (looksLikeAlert(body)) return [{ alert: body, path: '$' }];
  return list(field(body, 'value')).map((alert, index) => ({ alert, path: pathOf('value', index) }));
}

/**
 * Microsoft Defender for Office 365 alerts from the Graph security API → one verdict change per
 * threat (attachment SHA-256 or URL) of each alert a person classified: truePositive → malicious,
 * falsePositive → clean. The eventId carries the verdict because reclassifying keeps the alert id.
 */
export function normaliseMicrosoftDefender(body: unknown): NormaliseResult {
  if (!looksLikeMicrosoftDefender(body))
    return failure(
      '$',
      'is not a Microsoft Graph security alert: expected an alert (@odata.type #microsoft.graph.security.alert ' +
        'with evidence), an array of alerts, or a /security/alerts_v2 response {value: [...]}',
    );
  const details: Problem[] = [];
  const notes: Problem[] = [];
  const changes: Record<string, unknown>[] = [];
  for (const { alert, path } of alertsOf(body)) {
    if (looksLikeNotification(alert)) {
      details.push({
        path,
        message:
          `is a Microsoft Graph change notification (changeType "${text(alert, 'changeType') ?? '(none)'}"): it names ` +
          'the changed resource but carries no alert, so it holds no verdict; fetch the alert ' +
          '(GET /security/alerts_v2/{id}) and post that',
      });
      continue;
    }
    changes.push(...fromAlert(alert, path, details, notes));
  }
  return result(changes, details, notes);
}

function verdictOf(alert: unknown): 'malicious' | 'clean' | undefined {
  const classification = lowerText(alert, 'classification');
  if (classification === 'truepositive') return 'malicious';
  if (classification === 'falsepositive') return 'clean';
  return undefined;
}

function fromAlert(
  alert: unknown,
  path: string,
  details: Problem[],
  notes: Problem[],
): Record<string, unknown>[] {
  if (!isRecord(alert)) {
    details.push({ path, message: 'must be an object' });
    return [];
  }
  const verdict = verdictOf(alert);
  if (verdict === undefined) {
    notes.push({
      path,
      message: `classification "${text(alert, 'classification') ?? '(none)'}" is no verdict yet (only truePositive and falsePositive are)`,
    });
    return [];
  }
  const evidence = field(alert, 'evidence');
  if (evidence !== undefined && evidence !== null && !Array.isArray(evidence)) {
    details.push({ path: pathOf(path, 'evidence'), message: 'must be an array' });
    return [];
  }
  const items = list(evidence);
  const emails = items.filter((e) => odataType(e) === odataTypes.message);
  if (emails.length === 0) {
    notes.push({ path, message: 'has no analyzedMessageEvidence: not an e-mail alert' });
    return [];
  }
  const id = text(alert, 'id');
  if (id === undefined) {
    details.push({
      path: pathOf(path, 'id'),
      message: 'is missing: the verdict change needs it as its event id',
    });
    return [];
  }

  const delivered = emails.filter(
    (e) =>
      !undelivered.actions.has(lowerText(e, 'deliveryAction') ?? '') &&
      !undelivered.locations.has(lowerText(e, 'deliveryLocation') ?? ''),
  );
  if (delivered.length === 0) {
    notes.push({ path, message: 'every message in it was blocked or quarantined: none reached a mailbox' });
    return [];
  }
  const threats = threatsOf(items, delivered);
  if (threats.length === 0) {
    const attachments = delivered.reduce<number>((n, e) => {
      const count = field(e, 'attachmentsCount');
      return n + (typeof count === 'number' ? count : 0);
    }, 0);
    details.push({
      path,
      message:
        'names no attachment SHA-256 (evidence fileDetails.sha256) and no absolute URL (urlEvidence.url or ' +
        `analyzedMessageEvidence.urls)${attachments > 0 ? ` although its messages report ${attachments} attachment(s)` : ''}; ` +
        'every Clawback verdict needs one, and Clawback does not guess it',
    });
    return [];
  }

  const observedAt =
    fits.observedAt(text(alert, 'lastUpdateDateTime')) ?? fits.observedAt(text(alert, 'createdDateTime'));
  const name = fits.threatName(
    text(alert, 'threatFamilyName') ?? text(alert, 'threatDisplayName') ?? meaningfulDetermination(alert),
  );
  const changes: Record<string, unknown>[] = [];
  for (const { threat, carriers } of threats) {
    const messages = groupMessages(carriers);
    const change = compact({
      eventId: `${id}:${verdict}:${threatKey(threat)}`,
      source,
      verdict,
      observedAt,
      threat: compact({ ...threat, name }),
      // Without a usable Message-ID the delivery ledger resolves the copies by the threat.
      messages: messages.length > 0 ? messages : undefined,
    });
    if (checkChange(change, path, details)) changes.push(change);
  }
  return changes;
}

function meaningfulDetermination(alert: unknown): string | undefined {
  const determination = text(alert, 'determination');
  return determination === undefined || ['unknown', 'other'].includes(determination.toLowerCase())
    ? undefined
    : determination;
}

/**
 * The alert's own file and URL entities name the threat for all its messages. Only when it has none
 * are the URLs found in each message used, each for the messages that carry it, since a message's
 * URL list also holds its harmless links.
 */
function threatsOf(
  items: unknown[],
  messages: unknown[],
): { threat: { sha256?: string; url?: string }; carriers: unknown[] }[] {
  const hashes = new Set<string>();
  const urls = new Set<string>();
  for (const item of items) {
    const sha256 = text(field(item, 'fileDetails'), 'sha256');
    if (isSha256(sha256)) hashes.add(sha256.toLowerCase());
    const url = odataType(item) === odataTypes.url ? text(item, 'url') : undefined;
    if (isAbsoluteUrl(url)) urls.add(url);
  }
  if (hashes.size > 0 || urls.size > 0)
    return [
      ...[...hashes].map((sha256) => ({ threat: { sha256 }, carriers: messages })),
      ...[...urls].map((url) => ({ threat: { url }, carriers: messages })),
    ];
  const carriersByUrl = new Map<string, unknown[]>();
  for (const message of messages)
    for (const url of list(field(message, 'urls')))
      if (typeof url === 'string' && isAbsoluteUrl(url))
        carriersByUrl.set(url, [...(carriersByUrl.get(url) ?? []), message]);
  return [...carriersByUrl].map(([url, carriers]) => ({ threat: { url }, carriers }));
}

/** Defender lists one evidence per recipient (after distribution-list expansion); one message per Message-ID here. */
function groupMessages(evidence: unknown[]): Record<string, unknown>[] {
  const byId = new Map<
    string,
    {
      recipients: Set<string>;
      sender?: string | undefined;
      subject?: string | undefined;
      receivedAt?: string | undefined;
    }
  >();
  for (const item of evidence) {
    const internetMessageId = canonicalMessageId(field(item, 'internetMessageId'));
    if (internetMessageId === undefined) continue;
    const message = byId.get(internetMessageId) ?? { recipients: new Set<string>() };
    byId.set(internetMessageId, message);
    for (const recipient of addresses(field(item, 'recipientEmailAddress')))
      message.recipients.add(recipient);
    // p2Sender is the From header a mailbox search matches; p1Sender the envelope sender.
    message.sender ??= addresses(
      field(field(item, 'p2Sender'), 'emailAddress'),
      field(field(item, 'p1Sender'), 'emailAddress'),
    )[0];
    message.subject ??= fits.subject(verbatim(item, 'subject'));
    message.receivedAt ??= fits.receivedAt(text(item, 'receivedDateTime'));
  }
  return [...byId]
    .filter(([, m]) => m.recipients.size > 0)
    .map(([internetMessageId, { recipients, ...rest }]) =>
      compact({ internetMessageId, recipients: [...recipients], ...rest }),
    );
}
