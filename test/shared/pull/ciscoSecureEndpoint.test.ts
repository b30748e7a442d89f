import { beforeEach, describe, expect, it } from 'vitest';

import { startFakeCiscoSecureEndpoint } from '../../../local/platforms/ciscoSecureEndpoint.js';
import type { PullConfig } from '../../../shared/config/document.js';
import { InMemoryCursorStore } from '../../../shared/cursors/inMemoryCursorStore.js';
import type { SecretSource } from '../../../shared/ports/secrets.js';
import { pullSource } from '../../../shared/pull/run.js';
import { fanOut } from '../../../shared/recipients/fanOut.js';
import { InMemoryResultStore } from '../../../shared/results/memory/inMemoryResultStore.js';
import { recordingQueue } from '../../fakes/recordingQueue.js';
import { ConfigMother } from '../../mothers/configMother.js';
import { ProfileMother } from '../../mothers/profileMother.js';

const clientId = 'a1b2c3d4e5f6a7b8c9d0';
const apiKey = 'amp-api-key-value';
const secrets: SecretSource = { getSecret: () => Promise.resolve({ value: apiKey }) };

/** The results tables of one test: every worker in it, restarted or not, reads and writes these. */
let store: InMemoryResultStore;
let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);

beforeEach(() => {
  store = new InMemoryResultStore();
});

/** A Retrospective Detection as `/v1/events` lists it (the documented sample's shape). */
function retrospective(i: number, minutesAgo: number): Record<string, unknown> {
  const when = new Date(clock().getTime() - minutesAgo * 60_000);
  return {
    id: 6411425813945647000 + i * 4096,
    timestamp: Math.floor(when.getTime() / 1000),
    timestamp_nanoseconds: 742000000,
    date: when.toISOString().replace(/\.\d{3}Z$/, '+00:00'),
    event_type: 'Retrospective Detection',
    event_type_id: 553648147,
    detection: `W32.${i}.SBX.TG`,
    detection_id: `64114258139456471${i}`,
    connector_guid: 'test_connector_guid',
    severity: 'High',
    computer: { connector_guid: 'test_connector_guid', hostname: `Demo_${i}`, active: true },
    file: {
      disposition: 'Malicious',
      file_name: `invoice-${i}.exe`,
      identity: { sha256: (i + 16).toString(16).padStart(2, '0').repeat(32) },
    },
  };
}

function config(name: string, baseUrl: string) {
  const pull: PullConfig = {
    type: 'cisco-secure-endpoint',
    baseUrl,
    clientId,
    apiKey: { env: 'AMP_KEY' },
    intervalSeconds: 60,
    eventTypes: [553648147, 1090519054],
  };
  return {
    pull,
    document: ConfigMother.minimal()
      .withProfiles(ProfileMother.graph({ fallbackSearch: true }))
      .withPolicies({ verdict: 'malicious', action: 'quarantine' })
      .withSources({ name, pull })
      .parse(),
  };
}

