import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type FakeTap, startFakeTap, type TapEvent } from '../../../local/platforms/tap.js';
import type { PullConfig } from '../../../shared/config/document.js';
import { InMemoryCursorStore } from '../../../shared/cursors/inMemoryCursorStore.js';
import type { CursorStore, SourceCursor } from '../../../shared/ports/cursors.js';
import type { QueueSender } from '../../../shared/ports/queue.js';
import type { SecretSource } from '../../../shared/ports/secrets.js';
import { type PullDeps, pullSource, sourceStatuses } from '../../../shared/pull/run.js';
import { InMemoryResultStore } from '../../../shared/results/memory/inMemoryResultStore.js';
import { recordingQueue } from '../../fakes/recordingQueue.js';
import { ConfigMother } from '../../mothers/configMother.js';

const principal = 'c8f4b7e2-tap-principal';
const secretValue = 'tap-secret-value-1';
const secrets: SecretSource = { getSecret: () => Promise.resolve({ value: secretValue }) };
const hour = 60 * 60_000;

/** The results tables of one test: every worker in it, restarted or not, reads and writes these. */
let store: InMemoryResultStore;
let tap: FakeTap | undefined;
let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);

beforeEach(() => {
  store = new InMemoryResultStore();
});
afterEach(async () => {
  await tap?.close();
  tap = undefined;
  offsetMs = 0;
});

/** A `messagesDelivered` event as the SIEM API emits it (real capture's shape: arrays, lower-case enums). */
function deliveredEvent(i: number): Record<string, unknown> {
  const sha = i.toString(16).padStart(2, '0').repeat(32);
  return {
    GUID: `guid-${i}-${Math.random().toString(36).slice(2, 8)}`,
    QID: `r2FNwRHF00${i}`,
    id: `0f1e2d3c-${i}`,
    messageID: `msg-${i}@mail.northwind-traders.example`,
    recipient: ['alice@contoso.com'],
    fromAddress: ['billing@northwind-traders.example'],
    sender: '3f9d0e@northwind-traders.example',
    subject: `Invoice ${i}`,
    messageTime: new Date(clock().getTime() - 6 * hour).toISOString(),
    messageParts: [
      { disposition: 'attached', filename: `invoice-${i}.pdf`, sha256: sha, sandboxStatus: 'threat' },
    ],
    threatsInfoMap: [
      {
        threatId: sha,
        threat: sha,
        threatType: 'attachment',
        classification: 'malware',
        threatStatus: 'active',
        threatTime: new Date().toISOString(),
        campaignID: null,
      },
    ],
  };
}

/** Fresh adapters over the same tables: what a restarted worker has. */
function restartedDeps(queue: QueueSender, cursors: CursorStore, log: string[]): PullDeps {
  return {
    store,
    queue,
    cursors,
    secrets,
    now: clock,
    sleep: () => Promise.resolve(),
    log: (line) => log.push(line),
  };
}

function config(name: string, baseUrl: string) {
  const pull: PullConfig = {
    type: 'proofpoint-tap',
    baseUrl,
    principal,
    secret: { env: 'TAP_SECRET' },
    intervalSeconds: 60,
  };
  return {
    pull,
    document: ConfigMother.minimal().withPolicies().withSources({ name, pull }).parse(),
  };
}

