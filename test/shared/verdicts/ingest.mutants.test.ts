import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { isValidationError, type ValidationError } from '../../../shared/errors.js';
import type { CallOptions } from '../../../shared/ports/mail.js';
import type { OutgoingMessage, QueueSender } from '../../../shared/ports/queue.js';
import type { VerdictRecord } from '../../../shared/ports/results.js';
import { InMemoryResultStore } from '../../../shared/results/memory/inMemoryResultStore.js';
import { sourceFormats } from '../../../shared/sources/index.js';
import { acceptVerdicts, parseAnyVerdictBody, parseVerdictBody } from '../../../shared/verdicts/ingest.js';
import { type VerdictChange, verdictChangeSchema } from '../../../shared/verdicts/schema.js';

const hash = 'ab'.repeat(32);
const body = (eventId = 'e1') => ({
  eventId,
  source: 'soar',
  verdict: 'malicious',
  threat: { sha256: hash },
});
const change = (eventId = 'e1'): VerdictChange => verdictChangeSchema.parse(body(eventId));

function refusal(run: () => unknown): ValidationError {
  try {
    run();
  } catch (error) {
    if (isValidationError(error)) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

/** Records every send; refuses while `refusing` is set, as Service Bus does when it is unreachable. */
class RecordingQueue implements QueueSender {
  readonly sends: OutgoingMessage[][] = [];
  refusing = false;
  send(_queue: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.refusing) return Promise.reject(new Error('queue unavailable'));
    this.sends.push(messages);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The in-memory store, writing verdict rows in batches as the table store does, and counting the writes. */
function countingStore() {
  const memory = new InMemoryResultStore();
  const writes = { createVerdicts: 0, createVerdict: 0 };
  const createVerdict = memory.createVerdict.bind(memory);
  const store = Object.assign(memory, {
    createVerdict: (record: VerdictRecord, options?: CallOptions) => {
      writes.createVerdict += 1;
      return createVerdict(record, options);
    },
    createVerdicts: (records: VerdictRecord[], options?: CallOptions) => {
      writes.createVerdicts += 1;
      return Promise.all(records.map((r) => createVerdict(r, options)));
    },
  });
  return { store, writes };
}

describe('parseVerdictBody', () => {
  it('takes 100 verdicts in an array and refuses 101, saying how many came', () => {
    expect(parseVerdictBody(Array.from({ length: 100 }, (_, i) => body(`e${i}`))).changes).toHaveLength(100);
    const error = refusal(() => parseVerdictBody(Array.from({ length: 101 }, (_, i) => body(`e${i}`))));
    expect(error.message).toBe('The request holds too many verdicts.');
    expect(error.details).toEqual([{ path: '$', message: 'must hold at most 100 verdicts (got 101)' }]);
  });

  it('refuses an empty array', () => {
    const error = refusal(() => parseVerdictBody([]));
    expect(error.message).toBe('The request holds no verdicts.');
    expect(error.details).toEqual([{ path: '$', message: 'must hold at least one verdict' }]);
  });

  it('counts the problems of an array and of a single verdict in its message', () => {
    const many = refusal(() =>
      parseVerdictBody([body(), { ...body(), eventId: '' }, { ...body(), verdict: 'x' }]),
    );
    expect(many.message).toBe('2 problem(s) in the verdicts.');
    expect(many.details.map((d) => d.path)).toEqual(['[1].eventId', '[2].verdict']);
    const one = refusal(() => parseVerdictBody({ ...body(), eventId: '' }));
    expect(one.message).toBe('1 problem(s) in the verdict.');
    expect(one.details.map((d) => d.path)).toEqual(['eventId']);
  });
});

describe('parseAnyVerdictBody', () => {
  it('refuses an unknown format by name, listing the known ones', () => {
    const error = refusal(() => parseAnyVerdictBody(body(), 'carrier-pigeon'));
    expect(error.message).toBe('Unknown format "carrier-pigeon".');
    expect(error.details).toEqual([
      { path: 'format', message: `must be one of ${sourceFormats.join(', ')}` },
    ]);
    expect(sourceFormats.length).toBeGreaterThan(1);
  });

  it('answers a native body as an array, even one event of it: a native body may hold several', () => {
    const event = JSON.parse(
      readFileSync(path.resolve(__dirname, '../../fixtures/sources/proofpoint-event-active.json'), 'utf8'),
    ) as unknown;
    const parsed = parseAnyVerdictBody(event);
    expect(parsed).toMatchObject({ format: 'proofpoint-tap', isArray: true });
    expect(parsed.changes).toHaveLength(1);
    expect(parseAnyVerdictBody(body())).toMatchObject({ format: 'generic', isArray: false });
  });

  it('names the format whose body it could not read', () => {
    const native = sourceFormats.find((f) => f !== 'generic');
    expect(native).toBeDefined();
    const error = refusal(() => parseAnyVerdictBody('not an object', native));
    expect(error.message).toMatch(new RegExp(`^\\d+ problem\\(s\\) in the ${native} body\\.$`));
  });
});

describe('acceptVerdicts', () => {
  it('gives the second of two copies of one event in a call the same verdict id, as not created', async () => {
    const { store } = countingStore();
    const queue = new RecordingQueue();
    const accepted = await acceptVerdicts([change('e1'), change('e2'), change('e1')], { store, queue });
    expect(accepted[0]?.created).toBe(true);
    expect(accepted[1]?.created).toBe(true);
    expect(accepted[2]).toEqual({ verdictId: accepted[0]?.verdictId, created: false });
    expect(queue.sends.flat()).toHaveLength(2);
  });

  it('sends nothing and writes no verdict row for a repeat whose verdict is recorded', async () => {
    const { store, writes } = countingStore();
    const queue = new RecordingQueue();
    await acceptVerdicts([change()], { store, queue });
    const before = { sends: queue.sends.length, ...writes };
    const again = await acceptVerdicts([change()], { store, queue });
    expect(again[0]?.created).toBe(false);
    expect(queue.sends.length).toBe(before.sends);
    expect(writes).toEqual({ createVerdicts: before.createVerdicts, createVerdict: before.createVerdict });
  });

  it('sends again, under its first id, a repeat whose first request died between claim and record', async () => {
    const { store } = countingStore();
    const queue = new RecordingQueue();
    await store.claimEvent('soar', 'e1', 'earlier-verdict');
    const accepted = await acceptVerdicts([change('e1')], { store, queue });
    expect(accepted).toEqual([{ verdictId: 'earlier-verdict', created: false }]);
    expect(queue.sends.flat().map((m) => m.messageId)).toEqual(['earlier-verdict']);
    expect(await store.getVerdict('earlier-verdict')).toMatchObject({ eventId: 'e1', status: 'accepted' });
  });

  it('when the queue refuses, releases only the claims it made: an earlier claim of a repeat stays', async () => {
    const { store } = countingStore();
    const queue = new RecordingQueue();
    // An earlier request claimed e1 and died before recording its verdict.
    await store.claimEvent('soar', 'e1', 'earlier-verdict');
    queue.refusing = true;
    await expect(acceptVerdicts([change('e1'), change('e2')], { store, queue })).rejects.toThrow(
      'queue unavailable',
    );
    expect(await store.claimEvent('soar', 'e1', 'later')).toEqual({
      verdictId: 'earlier-verdict',
      created: false,
    });
    expect(await store.claimEvent('soar', 'e2', 'later')).toEqual({ verdictId: 'later', created: true });
  });
});
