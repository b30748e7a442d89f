import type { ActionName } from '../verdicts/schema.js';

/** Everything an adapter call accepts besides its arguments. */
export interface CallOptions {
  abortSignal?: AbortSignal;
  /** Whose work the call is part of: the audit trail's row for a mailbox action names it (SPEC §5). */
  audit?: AuditScope | undefined;
}

/** Who a mailbox action is done for, and under which verdict. */
export interface AuditScope {
  who: string;
  verdictId?: string | undefined;
  /**
   * When given, the auditing backend adds its row writes here instead of waiting for them, and the
   * caller waits for them before it records the outcome: the audit row still lands before the row
   * turns terminal, but alongside the restore record instead of ahead of it.
   */
  writes?: Promise<void>[] | undefined;
}

/** One delivered copy of a message in a mailbox. */
export interface MailItem {
  /** Backend item id (Graph message id / EWS ItemId). */
  id: string;
  internetMessageId: string;
  /** Backend id of the folder the copy is in. */
  folderId: string;
  /** Well-known name or display name of that folder, for the operator. */
  folderName?: string | undefined;
  isRead?: boolean | undefined;
  /** When the copy reached the mailbox (Graph `receivedDateTime`, EWS `DateTimeReceived`). */
  deliveredAt?: string | undefined;
}

/** How to find the copies: by message id, or (fallback) by sender + subject + received time. */
export interface FindCriteria {
  internetMessageId: string;
  sender?: string | undefined;
  subject?: string | undefined;
  receivedAt?: string | undefined;
}

export interface FindResult {
  items: MailItem[];
  /** True when the copies were found by the sender/subject/time fallback rather than the message id. */
  usedFallback: boolean;
}

export interface ActionOutcome {
  status: 'succeeded' | 'alreadyRemediated';
  /** A restore that put back only some copies: which ones stayed where they were, and why. */
  notRestored?: string | undefined;
  /** The folder the copy was in before the action, recorded for `restore`. */
  originalFolder?: string | undefined;
  /** Where the copy now is (quarantine folder, central mailbox folder), recorded for `restore`. */
  quarantineLocation?: string | undefined;
  detail?: string | undefined;
}

/**
 * Names one row's effect in the mailbox (the forward it sends, the copy it imports), so that a later
 * attempt finds what an earlier one did instead of doing it again. `recovering` is set when an earlier
 * attempt recorded its intent: only then is the search worth its round trip.
 */
export interface EffectMarker {
  key: string;
  recovering: boolean;
}

export interface ActionOptions extends CallOptions {
  effect?: EffectMarker;
}

/** What a successful connection test reached: the mailbox's root folder (Top of Information Store). */
export interface ConnectionCheck {
  rootFolderId: string;
  rootFolderName?: string | undefined;
}

/**
 * The port every mail backend (Graph, EWS) implements. Adapters throw only `ClawbackError`, whose
 * `code` is the SPEC reason and whose `retryable` decides whether the remediation is retried.
 */
export interface MailBackend {
  readonly kind: 'graph' | 'ews';
  findMessages(mailbox: string, criteria: FindCriteria, options?: CallOptions): Promise<FindResult>;
  applyAction(
    mailbox: string,
    item: MailItem,
    action: ActionName,
    options?: ActionOptions,
  ): Promise<ActionOutcome>;
  /**
   * Applies `action` to several copies in one mailbox as fast as the backend's per-mailbox limit allows
   * (Graph: four requests at once), outcomes in the order of `items`. After a failure no further copy
   * is started; the copies in flight finish, then the first error is thrown. Optional: without it,
   * callers apply the copies one by one.
   */
  applyActions?(
    mailbox: string,
    items: MailItem[],
    action: ActionName,
    options?: ActionOptions,
  ): Promise<ActionOutcome[]>;
  /**
   * Acquires the credential, opens the mailbox and reads its root folder, failing with the same
   * ClawbackError a remediation would meet. Optional: without it, a test connection searches the mailbox.
   */
  testConnection?(mailbox: string, options?: CallOptions): Promise<ConnectionCheck>;
  /**
   * Puts back the copies an earlier remediation moved (`previous` is what its row recorded): from the
   * quarantine folder or mailbox, Deleted Items, Junk or Recoverable Items to `previous.originalFolder`.
   * A copy already back counts as alreadyRemediated; hard-deleted or forwarded copies are not the
   * backend's concern (the use case records them as notReversible before calling).
   */
  restoreMessage?(
    mailbox: string,
    criteria: FindCriteria,
    previous: PreviousRemediation,
    options?: CallOptions,
  ): Promise<ActionOutcome>;
  /**
   * Tells whether an address is a mailbox or a group / distribution list, and for a group lists the
   * member mailboxes (nested groups flattened, every page read).
   */
  expandRecipient?(address: string, options?: CallOptions): Promise<RecipientExpansion>;
  /**
   * The messages in the mailbox's Sent Items that forwarded or replied to `original` (its message id
   * in `References` / `In-Reply-To`, or an attachment with the same SHA-256), sent after it arrived.
   * At most `original.limit` messages.
   */
  findDerivedMessages?(
    mailbox: string,
    original: DerivedSearch,
    options?: CallOptions,
  ): Promise<DerivedMessage[]>;
}

/** What identifies a remediated copy's descendants in its recipient's Sent Items. */
export interface DerivedSearch {
  internetMessageId: string;
  /** Only messages sent after this were derived from the copy. */
  deliveredAt?: string | undefined;
  /** The threat's attachment hash, when the verdict names one. */
  sha256?: string | undefined;
  limit: number;
}

/** A forward or reply found in Sent Items, and everyone it went to. */
export interface DerivedMessage {
  internetMessageId: string;
  sentAt?: string | undefined;
  /** To, Cc and Bcc, lower case. */
  recipients: string[];
  matchedBy: 'references' | 'attachment';
}

/** What an earlier, reversible remediation of the same copy recorded. */
export interface PreviousRemediation {
  action: ActionName;
  originalFolder?: string | undefined;
  quarantineLocation?: string | undefined;
}

export type RecipientExpansion =
  { kind: 'mailbox' } | { kind: 'group'; displayName?: string | undefined; members: string[] };
