import type { RemediationRecord, VerdictRecord } from '../ports/results.js';
import { median } from '../remediation/exposure.js';

/** Median time from delivery to removal of the copies one source's verdicts removed on one UTC day. */
export interface ExposurePoint {
  day: string;
  source: string;
  copies: number;
  medianExposureSeconds: number;
}

export interface ExposureChart {
  /** Oldest day first, sources alphabetically within a day. */
  bySourceAndDay: ExposurePoint[];
  /** Over every removed copy of the report. */
  medianExposureSeconds?: number | undefined;
}

/** Groups the removed copies (rows with `ExposureSeconds`) by verdict source and day of removal. */
export function exposureChart(
  verdicts: readonly VerdictRecord[],
  rowsByVerdict: ReadonlyMap<string, readonly RemediationRecord[]>,
): ExposureChart {
  const groups = new Map<string, { day: string; source: string; values: number[] }>();
  const all: number[] = [];
  for (const verdict of verdicts) {
    for (const row of rowsByVerdict.get(verdict.verdictId) ?? []) {
      if (row.exposureSeconds === undefined) continue;
      const day = (row.completedAt ?? row.updatedAt ?? verdict.receivedAt).slice(0, 10);
      const key = `${day}\n${verdict.source}`;
      const group = groups.get(key) ?? { day, source: verdict.source, values: [] };
      group.values.push(row.exposureSeconds);
      groups.set(key, group);
      all.push(row.exposureSeconds);
    }
  }
  const bySourceAndDay = [...groups.values()]
    .sort((a, b) => a.day.localeCompare(b.day) || a.source.localeCompare(b.source))
    .map((g) => ({
      day: g.day,
      source: g.source,
      copies: g.values.length,
      medianExposureSeconds: median(g.values) ?? 0,
    }));
  return { bySourceAndDay, medianExposureSeconds: median(all) };
}

/** `3 d 4 h`, `2 h 5 min`, `42 s`: the largest two units. */
export function formatDuration(seconds: number): string {
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3_600],
    ['min', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 && parts.length < 2) parts.push(`${n} ${name}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.length > 0 ? parts.join(' ') : '0 s';
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** Horizontal bars of median exposure, one per (day, source); plain elements, nothing fetched. */
export function renderExposureHtml(chart: ExposureChart): string {
  const max = Math.max(1, ...chart.bySourceAndDay.map((p) => p.medianExposureSeconds));
  const rows = chart.bySourceAndDay
    .map(
      (p) =>
        `<tr><td>${escapeHtml(p.day)}</td><td>${escapeHtml(p.source)}</td><td class="n">${p.copies}</td><td><div style="display:inline-block;height:10px;background:#6a1b9a;width:${((p.medianExposureSeconds / max) * 240).toFixed(1)}px"></div> ${escapeHtml(formatDuration(p.medianExposureSeconds))}</td></tr>`,
    )
    .join('');
  const overall =
    chart.medianExposureSeconds === undefined
      ? ''
      : ` · overall ${formatDuration(chart.medianExposureSeconds)}`;
  return `<section class="wide"><h2>Median exposure (delivery to removal) per source and day${escapeHtml(overall)}</h2><table><thead><tr><th>Day (UTC)</th><th>Source</th><th>Copies removed</th><th>Median exposure</th></tr></thead><tbody>${rows || '<tr><td colspan="4">no copy removed in this range</td></tr>'}</tbody></table></section>`;
}
