import { InvocationContext } from '@azure/functions';

import { fanOutVerdict } from '../../functions/fanOutVerdict.js';
import { remediateMailbox } from '../../functions/remediateMailbox.js';
import type { Services } from '../../shared/composition.js';
import type { RemediationRecord } from '../../shared/ports/results.js';
import type { InMemoryQueue, ReceivedMessage } from '../../shared/queue/inMemoryQueue.js';
import { newVerdictId } from '../../shared/verdicts/ids.js';
import type { RemediationMessage } from '../../shared/verdicts/messages.js';
import { verdictChangeSchema } from '../../shared/verdicts/schema.js';

const quietContext = () => new InvocationContext({ logHandler: () => undefined });

/**
 * Drives the queue functions by hand, one step at a time, so a test can look at rows and messages
 * between the steps (the local runtime does the same with its processors).
 */
export class Pipeline {
  constructor(
    private readonly services: Services,
    private readonly queue: InMemoryQueue,
  ) {}

  /** Fans a verdict change out; returns its id and the `remediations` messages it sent. */
  async fanOut(
    change: Record<string, unknown>,
  ): Promise<{ verdictId: string; messages: RemediationMessage[] }> {
    const verdictId = newVerdictId();
    await fanOutVerdict(
      { verdictId, acceptedAt: new Date().toISOString(), change: verdictChangeSchema.parse(change) },
      quietContext(),
    );
    return { verdictId, messages: await this.drain() };
  }

  /** Takes every deliverable message off `remediations` without running the function. */
  async drain(): Promise<RemediationMessage[]> {
    return (await this.take('remediations', true)) as RemediationMessage[];
  }

  private async take(queueName: string, sessions: boolean): Promise<unknown[]> {
    const taken: ReceivedMessage[] = [];
    const processor = this.queue.process(
      queueName,
      (m) => {
        taken.push(m);
        return Promise.resolve();
      },
      { sessions },
    );
    await this.queue.idle();
    await processor.stop();
    return taken.map((m) => m.body);
  }

  remediate(message: RemediationMessage | undefined): Promise<void> {
    if (!message) throw new Error('no message to remediate');
    return remediateMailbox(message, quietContext());
  }

  /** An invocation context that drops the log. */
  quiet(): InvocationContext {
    return quietContext();
  }

  /** Takes every deliverable completion check off `verdicts` without running it. */
  checks(): Promise<unknown[]> {
    return this.take('verdicts', false);
  }

  /**
   * Runs the verdicts' pending completion checks (the `verdicts` messages fan-out and earlier checks
   * scheduled), at most `rounds` rounds: a verdict whose rows are all terminal completes in one.
   */
  async check(rounds = 3): Promise<void> {
    for (let round = 0; round < rounds; round++) {
      const checks = await this.take('verdicts', false);
      if (checks.length === 0) return;
      for (const c of checks) await fanOutVerdict(c, quietContext());
    }
  }

  /**
   * Remediates these messages and every message they lead to (retries, group members) until none is
   * left, then lets the completion checks run.
   */
  async runAll(messages: RemediationMessage[]): Promise<void> {
    let pending = messages;
    while (pending.length > 0) {
      for (const m of pending) await this.remediate(m);
      pending = await this.drain();
    }
    await this.check();
  }

  async row(verdictId: string, message: RemediationMessage | undefined): Promise<RemediationRecord> {
    const found = message && (await this.services.store.getRemediation(verdictId, message.rowKey));
    if (!found) throw new Error('row missing');
    return found.value;
  }

  async rows(verdictId: string): Promise<RemediationRecord[]> {
    return (await this.services.store.listRemediations(verdictId, { pageSize: 1000 })).items;
  }
}
