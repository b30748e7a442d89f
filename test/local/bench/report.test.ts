import { describe, expect, it } from 'vitest';

import { graphEconomy, roundTrips } from '../../../local/bench/measure.js';
import {
  type BenchResults,
  campaignBoundMs,
  crowdedBoundMs,
  figures,
  render,
} from '../../../local/bench/report.js';
import type { SandboxRequestRecord } from '../../../local/sandbox/types.js';

const request = (
  mailbox: string,
  operation: string,
  startedAt: number,
  finishedAt: number,
  status = 200,
): SandboxRequestRecord => ({
  method: 'GET',
  path: '/v1.0/users/x',
  operation,
  mailbox,
  status,
  startedAt,
  finishedAt,
});

const results = (overrides: Partial<BenchResults> = {}): BenchResults => ({
  machine: {
    cores: 2,
    cpuModel: 'test',
    node: 'v20',
    platform: 'linux',
    memoryGiB: 8,
    loadAverage: [0, 0, 0],
  },
  concurrency: 16,
  latencyMs: 50,
  mailboxLimit: 4,
  campaigns: [
    {
      name: '1000 recipients',
      recipients: 1000,
      copies: 1000,
      seconds: 7,
      completedSeconds: 8,
      succeeded: 1000,
      failed: 0,
      graphOperations: 3000,
      roundTripsPerMailbox: 2,
      throttled: 0,
      tableOperations: 4000,
      tokenRequests: 1,
      secretReads: 1,
      cpuMs: 6000,
      workerCpuMs: 2500,
      tableCpuMs: 3000,
      tenantCpuMs: 1000,
    },
  ],
  crowded: undefined,
  ingest: undefined,
  coldImports: [],
  credentials: { tokenRequests: 1, secretReads: 1, seconds: 90 },
  ...overrides,
});

describe('the benchmark report', () => {
  it('computes the SPEC §10 lower bounds', () => {
    expect(campaignBoundMs(1000, 16, 50)).toBe(63 * 2 * 50);
    expect(campaignBoundMs(10_000, 16, 50)).toBe(625 * 2 * 50);
    expect(crowdedBoundMs(500, 4, 50)).toBe(126 * 50);
  });

  it('counts overlapping requests of a mailbox as one round trip', () => {
    expect(
      roundTrips([
        { startedAt: 0, finishedAt: 50 },
        { startedAt: 51, finishedAt: 101 },
        { startedAt: 52, finishedAt: 102 },
      ]),
    ).toBe(2);
    expect(
      roundTrips([
        { startedAt: 0, finishedAt: 50 },
        { startedAt: 50, finishedAt: 100 },
        { startedAt: 100, finishedAt: 150 },
      ]),
    ).toBe(3);
  });

  it('counts Graph operations without batch envelopes, and 429s among them', () => {
    const economy = graphEconomy([
      request('a', 'search', 0, 50),
      request('a', 'folder', 51, 100),
      request('a', 'delete', 52, 100),
      request('b', 'batch', 0, 60),
      request('b', 'search', 1, 50, 429),
      request('b', 'search', 51, 100),
    ]);
    expect(economy).toEqual({ operations: 5, mailboxes: 2, roundTripsPerMailbox: 2, throttled: 1 });
  });

  it('prints every figure beside its target, and says which are met', () => {
    const rows = figures(results());
    expect(rows.map((r) => r.figure)).toEqual([
      '1,000 recipients, one copy each',
      'Graph operations per copy',
      'sequential round trips per copy',
      'token requests per profile',
      'secret reads per profile',
      'table operations per recipient',
      'worker CPU per recipient',
      'ingest POST /api/verdicts',
    ]);
    expect(rows.filter((r) => r.ok === false)).toEqual([]);
    expect(rows.find((r) => r.figure.startsWith('ingest'))?.ok).toBeUndefined();
  });

  it('marks a figure beyond its target as missed', () => {
    const slow = results();
    const [campaign] = slow.campaigns;
    if (campaign) Object.assign(campaign, { graphOperations: 4000, tableOperations: 7000 });
    const missed = figures(slow)
      .filter((r) => r.ok === false)
      .map((r) => r.figure);
    expect(missed).toEqual(['Graph operations per copy', 'table operations per recipient']);
  });

  it("judges the worker's CPU by its own thread, not by Azurite's", () => {
    const busy = results();
    const [campaign] = busy.campaigns;
    if (campaign) Object.assign(campaign, { workerCpuMs: 3100 });
    const cpu = figures(busy).find((r) => r.figure === 'worker CPU per recipient');
    expect(cpu?.ok).toBe(false);
    expect(cpu?.measured).toContain('3.10 ms');
    expect(cpu?.measured).toContain('whole process 6.00 ms');
  });

  it("judges the crowded mailbox's table requests per copy: each copy has its audit row", () => {
    const base = results();
    const campaign = base.campaigns[0]!;
    const withCrowded = results({
      crowded: { ...campaign, name: '500-copy mailbox', recipients: 1, copies: 500, tableOperations: 36 },
    });
    const tableFigure = figures(withCrowded).find((r) => r.figure === 'table operations per recipient');
    expect(tableFigure?.ok).toBe(true);
    expect(tableFigure?.measured).toContain('0.072 per copy (500-copy mailbox)');
    const heavy = results({
      crowded: { ...campaign, name: '500-copy mailbox', recipients: 1, copies: 500, tableOperations: 2500 },
    });
    expect(figures(heavy).find((r) => r.figure === 'table operations per recipient')?.ok).toBe(false);
  });

  it('puts the summary table first, then the machine and C', () => {
    const lines = render(results()).split('\n');
    expect(lines[0]).toMatch(/^figure \(SPEC §10\)/);
    expect(lines.find((l) => l.startsWith('machine:'))).toContain('2 cores');
    expect(lines.find((l) => l.startsWith('conditions:'))).toContain('C = 16');
  });
});
