import { renderExposureHtml } from './exposure.js';
import type { Counts, Report } from './report.js';
import { outcomeOrder } from './report.js';
import { renderWaitingHtml } from './waiting.js';

const colours: Record<string, string> = {
  succeeded: '#2e7d32',
  alreadyRemediated: '#66bb6a',
  simulated: '#42a5f5',
  notFound: '#9e9e9e',
  notReversible: '#8d6e63',
  failed: '#c62828',
  pending: '#ffb300',
  inProgress: '#fb8c00',
};

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

function table(title: string, counts: Counts): string {
  const rows = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `<tr><td>${escapeHtml(k)}</td><td class="n">${n}</td></tr>`)
    .join('');
  return `<section><h2>${escapeHtml(title)}</h2><table><tbody>${rows || '<tr><td colspan="2">none</td></tr>'}</tbody></table></section>`;
}

/** Stacked bars per bucket, drawn with plain elements and inline styles: no scripts, nothing fetched. */
function chart(report: Report): string {
  const buckets = report.timeline.buckets;
  const max = Math.max(1, ...buckets.map((b) => Object.values(b.outcomes).reduce((a, c) => a + c, 0)));
  const bars = buckets
    .map((b) => {
      const total = Object.values(b.outcomes).reduce((a, c) => a + c, 0);
      const segments = outcomeOrder
        .filter((s) => (b.outcomes[s] ?? 0) > 0)
        .map((s) => {
          const n = b.outcomes[s] ?? 0;
          return `<div class="seg" style="height:${((n / max) * 100).toFixed(2)}%;background:${colours[s] ?? '#607d8b'}" title="${escapeHtml(`${s}: ${n}`)}"></div>`;
        })
        .join('');
      const label = report.timeline.bucket === 'hour' ? b.start.slice(11, 16) : b.start.slice(5, 10);
      return `<div class="col" title="${escapeHtml(`${b.start}: ${total}`)}"><div class="bar">${segments}</div><div class="lbl">${escapeHtml(label)}</div></div>`;
    })
    .join('');
  const legend = outcomeOrder
    .map((s) => `<span><i style="background:${colours[s] ?? '#607d8b'}"></i>${escapeHtml(s)}</span>`)
    .join('');
  return `<section class="wide"><h2>Outcomes per ${report.timeline.bucket} (UTC)</h2><div class="chart">${bars}</div><div class="legend">${legend}</div></section>`;
}

function arrow(earlier: number, later: number): string {
  const sign = later > earlier ? '▲' : later < earlier ? '▼' : '=';
  return `${earlier} → ${later} ${sign}`;
}

/** Which way the range is going: its second half against its first, and the failure rate per bucket. */
function trend(report: Report): string {
  const t = report.trend;
  const rates = report.timeline.buckets
    .map((b) => {
      const total = Object.values(b.outcomes).reduce((a, c) => a + c, 0);
      const failed = b.outcomes.failed ?? 0;
      const pct = total === 0 ? 0 : (failed / total) * 100;
      return `<div class="rate" title="${escapeHtml(`${b.start}: ${failed} of ${total} failed`)}"><div style="height:${pct.toFixed(1)}%"></div></div>`;
    })
    .join('');
  return `<section class="wide"><h2>Trend</h2><p>Second half of the range against the first: recipient copies ${escapeHtml(arrow(t.copies.earlier, t.copies.later))}, failed ${escapeHtml(arrow(t.failed.earlier, t.failed.later))}.</p><div class="rates" aria-label="failure rate per ${report.timeline.bucket}">${rates}</div></section>`;
}

