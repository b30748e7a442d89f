import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { RemediationRecord, VerdictRecord } from '../../../shared/ports/results.js';
import { renderReportHtml } from '../../../shared/report/html.js';
import { summarise } from '../../../shared/report/report.js';
import { decodePng, type Image } from '../../support/png.js';

const browser = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const size = { width: 1200, height: 900 };
let dir: string;
let screenshot: Image;

/** 40 verdicts over the last 12 hours, more failing as time goes on; 300 failed rows over three reasons. */
function reportPage(): string {
  const now = new Date('2026-11-30T12:00:00Z');
  const range = { from: new Date(now.getTime() - 24 * 3_600_000), to: now };
  const verdicts: VerdictRecord[] = [];
  const rows = new Map<string, RemediationRecord[]>();
  const reasons = ['MailboxInaccessible', 'ConnectionError', 'NoProfileMapped'];
  for (let v = 0; v < 40; v++) {
    const receivedAt = new Date(now.getTime() - (12 - Math.floor(v / 4)) * 3_600_000).toISOString();
    const verdictId = `v${v}`;
    verdicts.push({
      verdictId,
      verdict: 'malicious',
      status: 'completed',
      receivedAt,
      sha256: 'ab'.repeat(32),
    } as VerdictRecord);
    rows.set(
      verdictId,
      Array.from({ length: 20 }, (_, r) => {
        const failed = r < v / 2;
        return {
          verdictId,
          recipient: `user${v}-${r}@contoso.com`,
          internetMessageId: `<m${v}@example>`,
          action: 'quarantine',
          status: failed ? 'failed' : 'succeeded',
          ...(failed
            ? { reason: reasons[r % 3], detail: `Example detail for reason ${reasons[r % 3]}.` }
            : {}),
          profile: 'contoso-online',
          updatedAt: receivedAt,
        } as RemediationRecord;
      }),
    );
  }
  return renderReportHtml(summarise(range, verdicts, rows, false, now));
}

beforeAll(() => {
  if (!browser)
    throw new Error(
      'Headless Chromium is needed for this test: apt-get update && apt-get install -y chromium',
    );
  dir = mkdtempSync(path.join(tmpdir(), 'clawback-report-page-'));
  writeFileSync(path.join(dir, 'report.html'), reportPage());
  execFileSync(
    browser,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--hide-scrollbars',
      `--user-data-dir=${path.join(dir, 'profile')}`,
      `--screenshot=${path.join(dir, 'report.png')}`,
      `--window-size=${size.width},${size.height}`,
      `file://${path.join(dir, 'report.html')}`,
    ],
    { stdio: 'ignore', timeout: 120_000 },
  );
  screenshot = decodePng(readFileSync(path.join(dir, 'report.png')));
  if (process.env.CLAWBACK_KEEP_SCREENSHOT)
    writeFileSync(process.env.CLAWBACK_KEEP_SCREENSHOT, readFileSync(path.join(dir, 'report.png')));
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function countPixels(match: (rgb: [number, number, number]) => boolean): number {
  let n = 0;
  for (let y = 0; y < screenshot.height; y += 2)
    for (let x = 0; x < screenshot.width; x += 2) if (match(screenshot.pixel(x, y))) n++;
  return n;
}

const near = (target: [number, number, number]) => (rgb: [number, number, number]) =>
  rgb.every((c, i) => Math.abs(c - (target[i] ?? 0)) <= 12);

describe('the HTML report in headless Chromium', () => {
  it('renders at the window size and is not blank', () => {
    expect({ width: screenshot.width, height: screenshot.height }).toEqual(size);
    const white = countPixels(near([255, 255, 255]));
    const sampled = (size.width / 2) * (size.height / 2);
    expect(white).toBeLessThan(sampled * 0.97);
    expect(countPixels((rgb) => rgb.every((c) => c < 80))).toBeGreaterThan(500); // text
  });

  it('draws the stacked bar chart: succeeded green and failed red segments', () => {
    expect(countPixels(near([0x2e, 0x7d, 0x32]))).toBeGreaterThan(400);
    expect(countPixels(near([0xc6, 0x28, 0x28]))).toBeGreaterThan(200);
  });

  it('groups the failures by reason, with the full list folded away', () => {
    const html = reportPage();
    const failures = html.slice(html.indexOf('Failures by reason ('));
    expect(
      failures.match(
        /<tr><td>(MailboxInaccessible|ConnectionError|NoProfileMapped)<\/td><td class="n">\d+<\/td>/g,
      ),
    ).toHaveLength(3);
    expect(html).toContain('<details><summary>Every failed recipient');
    expect(html).toMatch(/failed \d+ → \d+ ▲/);
  });
});
