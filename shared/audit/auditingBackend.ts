import { toClawbackError } from '../errors.js';
import type { AuditEntry, AuditLog } from '../ports/audit.js';
import type {
  ActionOutcome,
  CallOptions,
  FindCriteria,
  MailBackend,
  MailItem,
  PreviousRemediation,
} from '../ports/mail.js';
import type { ActionName } from '../verdicts/schema.js';

export interface AuditingOptions {
  now?: () => Date;
  log?: (line: string) => void;
}

/**
 * A MailBackend that writes one audit row per mailbox action (applied, already done, or failed),
 * so the remediation flow itself knows nothing of auditing. Searches are not state changes and
 * pass through. A failing audit write is logged, never turned into a failed remediation: the
 * mailbox has already changed by then.
 */
export function auditingBackend(
  inner: MailBackend,
  audit: AuditLog,
  options: AuditingOptions = {},
): MailBackend {
  const now = options.now ?? (() => new Date());
  const record = (mailbox: string, detail: string, callOptions?: CallOptions): Promise<void> => {
    const write = append(mailbox, detail, callOptions);
    const deferred = callOptions?.audit?.writes;
    if (!deferred) return write;
    deferred.push(write);
    return Promise.resolve();
  };
  const append = async (mailbox: string, detail: string, callOptions?: CallOptions) => {
    // Carried by the call (the remediation passes it with every mailbox call), not by ambient state.
    const scope = callOptions?.audit;
    const entry: AuditEntry = {
      who: scope?.who ?? 'clawback',
      what: 'mailboxAction',
      verdictId: scope?.verdictId,
      mailbox,
      detail,
      at: now(),
    };
    try {
      await audit.append(entry, callOptions);
    } catch (error) {
      options.log?.(
        `audit row not written (${toClawbackError(error).code}): mailboxAction ${mailbox} ${detail}`,
      );
    }
  };
  const audited = async (
    mailbox: string,
    what: string,
    run: () => Promise<ActionOutcome>,
    callOptions?: CallOptions,
  ): Promise<ActionOutcome> => {
    try {
      const outcome = await run();
      await record(mailbox, describe(what, outcome), callOptions);
      return outcome;
    } catch (error) {
      await record(mailbox, `${what}: failed (${toClawbackError(error).code})`, callOptions);
      throw error;
    }
  };
  const describe = (what: string, outcome: ActionOutcome) => {
    const where = outcome.originalFolder ? ` from ${outcome.originalFolder}` : '';
    const to = outcome.quarantineLocation ? ` to ${outcome.quarantineLocation}` : '';
    return `${what}${where}${to}: ${outcome.status}`;
  };
  const wrapped: MailBackend = {
    kind: inner.kind,
    findMessages: (mailbox, criteria, o) => inner.findMessages(mailbox, criteria, o),
    applyAction: (mailbox: string, item: MailItem, action: ActionName, o?: CallOptions) =>
      action === 'none'
        ? inner.applyAction(mailbox, item, action, o)
        : audited(
            mailbox,
            `${action} ${item.internetMessageId}`,
            () => inner.applyAction(mailbox, item, action, o),
            o,
          ),
  };
  const applyActions = inner.applyActions?.bind(inner);
  if (applyActions)
    wrapped.applyActions = async (mailbox, items, action, o) => {
      if (action === 'none') return applyActions(mailbox, items, action, o);
      let outcomes: ActionOutcome[];
      try {
        outcomes = await applyActions(mailbox, items, action, o);
      } catch (error) {
        // The backend does not say which copies it changed before the failure.
        const what = `${action} of ${items.length} ${items.length === 1 ? 'copy' : 'copies'}`;
        await record(mailbox, `${what}: failed (${toClawbackError(error).code})`, o);
        throw error;
      }
      // One row per copy, written together (the audit log commits concurrent rows in one transaction).
      await Promise.all(
        outcomes.map((outcome, i) =>
          record(mailbox, describe(`${action} ${items[i]?.internetMessageId ?? ''}`, outcome), o),
        ),
      );
      return outcomes;
    };
  if (inner.testConnection) wrapped.testConnection = inner.testConnection.bind(inner);
  if (inner.expandRecipient) wrapped.expandRecipient = inner.expandRecipient.bind(inner);
  if (inner.findDerivedMessages) wrapped.findDerivedMessages = inner.findDerivedMessages.bind(inner);
  const restore = inner.restoreMessage?.bind(inner);
  if (restore)
    wrapped.restoreMessage = (
      mailbox: string,
      criteria: FindCriteria,
      previous: PreviousRemediation,
      o?: CallOptions,
    ) =>
      audited(
        mailbox,
        `restore ${criteria.internetMessageId} (undoing ${previous.action})`,
        () => restore(mailbox, criteria, previous, o),
        o,
      );
  return wrapped;
}

/** Wraps every backend a factory hands out, once per backend, so caches behind it stay shared. */
export function auditingFactory<A extends unknown[]>(
  factory: (...args: A) => MailBackend,
  audit: AuditLog,
  options: AuditingOptions = {},
): (...args: A) => MailBackend {
  const wrapped = new WeakMap<MailBackend, MailBackend>();
  return (...args: A) => {
    const inner = factory(...args);
    let outer = wrapped.get(inner);
    if (!outer) {
      outer = auditingBackend(inner, audit, options);
      wrapped.set(inner, outer);
    }
    return outer;
  };
}
