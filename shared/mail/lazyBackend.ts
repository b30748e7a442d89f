import type {
  ActionOutcome,
  CallOptions,
  ConnectionCheck,
  DerivedMessage,
  DerivedSearch,
  FindCriteria,
  FindResult,
  MailBackend,
  MailItem,
  PreviousRemediation,
  RecipientExpansion,
} from '../ports/mail.js';
import type { ActionName } from '../verdicts/schema.js';

/**
 * A backend whose module (the Graph SDK and identity, or the EWS client with its date library) loads on
 * the first call, so a function that never reaches a mailbox never loads either. Every method the
 * real backend has is forwarded; `applyActions` only where `parallel` says the backend has it.
 */
export function lazyBackend(
  kind: MailBackend['kind'],
  load: () => Promise<MailBackend>,
  parallel: boolean,
): MailBackend {
  let loaded: Promise<MailBackend> | undefined;
  const get = (): Promise<MailBackend> => {
    if (loaded === undefined) {
      const attempt = load();
      loaded = attempt;
      attempt.catch(() => {
        if (loaded === attempt) loaded = undefined;
      });
    }
    return loaded;
  };
  const missing = (method: string): never => {
    throw new Error(`The ${kind} backend has no ${method}.`);
  };
  const backend: MailBackend = {
    kind,
    findMessages: async (
      mailbox: string,
      criteria: FindCriteria,
      options?: CallOptions,
    ): Promise<FindResult> => (await get()).findMessages(mailbox, criteria, options),
    applyAction: async (
      mailbox: string,
      item: MailItem,
      action: ActionName,
      options?: CallOptions,
    ): Promise<ActionOutcome> => (await get()).applyAction(mailbox, item, action, options),
    testConnection: async (mailbox: string, options?: CallOptions): Promise<ConnectionCheck> => {
      const real = await get();
      return real.testConnection ? real.testConnection(mailbox, options) : missing('testConnection');
    },
    restoreMessage: async (
      mailbox: string,
      criteria: FindCriteria,
      previous: PreviousRemediation,
      options?: CallOptions,
    ): Promise<ActionOutcome> => {
      const real = await get();
      return real.restoreMessage
        ? real.restoreMessage(mailbox, criteria, previous, options)
        : missing('restoreMessage');
    },
    expandRecipient: async (address: string, options?: CallOptions): Promise<RecipientExpansion> => {
      const real = await get();
      return real.expandRecipient ? real.expandRecipient(address, options) : missing('expandRecipient');
    },
    findDerivedMessages: async (
      mailbox: string,
      original: DerivedSearch,
      options?: CallOptions,
    ): Promise<DerivedMessage[]> => {
      const real = await get();
      return real.findDerivedMessages
        ? real.findDerivedMessages(mailbox, original, options)
        : missing('findDerivedMessages');
    },
  };
  if (parallel)
    backend.applyActions = async (mailbox, items, action, options) => {
      const real = await get();
      if (real.applyActions) return real.applyActions(mailbox, items, action, options);
      const outcomes: ActionOutcome[] = [];
      for (const item of items) outcomes.push(await real.applyAction(mailbox, item, action, options));
      return outcomes;
    };
  return backend;
}
