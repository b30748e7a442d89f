import type { ConfigDocument } from '../config/document.js';
import type { ActionName, Mode, VerdictChange } from '../verdicts/schema.js';

/**
 * How far each action goes; the policy's action is the ceiling for a requested one. Forwarding sends
 * a copy to the configured SOC address and removes nothing, so it is judged apart (below).
 */
const severity: Partial<Record<ActionName, number>> = {
  none: 0,
  moveToJunk: 1,
  moveToDeletedItems: 2,
  quarantine: 3,
  softDelete: 4,
  hardDelete: 5,
};

export interface Decision {
  action: ActionName;
  mode: Mode;
  /** Why the requested action was not used, when it was not. */
  note?: string;
}

/**
 * Policy picks the action and mode for the verdict; without a policy for it Clawback only finds and
 * reports (`none`). A requested action is honoured when the policy allows it: the same action, or a
 * milder one on the removal scale. `forward` is honoured for a removing policy when a `forwardTo`
 * address is configured (the address never comes from the request); `forwardAndDelete` also needs
 * the policy to allow at least `softDelete`, which is how the original is removed.
 */
export function decideAction(
  config: ConfigDocument,
  change: Pick<VerdictChange, 'verdict' | 'action'>,
): Decision {
  const policy = config.policies.find((p) => p.verdict === change.verdict);
  const mode = policy?.mode ?? config.settings.mode;
  const allowed = policy?.action ?? 'none';
  const requested = change.action;
  if (requested === undefined || requested === allowed) return { action: allowed, mode };
  const r = severity[requested];
  const a = severity[allowed];
  if (r !== undefined && a !== undefined && r <= a) return { action: requested, mode };
  const removing = a !== undefined && a > 0;
  if (requested === 'forward' && config.forwardTo && removing) return { action: requested, mode };
  if (
    requested === 'forwardAndDelete' &&
    config.forwardTo &&
    a !== undefined &&
    a >= (severity.softDelete ?? 0)
  )
    return { action: requested, mode };
  return {
    action: allowed,
    mode,
    note: `requested action "${requested}" is not allowed by policy; "${allowed}" applied`,
  };
}