describe('Cisco Secure Endpoint pull connector against the local fake', () => {
  it('follows metadata.links.next, waits for x-ratelimit-reset, and after a fault and a restart has every event once', async () => {
    const name = `amp-${Date.now()}`;
    const events = Array.from({ length: 9 }, (_, i) => retrospective(i + 1, 50 - i * 5));
    // Threat Quarantined: not a verdict, and not asked for.
    events.push({ ...retrospective(30, 20), event_type: 'Threat Quarantined', event_type_id: 553648143 });
    const amp = await startFakeCiscoSecureEndpoint({
      clientId,
      apiKey,
      events,
      maxPageSize: 2,
      rateLimit: 2,
      rateWindowSeconds: 1,
      now: clock,
    });
    try {
      const queue = recordingQueue();
      const cursors = new InMemoryCursorStore();
      const log: string[] = [];
      const deps = () => ({
        store,
        queue,
        cursors,
        secrets,
        now: clock,
        log: (line: string) => log.push(line),
      });
      const { pull, document } = config(name, amp.url);

      amp.failAfterEvents(5);
      const first = await pullSource(name, pull, document, deps());
      expect(first).toMatchObject({ kind: 'failed', reason: 'ConnectionError' });
      // Pages are newest first and offset-based: the window is read only when its last page is.
      expect((await cursors.get(name))?.readThrough).toBeUndefined();
      expect(queue.accepted.size).toBeGreaterThanOrEqual(5);

      offsetMs = 2 * 60_000;
      expect(await pullSource(name, pull, document, deps())).toMatchObject({ kind: 'succeeded' });
      // Ids above 2^53 arrive rounded, so the adapter's event id adds the file and time; one per event.
      const accepted = [...queue.accepted.values()].map((m) => m.change);
      const sha = (e: Record<string, unknown>) =>
        (e.file as { identity: { sha256: string } }).identity.sha256;
      expect(accepted.map((c) => c.threat.sha256).sort()).toEqual(events.slice(0, 9).map(sha).sort());
      expect(new Set(accepted.map((c) => c.eventId)).size).toBe(9);
      // What the fake saw: the budget never overspent, and no request before the reset it announced.
      expect(amp.requests.filter((r) => r.status === 429)).toEqual([]);
      const answered = amp.requests.filter((r) => r.headers['x-ratelimit-resetdate'] !== undefined);
      for (let i = 1; i < answered.length; i++) {
        const previous = answered[i - 1]!;
        if (previous.headers['x-ratelimit-remaining'] === '0')
          expect(answered[i]!.at.getTime()).toBeGreaterThanOrEqual(
            Date.parse(previous.headers['x-ratelimit-resetdate']!),
          );
      }
      expect(amp.requests.filter((r) => r.headers['x-ratelimit-remaining'] === '0').length).toBeGreaterThan(
        1,
      );
      // 3 pages (6 events) before the fault, the 503, then all 5 pages of 9 events: every request accounted for.
      expect(amp.requests.filter((r) => r.status === 200)).toHaveLength(3 + 5);
      expect(amp.requests.filter((r) => r.status === 503)).toHaveLength(1);
      expect(
        amp.requests.every(
          (r) => r.url.includes('event_type%5B%5D=553648147') || r.url.includes('event_type[]=553648147'),
        ),
      ).toBe(true);
      expect(await cursors.get(name)).toMatchObject({ consecutiveFailures: 0, lastError: undefined });
    } finally {
      await amp.close();
    }
  });

  it('ends a hash-only verdict with no delivery recorded as unresolved, with a Note saying what would resolve it', async () => {
    const name = `amp-unresolved-${Date.now()}`;
    offsetMs = 0;
    const amp = await startFakeCiscoSecureEndpoint({
      clientId,
      apiKey,
      events: [retrospective(77, 3)],
      now: clock,
    });
    try {
      const queue = recordingQueue();
      const { pull, document } = config(name, amp.url);
      expect(
        await pullSource(name, pull, document, {
          store,
          queue,
          cursors: new InMemoryCursorStore(),
          secrets,
          now: clock,
        }),
      ).toMatchObject({ kind: 'succeeded' });
      const [message] = [...queue.accepted.values()];
      expect(message?.change).toMatchObject({ source: name, verdict: 'malicious' });
      expect(message?.change.messages).toBeUndefined();

      const sent: unknown[] = [];
      const result = await fanOut(message!, {
        verdicts: store,
        rows: store,
        deliveries: store,
        copies: store,
        checkDelayMs: 1000,
        queue: { send: (_q, m) => Promise.resolve(void sent.push(...m)), close: () => Promise.resolve() },
        config: document,
        batchSize: 50,
      });
      expect(sent).toEqual([]);
      const row = await store.getVerdict(message!.verdictId);
      expect(row?.status).toBe('unresolved');
      expect(row?.note).toMatch(/delivery ledger has no delivery of [0-9a-f]{64}/);
      expect(row?.note).toMatch(/POST \/api\/deliveries/);
      expect(result.verdict.status).toBe('unresolved');
    } finally {
      await amp.close();
    }
  });
});
