import type { HttpResponseInit } from '@azure/functions';
import fc from 'fast-check';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { useServices } from '../../shared/composition.js';
import type { InMemoryQueue } from '../../shared/queue/inMemoryQueue.js';
import { hasControlCharacters } from '../../shared/verdicts/schema.js';
import { signBody } from '../../shared/verdicts/signature.js';
import {
  errorOf,
  ingestServices,
  type InMemoryIngestStore,
  postToHandler,
  signingSecret,
} from './ingestPorts.js';

let store: InMemoryIngestStore;
let queue: InMemoryQueue;
let sent: unknown[];

beforeEach(() => {
  const built = ingestServices();
  store = built.store;
  queue = built.queue;
  sent = built.sent;
  useServices(built.services);
});
afterAll(() => useServices(undefined));

const queued = () => queue.stats('verdicts').active;

// ---- generators -------------------------------------------------------------------------------

const word = fc.string({
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'),
  minLength: 1,
  maxLength: 12,
});
const host = fc.tuple(word, word).map(([a, b]) => `${a}.${b}.example`);
const address = fc.tuple(word, host).map(([local, domain]) => `${local}@${domain}`);
const messageId = fc.tuple(word, host).map(([left, right]) => `<${left}@${right}>`);
const hex64 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 });

const validVerdictOfSchema = fc.record(
  {
    eventId: fc.uuid().map((u) => `evt-${u}`),
    source: fc.constantFrom('soar', 'cisco-secure-endpoint', 'defender'),
    verdict: fc.constantFrom('malicious', 'suspicious', 'clean'),
    threat: fc.record(
      { sha256: hex64, filename: word.map((w) => `${w}.exe`), name: word },
      { requiredKeys: ['sha256'] },
    ),
    messages: fc.array(
      fc.record(
        {
          internetMessageId: messageId,
          recipients: fc.array(address, { minLength: 1, maxLength: 3 }),
          sender: address,
          subject: fc.string({ maxLength: 40 }),
        },
        { requiredKeys: ['internetMessageId', 'recipients'] },
      ),
      { minLength: 1, maxLength: 2 },
    ),
  },
  { requiredKeys: ['eventId', 'source', 'verdict', 'threat', 'messages'] },
);
type Generated = typeof validVerdictOfSchema extends fc.Arbitrary<infer T> ? T : never;
/** A generated verdict as a sender could spoil it: any string where the schema wants an enum. */
type Verdict = Omit<Generated, 'source' | 'verdict'> & { source: string; verdict: string };
const validVerdict: fc.Arbitrary<Verdict> = validVerdictOfSchema;

/** C0, DEL, C1 and lone surrogates: what SPEC §2 refuses in every identifier, address and name. */
const forbidden = fc
  .oneof(
    fc.integer({ min: 0, max: 0x1f }),
    fc.constant(0x7f),
    fc.integer({ min: 0x80, max: 0x9f }),
    fc.integer({ min: 0xd800, max: 0xdfff }),
  )
  .map((code) => String.fromCharCode(code));

const spoil = (value: string) =>
  fc
    .tuple(forbidden, fc.nat({ max: value.length }))
    .map(([bad, at]) => `${value.slice(0, at)}${bad}${value.slice(at)}`);

type Corruption = { path: string; apply: (v: Verdict) => fc.Arbitrary<unknown> };

const set = (v: Verdict, mutate: (copy: Verdict) => void): Verdict => {
  const copy = structuredClone(v);
  mutate(copy);
  return copy;
};

/** One field of a valid verdict corrupted, with the path the 400 must name. */
const corruptions: Corruption[] = [
  { path: 'eventId', apply: (v) => spoil(v.eventId).map((eventId) => set(v, (c) => (c.eventId = eventId))) },
  { path: 'eventId', apply: (v) => fc.constant(set(v, (c) => (c.eventId = ''))) },
  { path: 'source', apply: (v) => spoil(v.source).map((source) => set(v, (c) => (c.source = source))) },
  { path: 'source', apply: (v) => fc.constant(set(v, (c) => (c.source = '   '))) },
  {
    path: 'messages[0].internetMessageId',
    apply: (v) =>
      spoil(v.messages[0]!.internetMessageId).map((id) =>
        set(v, (c) => (c.messages[0]!.internetMessageId = id)),
      ),
  },
  {
    path: 'messages[0].recipients[0]',
    apply: (v) =>
      spoil(v.messages[0]!.recipients[0]!).map((r) => set(v, (c) => (c.messages[0]!.recipients[0] = r))),
  },
  {
    path: 'messages[0].sender',
    apply: (v) => spoil('eve@evil.example').map((s) => set(v, (c) => (c.messages[0]!.sender = s))),
  },
  {
    path: 'threat.filename',
    apply: (v) => spoil('invoice.pdf.exe').map((f) => set(v, (c) => (c.threat.filename = f))),
  },
  { path: 'threat.name', apply: (v) => spoil('W32.Agent').map((n) => set(v, (c) => (c.threat.name = n))) },
  {
    path: 'threat.url',
    apply: (v) =>
      spoil('https://evil.example/x').map((u) => set(v, (c) => Object.assign(c.threat, { url: u }))),
  },
  {
    path: 'threat.sha256',
    apply: (v) => fc.string({ maxLength: 70 }).map((h) => set(v, (c) => (c.threat.sha256 = `${h}!`))),
  },
  {
    path: 'verdict',
    apply: (v) => fc.string().map((x) => set(v, (c) => (c.verdict = `not-${x}`))),
  },
];

