import { describe, expect, it } from 'vitest';

import {
  remediateMailbox,
  type RemediateMailboxDeps,
  reschedulesAfterException,
} from '../../../shared/app/remediateMailbox.js';
import { SimulatedCrash } from '../../../shared/chaos/crash.js';
import type { ConfigDocument } from '../../../shared/config/document.js';
import type { OutgoingMessage } from '../../../shared/ports/queue.js';
import type { ResultStore } from '../../../shared/ports/results.js';
import type { RemediationMessage } from '../../../shared/verdicts/messages.js';
import { configDocument } from '../../support/services.js';

const message: RemediationMessage = {
  verdictId: '8235000000000-0123456789',
  rowKey: 'alice@contoso.com|abc',
  recipient: 'alice@contoso.com',
  internetMessageId: '<m1@mail.example.com>',
  verdict: 'malicious',
  action: 'softDelete',
  mode: 'enforce',
  threatKey: 'a'.repeat(64),
  attempt: 1,
};

/** A store whose reads fail as the handler's unexpected exception, and which records dead-lettering. */
function harness(failure: Error) {
  const sent: OutgoingMessage[] = [];
  const deadLettered: { verdictId: string; note: string }[] = [];
  const store = {
    getRemediation: () => Promise.reject(failure),
    readVerdict: (verdictId: string) =>
      Promise.resolve({ value: { verdictId, status: 'fannedOut' }, etag: 'W/"1"' }),
    updateVerdict: (patch: { verdictId: string; status?: string; note?: string }, etag: string) => {
      if (patch.status === 'deadLettered' && etag === 'W/"1"')
        deadLettered.push({ verdictId: patch.verdictId, note: patch.note ?? '' });
      return Promise.resolve(true);
    },
  } as unknown as ResultStore;
  const config: ConfigDocument = configDocument();
  const deps: RemediateMailboxDeps = {
    store,
    config,
    backendFor: () => {
      throw new Error('no mailbox call expected');
    },
    send: (messages) => {
      sent.push(...messages);
      return Promise.resolve();
    },
    log: () => undefined,
  };
  return { sent, deadLettered, deps };
}

describe('a remediation delivery that throws', () => {
  it('is rescheduled with a growing backoff instead of failing the delivery', async () => {
    const { sent, deps } = harness(new TypeError('boom'));
    const start = Date.now();
    const first = await remediateMailbox(message, { deliveryCount: 1, maxDeliveryCount: 10 }, deps);
    const second = await remediateMailbox(
      { ...message, failures: 1 },
      { deliveryCount: 1, maxDeliveryCount: 10 },
      deps,
    );

    expect(first).toMatchObject({ kind: 'rescheduled' });
    expect(second).toMatchObject({ kind: 'rescheduled' });
    const [a, b] = sent;
    expect((a?.body as RemediationMessage).failures).toBe(1);
    expect((b?.body as RemediationMessage).failures).toBe(2);
    expect(a?.sessionId).toBe(message.recipient);
    expect(a?.messageId).not.toBe(b?.messageId);
    const delayOf = (m: OutgoingMessage | undefined) => (m?.scheduledEnqueueTime?.getTime() ?? 0) - start;
    expect(delayOf(a)).toBeGreaterThan(0);
    expect(delayOf(b)).toBeGreaterThan(delayOf(a));
  });

  it('once the reschedules are used up goes back to the queue, and its last delivery marks the verdict deadLettered with the reason', async () => {
    const { sent, deadLettered, deps } = harness(new TypeError('boom'));
    const spent = { ...message, failures: reschedulesAfterException - 1 };

    await expect(remediateMailbox(spent, { deliveryCount: 3, maxDeliveryCount: 10 }, deps)).rejects.toThrow(
      'boom',
    );
    expect(deadLettered).toEqual([]);
    await expect(remediateMailbox(spent, { deliveryCount: 10, maxDeliveryCount: 10 }, deps)).rejects.toThrow(
      'boom',
    );
    expect(sent).toEqual([]);
    expect(deadLettered).toHaveLength(1);
    expect(deadLettered[0]?.verdictId).toBe(message.verdictId);
    expect(deadLettered[0]?.note).toMatch(/alice@contoso\.com.*boom.*dead-letter/);
  });

  it('lets a simulated crash through untouched, as a dead worker would', async () => {
    const { sent, deps } = harness(new SimulatedCrash('gone'));
    await expect(remediateMailbox(message, { deliveryCount: 1, maxDeliveryCount: 10 }, deps)).rejects.toThrow(
      'gone',
    );
    expect(sent).toEqual([]);
  });
});
