import type { CallOptions } from '../ports/mail.js';
import {
  type Page,
  type RemediationRecord,
  type RemediationStatus,
  remediationStatuses,
  type VerdictRecord,
} from '../ports/results.js';
import { recipientDomain } from '../routing/route.js';
import { type ExposureChart, exposureChart } from './exposure.js';
import { type WaitingApproval, waitingApprovals } from './waiting.js';

export interface ReportRange {
  from: Date;
  to: Date;
}

/** What the report reads: verdicts received in a time range, and each verdict's rows page by page. */
export interface ReportSource {
  /** Newest first; at most `limit`. */
  listVerdicts(range: ReportRange, limit: number, options?: CallOptions): Promise<VerdictRecord[]>;
  listRemediations(
    verdictId: string,
    page: { pageSize: number; continuationToken?: string | undefined },
    options?: CallOptions,
  ): Promise<Page<RemediationRecord>>;
}

export const reportLimits = {
  /** Verdicts read per report; a wider range is reported as truncated. */
  maxVerdicts: 2000,
  /** Failed recipients listed one by one; the totals still count every one. */
  maxFailures: 500,
  maxRangeDays: 92,
} as const;

export type Counts = Record<string, number>;

export interface ThreatSummary {
  sha256?: string | undefined;
  url?: string | undefined;
  filenames: string[];
  verdicts: number;
  /** Rows (recipient copies) per status. */
  copies: Counts;
}

export interface FailedRecipient {
  recipient: string;
  verdictId: string;
  internetMessageId: string;
  reason: string;
  detail?: string | undefined;
  profile?: string | undefined;
  updatedAt: string;
}

/** Failed rows of one reason: how many, and the first as an example an operator can act on. */
export interface FailureGroup {
  reason: string;
  count: number;
  example: FailedRecipient;
}

/** The range's second half against its first: which way recipient copies and failures are going. */
export interface Trend {
  copies: { earlier: number; later: number };
  failed: { earlier: number; later: number };
}

export interface TimelineBucket {
  start: string;
  outcomes: Counts;
}

export interface Report {
  range: { from: string; to: string };
  generatedAt: string;
  truncated: boolean;
  verdicts: { total: number; byStatus: Counts; byVerdict: Counts };
  totals: { rows: number; byStatus: Counts; byReason: Counts; byAction: Counts; byProfile: Counts };
  threats: ThreatSummary[];
  failures: FailedRecipient[];
  failuresListed: number;
  /** Every failed row grouped by reason, largest first (counted beyond the listed failures too). */
  failureGroups: FailureGroup[];
  trend: Trend;
  unmappedDomains: { domain: string; rows: number }[];
  timeline: { bucket: 'hour' | 'day'; buckets: TimelineBucket[] };
  /** Issue 13: median exposure per source and day, and the verdicts held for approval. */
  exposure: ExposureChart;
  waiting: WaitingApproval[];
}

const bump = (counts: Counts, key: string, by = 1) => {
  counts[key] = (counts[key] ?? 0) + by;
};

