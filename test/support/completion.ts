import type { OutgoingMessage, QueueSender } from '../../shared/ports/queue.js';
import {
  emptyCounts,
  type RemediationRecord,
  type RemediationStatus,
  type VerdictRecord,
} from '../../shared/ports/results.js';
import type { CompletionCheck, CompletionDeps } from '../../shared/recipients/completion.js';
import { InMemoryRemediationRows } from '../../shared/results/memory/inMemoryRemediationRows.js';
import { InMemoryVerdicts } from '../../shared/results/memory/inMemoryVerdicts.js';

/*
 * A fanned-out verdict and its remediation rows in memory, as the tests of the completion check use
 * them: `setUp` writes the verdict and one row a (rowKey, status) pair, and returns the dependencies
 * of the check, the messages it sent, and `setStatus` to move a row on.
 */

export const verdictId = '8000000000000-0123456789';
export const check = (round = 0): CompletionCheck => ({ kind: 'completionCheck', verdictId, round });

export function row(rowKey: string, status: RemediationStatus): RemediationRecord {
  return {
    verdictId,
    rowKey,
    recipient: rowKey,
    internetMessageId: '<m1@x>',
    action: 'softDelete',
    status,
    attempts: 1,
    updatedAt: '2026-11-30T08:00:00.000Z',
  };
}

export async function setUp(rows: [string, RemediationStatus][]) {
  const verdicts = new InMemoryVerdicts();
  const remediations = new InMemoryRemediationRows();
  const verdict: VerdictRecord = {
    verdictId,
    source: 'test',
    eventId: 'e1',
    verdict: 'malicious',
    status: 'fannedOut',
    recipients: rows.length,
    ...emptyCounts(),
    done: 0,
    receivedAt: '2026-11-30T08:00:00.000Z',
  };
  await verdicts.createVerdict(verdict);
  await remediations.createRemediations(rows.map(([k, s]) => row(k, s)));
  const sent: OutgoingMessage[] = [];
  const queue: QueueSender = {
    send: (_q, messages) => {
      sent.push(...messages);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  const deps: CompletionDeps = { verdicts, rows: remediations, queue, firstDelayMs: 1000, pageSize: 2 };
  const setStatus = async (rowKey: string, status: RemediationStatus) => {
    const current = await remediations.getRemediation(verdictId, rowKey);
    if (!current) throw new Error(`no row ${rowKey}`);
    await remediations.updateRemediation(verdictId, rowKey, { status }, current.etag);
  };
  return { verdicts, remediations, deps, sent, setStatus };
}
