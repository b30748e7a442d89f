import { emptyCounts, type VerdictRecord } from '../ports/results.js';
import type { ActionName, Mode, VerdictChange } from './schema.js';

/** The `Verdicts` row of a just-accepted verdict change: nothing counted yet. */
export function acceptedVerdictRecord(
  verdictId: string,
  change: VerdictChange,
  receivedAt: string,
  decision: { action?: ActionName | undefined; mode?: Mode | undefined } = {},
): VerdictRecord {
  return {
    verdictId,
    source: change.source,
    eventId: change.eventId,
    verdict: change.verdict,
    previousVerdict: change.previousVerdict,
    sha256: change.threat.sha256,
    filename: change.threat.filename,
    url: change.threat.url,
    action: decision.action ?? change.action,
    mode: decision.mode,
    status: 'accepted',
    recipients: 0,
    ...emptyCounts(),
    done: 0,
    receivedAt,
  };
}
