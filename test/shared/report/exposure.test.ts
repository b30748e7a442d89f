import { describe, expect, it } from 'vitest';

import { emptyCounts, type RemediationRecord, type VerdictRecord } from '../../../shared/ports/results.js';
import { exposureChart, formatDuration, renderExposureHtml } from '../../../shared/report/exposure.js';
import { renderReportHtml } from '../../../shared/report/html.js';
import { summarise } from '../../../shared/report/report.js';

const verdict = (verdictId: string, source: string, receivedAt: string): VerdictRecord => ({
  verdictId,
  source,
  eventId: verdictId,
  verdict: 'malicious',
  status: 'completed',
  recipients: 0,
  ...emptyCounts(),
  done: 0,
  receivedAt,
});

const row = (
  verdictId: string,
  n: number,
  exposureSeconds: number | undefined,
  completedAt: string,
): RemediationRecord => ({
  verdictId,
  rowKey: `r${n}@contoso.com|abc`,
  recipient: `r${n}@contoso.com`,
  internetMessageId: '<m@x>',
  action: 'quarantine',
  status: exposureSeconds === undefined ? 'notFound' : 'succeeded',
  attempts: 1,
  exposureSeconds,
  updatedAt: completedAt,
  completedAt,
});

describe('the report', () => {
  const verdicts = [
    verdict('v1', 'proofpoint-tap', '2026-11-29T06:00:00Z'),
    verdict('v2', 'proofpoint-tap', '2026-11-30T06:00:00Z'),
    verdict('v3', 'defender', '2026-11-30T07:00:00Z'),
  ];
  const rows = new Map<string, RemediationRecord[]>([
    ['v1', [row('v1', 1, 600, '2026-11-29T07:00:00Z'), row('v1', 2, 1800, '2026-11-29T07:00:00Z')]],
    [
      'v2',
      [
        row('v2', 3, 60, '2026-11-30T07:00:00Z'),
        row('v2', 4, 120, '2026-11-30T07:00:00Z'),
        row('v2', 5, 7200, '2026-11-30T07:00:00Z'),
        row('v2', 6, undefined, '2026-11-30T07:00:00Z'),
      ],
    ],
    ['v3', [row('v3', 7, 90_000, '2026-11-30T08:00:00Z')]],
  ]);

  it('charts median exposure per source and day', () => {
    expect(exposureChart(verdicts, rows)).toEqual({
      bySourceAndDay: [
        { day: '2026-11-29', source: 'proofpoint-tap', copies: 2, medianExposureSeconds: 1200 },
        { day: '2026-11-30', source: 'defender', copies: 1, medianExposureSeconds: 90_000 },
        { day: '2026-11-30', source: 'proofpoint-tap', copies: 3, medianExposureSeconds: 120 },
      ],
      medianExposureSeconds: 1200,
    });
  });

  it('shows the chart in the HTML page, durations in words', () => {
    const report = summarise(
      { from: new Date('2026-11-29T00:00:00Z'), to: new Date('2026-12-01T00:00:00Z') },
      verdicts,
      rows,
      false,
      new Date('2026-12-01T00:00:00Z'),
    );
    expect(report.exposure.bySourceAndDay).toHaveLength(3);
    const html = renderReportHtml(report);
    expect(html).toContain('Median exposure (delivery to removal) per source and day');
    expect(html).toContain('<td>defender</td><td class="n">1</td>');
    expect(html).toContain('1 d 1 h');
    expect(formatDuration(120)).toBe('2 min');
    expect(formatDuration(0)).toBe('0 s');
    expect(renderExposureHtml({ bySourceAndDay: [] })).toContain('no copy removed in this range');
  });
});
