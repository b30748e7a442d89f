import { type GraphRequest, ResponseType } from '@microsoft/microsoft-graph-client';

import type { GraphProfile } from '../../config/document.js';
import { ClawbackError, isClawbackError } from '../../errors.js';
import type {
  ActionOptions,
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
import { act, pendingFolder, perCopyActions, withFolderLabel } from './actions.js';
import { GraphClient, type GraphMailBackendDeps, type GraphPage } from './client.js';
import type { GraphContext } from './context.js';
import type { GraphEndpoints } from './credentials.js';
import { findDerivedGraphMessages } from './derived.js';
import { GraphFolders } from './folders.js';
import { graphMailboxConcurrency } from './mailboxLimiter.js';
import { fallbackFilter, groupByMailQuery, messageIdFilter, userPath } from './odata.js';
import { mapConcurrently } from './parallel.js';
import { restoreMessage as restoreRecorded } from './restore.js';
import { fallbackCriteria, search, usableMessageId } from './search.js';

export type { GraphMailBackendDeps } from './client.js';
export { forwardMarker } from './forward.js';

export function createGraphMailBackend(profile: GraphProfile, deps: GraphMailBackendDeps): GraphMailBackend {
  return new GraphMailBackend(profile, deps);
}

/**
 * Exchange Online through Microsoft Graph v1.0 with app-only certificate credentials: a thin shell over
 * the request plumbing (client.ts), the folder cache (folders.ts), search, actions, forwards,
 * quarantine and restore, each in its own module.
 */
export class GraphMailBackend implements MailBackend {
  readonly kind = 'graph' as const;
  readonly endpoints: GraphEndpoints;
  private readonly ctx: GraphContext;

  constructor(
    private readonly profile: GraphProfile,
    private readonly deps: GraphMailBackendDeps,
  ) {
    const client = new GraphClient(profile, deps);
    this.endpoints = client.endpoints;
    this.ctx = { profile, deps, client, folders: new GraphFolders(client) };
  }

  async findMessages(mailbox: string, criteria: FindCriteria, options?: CallOptions): Promise<FindResult> {
    const messageId = usableMessageId(criteria.internetMessageId);
    if (messageId !== undefined) {
      const items = await search(this.ctx, mailbox, messageIdFilter(messageId), options);
      if (items.length > 0 || !this.profile.fallbackSearch) return { items, usedFallback: false };
    }
    const fallback = fallbackCriteria(criteria);
    if (!this.profile.fallbackSearch || fallback === undefined) return { items: [], usedFallback: false };
    const items = await search(this.ctx, mailbox, fallbackFilter(fallback), options);
    if (items.length > 0)
      this.deps.log?.(
        `graph ${this.profile.name}: ${mailbox}: found ${items.length} copies by sender, subject and time`,
      );
    return { items, usedFallback: true };
  }
  /** Forwards and replies of a copy in the mailbox's Sent Items (see derived.ts). */
  findDerivedMessages(
    mailbox: string,
    original: DerivedSearch,
    options?: CallOptions,
  ): Promise<DerivedMessage[]> {
    return findDerivedGraphMessages(
      (path, isNextLink) =>
        this.ctx.client.call(
          'forward search',
          mailbox,
          isNextLink ? '/' : path,
          options,
          (r) => r.get() as Promise<never>,
          isNextLink ? { url: path } : {},
        ),
      // An item attachment's $value is MIME, not JSON: read as text whatever its Content-Type.
      (path) =>
        this.ctx.client.call(
          'forward search',
          mailbox,
          path,
          options,
          (r) => r.responseType(ResponseType.TEXT).get() as Promise<string>,
        ),
      mailbox,
      original,
    );
  }

  async testConnection(mailbox: string, options?: CallOptions): Promise<ConnectionCheck> {
    const root = await this.ctx.client.call<{ id: string; displayName?: string }>(
      'connection test',
      mailbox,
      `${userPath(mailbox)}/mailFolders/msgfolderroot`,
      options,
      (request) => request.get() as Promise<{ id: string; displayName?: string }>,
    );
    return { rootFolderId: root.id, rootFolderName: root.displayName };
  }

  async applyAction(
    mailbox: string,
    item: MailItem,
    action: ActionName,
    options?: ActionOptions,
  ): Promise<ActionOutcome> {
    if (action === 'restore')
      throw new ClawbackError(
        'ConfigurationError',
        'Restore puts copies back from what their remediation recorded; it goes through restoreMessage, not applyAction.',
      );
    // The copy's folder is named in the same round trip as the action, not in one before it.
    const naming = this.ctx.folders.nameFolderOf(mailbox, item, options);
    const outcome = await act(this.ctx, mailbox, item, action, pendingFolder, options).catch(
      async (error) => {
        await naming.catch(() => undefined);
        throw error;
      },
    );
    await naming;
    return withFolderLabel(outcome, this.ctx.folders.folderLabelOf(mailbox, item));
  }

  /**
   * A mailbox's copies, four at a time (the per-mailbox limit, so no slot sits idle and none is
   * exceeded); a folder is named once, by the first copy found in it, alongside that copy's action.
   * Forwards and central-mailbox quarantine check what an earlier copy already did, so their copies
   * go one after another.
   */
  applyActions(
    mailbox: string,
    items: MailItem[],
    action: ActionName,
    options?: ActionOptions,
  ): Promise<ActionOutcome[]> {
    const independent =
      perCopyActions.has(action) && !(action === 'quarantine' && this.profile.quarantineTarget === 'mailbox');
    return mapConcurrently(items, independent ? graphMailboxConcurrency : 1, (item) =>
      this.applyAction(mailbox, item, action, options),
    );
  }

  /** See restore.ts: puts the copies an earlier remediation moved back where its row recorded. */
  restoreMessage(
    mailbox: string,
    criteria: FindCriteria,
    previous: PreviousRemediation,
    options?: CallOptions,
  ): Promise<ActionOutcome> {
    return restoreRecorded(this.ctx, mailbox, criteria, previous, options);
  }

  /**
   * A group or distribution list comes back with its member mailboxes (nested groups flattened by
   * transitiveMembers, every page read); anything else counts as a mailbox, and the search then tells
   * whether it is one.
   */
  async expandRecipient(address: string, options?: CallOptions): Promise<RecipientExpansion> {
    const who = address.trim().toLowerCase();
    try {
      await this.ctx.client.call(
        'recipient lookup',
        who,
        `/users/${encodeURIComponent(who)}?$select=id`,
        options,
        (r) => r.get() as Promise<unknown>,
      );
      return { kind: 'mailbox' };
    } catch (error) {
      if (!isClawbackError(error) || error.code !== 'InvalidMailbox') throw error;
    }
    const groups = await this.ctx.client.call<GraphPage<{ id: string; displayName?: string }>>(
      'group lookup',
      who,
      `/groups?${groupByMailQuery(who)}`,
      options,
      (r) => r.get() as Promise<GraphPage<{ id: string; displayName?: string }>>,
    );
    const group = groups.value?.[0];
    if (group === undefined) return { kind: 'mailbox' };
    // The OData cast is an advanced directory query: it needs ConsistencyLevel: eventual and $count.
    const eventual = (r: GraphRequest) => r.header('ConsistencyLevel', 'eventual');
    const first = await this.ctx.client.call<GraphPage<{ mail?: string | null }>>(
      'group expansion',
      who,
      `/groups/${encodeURIComponent(group.id)}/transitiveMembers/microsoft.graph.user?$select=mail,userPrincipalName&$top=999&$count=true`,
      options,
      (r) => eventual(r).get() as Promise<GraphPage<{ mail?: string | null }>>,
    );
    const users = await this.ctx.client.pages('group expansion', who, first, options, eventual);
    const members = new Set<string>();
    let withoutMail = 0;
    for (const user of users) {
      const mail = user.mail?.trim().toLowerCase();
      if (mail) members.add(mail);
      else withoutMail += 1;
    }
    this.deps.log?.(
      `graph ${this.profile.name}: group ${who}${group.displayName ? ` (${group.displayName})` : ''} expanded to ${members.size} member mailboxes${withoutMail > 0 ? `; ${withoutMail} members without a mail address were skipped` : ''}`,
    );
    return { kind: 'group', displayName: group.displayName, members: [...members] };
  }
}
