import type { RemediationRecord, VerdictRecord } from '../ports/results.js';

/** A verdict held by the approval gate, and what its simulation would change. */
export interface WaitingApproval {
  verdictId: string;
  source: string;
  action?: string | undefined;
  receivedAt: string;
  recipients: number;
  simulatedByAction: Record<string, number>;
  simulatedByFolder: Record<string, number>;
}

export function waitingApprovals(
  verdicts: readonly VerdictRecord[],
  rowsByVerdict: ReadonlyMap<string, readonly RemediationRecord[]>,
): WaitingApproval[] {
  return verdicts
    .filter((v) => v.status === 'awaitingApproval')
    .map((v) => {
      const byAction: Record<string, number> = {};
      const byFolder: Record<string, number> = {};
      for (const row of rowsByVerdict.get(v.verdictId) ?? []) {
        if (row.status !== 'simulated') continue;
        byAction[row.action] = (byAction[row.action] ?? 0) + 1;
        for (const folder of (row.originalFolder ?? 'unknown').split('; '))
          byFolder[folder] = (byFolder[folder] ?? 0) + 1;
      }
      return {
        verdictId: v.verdictId,
        source: v.source,
        action: v.action,
        receivedAt: v.receivedAt,
        recipients: v.recipients,
        simulatedByAction: byAction,
        simulatedByFolder: byFolder,
      };
    });
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

const list = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

export function renderWaitingHtml(waiting: readonly WaitingApproval[]): string {
  if (waiting.length === 0) return '';
  const rows = waiting
    .map(
      (w) =>
        `<tr><td><code>${escapeHtml(w.verdictId)}</code></td><td>${escapeHtml(w.source)}</td><td class="n">${w.recipients}</td><td>${escapeHtml(list(w.simulatedByAction))}</td><td>${escapeHtml(list(w.simulatedByFolder))}</td></tr>`,
    )
    .join('');
  return `<section class="wide"><h2>Awaiting approval (${waiting.length})</h2><table><thead><tr><th>Verdict</th><th>Source</th><th>Recipients</th><th>Would apply</th><th>Found in</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}
