import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { chunks, recipientCopies } from '../../../shared/recipients/plan.js';

async function* from<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield await Promise.resolve(item);
}

async function collect<T>(items: AsyncIterable<T[]>): Promise<T[][]> {
  const out: T[][] = [];
  for await (const batch of items) out.push(batch);
  return out;
}

describe('recipientCopies', () => {
  it('lower-cases each recipient and treats two spellings of one address as one copy', () => {
    const message = { internetMessageId: '<a@x>', recipients: ['Alice@Contoso.com', 'alice@contoso.com'] };
    expect([...recipientCopies([message])]).toEqual([{ recipient: 'alice@contoso.com', message }]);
  });

  it('keeps apart two addresses that differ only in letters which fold together in upper case', () => {
    // "ı" (dotless i) and "i" both upper-case to "I"; their mailboxes are still two.
    const message = { internetMessageId: '<a@x>', recipients: ['\u0131@x.com', 'i@x.com'] };
    expect([...recipientCopies([message])].map((c) => c.recipient)).toEqual(['\u0131@x.com', 'i@x.com']);
  });

  it('yields the same recipient once per distinct message, with that message', () => {
    const a = { internetMessageId: '<a@x>', recipients: ['u@x.com'] };
    const b = { internetMessageId: '<b@x>', recipients: ['U@x.com'] };
    expect([...recipientCopies([a, b])]).toEqual([
      { recipient: 'u@x.com', message: a },
      { recipient: 'u@x.com', message: b },
    ]);
  });

  it('yields every distinct (message id, lower-case recipient) pair exactly once', () => {
    const address = fc.constantFrom('a@x.com', 'A@x.com', 'b@x.com', 'c@y.com');
    const id = fc.constantFrom('<1@x>', '<2@x>', '<3@x>');
    fc.assert(
      fc.property(
        fc.array(fc.record({ internetMessageId: id, recipients: fc.array(address, { minLength: 1 }) })),
        (messages) => {
          const pairs = [...recipientCopies(messages)].map(
            (c) => `${c.message.internetMessageId} ${c.recipient}`,
          );
          const expected = new Set(
            messages.flatMap((m) => m.recipients.map((r) => `${m.internetMessageId} ${r.toLowerCase()}`)),
          );
          expect(pairs).toEqual([...expected]);
        },
      ),
    );
  });
});

describe('chunks', () => {
  it('leaves no empty batch behind when the items divide evenly, and yields nothing for nothing', async () => {
    expect(await collect(chunks(from([1, 2, 3, 4]), 2))).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(await collect(chunks(from([]), 2))).toEqual([]);
  });

  it('keeps every item, in order, in batches of exactly the size but for a shorter last one', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer()), fc.integer({ min: 1, max: 7 }), async (items, size) => {
        const batches = await collect(chunks(from(items), size));
        expect(batches.flat()).toEqual(items);
        batches.slice(0, -1).forEach((b) => expect(b).toHaveLength(size));
        const last = batches.at(-1);
        if (last) expect(last.length).toBeGreaterThan(0);
        if (last) expect(last.length).toBeLessThanOrEqual(size);
      }),
    );
  });
});