const corrupted = fc
  .tuple(validVerdict, fc.constantFrom(...corruptions))
  .chain(([v, corruption]) => corruption.apply(v).map((body) => ({ body, path: corruption.path })));

const contentTypes = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=UTF8',
    'application/json; charset=latin1',
    'application/json; charset=iso-8859-1',
    'application/json; charset="utf-16"',
    'application/problem+json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    '',
  ),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
);

// ---- invariants -------------------------------------------------------------------------------

/** What every answer must satisfy: no 5xx; a refusal has a code; a refused request leaves no trace. */
function expectCodedAndTraceless(
  response: HttpResponseInit,
  before: { writes: number; queued: number },
): void {
  const status = response.status ?? 200;
  expect(status).toBeLessThan(500);
  if (status >= 400) {
    expect(errorOf(response).code).toMatch(/^[A-Z][A-Za-z]+$/);
    expect(errorOf(response).message.length).toBeGreaterThan(0);
  }
  if (status !== 202) {
    expect(store.writes).toBe(before.writes);
    expect(queued()).toBe(before.queued);
  }
}

const snapshot = () => ({ writes: store.writes, queued: queued() });

describe('ingest under generated requests (in process, every port in memory)', () => {
  it('never answers 5xx to arbitrary JSON, codes every refusal and records nothing for it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const before = snapshot();
        expectCodedAndTraceless(await postToHandler(JSON.stringify(value)), before);
      }),
      { numRuns: 2500 },
    );
  });

  it('refuses a verdict with one field corrupted with 400 naming that field, and records nothing', async () => {
    await fc.assert(
      fc.asyncProperty(corrupted, async ({ body, path }) => {
        const before = snapshot();
        const response = await postToHandler(JSON.stringify(body));
        expectCodedAndTraceless(response, before);
        expect(response.status).toBe(400);
        expect(errorOf(response).code).toBe('ValidationFailed');
        expect(errorOf(response).details?.map((d) => d.path)).toContain(path);
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts valid verdicts with two rows written and one message enqueued each', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(validVerdict, { minLength: 1, maxLength: 3 }), async (verdicts) => {
        const before = snapshot();
        const response = await postToHandler(JSON.stringify(verdicts));
        expect(response.status).toBe(202);
        expect(store.writes - before.writes).toBe(2 * verdicts.length);
        expect(queued() - before.queued).toBe(verdicts.length);
      }),
      { numRuns: 1000 },
    );
  });

  it('never answers 5xx to random bytes, and records nothing for them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        const before = snapshot();
        const response = await postToHandler(bytes);
        expectCodedAndTraceless(response, before);
        expect(response.status).not.toBe(202);
      }),
      { numRuns: 1500 },
    );
  });

  it('never answers 5xx to random content types, lengths, signatures and formats', async () => {
    await fc.assert(
      fc.asyncProperty(
        validVerdict,
        contentTypes,
        fc.option(fc.nat({ max: 3 * 1024 * 1024 }).map(String)),
        fc.option(
          fc.string({ unit: 'binary-ascii', maxLength: 90 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
        ),
        fc.option(fc.constantFrom('generic', 'proofpoint-tap', 'nonsense', '', 'Generic')),
        async (verdict, contentType, length, signature, format) => {
          const headers: Record<string, string> = { 'content-type': contentType };
          if (length !== null) headers['content-length'] = length;
          if (signature !== null) headers['x-clawback-signature'] = signature;
          const before = snapshot();
          const response = await postToHandler(
            JSON.stringify(verdict),
            headers,
            format === null ? '' : `?format=${encodeURIComponent(format)}`,
          );
          expectCodedAndTraceless(response, before);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('replaces control characters in a subject by spaces and keeps its length', async () => {
    await fc.assert(
      fc.asyncProperty(validVerdict, fc.string({ maxLength: 20 }), forbidden, async (verdict, text, bad) => {
        const subject = `${text}${bad}${text}`;
        const body = set(verdict, (c) => (c.messages[0]!.subject = subject));
        const response = await postToHandler(JSON.stringify(body));
        expect(response.status).toBe(202);
        const message = sent.at(-1) as { change: { messages: { subject: string }[] } };
        const kept = message.change.messages[0]!.subject;
        expect(kept).toHaveLength(subject.length);
        expect(hasControlCharacters(kept)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a signed source with a wrong, stale or missing signature however its name is spelt', async () => {
    await fc.assert(
      fc.asyncProperty(
        validVerdict,
        fc.constantFrom('proofpoint-tap', 'Proofpoint-TAP', ' proofpoint-tap ', 'PROOFPOINT-TAP\u0020'),
        fc.constantFrom('none', 'wrong', 'stale', 'right'),
        async (verdict, source, signing) => {
          const body = JSON.stringify({ ...verdict, source });
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          const now = Math.floor(Date.now() / 1000);
          if (signing === 'wrong') headers['x-clawback-signature'] = signBody(body, 'not-the-secret');
          if (signing === 'stale')
            headers['x-clawback-signature'] = signBody(body, signingSecret, now - 6 * 60);
          if (signing === 'right') headers['x-clawback-signature'] = signBody(body, signingSecret);
          const before = snapshot();
          const response = await postToHandler(body, headers);
          expectCodedAndTraceless(response, before);
          expect(response.status).toBe(signing === 'right' ? 202 : 401);
        },
      ),
      { numRuns: 500 },
    );
  });
});
