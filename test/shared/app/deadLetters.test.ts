import { describe, expect, it } from 'vitest';

import {
  deadLetterQueueNames,
  listDeadLetters,
  maxDeadLettersPerCall,
  replayDeadLetters,
} from '../../../shared/app/deadLetters.js';
import { InMemoryDeadLetters } from '../../../shared/deadletters/inMemoryDeadLetters.js';
import type { DeadLetterQueue } from '../../../shared/ports/deadLetters.js';
import { InMemoryQueue } from '../../../shared/queue/inMemoryQueue.js';

/** A queue whose handlers always fail once, so every message sent is dead-lettered. */
async function queueWithDeadLetters(): Promise<InMemoryQueue> {
  const queue = new InMemoryQueue({ maxDeliveryCount: 1 });
  await queue.send('verdicts', [
    { body: { n: 1 }, messageId: 'v1' },
    { body: { n: 2 }, messageId: 'v2' },
  ]);
  await queue.send('remediations', [{ body: { n: 3 }, messageId: 'r1', sessionId: 'carol@contoso.com' }]);
  for (const [name, sessions] of [
    ['verdicts', false],
    ['remediations', true],
  ] as const) {
    const processor = queue.process(name, () => Promise.reject(new Error('handler failed')), { sessions });
    await queue.idle();
    await processor.stop();
  }
  return queue;
}

/** Records what the use case asked of the dead-letter queue. */
function recordingDeadLetters() {
  const calls: unknown[][] = [];
  const deadLetters: DeadLetterQueue = {
    list: (queue, max) => {
      calls.push(['list', queue, max]);
      return Promise.resolve([]);
    },
    replay: (queue, messageIds, max) => {
      calls.push(['replay', queue, messageIds, max]);
      return Promise.resolve({ replayed: messageIds ?? [], missing: [] });
    },
  };
  return { calls, deadLetters };
}

describe('listDeadLetters', () => {
  it('without a queue (null or empty), lists the dead letters of every queue', async () => {
    const queue = await queueWithDeadLetters();
    const deadLetters = new InMemoryDeadLetters(queue);

    for (const name of [null, '']) {
      const result = await listDeadLetters({ queue: name }, { deadLetters });
      expect(result.kind).toBe('listed');
      if (result.kind !== 'listed') return;
      expect(result.deadLetters.map((d) => [d.queue, d.messageId, d.description])).toEqual([
        ['verdicts', 'v1', 'handler failed'],
        ['verdicts', 'v2', 'handler failed'],
        ['remediations', 'r1', 'handler failed'],
      ]);
    }
  });

  it('with a queue, lists only that queue, reading at most the per-call maximum', async () => {
    const queue = await queueWithDeadLetters();
    const result = await listDeadLetters(
      { queue: 'remediations' },
      { deadLetters: new InMemoryDeadLetters(queue) },
    );
    expect(result).toMatchObject({
      kind: 'listed',
      deadLetters: [{ queue: 'remediations', messageId: 'r1' }],
    });
    expect(result.kind === 'listed' && result.deadLetters).toHaveLength(1);

    const { calls, deadLetters } = recordingDeadLetters();
    await listDeadLetters({ queue: 'verdicts' }, { deadLetters });
    await listDeadLetters({ queue: null }, { deadLetters });
    expect(calls).toEqual([
      ['list', 'verdicts', maxDeadLettersPerCall],
      ...deadLetterQueueNames.map((name) => ['list', name, maxDeadLettersPerCall]),
    ]);
  });

  it('refuses a queue that does not exist, naming the ones that do, and reads nothing', async () => {
    const { calls, deadLetters } = recordingDeadLetters();

    expect(await listDeadLetters({ queue: 'verdict' }, { deadLetters })).toEqual({
      kind: 'invalid',
      message: 'There is no queue "verdict".',
      problems: [{ path: 'queue', message: 'must be one of verdicts, remediations' }],
    });
    expect(calls).toEqual([]);
  });
});

describe('replayDeadLetters', () => {
  it('puts the named dead letters back on their queue and reports ids it did not find', async () => {
    const queue = await queueWithDeadLetters();
    const deadLetters = new InMemoryDeadLetters(queue);

    expect(
      await replayDeadLetters({ body: { queue: 'verdicts', messageIds: ['v2', 'gone'] } }, { deadLetters }),
    ).toEqual({ kind: 'replayed', queue: 'verdicts', replayed: ['v2'], missing: ['gone'] });
    expect(queue.deadLetters('verdicts').map((m) => m.messageId)).toEqual(['v1']);
    expect(queue.stats('verdicts').active).toBe(1);
    expect(queue.deadLetters('remediations')).toHaveLength(1);
  });

  it('without message ids, replays every dead letter of the queue, up to the per-call maximum', async () => {
    const queue = await queueWithDeadLetters();

    expect(
      await replayDeadLetters(
        { body: { queue: 'verdicts' } },
        { deadLetters: new InMemoryDeadLetters(queue) },
      ),
    ).toEqual({ kind: 'replayed', queue: 'verdicts', replayed: ['v1', 'v2'], missing: [] });
    expect(queue.deadLetters('verdicts')).toEqual([]);
    expect(queue.stats('verdicts').active).toBe(2);

    const { calls, deadLetters } = recordingDeadLetters();
    await replayDeadLetters({ body: { queue: 'remediations', messageIds: ['r1'] } }, { deadLetters });
    expect(calls).toEqual([['replay', 'remediations', ['r1'], maxDeadLettersPerCall]]);
  });

  it('refuses a malformed request with every problem and its path, replaying nothing', async () => {
    const { calls, deadLetters } = recordingDeadLetters();

    const unknownQueue = await replayDeadLetters(
      { body: { queue: 'nope', messageIds: [''], extra: 1 } },
      { deadLetters },
    );
    expect(unknownQueue).toMatchObject({
      kind: 'invalid',
      message: 'Send {"queue": "<queue>", "messageIds": [...]} (messageIds optional).',
    });
    expect(unknownQueue.kind === 'invalid' && unknownQueue.problems.map((p) => p.path)).toEqual([
      'queue',
      'messageIds.0',
      '$',
    ]);

    const notAnObject = await replayDeadLetters({ body: 'verdicts' }, { deadLetters });
    expect(notAnObject.kind === 'invalid' && notAnObject.problems).toEqual([
      { path: '$', message: expect.stringContaining('object') as unknown },
    ]);
    expect(
      (await replayDeadLetters({ body: { queue: 'verdicts', messageIds: [] } }, { deadLetters })).kind,
    ).toBe('invalid');
    expect(calls).toEqual([]);
  });
});
