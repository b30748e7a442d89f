import { MailboxType, WellKnownFolderName } from 'ews-javascript-api';

import type { EwsProfile } from '../../config/document.js';
import { ClawbackError, isClawbackError } from '../../errors.js';
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
} from '../../ports/mail.js';
import type { ActionName } from '../../verdicts/schema.js';
import { EwsActions } from './actions.js';
import { type EwsBackendDeps, EwsClient } from './client.js';
import { type EwsSentItems, ewsSentItems, findDerivedEwsMessages } from './derived.js';
import { EwsFolders } from './folders.js';
import { EwsItems } from './items.js';
import { EwsQuarantine } from './quarantine.js';
import { EwsSearch } from './search.js';
import { escapeXml } from './xml.js';

export type { EwsBackendDeps } from './client.js';

const groupTypes = new Set([MailboxType.PublicGroup, MailboxType.ContactGroup]);
const mailboxTypes = new Set([MailboxType.Mailbox, MailboxType.GroupMailbox, MailboxType.Unknown]);

/** The mail backend for Exchange on-premises over EWS: client, folders, search, actions and quarantine. */
export class EwsMailBackend implements MailBackend {
  readonly kind = 'ews' as const;
  private readonly client: EwsClient;
  private readonly search: EwsSearch;
  private readonly actions: EwsActions;
  private readonly sentItems: EwsSentItems;

  constructor(profile: EwsProfile, deps: EwsBackendDeps) {
    this.client = new EwsClient(profile, deps);
    const folders = new EwsFolders(this.client);
    const items = new EwsItems(this.client);
    this.search = new EwsSearch(this.client, folders);
    this.actions = new EwsActions(this.client, items, new EwsQuarantine(this.client, folders, items));
    this.sentItems = ewsSentItems(this.client, items);
  }

  /** Issue 13: forwards and replies of a copy in the mailbox's Sent Items (see derived.ts). */
  findDerivedMessages(
    mailbox: string,
    original: DerivedSearch,
    options?: CallOptions,
  ): Promise<DerivedMessage[]> {
    return findDerivedEwsMessages(this.sentItems, mailbox, original, options);
  }

  /** `dumpsters`: search Recoverable Items (the archive's too) whatever the profile says, as a restore must. */
  findMessages(
    mailbox: string,
    criteria: FindCriteria,
    options?: CallOptions & { dumpsters?: boolean | undefined },
  ): Promise<FindResult> {
    return this.search.findMessages(mailbox, criteria, options);
  }

  applyAction(
    mailbox: string,
    item: MailItem,
    action: ActionName,
    options?: CallOptions,
  ): Promise<ActionOutcome> {
    return this.actions.applyAction(mailbox, item, action, options);
  }

  /** Members (lower-case SMTP addresses) of a distribution list, nested lists expanded, cycle-safe. */
  async expandDistributionList(address: string, options?: CallOptions): Promise<string[]> {
    const { client } = this;
    const session = client.open(undefined, await client.credentials(options));
    const seen = new Set<string>([address.toLowerCase()]);
    const queue = [address];
    const members = new Set<string>();
    for (let list = queue.shift(); list !== undefined; list = queue.shift()) {
      const current = list;
      const expansion = await client.call(
        session,
        { operation: `ExpandDL (${current})` },
        () => session.svc.ExpandGroup(escapeXml(current)),
        options,
      );
      if (!expansion.IncludesAllMembers)
        client.log(`ews ExpandDL on ${client.host}: ${current} returned only part of its members`);
      for (const member of expansion.Members) {
        const smtp = member.Address?.toLowerCase();
        if (!smtp) continue;
        if (groupTypes.has(member.MailboxType)) {
          if (!seen.has(smtp)) {
            seen.add(smtp);
            queue.push(member.Address);
          }
        } else if (mailboxTypes.has(member.MailboxType)) {
          members.add(smtp);
        }
      }
    }
    return [...members];
  }

  async testConnection(mailbox: string, options?: CallOptions): Promise<ConnectionCheck> {
    const { client } = this;
    const session = client.open(mailbox, await client.credentials(options));
    return {
      rootFolderId: await client.wellKnownId(session, WellKnownFolderName.MsgFolderRoot, options),
      rootFolderName: 'Top of Information Store',
    };
  }

  /**
   * Each copy found is moved back to the folder stamped on it when it was moved; copies already
   * there count as alreadyRemediated. Soft-deleted copies are looked for in Recoverable Items, and
   * with `searchArchive` in the archive's Recoverable Items too.
   */
  async restoreMessage(
    mailbox: string,
    criteria: FindCriteria,
    _previous: PreviousRemediation,
    options?: CallOptions,
  ): Promise<ActionOutcome> {
    const found = await this.findMessages(
      mailbox,
      { internetMessageId: criteria.internetMessageId },
      { ...options, dumpsters: true },
    );
    if (found.items.length === 0)
      throw new ClawbackError(
        'MessageNotFound',
        `No copy of ${criteria.internetMessageId} is left in ${mailbox} or its quarantine to restore.`,
      );
    const outcomes: ActionOutcome[] = [];
    for (const item of found.items) outcomes.push(await this.applyAction(mailbox, item, 'restore', options));
    const restored = outcomes.filter((o) => o.status === 'succeeded');
    return {
      status: restored.length > 0 ? 'succeeded' : 'alreadyRemediated',
      originalFolder: restored[0]?.originalFolder ?? outcomes[0]?.originalFolder,
      detail:
        restored.length > 0
          ? `Moved ${restored.length} ${restored.length === 1 ? 'copy' : 'copies'} back.`
          : 'Every copy was already in its original folder.',
    };
  }

  /** A distribution list (ExpandDL answers with members) or, for anything else, a mailbox. */
  async expandRecipient(address: string, options?: CallOptions): Promise<RecipientExpansion> {
    try {
      const members = await this.expandDistributionList(address, options);
      return members.length > 0 ? { kind: 'group', members } : { kind: 'mailbox' };
    } catch (error) {
      if (
        isClawbackError(error) &&
        (error.code === 'InvalidMailbox' || error.code === 'MessageNotFound' || error.code === 'Unknown')
      )
        return { kind: 'mailbox' };
      throw error;
    }
  }
}

export function createEwsMailBackend(profile: EwsProfile, deps: EwsBackendDeps): EwsMailBackend {
  return new EwsMailBackend(profile, deps);
}
