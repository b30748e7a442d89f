import { toClawbackError } from '../errors.js';
import type { AuditEntry, AuditLog } from '../ports/audit.js';

/**
 * Appends rows for a step whose effect already happened (a verdict durably queued, a configuration
 * stored): a failing audit write is reported through `warn` and does not undo or fail that step.
 */
export async function auditAfter(
  audit: AuditLog | undefined,
  entries: Omit<AuditEntry, 'at'>[],
  warn: (line: string) => void,
  now: () => Date = () => new Date(),
): Promise<void> {
  if (!audit) return;
  // Issued together, so the table's group commit writes them in one transaction.
  await Promise.all(
    entries.map((entry) =>
      audit.append({ ...entry, at: now() }).catch((error: unknown) => {
        warn(
          `audit row not written (${toClawbackError(error).code}): ${entry.what} ${entry.verdictId ?? ''}`,
        );
      }),
    ),
  );
}
