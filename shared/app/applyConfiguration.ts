import { auditAfter } from '../audit/events.js';
import { isConfigVersionConflict } from '../config/conflict.js';
import { type ConfigDocument, type ConfigProblem, validateConfigDocument } from '../config/document.js';
import { configVersion } from '../config/tableConfigStore.js';
import type { AuditLog } from '../ports/audit.js';
import type { ConfigStore } from '../ports/config.js';

/** `If-Match` as RFC 9110 §13.1.1 reads it: any current document (`*`) or one of these versions. */
export type VersionCondition = '*' | string[] | undefined;

export type ApplyConfigurationResult =
  | { kind: 'invalid'; problems: ConfigProblem[] }
  | { kind: 'conflict'; currentVersion: string | undefined }
  | {
      kind: 'planned' | 'applied';
      version: string;
      previousVersion: string | undefined;
      changed: boolean;
      document: ConfigDocument;
    };

/**
 * The versions an `If-Match` header accepts: `*` (any current document), or a list of entity tags,
 * strong or weak (`"abc"`, `W/"abc"`, bare `abc` too).
 */
export function parseIfMatch(header: string | null | undefined): VersionCondition {
  const value = header?.trim();
  if (!value) return undefined;
  if (value === '*') return '*';
  return value
    .split(',')
    .map((tag) =>
      tag
        .trim()
        .replace(/^W\//, '')
        .replace(/^"(.*)"$/, '$1'),
    )
    .filter((tag) => tag !== '');
}

export function conflictMessage(currentVersion: string | undefined): string {
  return currentVersion === undefined
    ? 'No configuration has been applied yet, so If-Match cannot match; apply without If-Match.'
    : `The configuration is now at version ${currentVersion}; someone applied a change meanwhile. Reload it, merge, and apply again.`;
}

/** The version to apply against (none: unconditional), or a failed precondition. */
function precondition(
  condition: VersionCondition,
  current: string | undefined,
): { ok: true; expected: string | undefined } | { ok: false } {
  if (condition === undefined) return { ok: true, expected: undefined };
  if (current !== undefined && (condition === '*' || condition.includes(current)))
    return { ok: true, expected: current };
  return { ok: false };
}

/**
 * Validates a whole configuration document and applies it, or only plans it (`dryRun`). The same
 * document always gets the same version; a failed `If-Match` or a concurrent change applies nothing.
 */
export async function applyConfiguration(
  input: { body: unknown; condition: VersionCondition; dryRun: boolean },
  deps: {
    configStore: ConfigStore;
    runtime: 'azure' | 'local';
    /** Issue 13: a changed document is audited as applied by `who`; a failed audit write only warns. */
    audit?: { log: AuditLog | undefined; who: string; warn: (line: string) => void };
  },
): Promise<ApplyConfigurationResult> {
  const validation = validateConfigDocument(input.body, { runtime: deps.runtime });
  if (!validation.ok) return { kind: 'invalid', problems: validation.problems };
  const document = validation.document;
  const current = await deps.configStore.get();
  const checked = precondition(input.condition, current?.version);
  if (!checked.ok) return { kind: 'conflict', currentVersion: current?.version };
  const previousVersion = current?.version;
  if (input.dryRun) {
    const version = configVersion(document);
    return { kind: 'planned', version, previousVersion, changed: previousVersion !== version, document };
  }
  try {
    const version = await deps.configStore.put(document, checked.expected);
    const changed = previousVersion !== version;
    if (changed && deps.audit)
      await auditAfter(
        deps.audit.log,
        [
          {
            who: deps.audit.who,
            what: 'configurationApplied',
            detail: `configuration version ${version} applied (was ${previousVersion ?? 'none'})`,
          },
        ],
        deps.audit.warn,
      );
    return { kind: 'applied', version, previousVersion, changed, document };
  } catch (error) {
    if (isConfigVersionConflict(error)) return { kind: 'conflict', currentVersion: error.currentVersion };
    throw error;
  }
}
