import { describe, expect, it } from 'vitest';

import { chunks, recipientCopies } from '../../../shared/recipients/plan.js';

describe('fan-out plan', () => {
  it('yields each (recipient, message) pair once, lazily', () => {
    const messages = [
      { internetMessageId: '<a@x>', recipients: ['u1@x.com', 'u2@x.com', 'u1@x.com'] },
      { internetMessageId: '<a@x>', recipients: ['u2@x.com', 'u3@x.com'] },
    ];
    expect([...recipientCopies(messages)].map((c) => c.recipient)).toEqual([
      'u1@x.com',
      'u2@x.com',
      'u3@x.com',
    ]);
  });

  it('groups into batches of at most the given size', async () => {
    async function* numbers() {
      for (const n of [1, 2, 3, 4, 5]) yield await Promise.resolve(n);
    }
    const batches: number[][] = [];
    for await (const batch of chunks(numbers(), 2)) batches.push(batch);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });
});