describe('Proofpoint TAP pull connector against the local fake', () => {
  it('ingests every event exactly once across a failure and a restart, the cursor never ahead of what was ingested', async () => {
    const name = `tap-${Date.now()}`;
    const start = clock().getTime() - 5 * hour;
    const events: TapEvent[] = Array.from({ length: 12 }, (_, i) => ({
      createdAt: new Date(start + 10 * 60_000 + i * 24 * 60_000),
      event: deliveredEvent(i + 1),
    }));
    tap = await startFakeTap({ principal, secret: secretValue, events, now: clock });
    const queue = recordingQueue();
    const eventIdOf = (e: TapEvent) => {
      const threat = (e.event.threatsInfoMap as { threatId: string }[])[0]!.threatId;
      return `${String(e.event.GUID)}:${threat}:active`;
    };
    const ingested = () => new Set([...queue.accepted.values()].map((m) => m.change.eventId));
    const saved: SourceCursor[] = [];
    const table = new InMemoryCursorStore();
    // Every cursor write is checked: no event created before the new position may be missing.
    const cursors: CursorStore = {
      get: (s) => table.get(s),
      list: () => table.list(),
      put: async (cursor) => {
        if (cursor.readThrough !== undefined) {
          const through = Date.parse(cursor.readThrough);
          const missing = events.filter(
            (e) => e.createdAt.getTime() < through && !ingested().has(eventIdOf(e)),
          );
          expect(missing, `cursor at ${cursor.readThrough}`).toEqual([]);
        }
        saved.push({ ...cursor });
        await table.put(cursor);
      },
    };
    await table.put({
      source: name,
      type: 'proofpoint-tap',
      readThrough: new Date(start).toISOString(),
      eventsIngested: 0,
      consecutiveFailures: 0,
    });
    const { pull, document } = config(name, tap.url);

    // The third one-hour window fails: two windows are read, the cursor stays at the end of the second.
    tap.failAfter(2, { status: 500, body: 'Internal Server Error' });
    const log: string[] = [];
    const first = await pullSource(name, pull, document, restartedDeps(queue, cursors, log));
    expect(first).toMatchObject({ kind: 'failed', reason: 'ConnectionError' });
    expect(log.join('\n')).toMatch(new RegExp(`pull connector failed source=${name} reason=ConnectionError`));
    const afterFailure = await table.get(name);
    expect(Date.parse(afterFailure!.readThrough!)).toBeLessThanOrEqual(start + 2 * hour);
    expect(afterFailure).toMatchObject({ lastError: 'ConnectionError', consecutiveFailures: 1 });
    const acceptedBefore = ingested().size;
    expect(acceptedBefore).toBeGreaterThan(0);
    expect(acceptedBefore).toBeLessThan(events.length);

    // Before its backoff is over the connector is not due; after it, a restarted worker resumes.
    expect(await pullSource(name, pull, document, restartedDeps(queue, cursors, log))).toMatchObject({
      kind: 'notDue',
    });
    offsetMs = 3 * 60_000;
    const second = await pullSource(name, pull, document, restartedDeps(queue, cursors, log));
    expect(second).toMatchObject({ kind: 'succeeded' });

    const perEvent = new Map<string, number>();
    for (const m of queue.accepted.values())
      perEvent.set(m.change.eventId, (perEvent.get(m.change.eventId) ?? 0) + 1);
    expect([...perEvent.keys()].sort()).toEqual(events.map(eventIdOf).sort());
    expect([...perEvent.values()].every((n) => n === 1)).toBe(true);
    const rows = await store.listVerdicts(
      { from: new Date(Date.now() - hour), to: new Date(Date.now() + hour) },
      1000,
    );
    const mine = rows.filter((r) => r.source === name);
    expect(mine.map((r) => r.eventId).sort()).toEqual(events.map(eventIdOf).sort());

    // What TAP saw: windows of at most an hour, each starting where the last read one ended (or before).
    const intervals = tap.requests
      .filter((r) => r.status === 200)
      .map((r) =>
        new URL(r.url, tap!.url).searchParams
          .get('interval')!
          .split('/')
          .map((t) => Date.parse(t)),
      );
    for (const [from, to] of intervals) expect(to! - from!).toBeLessThanOrEqual(hour);
    expect(tap.requests.filter((r) => r.status === 400)).toEqual([]);
    const resumedAt = intervals[2]![0]!;
    expect(resumedAt).toBeLessThanOrEqual(Date.parse(afterFailure!.readThrough!));
    expect(saved.at(-1)).toMatchObject({ consecutiveFailures: 0, lastError: undefined });
  });

  it('a crash after events are accepted but before the cursor is written reads them again, and accepts none twice', async () => {
    const name = `tap-crash-${Date.now()}`;
    const events: TapEvent[] = Array.from({ length: 4 }, (_, i) => ({
      createdAt: new Date(clock().getTime() - (50 - i * 10) * 60_000),
      event: deliveredEvent(60 + i),
    }));
    tap = await startFakeTap({ principal, secret: secretValue, events, now: clock });
    const table = new InMemoryCursorStore();
    let crash = true;
    // The worker dies at its first cursor write: everything was accepted, nothing recorded.
    const crashing: CursorStore = {
      get: (s) => table.get(s),
      list: () => table.list(),
      put: (cursor) => {
        if (crash) return Promise.reject(new Error('worker lost'));
        return table.put(cursor);
      },
    };
    const queue = recordingQueue();
    const { pull, document } = config(name, tap.url);
    const log: string[] = [];
    expect(await pullSource(name, pull, document, restartedDeps(queue, crashing, log))).toMatchObject({
      kind: 'failed',
    });
    expect(await table.get(name)).toBeUndefined();
    expect(queue.accepted.size).toBe(4);
    crash = false;

    const restarted = await pullSource(name, pull, document, restartedDeps(queue, table, log));
    expect(restarted).toMatchObject({ kind: 'succeeded' });
    expect(queue.accepted.size).toBe(4);
    expect(tap.requests.filter((r) => r.status === 200)).toHaveLength(2);
    const rows = await store.listVerdicts(
      { from: new Date(Date.now() - hour), to: new Date(Date.now() + hour) },
      1000,
    );
    expect(rows.filter((r) => r.source === name)).toHaveLength(4);
  });

  it('waits out a 429 with Retry-After without moving its cursor, and shows the failure on its cursor row', async () => {
    const name = `tap-throttled-${Date.now()}`;
    tap = await startFakeTap({ principal, secret: secretValue, now: clock });
    tap.add({ createdAt: new Date(clock().getTime() - 10 * 60_000), event: deliveredEvent(40) });
    tap.failAfter(0, { status: 429, headers: { 'retry-after': '120' }, body: 'Too Many Requests' });
    const cursors = new InMemoryCursorStore();
    const queue = recordingQueue();
    const log: string[] = [];
    const { pull, document } = config(name, tap.url);
    const failed = await pullSource(name, pull, document, restartedDeps(queue, cursors, log));
    expect(failed).toMatchObject({ kind: 'failed', reason: 'Throttled' });
    expect(Date.parse((failed as { nextRunAt: string }).nextRunAt)).toBeGreaterThanOrEqual(
      clock().getTime() + 110_000,
    );
    const statuses = await sourceStatuses(cursors);
    const status = statuses.find((s) => s.source === name);
    expect(status).toMatchObject({ lastError: 'Throttled' });
    expect(status?.readThrough).toBeUndefined();
    expect(queue.accepted.size).toBe(0);

    offsetMs = 60_000;
    expect(await pullSource(name, pull, document, restartedDeps(queue, cursors, log))).toMatchObject({
      kind: 'notDue',
    });
    expect(tap.requests).toHaveLength(1);
    offsetMs = 121_000;
    expect(await pullSource(name, pull, document, restartedDeps(queue, cursors, log))).toMatchObject({
      kind: 'succeeded',
    });
    expect(queue.accepted.size).toBe(1);
  });

  it('records an authentication failure when the secret is wrong, and sends no credentials anywhere else', async () => {
    const name = `tap-auth-${Date.now()}`;
    tap = await startFakeTap({ principal, secret: 'another-secret', now: clock });
    const cursors = new InMemoryCursorStore();
    const log: string[] = [];
    const { pull, document } = config(name, tap.url);
    const outcome = await pullSource(name, pull, document, restartedDeps(recordingQueue(), cursors, log));
    expect(outcome).toMatchObject({ kind: 'failed', reason: 'AuthenticationError' });
    expect(log.join('\n')).toMatch(
      new RegExp(`pull connector failed source=${name} reason=AuthenticationError`),
    );
    expect(log.join('\n')).not.toContain(secretValue);
    expect((await cursors.get(name))?.lastErrorDetail).toMatch(/HTTP 401/);
  });
});
