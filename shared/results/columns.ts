import type {
  RemediatedCopy,
  RemediationPatch,
  RemediationRecord,
  StatusCounts,
  VerdictPatch,
  VerdictRecord,
} from '../ports/results.js';
import { terminalStatuses } from '../ports/results.js';

/**
 * Column typing (SPEC §5): times are written as `Edm.DateTime` and counts as `Edm.Int32`, so Storage
 * Explorer filters and sorts them. Rows written before this (times as strings, counts as Int64) are
 * still read: every reader accepts both shapes. See docs/tables.md.
 */

type Typed = { value: string; type: 'Int32' } | Date | string | undefined;

/** An ISO time as a Date, which the Tables SDK sends as `Edm.DateTime`; an unparseable one stays text. */
export function dateTime(iso: string | undefined): Typed {
  if (iso === undefined) return undefined;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date;
}

/** A count sent as `Edm.Int32` (the SDK would otherwise leave the type to the service's inference). */
export function int32(value: number | undefined): Typed {
  return value === undefined ? undefined : { value: String(Math.trunc(value)), type: 'Int32' };
}

export function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : value instanceof Date ? value.toISOString() : undefined;
}

/** A time column: `Edm.DateTime` (a Date) or, in rows written before, an ISO string. */
export const time = text;

/** A count column: `Edm.Int32`, or `Edm.Int64` (a bigint) in rows written before. */
export function count(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return 0;
}

function optionalCount(value: unknown): number | undefined {
  return value === undefined || value === null ? undefined : count(value);
}

/** Drops undefined values: Table Storage has no null, and Merge must not clear columns. */
export function defined(entity: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(entity).filter(([, v]) => v !== undefined));
}

/** `succeeded` → `Succeeded`: the count column of each terminal status. */
export const countColumn = Object.fromEntries(
  terminalStatuses.map((s) => [s, s.charAt(0).toUpperCase() + s.slice(1)]),
) as Record<keyof StatusCounts, string>;

export const verdictPartition = 'verdict';

export function verdictColumns(r: VerdictPatch): Record<string, unknown> {
  const counts = Object.fromEntries(terminalStatuses.map((s) => [countColumn[s], int32(r[s])]));
  return defined({
    Source: r.source,
    EventId: r.eventId,
    Verdict: r.verdict,
    PreviousVerdict: r.previousVerdict,
    Sha256: r.sha256,
    Filename: r.filename,
    Url: r.url,
    Action: r.action,
    Mode: r.mode,
    Status: r.status,
    Note: r.note,
    Recipients: int32(r.recipients),
    ...counts,
    ReceivedAt: dateTime(r.receivedAt),
    CompletedAt: dateTime(r.completedAt),
    ApprovedBy: r.approvedBy,
    ApprovalAbove: int32(r.approvalAbove),
    MedianExposureSeconds: int32(r.medianExposureSeconds),
  });
}

export function fromVerdictEntity(e: Record<string, unknown>): VerdictRecord {
  const counts = Object.fromEntries(
    terminalStatuses.map((s) => [s, count(e[countColumn[s]])]),
  ) as StatusCounts;
  return {
    verdictId: text(e.rowKey) ?? '',
    source: text(e.Source) ?? '',
    eventId: text(e.EventId) ?? '',
    verdict: (text(e.Verdict) ?? 'malicious') as VerdictRecord['verdict'],
    previousVerdict: text(e.PreviousVerdict) as VerdictRecord['previousVerdict'],
    sha256: text(e.Sha256),
    filename: text(e.Filename),
    url: text(e.Url),
    action: text(e.Action) as VerdictRecord['action'],
    mode: text(e.Mode) as VerdictRecord['mode'],
    status: (text(e.Status) ?? 'accepted') as VerdictRecord['status'],
    note: text(e.Note),
    recipients: count(e.Recipients),
    ...counts,
    done: terminalStatuses.reduce((sum, s) => sum + counts[s], 0),
    receivedAt: time(e.ReceivedAt) ?? '',
    completedAt: time(e.CompletedAt),
    approvedBy: text(e.ApprovedBy),
    approvalAbove: optionalCount(e.ApprovalAbove),
    medianExposureSeconds: optionalCount(e.MedianExposureSeconds),
  };
}

