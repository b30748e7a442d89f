import { ClawbackError } from '../../shared/errors.js';
import type {
  ActionOutcome,
  FindCriteria,
  FindResult,
  MailBackend,
  MailItem,
  PreviousRemediation,
  RecipientExpansion,
} from '../../shared/ports/mail.js';
import type { ActionName } from '../../shared/verdicts/schema.js';

const destinationOf: Partial<Record<ActionName, string>> = {
  moveToDeletedItems: 'deleteditems',
  moveToJunk: 'junkemail',
  softDelete: 'recoverableitemsdeletions',
  hardDelete: 'purges',
};

/**
 * A mail backend over in-memory mailboxes, for use-case tests that are about the state machine and
 * routing rather than a protocol. Scripted failures are consumed in order, per mailbox.
 */
export class InMemoryMailBackend implements MailBackend {
  readonly actions: { mailbox: string; action: ActionName; itemId: string }[] = [];
  readonly finds: string[] = [];
  /** A remark the backend adds to every action it takes (as Graph does about MIME imports). */
  actionNote: string | undefined;
  private readonly mailboxes = new Map<string, MailItem[]>();
  private readonly failures = new Map<string, ClawbackError[]>();
  private readonly groups = new Map<string, string[]>();
  private nextId = 1;

  constructor(readonly kind: 'graph' | 'ews' = 'graph') {}

  deliver(mailbox: string, internetMessageId: string, folderId = 'inbox'): this {
    const items = this.mailboxes.get(mailbox) ?? [];
    items.push({ id: `item-${this.nextId++}`, internetMessageId, folderId, folderName: folderId });
    this.mailboxes.set(mailbox, items);
    return this;
  }

  /** An address that is a group of these member mailboxes (and has no mailbox of its own). */
  group(address: string, members: string[]): this {
    this.groups.set(address, members);
    return this;
  }

  /** Makes the next calls for `mailbox` fail with these errors, one per call. */
  failNext(mailbox: string, ...errors: ClawbackError[]): this {
    this.failures.set(mailbox, [...(this.failures.get(mailbox) ?? []), ...errors]);
    return this;
  }

  items(mailbox: string): MailItem[] {
    return this.mailboxes.get(mailbox) ?? [];
  }

  private failure(mailbox: string): void {
    const error = this.failures.get(mailbox)?.shift();
    if (error) throw error;
  }

  findMessages(mailbox: string, criteria: FindCriteria): Promise<FindResult> {
    this.finds.push(mailbox);
    this.failure(mailbox);
    if (!this.mailboxes.has(mailbox))
      return Promise.reject(new ClawbackError('InvalidMailbox', `No mailbox ${mailbox}.`));
    const items = this.items(mailbox).filter(
      (i) =>
        i.internetMessageId === criteria.internetMessageId &&
        !['recoverableitemsdeletions', 'purges'].includes(i.folderId),
    );
    return Promise.resolve({ items: items.map((i) => ({ ...i })), usedFallback: false });
  }

  applyAction(mailbox: string, item: MailItem, action: ActionName): Promise<ActionOutcome> {
    this.failure(mailbox);
    const stored = this.items(mailbox).find((i) => i.id === item.id);
    if (!stored) return Promise.resolve({ status: 'alreadyRemediated', detail: 'gone' });
    if (action === 'none') return Promise.resolve({ status: 'succeeded', originalFolder: stored.folderId });
    const destination = destinationOf[action];
    if (!destination)
      return Promise.reject(new ClawbackError('ConfigurationError', `fake does not do ${action}`));
    this.actions.push({ mailbox, action, itemId: item.id });
    const originalFolder = stored.folderId;
    if (originalFolder === destination)
      return Promise.resolve({ status: 'alreadyRemediated', originalFolder });
    stored.folderId = destination;
    return Promise.resolve({ status: 'succeeded', originalFolder, detail: this.actionNote });
  }

  restoreMessage(
    mailbox: string,
    criteria: FindCriteria,
    previous: PreviousRemediation,
  ): Promise<ActionOutcome> {
    this.failure(mailbox);
    const items = this.items(mailbox).filter((i) => i.internetMessageId === criteria.internetMessageId);
    if (items.length === 0) return Promise.reject(new ClawbackError('MessageNotFound', 'nothing to restore'));
    const target = previous.originalFolder ?? 'inbox';
    const moved = items.filter((i) => i.folderId !== target);
    for (const item of moved) {
      this.actions.push({ mailbox, action: 'restore', itemId: item.id });
      item.folderId = target;
    }
    return Promise.resolve({
      status: moved.length > 0 ? 'succeeded' : 'alreadyRemediated',
      originalFolder: target,
    });
  }

  expandRecipient(address: string): Promise<RecipientExpansion> {
    const members = this.groups.get(address);
    return Promise.resolve(
      members ? { kind: 'group', displayName: address.split('@')[0], members } : { kind: 'mailbox' },
    );
  }
}
