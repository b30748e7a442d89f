import { HttpRequest, type HttpResponseInit, InvocationContext } from '@azure/functions';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { report } from '../../functions/report.js';
import type { RemediationRecord, VerdictRecord } from '../../shared/ports/results.js';
import type { Report } from '../../shared/report/report.js';
import { InMemoryResultStore } from '../../shared/results/memory/inMemoryResultStore.js';
import { newVerdictId, remediationRowKey } from '../../shared/verdicts/ids.js';
import { startHarness, stopHarness } from '../support/harness.js';

let store: InMemoryResultStore;

afterAll(stopHarness);
beforeEach(async () => {
  store = new InMemoryResultStore();
  await startHarness({ config: null, store });
});

async function seedVerdict(
  at: string,
  threat: { sha256?: string; url?: string; filename?: string },
  rows: Partial<RemediationRecord>[],
): Promise<string> {
  const verdictId = newVerdictId(new Date(at));
  const verdict: VerdictRecord = {
    verdictId,
    source: 'cisco-secure-endpoint',
    eventId: verdictId,
    verdict: 'malicious',
    ...threat,
    action: 'softDelete',
    mode: 'enforce',
    status: 'completed',
    recipients: rows.length,
    succeeded: 0,
    failed: 0,
    notFound: 0,
    alreadyRemediated: 0,
    simulated: 0,
    notReversible: 0,
    partiallyRestored: 0,
    done: rows.length,
    receivedAt: at,
  };
  await store.createVerdict(verdict);
  await store.createRemediations(
    rows.map((r, i) => {
      const recipient = r.recipient ?? `user${i}@contoso.com`;
      return {
        verdictId,
        rowKey: remediationRowKey(recipient, '<m@x>'),
        recipient,
        internetMessageId: '<m@x>',
        action: 'softDelete',
        status: 'succeeded',
        attempts: 1,
        updatedAt: at,
        ...r,
      };
    }),
  );
  return verdictId;
}

function get(query: string, accept = 'application/json'): Promise<HttpResponseInit> {
  return report(
    new HttpRequest({ method: 'GET', url: `http://localhost:7071/api/report${query}`, headers: { accept } }),
    new InvocationContext({ functionName: 'report', logHandler: () => undefined }),
  );
}

const sha = 'b'.repeat(64);

describe('GET /api/report', () => {
  beforeEach(async () => {
    await seedVerdict('2026-11-20T10:15:00Z', { sha256: sha, filename: 'invoice.pdf.exe' }, [
      { recipient: 'alice@contoso.com', status: 'succeeded', profile: 'contoso-online', backend: 'graph' },
      {
        recipient: 'bob@contoso.com',
        status: 'failed',
        reason: 'PermissionError',
        detail: 'Grant Mail.ReadWrite.',
        profile: 'contoso-online',
      },
      {
        recipient: 'erin@tailspin.example',
        status: 'failed',
        reason: 'NoProfileMapped',
        detail: 'No profile for tailspin.example.',
      },
    ]);
    await seedVerdict('2026-11-20T13:40:00Z', { sha256: sha, filename: 'invoice-2.pdf.exe' }, [
      {
        recipient: 'carol@contoso.com',
        status: 'notFound',
        reason: 'MessageNotFound',
        profile: 'contoso-onprem',
      },
    ]);
    await seedVerdict('2026-11-20T14:05:00Z', { url: 'https://evil.example/x' }, [
      { recipient: 'dan@contoso.com', status: 'simulated', profile: 'contoso-online' },
    ]);
    await seedVerdict('2026-11-18T09:00:00Z', { sha256: 'c'.repeat(64) }, [
      { recipient: 'old@contoso.com', status: 'succeeded' },
    ]);
  });

  it('sums the rows of the verdicts in the range by status, reason, action and profile', async () => {
    const response = await get('?from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z');
    expect(response.status).toBe(200);
    const body = response.jsonBody as Report;
    expect(body.verdicts.total).toBe(3);
    expect(body.totals.rows).toBe(5);
    expect(body.totals.byStatus).toMatchObject({
      succeeded: 1,
      failed: 2,
      notFound: 1,
      simulated: 1,
      pending: 0,
    });
    expect(body.totals.byReason).toEqual({ MessageNotFound: 1, NoProfileMapped: 1, PermissionError: 1 });
    expect(body.totals.byAction).toEqual({ softDelete: 5 });
    expect(body.totals.byProfile).toEqual({ 'contoso-online': 3, '(none)': 1, 'contoso-onprem': 1 });
  });

  it('lists each threat with its file names and counts, failed recipients with reasons, and domains without a profile', async () => {
    const body = (await get('?from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z')).jsonBody as Report;
    expect(body.threats).toEqual([
      {
        sha256: sha,
        url: undefined,
        filenames: ['invoice-2.pdf.exe', 'invoice.pdf.exe'],
        verdicts: 2,
        copies: { succeeded: 1, failed: 2, notFound: 1 },
      },
      {
        sha256: undefined,
        url: 'https://evil.example/x',
        filenames: [],
        verdicts: 1,
        copies: { simulated: 1 },
      },
    ]);
    expect(body.failures.map((f) => [f.recipient, f.reason])).toEqual(
      expect.arrayContaining([
        ['bob@contoso.com', 'PermissionError'],
        ['erin@tailspin.example', 'NoProfileMapped'],
      ]),
    );
    expect(body.failures).toHaveLength(2);
    expect(body.unmappedDomains).toEqual([{ domain: 'tailspin.example', rows: 1 }]);
  });

  it('buckets outcomes per hour for a day', async () => {
    const body = (await get('?from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z')).jsonBody as Report;
    expect(body.timeline.bucket).toBe('hour');
    const at = (hour: string) =>
      body.timeline.buckets.find((b) => b.start === `2026-11-20T${hour}:00:00.000Z`)?.outcomes;
    expect(at('10')).toEqual({ succeeded: 1, failed: 2 });
    expect(at('13')).toEqual({ notFound: 1 });
    expect(at('14')).toEqual({ simulated: 1 });
  });

  it('leaves out verdicts outside the range', async () => {
    const body = (await get('?from=2026-11-18T00:00:00Z&to=2026-11-19T00:00:00Z')).jsonBody as Report;
    expect(body.verdicts.total).toBe(1);
    expect(body.threats.map((t) => t.sha256)).toEqual(['c'.repeat(64)]);
  });

  it('answers text/html with a self-contained page holding a bar chart and no scripts', async () => {
    const response = await get('?from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z', 'text/html');
    expect((response.headers as Record<string, string>)['content-type']).toMatch(/^text\/html/);
    const html = response.body as string;
    expect(html).toContain('class="chart"');
    expect(html).toContain('invoice.pdf.exe');
    expect(html).toContain('tailspin.example');
    expect(html).not.toMatch(/<script|src=|href=/i);
  });

  it.each([
    ['?from=yesterday', 'from'],
    ['?from=2026-11-21T00:00:00Z&to=2026-11-20T00:00:00Z', 'from'],
    ['?from=2026-01-01T00:00:00Z&to=2026-11-20T00:00:00Z', 'from'],
  ])('refuses the range %s', async (query, path) => {
    const response = await get(query);
    expect(response.status).toBe(400);
    expect((response.jsonBody as { error: { details: { path: string }[] } }).error.details[0]?.path).toBe(
      path,
    );
  });
});