export function remediationColumns(r: RemediationPatch): Record<string, unknown> {
  return defined({
    Recipient: r.recipient,
    InternetMessageId: r.internetMessageId,
    Action: r.action,
    Status: r.status,
    // Merge cannot remove a column: an explicitly cleared reason is written empty (a succeeded row has none).
    Reason: 'reason' in r ? (r.reason ?? '') : undefined,
    Detail: r.detail,
    Profile: r.profile,
    Backend: r.backend,
    Attempts: int32(r.attempts),
    OriginalFolder: r.originalFolder,
    QuarantineLocation: r.quarantineLocation,
    Sha256: r.sha256,
    Filename: r.filename,
    Url: r.url,
    DeliveredAt: dateTime(r.deliveredAt),
    ExposureSeconds: int32(r.exposureSeconds),
    DerivedFrom: r.derivedFrom,
    UpdatedAt: dateTime(r.updatedAt),
    CompletedAt: dateTime(r.completedAt),
    LeaseOwner: r.leaseOwner,
    LeaseExpiresAt: dateTime(r.leaseExpiresAt),
    Intent: r.intent,
  });
}

export function fromRemediationEntity(e: Record<string, unknown>): RemediationRecord {
  return {
    verdictId: text(e.partitionKey) ?? '',
    rowKey: text(e.rowKey) ?? '',
    recipient: text(e.Recipient) ?? '',
    internetMessageId: text(e.InternetMessageId) ?? '',
    action: (text(e.Action) ?? 'none') as RemediationRecord['action'],
    status: (text(e.Status) ?? 'pending') as RemediationRecord['status'],
    reason: (text(e.Reason) || undefined) as RemediationRecord['reason'],
    detail: text(e.Detail),
    profile: text(e.Profile),
    backend: text(e.Backend) as RemediationRecord['backend'],
    attempts: count(e.Attempts),
    originalFolder: text(e.OriginalFolder),
    quarantineLocation: text(e.QuarantineLocation),
    sha256: text(e.Sha256),
    filename: text(e.Filename),
    url: text(e.Url),
    deliveredAt: time(e.DeliveredAt),
    exposureSeconds: optionalCount(e.ExposureSeconds),
    derivedFrom: text(e.DerivedFrom),
    updatedAt: time(e.UpdatedAt) ?? '',
    completedAt: time(e.CompletedAt),
    leaseOwner: text(e.LeaseOwner),
    leaseExpiresAt: time(e.LeaseExpiresAt),
    intent: text(e.Intent),
  };
}

export function copyColumns(copy: RemediatedCopy): Record<string, unknown> {
  return defined({
    Recipient: copy.recipient,
    InternetMessageId: copy.internetMessageId,
    Action: copy.action,
    Profile: copy.profile,
    Backend: copy.backend,
    VerdictId: copy.verdictId,
    OriginalFolder: copy.originalFolder,
    QuarantineLocation: copy.quarantineLocation,
    RemediatedAt: dateTime(copy.remediatedAt),
    RestoredAt: dateTime(copy.restoredAt),
  });
}

export function fromCopyEntity(threatKey: string, e: Record<string, unknown>): RemediatedCopy {
  return {
    threatKey,
    recipient: text(e.Recipient) ?? '',
    internetMessageId: text(e.InternetMessageId) ?? '',
    action: (text(e.Action) ?? 'none') as RemediatedCopy['action'],
    profile: text(e.Profile) ?? '',
    backend: (text(e.Backend) ?? 'graph') as RemediatedCopy['backend'],
    verdictId: text(e.VerdictId) ?? '',
    originalFolder: text(e.OriginalFolder),
    quarantineLocation: text(e.QuarantineLocation),
    remediatedAt: time(e.RemediatedAt) ?? '',
    restoredAt: time(e.RestoredAt),
  };
}