/** Failures grouped by reason with one example each; the full list folded away below them. */
function failureSections(report: Report): string {
  const groups = report.failureGroups
    .map(
      (g) =>
        `<tr><td>${escapeHtml(g.reason)}</td><td class="n">${g.count}</td><td>${escapeHtml(g.example.recipient)}</td><td>${escapeHtml(g.example.profile ?? '')}</td><td>${escapeHtml(g.example.detail ?? '')}</td></tr>`,
    )
    .join('');
  const rows = report.failures
    .map(
      (f) =>
        `<tr><td>${escapeHtml(f.recipient)}</td><td>${escapeHtml(f.reason)}</td><td>${escapeHtml(f.profile ?? '')}</td><td>${escapeHtml(f.detail ?? '')}</td><td><code>${escapeHtml(f.verdictId)}</code></td></tr>`,
    )
    .join('');
  const listed =
    report.failures.length < report.failuresListed
      ? ` (the first ${report.failures.length} of ${report.failuresListed})`
      : '';
  return `<section class="wide"><h2>Failures by reason (${report.failuresListed})</h2><table><thead><tr><th>Reason</th><th>Rows</th><th>Example recipient</th><th>Profile</th><th>Detail</th></tr></thead><tbody>${groups || '<tr><td colspan="5">none</td></tr>'}</tbody></table>
${rows ? `<details><summary>Every failed recipient${listed}</summary><table><thead><tr><th>Recipient</th><th>Reason</th><th>Profile</th><th>Detail</th><th>Verdict</th></tr></thead><tbody>${rows}</tbody></table></details>` : ''}</section>`;
}

/** The report as one self-contained page, for `Accept: text/html`. */
export function renderReportHtml(report: Report): string {
  const threats = report.threats
    .map(
      (t) =>
        `<tr><td><code>${escapeHtml(t.sha256 ?? t.url ?? '')}</code></td><td>${escapeHtml(t.filenames.join(', '))}</td><td class="n">${t.verdicts}</td><td>${escapeHtml(
          Object.entries(t.copies)
            .map(([s, n]) => `${s} ${n}`)
            .join(', '),
        )}</td></tr>`,
    )
    .join('');
  const unmapped = report.unmappedDomains
    .map((d) => `<tr><td>${escapeHtml(d.domain)}</td><td class="n">${d.rows}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Clawback report ${escapeHtml(report.range.from)} – ${escapeHtml(report.range.to)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:15px;margin:0 0 8px}
section{display:inline-block;vertical-align:top;margin:0 24px 24px 0}section.wide{display:block}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}td.n{text-align:right}
.chart{display:flex;align-items:flex-end;height:180px;gap:2px;border-bottom:1px solid #999;overflow-x:auto}
.col{display:flex;flex-direction:column;align-items:center;min-width:14px;height:100%}.bar{flex:1;width:12px;display:flex;flex-direction:column-reverse}
.seg{width:100%}.lbl{font-size:9px;color:#666;writing-mode:vertical-rl;height:34px}
.legend span{margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
.warn{color:#c62828}.rates{display:flex;align-items:flex-end;height:40px;gap:2px;border-bottom:1px solid #999}
.rate{width:14px;min-width:14px;height:100%;display:flex;align-items:flex-end;justify-content:center}.rate div{width:12px;background:#c62828}
details{margin-top:8px}summary{cursor:pointer}
</style></head><body>
<h1>Clawback report</h1>
<p>${escapeHtml(report.range.from)} to ${escapeHtml(report.range.to)} · ${report.verdicts.total} verdicts · ${report.totals.rows} recipient copies · generated ${escapeHtml(report.generatedAt)}</p>
${report.truncated ? '<p class="warn">More verdicts fell in this range than one report reads; narrow the range to see them all.</p>' : ''}
${chart(report)}
${trend(report)}
${renderWaitingHtml(report.waiting)}${renderExposureHtml(report.exposure)}
${table('By status', report.totals.byStatus)}${table('By reason', report.totals.byReason)}${table('By action', report.totals.byAction)}${table('By profile', report.totals.byProfile)}
<section class="wide"><h2>Threats</h2><table><thead><tr><th>SHA-256 / URL</th><th>File names</th><th>Verdicts</th><th>Copies</th></tr></thead><tbody>${threats || '<tr><td colspan="4">none</td></tr>'}</tbody></table></section>
${failureSections(report)}
<section class="wide"><h2>Domains without a profile</h2><table><tbody>${unmapped || '<tr><td>none</td></tr>'}</tbody></table></section>
</body></html>
`;
}
