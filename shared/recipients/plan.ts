import type { DeliveredMessage } from '../verdicts/schema.js';

export interface RecipientCopy {
  recipient: string;
  message: DeliveredMessage;
}

/**
 * Every (recipient, message) pair once, lazily: a 10,000-recipient campaign is walked, never copied
 * into one big array. A recipient listed twice for the same message id yields one pair, even when
 * the message appears twice in the verdict.
 */
export function* recipientCopies(messages: readonly DeliveredMessage[]): Generator<RecipientCopy> {
  const seen = new Set<string>();
  for (const message of messages) {
    for (const recipient of message.recipients) {
      const key = `${message.internetMessageId}\n${recipient.toLowerCase()}`;
      if (seen.has(key)) continue;
      seen.add(key);
      yield { recipient: recipient.toLowerCase(), message };
    }
  }
}

/** Groups an async stream into arrays of at most `size`, so a batch is all that is held at once. */
export async function* chunks<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let chunk: T[] = [];
  for await (const item of items) {
    chunk.push(item);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}