function sortedCounts(counts: Counts): Counts {
  return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

/** A bucket per hour up to two days, per day beyond. */
function bucketing(range: ReportRange): { bucket: 'hour' | 'day'; ms: number } {
  const hour = 3_600_000;
  return range.to.getTime() - range.from.getTime() <= 48 * hour
    ? { bucket: 'hour', ms: hour }
    : { bucket: 'day', ms: 24 * hour };
}

/**
 * Reads the verdicts of a time range with all their rows and sums them up: totals by status,
 * reason, action and profile; each threat with its file names; every failed recipient with the
 * reason; the domains that had no profile; and outcomes per hour or day.
 */
export async function buildReport(
  source: ReportSource,
  range: ReportRange,
  options?: CallOptions & { now?: Date },
): Promise<Report> {
  const verdicts = await source.listVerdicts(range, reportLimits.maxVerdicts + 1, options);
  const truncated = verdicts.length > reportLimits.maxVerdicts;
  const included = verdicts.slice(0, reportLimits.maxVerdicts);
  const rows = new Map<string, RemediationRecord[]>();
  for (const verdict of included) {
    const list: RemediationRecord[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await source.listRemediations(
        verdict.verdictId,
        { pageSize: 1000, continuationToken },
        options,
      );
      list.push(...page.items);
      continuationToken = page.continuationToken;
    } while (continuationToken);
    rows.set(verdict.verdictId, list);
  }
  return summarise(range, included, rows, truncated, options?.now ?? new Date());
}

export function summarise(
  range: ReportRange,
  verdicts: VerdictRecord[],
  rowsByVerdict: ReadonlyMap<string, RemediationRecord[]>,
  truncated: boolean,
  now: Date,
): Report {
  const verdictByStatus: Counts = {};
  const byVerdict: Counts = {};
  const byStatus: Counts = Object.fromEntries(remediationStatuses.map((s) => [s, 0]));
  const byReason: Counts = {};
  const byAction: Counts = {};
  const byProfile: Counts = {};
  const threats = new Map<string, ThreatSummary>();
  const failures: FailedRecipient[] = [];
  const failureGroups = new Map<string, FailureGroup>();
  let failuresListed = 0;
  const unmapped: Counts = {};
  const { bucket, ms } = bucketing(range);
  const timeline = new Map<number, Counts>();
  for (let t = Math.floor(range.from.getTime() / ms) * ms; t <= range.to.getTime(); t += ms)
    timeline.set(t, {});
  let total = 0;

  for (const verdict of verdicts) {
    bump(verdictByStatus, verdict.status);
    bump(byVerdict, verdict.verdict);
    const key = verdict.sha256 ?? verdict.url ?? '(no indicator)';
    let threat = threats.get(key);
    if (!threat) {
      threat = { sha256: verdict.sha256, url: verdict.url, filenames: [], verdicts: 0, copies: {} };
      threats.set(key, threat);
    }
    threat.verdicts += 1;
    if (verdict.filename && !threat.filenames.includes(verdict.filename))
      threat.filenames.push(verdict.filename);
    const slot = timeline.get(Math.floor(Date.parse(verdict.receivedAt) / ms) * ms);
    for (const row of rowsByVerdict.get(verdict.verdictId) ?? []) {
      total += 1;
      bump(byStatus, row.status);
      bump(byAction, row.action);
      bump(byProfile, row.profile ?? '(none)');
      if (row.reason && row.status !== 'pending' && row.status !== 'inProgress') bump(byReason, row.reason);
      bump(threat.copies, row.status);
      if (row.filename && !threat.filenames.includes(row.filename)) threat.filenames.push(row.filename);
      if (slot) bump(slot, row.status);
      if (row.reason === 'NoProfileMapped') bump(unmapped, recipientDomain(row.recipient));
      if (row.status === 'failed') {
        failuresListed += 1;
        const failure: FailedRecipient = {
          recipient: row.recipient,
          verdictId: row.verdictId,
          internetMessageId: row.internetMessageId,
          reason: row.reason ?? 'Unknown',
          detail: row.detail,
          profile: row.profile,
          updatedAt: row.updatedAt,
        };
        if (failures.length < reportLimits.maxFailures) failures.push(failure);
        const group = failureGroups.get(failure.reason);
        if (group) group.count += 1;
        else failureGroups.set(failure.reason, { reason: failure.reason, count: 1, example: failure });
      }
    }
  }

  return {
    range: { from: range.from.toISOString(), to: range.to.toISOString() },
    generatedAt: now.toISOString(),
    truncated,
    verdicts: {
      total: verdicts.length,
      byStatus: sortedCounts(verdictByStatus),
      byVerdict: sortedCounts(byVerdict),
    },
    totals: {
      rows: total,
      byStatus,
      byReason: sortedCounts(byReason),
      byAction: sortedCounts(byAction),
      byProfile: sortedCounts(byProfile),
    },
    threats: [...threats.values()].sort(
      (a, b) => sumOf(b.copies) - sumOf(a.copies) || b.verdicts - a.verdicts,
    ),
    failures,
    failuresListed,
    failureGroups: [...failureGroups.values()].sort(
      (a, b) => b.count - a.count || a.reason.localeCompare(b.reason),
    ),
    trend: trendOf(range, timeline),
    unmappedDomains: Object.entries(unmapped)
      .sort((a, b) => b[1] - a[1])
      .map(([domain, n]) => ({ domain, rows: n })),
    timeline: {
      bucket,
      buckets: [...timeline.entries()].map(([t, outcomes]) => ({
        start: new Date(t).toISOString(),
        outcomes,
      })),
    },
    exposure: exposureChart(verdicts, rowsByVerdict),
    waiting: waitingApprovals(verdicts, rowsByVerdict),
  };
}

function trendOf(range: ReportRange, timeline: ReadonlyMap<number, Counts>): Trend {
  const middle = (range.from.getTime() + range.to.getTime()) / 2;
  const trend: Trend = { copies: { earlier: 0, later: 0 }, failed: { earlier: 0, later: 0 } };
  for (const [start, outcomes] of timeline) {
    const half = start < middle ? 'earlier' : 'later';
    trend.copies[half] += sumOf(outcomes);
    trend.failed[half] += outcomes.failed ?? 0;
  }
  return trend;
}

function sumOf(counts: Counts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

export const outcomeOrder: readonly RemediationStatus[] = remediationStatuses;
