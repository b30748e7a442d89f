import { createHash } from 'node:crypto';
import type { Agent } from 'node:https';

import type { HttpClient } from '@azure/core-rest-pipeline';
import {
  Client,
  type GraphRequest,
  HTTPMessageHandler,
  ResponseType,
  RetryHandler,
  RetryHandlerOptions,
} from '@microsoft/microsoft-graph-client';

import type { GraphProfile, SecretRef } from '../../config/document.js';
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
import type { SecretSource } from '../../ports/secrets.js';
import { isCertificateCurrent, loadCertificate, type LoadedCertificate } from '../../secrets/certificate.js';
import type { ActionName } from '../../verdicts/schema.js';
import { type BatchRequest, type BatchResponse, type BatchResult, runBatch } from './batch.js';
import {
  getGraphTokenProvider,
  type GraphEndpoints,
  type GraphTokenProvider,
  resolveGraphEndpoints,
} from './credentials.js';
import { findDerivedGraphMessages } from './derived.js';
import { type GraphErrorContext, translateGraphError } from './errors.js';
import {
  folderDestinations,
  folderLabel,
  formatQuarantineLocation,
  parseQuarantineLocation,
  type QuarantineLocation,
} from './locations.js';
import { graphMailboxConcurrency, graphMailboxLimiter } from './mailboxLimiter.js';
import {
  BearerAuthMiddleware,
  GraphCallScope,
  MailboxLimitMiddleware,
  TimeoutMiddleware,
} from './middleware.js';
import {
  childFolderQuery,
  type FallbackCriteria,
  fallbackFilter,
  groupByMailQuery,
  messageIdFilter,
  messageSearchQuery,
  messageSelect,
  userPath,
} from './odata.js';
import { mapConcurrently } from './parallel.js';
import { agentTrusting, identityClientTrusting, TrustedCaFetchHandler } from './trustedCa.js';

export interface GraphMailBackendDeps {
  secrets: SecretSource;
  /** Reaches a fake or sandbox token endpoint; production leaves it unset. */
  identityHttpClient?: HttpClient | undefined;
  /** settings.graphTimeoutSeconds: the bound on each Graph attempt and on each token request. */
  timeoutSeconds: number;
  /** settings.maxAttempts: 429/503/504 are retried in process (batch items too) up to this many attempts in all. */
  maxAttempts: number;
  /** The configured forward address; never one from a request. */
  forwardTo?: string | undefined;
  log?: (line: string) => void;
}

interface GraphMessage {
  id: string;
  internetMessageId?: string;
  receivedDateTime?: string;
  parentFolderId: string;
  isRead?: boolean;
  isDraft?: boolean;
  categories?: string[];
}

interface GraphPage<T> {
  value?: T[];
  '@odata.nextLink'?: string;
}

interface FolderEntry {
  promise: Promise<string>;
  id: string | undefined;
}

interface FolderInfo {
  name: string;
  wellKnown: boolean;
}

/** What the backend knows about one mailbox's folders; filled as it goes, never invalidated. */
interface MailboxFolders {
  wellKnown: Map<string, FolderEntry>;
  /** How rows name a folder id: its well-known name, or its display name. */
  byId: Map<string, FolderInfo>;
  /** Folders Clawback finds or creates (quarantine folders), by `parentId/lower-case name`. */
  own: Map<string, FolderEntry>;
  /** Display-name lookups in flight, by folder id, so concurrent actions share one. */
  naming: Map<string, Promise<void>>;
}

interface MoveRequest {
  id: string;
  destination: string;
}

/** Back-off when Graph sends no Retry-After, in seconds (the SDK grows it exponentially). */
const retryDelaySeconds = 3;
/** 1,000 pages of 100 is far beyond any real number of copies; a server looping its links stops here. */
const maxPages = 1000;
const folderCacheMailboxes = 10_000;
const recoverableItems = 'recoverableitemsdeletions';
const destinations = { moveToDeletedItems: 'deleteditems', moveToJunk: 'junkemail' } as const;
/** Where each reversible action put the copies, for restore. */
const restoreSources: Partial<Record<ActionName, string>> = {
  moveToDeletedItems: 'deleteditems',
  moveToJunk: 'junkemail',
  softDelete: recoverableItems,
};
/** Actions whose effect on one copy does not depend on what was done to another copy. */
const perCopyActions: ReadonlySet<ActionName> = new Set([
  'none',
  'softDelete',
  'hardDelete',
  'moveToDeletedItems',
  'moveToJunk',
  'quarantine',
]);
const quarantineCopySelect = 'id,internetMessageId,parentFolderId,isRead,categories';
const draftNote = 'Exchange stores a MIME import as a draft';
/** Category on a quarantine copy naming the folder its original was in (the row's folder label). */
const fromPrefix = 'Clawback from: ';
/** Names the row whose forward (or quarantine copy) a message is. */
const remediationHeader = 'X-Clawback-Remediation';

export function createGraphMailBackend(profile: GraphProfile, deps: GraphMailBackendDeps): GraphMailBackend {
  return new GraphMailBackend(profile, deps);
}

/**
 * Exchange Online through Microsoft Graph v1.0 with app-only certificate credentials. Every request
 * passes the same middleware: bearer token, the SDK's retry handler (429/503/504, honouring
 * Retry-After), at most four requests in flight per mailbox, and a per-attempt timeout. JSON batches
 * go through the same chain and retry their throttled items themselves (see runBatch).
 */
export class GraphMailBackend implements MailBackend {
  readonly kind = 'graph' as const;
  readonly endpoints: GraphEndpoints;
  private readonly client: Client;
  /** The certificate as last read, and the token provider built for it (rebuilt only when either changes). */
  private certificate:
    | { source: string; loaded: LoadedCertificate; provider: GraphTokenProvider; identityClient?: HttpClient }
    | undefined;
  private trusted: { source: string; agent: Agent; identityClient: HttpClient } | undefined;
  /** Folder knowledge per lower-case mailbox. */
  private readonly folders = new Map<string, MailboxFolders>();

  constructor(
    private readonly profile: GraphProfile,
    private readonly deps: GraphMailBackendDeps,
  ) {
    this.endpoints = resolveGraphEndpoints(profile);
    const retries = Math.max(0, Math.min(deps.maxAttempts - 1, 10));
    const shouldRetry = (
      _delay: number,
      _attempt: number,
      _request: RequestInfo,
      options: RequestInit | undefined,
    ) => !options?.signal?.aborted;
    this.client = Client.initWithMiddleware({
      baseUrl: `${this.endpoints.graphEndpoint}/`,
      defaultVersion: 'v1.0',
      middleware: [
        new BearerAuthMiddleware(
          (signal) => this.token(signal),
          new URL(this.endpoints.graphEndpoint).origin,
        ),
        new RetryHandler(new RetryHandlerOptions(retryDelaySeconds, retries, shouldRetry)),
        new MailboxLimitMiddleware(graphMailboxLimiter),
        new TimeoutMiddleware(deps.timeoutSeconds),
        profile.trustedCa
          ? new TrustedCaFetchHandler(() => this.trusting().then((t) => t.agent))
          : new HTTPMessageHandler(),
      ],
    });
  }

  async findMessages(mailbox: string, criteria: FindCriteria, options?: CallOptions): Promise<FindResult> {
    const messageId = usableMessageId(criteria.internetMessageId);
    if (messageId !== undefined) {
      const items = await this.search(mailbox, messageIdFilter(messageId), options);
      if (items.length > 0 || !this.profile.fallbackSearch) return { items, usedFallback: false };
    }
    const fallback = fallbackCriteria(criteria);
    if (!this.profile.fallbackSearch || fallback === undefined) return { items: [], usedFallback: false };
    const items = await this.search(mailbox, fallbackFilter(fallback), options);
    if (items.length > 0)
      this.deps.log?.(
        `graph ${this.profile.name}: ${mailbox}: found ${items.length} copies by sender, subject and time`,
      );
    return { items, usedFallback: true };
  }

  /** Issue 13: forwards and replies of a copy in the mailbox's Sent Items (see derived.ts). */
  findDerivedMessages(
    mailbox: string,
    original: DerivedSearch,
    options?: CallOptions,
  ): Promise<DerivedMessage[]> {
    return findDerivedGraphMessages(
      (path, isNextLink) =>
        this.call(
          'forward search',
          mailbox,
          isNextLink ? '/' : path,
          options,
          (r) => r.get() as Promise<never>,
          isNextLink ? { url: path } : {},
        ),
      mailbox,
      original,
    );
  }

  async testConnection(mailbox: string, options?: CallOptions): Promise<ConnectionCheck> {
    const root = await this.call<{ id: string; displayName?: string }>(
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
    const naming = this.nameFolderOf(mailbox, item, options);
    const outcome = await this.act(mailbox, item, action, pendingFolder, options).catch(async (error) => {
      await naming.catch(() => undefined);
      throw error;
    });
    await naming;
    return withFolderLabel(outcome, this.folderLabelOf(mailbox, item));
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

  private async act(
    mailbox: string,
    item: MailItem,
    action: Exclude<ActionName, 'restore'>,
    originalFolder: string,
    options: ActionOptions | undefined,
  ): Promise<ActionOutcome> {
    const messagePath = messagePathOf(mailbox, item.id);
    switch (action) {
      case 'none':
        return { status: 'succeeded', originalFolder, detail: 'found; no action' };
      case 'softDelete':
        if (item.folderName === recoverableItems)
          return { status: 'alreadyRemediated', originalFolder, detail: 'already in Recoverable Items' };
        return this.removing(originalFolder, 'deleted (Recoverable Items)', () =>
          this.call(
            'delete',
            mailbox,
            messagePath,
            options,
            (request) => request.delete() as Promise<unknown>,
          ),
        );
      case 'hardDelete':
        return this.removing(originalFolder, 'permanently deleted', () =>
          this.call(
            'permanent delete',
            mailbox,
            `${messagePath}/permanentDelete`,
            options,
            (request) => request.post(null) as Promise<unknown>,
          ),
        );
      case 'moveToDeletedItems':
      case 'moveToJunk':
        return this.moveTo(mailbox, item, destinations[action], originalFolder, messagePath, options);
      case 'forward':
      case 'forwardAndDelete':
        return this.forward(mailbox, originalFolder, messagePath, action === 'forwardAndDelete', options);
      case 'quarantine':
        return this.profile.quarantineTarget === 'mailbox'
          ? this.quarantineToMailbox(
              mailbox,
              item,
              originalFolder,
              messagePath,
              options,
              options?.effect?.key,
            )
          : this.quarantineToFolder(mailbox, item, originalFolder, messagePath, options);
    }
  }

  /**
   * Puts the copies an earlier remediation moved back into the folders its row recorded, keeping their
   * read state: by a move from the hidden quarantine folder, Deleted Items, Junk Email or Recoverable
   * Items, or by MIME re-import from the central quarantine mailbox.
   */
  async restoreMessage(
    mailbox: string,
    criteria: FindCriteria,
    previous: PreviousRemediation,
    options?: CallOptions,
  ): Promise<ActionOutcome> {
    const messageId = usableMessageId(criteria.internetMessageId);
    if (messageId === undefined)
      throw new ClawbackError('MessageNotFound', 'The remediation row has no message id to restore by.');
    const recorded = folderDestinations(previous.originalFolder);
    const targets = recorded.length > 0 ? recorded : ['inbox'];
    const unrecorded = recorded.length === 0 ? ' (no original folder was recorded)' : '';
    const location =
      parseQuarantineLocation(previous.quarantineLocation, this.profile.quarantineFolder) ??
      (previous.action === 'quarantine' ? this.configuredLocation(mailbox) : undefined);
    const filter = messageIdFilter(messageId);
    if (location?.kind === 'mailbox')
      return this.restoreFromMailbox(mailbox, filter, location, targets, unrecorded, options);

    let source: { path: string | undefined; label: string };
    if (location?.kind === 'folder') {
      const id = await this.existingOwnFolder(mailbox, 'msgfolderroot', location.folder, options);
      source = { path: id, label: `the hidden folder "${location.folder}"` };
    } else {
      const name = restoreSources[previous.action];
      if (name === undefined)
        throw new ClawbackError(
          'ConfigurationError',
          `Copies handled with ${previous.action} were not moved anywhere Clawback can take them back from.`,
        );
      source = { path: name, label: name };
    }

    const query = messageSearchQuery(filter);
    const scopes = [`${userPath(mailbox)}/messages?${query}`];
    if (source.path !== undefined)
      scopes.push(`${userPath(mailbox)}/mailFolders/${encodeURIComponent(source.path)}/messages?${query}`);
    const [anywhere = [], inSource = []] = await this.searchAll(mailbox, scopes, options);
    if (inSource.length === 0) {
      if (anywhere.length > 0)
        return {
          status: 'alreadyRemediated',
          originalFolder: previous.originalFolder,
          detail: `no copy is left in ${source.label}; ${anywhere.length} ${plural(anywhere.length)} already in the mailbox`,
        };
      throw new ClawbackError(
        'MessageNotFound',
        `No copy of ${messageId} is in ${source.label} of ${mailbox} or anywhere else in it; it may have been deleted since it was remediated.`,
      );
    }
    const moves = inSource.map((m, i) => ({ id: m.id, destination: pick(targets, i) }));
    const { moved, fellBack } = await this.moveBack(mailbox, moves, options);
    if (moved === 0)
      return {
        status: 'alreadyRemediated',
        originalFolder: previous.originalFolder,
        detail: `the copies left ${source.label} before they could be moved back`,
      };
    const missed = inSource.length - moved;
    return {
      status: 'succeeded',
      ...(missed > 0
        ? {
            notRestored: `${missed} of ${inSource.length} ${plural(inSource.length)} left ${source.label} (moved or deleted by someone else) before ${missed === 1 ? 'it' : 'they'} could be moved back`,
          }
        : {}),
      originalFolder: previous.originalFolder,
      quarantineLocation: previous.quarantineLocation,
      detail: `moved ${moved} ${plural(moved)} from ${source.label} back to ${targets.join(', ')}${unrecorded}${fellBack > 0 ? `; ${fellBack} went to the Inbox because the original folder no longer exists` : ''}`,
    };
  }

  /**
   * A group or distribution list comes back with its member mailboxes (nested groups flattened by
   * transitiveMembers, every page read); anything else counts as a mailbox, and the search then tells
   * whether it is one.
   */
  async expandRecipient(address: string, options?: CallOptions): Promise<RecipientExpansion> {
    const who = address.trim().toLowerCase();
    try {
      await this.call(
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
    const groups = await this.call<GraphPage<{ id: string; displayName?: string }>>(
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
    const first = await this.call<GraphPage<{ mail?: string | null }>>(
      'group expansion',
      who,
      `/groups/${encodeURIComponent(group.id)}/transitiveMembers/microsoft.graph.user?$select=mail,userPrincipalName&$top=999&$count=true`,
      options,
      (r) => eventual(r).get() as Promise<GraphPage<{ mail?: string | null }>>,
    );
    const users = await this.pages('group expansion', who, first, options, eventual);
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

  private async moveTo(
    mailbox: string,
    item: MailItem,
    destination: string,
    originalFolder: string,
    messagePath: string,
    options: CallOptions | undefined,
  ): Promise<ActionOutcome> {
    const destinationId = await this.wellKnownFolderId(mailbox, destination, options);
    if (item.folderId === destinationId)
      return { status: 'alreadyRemediated', originalFolder, detail: `already in ${destination}` };
    return this.removing(originalFolder, `moved to ${destination}`, () =>
      this.call(
        'move',
        mailbox,
        `${messagePath}/move`,
        options,
        (request) => request.post({ destinationId: destination }) as Promise<unknown>,
      ),
    );
  }

  /** A move into a hidden folder of the recipient's own mailbox: headers and read state kept, exactly reversible. */
  private async quarantineToFolder(
    mailbox: string,
    item: MailItem,
    originalFolder: string,
    messagePath: string,
    options: CallOptions | undefined,
  ): Promise<ActionOutcome> {
    const name = this.profile.quarantineFolder;
    const location = formatQuarantineLocation({ kind: 'folder', folder: name });
    const folderId = await this.ownFolder(mailbox, 'msgfolderroot', name, true, options);
    if (item.folderId === folderId)
      return {
        status: 'alreadyRemediated',
        quarantineLocation: location,
        detail: `already in the hidden folder "${name}"`,
      };
    return this.removing(
      originalFolder,
      `moved to the hidden folder "${name}"`,
      () =>
        this.call(
          'quarantine move',
          mailbox,
          `${messagePath}/move`,
          options,
          (request) => request.post({ destinationId: folderId }) as Promise<unknown>,
        ),
      location,
    );
  }

  /**
   * Copies the message as MIME into the central quarantine mailbox (Graph cannot move between
   * mailboxes), tags the copy with the recipient and the original read state, files it, then deletes the
   * original. A copy already tagged for this recipient is not imported twice when a retry gets here.
   */
  private async quarantineToMailbox(
    mailbox: string,
    item: MailItem,
    originalFolder: string,
    messagePath: string,
    options: CallOptions | undefined,
    rowKey?: string,
  ): Promise<ActionOutcome> {
    const central = this.profile.quarantineMailbox;
    if (!central)
      throw new ClawbackError(
        'ConfigurationError',
        `Profile "${this.profile.name}" quarantines into a mailbox but names no quarantineMailbox.`,
      );
    const location = centralLocation(this.profile, central, mailbox);
    const where = formatQuarantineLocation(location);
    const folderId = await this.centralFolder(location, true, options);
    if (folderId === undefined) throw new ClawbackError('Unknown', `Could not open ${where}.`);
    const tag = quarantineCategory(mailbox);
    // One quarantine copy per original copy: each import is tagged with the original it came from.
    const copyTag = rowKey === undefined ? tag : copyCategory(rowKey, item.id);
    const held = item.internetMessageId
      ? await this.searchAll(
          central,
          [
            `${userPath(central)}/messages?${messageSearchQuery(messageIdFilter(item.internetMessageId), quarantineCopySelect)}`,
          ],
          options,
        )
      : [[]];
    const tagged = held[0]?.find((m) => m.categories?.includes(copyTag));
    if (tagged === undefined) {
      let mime: Buffer;
      try {
        mime = await this.mimeOf(mailbox, messagePath, options);
      } catch (error) {
        if (isClawbackError(error) && error.code === 'MessageNotFound')
          return {
            status: 'alreadyRemediated',
            originalFolder,
            detail: 'the message was already gone from the mailbox',
          };
        throw error;
      }
      const copy = await this.importMime(central, mime, options);
      await this.fileQuarantineCopy(
        central,
        copy.id,
        folderId,
        // The folder's id, not its label: the label is named alongside the action, after this runs.
        [...new Set([tag, copyTag, `${fromPrefix}${item.folderId}`])],
        item.isRead,
        options,
      );
    } else if (tagged.parentFolderId !== folderId) {
      await this.call(
        'quarantine move',
        central,
        `${messagePathOf(central, tagged.id)}/move`,
        options,
        (r) => r.post({ destinationId: folderId }) as Promise<unknown>,
      );
    }
    const already = tagged !== undefined;
    return this.removing(
      originalFolder,
      `${already ? 'already copied' : 'copied as MIME'} into ${where} (${draftNote}) and deleted from the mailbox`,
      () => this.call('delete', mailbox, messagePath, options, (r) => r.delete() as Promise<unknown>),
      where,
    );
  }

  /**
   * Tags a fresh import with its recipient and read state and moves it into the quarantine folder. An
   * import that cannot be filed is deleted again, so a retry does not leave an untagged twin in Drafts
   * (only a tag tells whose a copy is, so another worker could not safely adopt it).
   */
  private async fileQuarantineCopy(
    central: string,
    copyId: string,
    folderId: string,
    tags: string[],
    isRead: boolean | undefined,
    options: CallOptions | undefined,
  ): Promise<void> {
    const copyPath = messagePathOf(central, copyId);
    try {
      await this.call(
        'quarantine copy update',
        central,
        copyPath,
        options,
        (r) => r.patch({ categories: tags, ...(isRead === undefined ? {} : { isRead }) }) as Promise<unknown>,
      );
      await this.call(
        'quarantine move',
        central,
        `${copyPath}/move`,
        options,
        (r) => r.post({ destinationId: folderId }) as Promise<unknown>,
      );
    } catch (error) {
      await this.call(
        'quarantine copy cleanup',
        central,
        copyPath,
        options,
        (r) => r.delete() as Promise<unknown>,
      ).catch((cleanup: unknown) =>
        this.deps.log?.(
          `graph ${this.profile.name}: could not remove an unfiled import from ${central}: ${isClawbackError(cleanup) ? cleanup.detail : String(cleanup)}`,
        ),
      );
      throw error;
    }
  }

  /**
   * Re-imports each quarantined copy of this recipient into the recipient's mailbox, files it in its
   * original folder with its recorded read state, then deletes the quarantine copy. A draft copy already
   * in the mailbox is a re-import an earlier attempt made before it could delete the quarantine copy.
   */
  private async restoreFromMailbox(
    mailbox: string,
    filter: string,
    location: Extract<QuarantineLocation, { kind: 'mailbox' }>,
    targets: string[],
    unrecorded: string,
    options: CallOptions | undefined,
  ): Promise<ActionOutcome> {
    const central = location.mailbox;
    const where = formatQuarantineLocation(location);
    const folderId = await this.centralFolder(location, false, options);
    const tag = quarantineCategory(mailbox);
    const [held, present] = await Promise.all([
      folderId === undefined
        ? Promise.resolve([])
        : this.searchAll(
            central,
            [
              `${userPath(central)}/mailFolders/${encodeURIComponent(folderId)}/messages?${messageSearchQuery(filter, quarantineCopySelect)}`,
            ],
            options,
          ).then(([copies = []]) => copies),
      this.searchAll(
        mailbox,
        [
          `${userPath(mailbox)}/messages?${messageSearchQuery(filter, `${messageSelect},isDraft,categories`)}`,
        ],
        options,
      ).then(([copies = []]) => copies),
    ]);
    const mine = held.filter((m) => location.child !== undefined || m.categories?.includes(tag));
    if (mine.length === 0) {
      if (present.length > 0)
        return {
          status: 'alreadyRemediated',
          detail: `no copy for ${mailbox} is left in ${where}; ${present.length} ${plural(present.length)} already in the mailbox`,
        };
      throw new ClawbackError(
        'MessageNotFound',
        `No copy for ${mailbox} is in ${where} and none is in the mailbox; it may have been deleted from the quarantine mailbox.`,
      );
    }
    let fellBack = 0;
    for (const [i, copy] of mine.entries()) {
      const copyPath = messagePathOf(central, copy.id);
      // Each re-import is tagged with the quarantine copy it came from, so an attempt after an
      // interrupted one adopts it instead of importing that copy again.
      const restoreTag = restoreCategory(copy.id);
      const restored =
        present.find((m) => m.categories?.includes(restoreTag)) ??
        (await this.importMime(mailbox, await this.mimeOf(central, copyPath, options), options));
      await this.call(
        'restore update',
        mailbox,
        messagePathOf(mailbox, restored.id),
        options,
        (r) =>
          r.patch({
            categories: [restoreTag],
            ...(copy.isRead === undefined ? {} : { isRead: copy.isRead }),
          }) as Promise<unknown>,
      );
      // The folder each copy came from travels on the copy; older copies go by the row's list.
      const from = copy.categories?.find((c) => c.startsWith(fromPrefix))?.slice(fromPrefix.length);
      const destination = folderDestinations(from)[0] ?? pick(targets, i);
      const { fellBack: inbox } = await this.moveBack(mailbox, [{ id: restored.id, destination }], options);
      fellBack += inbox;
      await this.removing('', '', () =>
        this.call(
          'quarantine copy delete',
          central,
          copyPath,
          options,
          (r) => r.delete() as Promise<unknown>,
        ),
      );
    }
    return {
      status: 'succeeded',
      originalFolder: targets.join('; '),
      quarantineLocation: where,
      detail: `re-imported ${mine.length} ${plural(mine.length)} from ${where} into ${targets.join(', ')}${unrecorded} as MIME (Exchange treats a re-imported message as a draft) and removed the quarantine copy${fellBack > 0 ? `; ${fellBack} went to the Inbox because the original folder no longer exists` : ''}`,
    };
  }

  /**
   * Moves copies back; a destination that no longer exists sends its copy to the Inbox instead, and a
   * copy that vanished meanwhile is left alone.
   */
  private async moveBack(
    mailbox: string,
    moves: MoveRequest[],
    options: CallOptions | undefined,
  ): Promise<{ moved: number; fellBack: number }> {
    const attempt = async (batch: MoveRequest[]) =>
      this.each('restore move', mailbox, batch, options, (move) => ({
        method: 'POST',
        url: `${messagePathOf(mailbox, move.id)}/move`,
        body: { destinationId: move.destination },
      }));
    const results = await attempt(moves);
    const retry = moves.filter((move, i) => {
      const result = results[i];
      if (result === undefined || result.ok) return false;
      if (result.error.code !== 'MessageNotFound') throw result.error;
      return move.destination !== 'inbox';
    });
    const moved = results.filter((r) => r?.ok).length;
    if (retry.length === 0) return { moved, fellBack: 0 };
    const again = await attempt(retry.map((move) => ({ ...move, destination: 'inbox' })));
    const rescued = again.filter((r) => {
      if (!r.ok && r.error.code !== 'MessageNotFound') throw r.error;
      return r.ok;
    }).length;
    return { moved: moved + rescued, fellBack: rescued };
  }

  /**
   * Forwards to the configured address only, once per row: the forward is a draft (createForward)
   * that gets the row's marker as its internetMessageId (a draft's id is writable) and carries it as
   * the `X-Clawback-Remediation` header, then is sent. Graph keeps the sent forward in the recipient's
   * Sent Items under that id, so an attempt that follows an interrupted one finds the forward (or its
   * unsent draft) instead of sending another. With `andDelete` the original then goes to Recoverable
   * Items, and a copy that vanished after the forward still counts as done.
   */
  private async forward(
    mailbox: string,
    originalFolder: string,
    messagePath: string,
    andDelete: boolean,
    options: ActionOptions | undefined,
  ): Promise<ActionOutcome> {
    const forwardTo = this.deps.forwardTo;
    if (!forwardTo)
      throw new ClawbackError(
        'ConfigurationError',
        'Forwarding needs forwardTo in the configuration document.',
      );
    const effect = options?.effect;
    const comment = `Forwarded by Clawback from ${mailbox} after a verdict change.`;
    let forwarded: ActionOutcome;
    if (effect === undefined) {
      const body = { comment, toRecipients: [{ emailAddress: { address: forwardTo } }] };
      forwarded = await this.removing(originalFolder, `forwarded to ${forwardTo}`, () =>
        this.call(
          'forward',
          mailbox,
          `${messagePath}/forward`,
          options,
          (request) => request.post(body) as Promise<unknown>,
        ),
      );
    } else {
      const marker = forwardMarker(effect.key);
      const earlier = effect.recovering ? await this.findForward(mailbox, marker, options) : undefined;
      if (earlier?.isDraft === false) {
        forwarded = {
          status: 'succeeded',
          originalFolder,
          detail: `forwarded to ${forwardTo} by an earlier attempt (${marker} is in Sent Items)`,
        };
      } else {
        forwarded = await this.removing(
          originalFolder,
          `forwarded to ${forwardTo} as ${marker}`,
          async () => {
            const draft =
              earlier ??
              (await this.createMarkedForward(
                mailbox,
                messagePath,
                forwardTo,
                comment,
                effect.key,
                marker,
                options,
              ));
            await this.call(
              'forward send',
              mailbox,
              `${messagePathOf(mailbox, draft.id)}/send`,
              options,
              (request) => request.post(null) as Promise<unknown>,
            );
          },
        );
      }
    }
    if (forwarded.status !== 'succeeded' || !andDelete) return forwarded;
    await this.removing(originalFolder, '', () =>
      this.call('delete', mailbox, messagePath, options, (request) => request.delete() as Promise<unknown>),
    );
    return {
      status: 'succeeded',
      originalFolder,
      detail: `${forwarded.detail ?? `forwarded to ${forwardTo}`} and deleted (Recoverable Items)`,
    };
  }

  /** The row's forward, sent (Sent Items) or still a draft, if an earlier attempt made it. */
  private async findForward(
    mailbox: string,
    marker: string,
    options: CallOptions | undefined,
  ): Promise<GraphMessage | undefined> {
    const [found = []] = await this.searchAll(
      mailbox,
      [
        `${userPath(mailbox)}/messages?${messageSearchQuery(messageIdFilter(marker), 'id,internetMessageId,parentFolderId,isDraft')}`,
      ],
      options,
    );
    return found.find((m) => m.isDraft === false) ?? found.find((m) => m.isDraft === true);
  }

  private async createMarkedForward(
    mailbox: string,
    messagePath: string,
    forwardTo: string,
    comment: string,
    key: string,
    marker: string,
    options: CallOptions | undefined,
  ): Promise<GraphMessage> {
    const draft = await this.call<GraphMessage>(
      'forward draft',
      mailbox,
      `${messagePath}/createForward`,
      options,
      (request) =>
        request.post({
          comment,
          toRecipients: [{ emailAddress: { address: forwardTo } }],
          message: { internetMessageHeaders: [{ name: remediationHeader, value: key }] },
        }) as Promise<GraphMessage>,
    );
    await this.call(
      'forward draft update',
      mailbox,
      messagePathOf(mailbox, draft.id),
      options,
      (request) => request.patch({ internetMessageId: marker }) as Promise<unknown>,
    );
    return draft;
  }

  /** A copy that vanished between finding and acting was removed by someone else: the goal is met. */
  private async removing(
    originalFolder: string,
    done: string,
    act: () => Promise<unknown>,
    quarantineLocation?: string,
  ): Promise<ActionOutcome> {
    try {
      await act();
      return { status: 'succeeded', originalFolder, quarantineLocation, detail: done };
    } catch (error) {
      if (isClawbackError(error) && error.code === 'MessageNotFound')
        return {
          status: 'alreadyRemediated',
          originalFolder,
          detail: 'the message was already gone from the mailbox',
        };
      throw error;
    }
  }

  private async search(
    mailbox: string,
    filter: string,
    options: CallOptions | undefined,
  ): Promise<MailItem[]> {
    const query = messageSearchQuery(filter);
    const scopes = [`${userPath(mailbox)}/messages?${query}`];
    if (this.profile.searchRecoverableItems)
      scopes.push(`${userPath(mailbox)}/mailFolders/${recoverableItems}/messages?${query}`);
    const pages = await this.searchAll(mailbox, scopes, options);
    const folders = this.foldersOf(mailbox);
    const found = new Map<string, { message: GraphMessage; recoverable: boolean }>();
    for (const [scope, messages] of pages.entries())
      for (const message of messages)
        if (!found.has(message.id)) found.set(message.id, { message, recoverable: scope === 1 });
    // Folder names not known yet are looked up by the action, in its round trip (nameFolderOf).
    return [...found.values()].map(({ message, recoverable }) => ({
      id: message.id,
      internetMessageId: message.internetMessageId ?? '',
      folderId: message.parentFolderId,
      folderName: recoverable ? recoverableItems : folders.byId.get(message.parentFolderId)?.name,
      isRead: message.isRead,
      deliveredAt: message.receivedDateTime,
    }));
  }

  /**
   * Every message of each search URL, all pages. Several searches go in one JSON batch; nothing else
   * rides along (no folder is looked up before an action needs it).
   */
  private async searchAll(
    mailbox: string,
    urls: string[],
    options: CallOptions | undefined,
  ): Promise<GraphMessage[][]> {
    const requests = urls.map((url): BatchRequest => ({ method: 'GET', url }));
    let firstPages: GraphPage<GraphMessage>[];
    if (requests.length === 1 && urls[0] !== undefined) {
      firstPages = [
        await this.call<GraphPage<GraphMessage>>(
          'message search',
          mailbox,
          urls[0],
          options,
          (r) => r.get() as Promise<GraphPage<GraphMessage>>,
        ),
      ];
    } else {
      const results = await this.batch('message search', mailbox, requests, options);
      firstPages = results.map((result) => {
        if (!result.ok) throw result.error;
        return result.body as GraphPage<GraphMessage>;
      });
    }
    const all: GraphMessage[][] = [];
    for (const page of firstPages) all.push(await this.pages('message search', mailbox, page, options));
    return all;
  }

  /** The rest of a collection: follows `@odata.nextLink` verbatim, as Graph asks. */
  private async pages<T>(
    operation: string,
    mailbox: string,
    first: GraphPage<T>,
    options: CallOptions | undefined,
    decorate: (request: GraphRequest) => GraphRequest = (r) => r,
  ): Promise<T[]> {
    const items = [...(first.value ?? [])];
    let next = first['@odata.nextLink'];
    for (let pages = 1; next !== undefined; pages++) {
      if (pages >= maxPages)
        throw new ClawbackError(
          'Unknown',
          `Graph kept returning more pages after ${maxPages} during ${operation} for ${mailbox}; stopped.`,
        );
      const page: GraphPage<T> = await this.call<GraphPage<T>>(
        operation,
        mailbox,
        '/',
        options,
        (r) => decorate(r).get() as Promise<GraphPage<T>>,
        { url: next },
      );
      items.push(...(page.value ?? []));
      next = page['@odata.nextLink'];
    }
    return items;
  }

  /** One request per item: a single call, or one JSON batch (of up to 20 per envelope) for several. */
  private async each<T>(
    operation: string,
    mailbox: string,
    items: T[],
    options: CallOptions | undefined,
    request: (item: T) => BatchRequest,
  ): Promise<BatchResult[]> {
    const requests = items.map(request);
    const [only] = requests;
    if (requests.length !== 1 || only === undefined) return this.batch(operation, mailbox, requests, options);
    try {
      const body = await this.call(operation, mailbox, only.url, options, (r) => {
        switch (only.method) {
          case 'GET':
            return r.get() as Promise<unknown>;
          case 'POST':
            return r.post(only.body ?? null) as Promise<unknown>;
          case 'PATCH':
            return r.patch(only.body ?? null) as Promise<unknown>;
          case 'DELETE':
            return r.delete() as Promise<unknown>;
        }
      });
      return [{ ok: true, status: 200, body }];
    } catch (error) {
      if (!isClawbackError(error)) throw error;
      return [{ ok: false, status: 0, error }];
    }
  }

  private async batch(
    operation: string,
    mailbox: string,
    requests: BatchRequest[],
    options: CallOptions | undefined,
  ): Promise<BatchResult[]> {
    if (requests.length === 0) return [];
    try {
      return await runBatch(requests, {
        maxAttempts: this.deps.maxAttempts,
        fallbackDelayMs: retryDelaySeconds * 1000,
        abortSignal: options?.abortSignal,
        translate: (error) => translateGraphError(error, this.errorContext(operation, mailbox)),
        send: async (items) => {
          const envelope = {
            requests: items.map(({ body, headers, ...item }) => ({
              ...item,
              ...(body === undefined
                ? headers === undefined
                  ? {}
                  : { headers }
                : { body, headers: { 'Content-Type': 'application/json', ...headers } }),
            })),
          };
          const answer = await this.call<{ responses?: BatchResponse[] }>(
            operation,
            mailbox,
            '/$batch',
            options,
            (r) => r.post(envelope) as Promise<{ responses?: BatchResponse[] }>,
            { batchSlots: { mailbox, weight: items.length } },
          );
          return answer.responses ?? [];
        },
      });
    } catch (error) {
      throw translateGraphError(error, this.errorContext(operation, mailbox));
    }
  }

  private async wellKnownFolderId(
    mailbox: string,
    name: string,
    options: CallOptions | undefined,
  ): Promise<string> {
    const folders = this.foldersOf(mailbox);
    return this.cachedFolder(folders.wellKnown, name, async () => {
      const folder = await this.call<{ id: string }>(
        'folder lookup',
        mailbox,
        `${userPath(mailbox)}/mailFolders/${name}?$select=id`,
        options,
        (r) => r.get() as Promise<{ id: string }>,
      );
      folders.byId.set(folder.id, { name, wellKnown: true });
      return folder.id;
    });
  }

  /** One lookup per key at a time; a failed lookup is forgotten so the next call tries again. */
  private cachedFolder(
    cache: Map<string, FolderEntry>,
    key: string,
    lookup: () => Promise<string>,
  ): Promise<string> {
    const existing = cache.get(key);
    if (existing) return existing.promise;
    const entry: FolderEntry = {
      id: undefined,
      promise: lookup().then(
        (id) => {
          entry.id = id;
          return id;
        },
        (error: unknown) => {
          cache.delete(key);
          throw error;
        },
      ),
    };
    cache.set(key, entry);
    return entry.promise;
  }

  /**
   * A folder Clawback owns under `parent`, created on first use: creation is tried first, and Graph's
   * 409 ErrorFolderExists (another worker, an earlier run) sends it to look the folder up instead.
   */
  private ownFolder(
    mailbox: string,
    parent: string,
    name: string,
    hidden: boolean,
    options: CallOptions | undefined,
  ): Promise<string> {
    const folders = this.foldersOf(mailbox);
    return this.cachedFolder(folders.own, `${parent}/${name.toLowerCase()}`, async () => {
      try {
        const created = await this.call<{ id: string }>(
          'folder creation',
          mailbox,
          `${userPath(mailbox)}/mailFolders/${encodeURIComponent(parent)}/childFolders`,
          options,
          (r) => r.post({ displayName: name, isHidden: hidden }) as Promise<{ id: string }>,
        );
        folders.byId.set(created.id, { name, wellKnown: false });
        return created.id;
      } catch (error) {
        if (graphCodeOf(error) !== 'ErrorFolderExists') throw error;
      }
      const found = await this.findChildFolder(mailbox, parent, name, options);
      if (found === undefined)
        throw new ClawbackError(
          'Unknown',
          `Graph says the folder "${name}" exists in ${mailbox} but does not list it; retrying later.`,
          { retryable: true },
        );
      return found;
    });
  }

  /** A folder Clawback owns, without creating it: undefined when it does not exist. */
  private async existingOwnFolder(
    mailbox: string,
    parent: string,
    name: string,
    options: CallOptions | undefined,
  ): Promise<string | undefined> {
    const folders = this.foldersOf(mailbox);
    const key = `${parent}/${name.toLowerCase()}`;
    const cached = folders.own.get(key);
    if (cached) return cached.promise;
    const found = await this.findChildFolder(mailbox, parent, name, options);
    if (found !== undefined && !folders.own.has(key))
      folders.own.set(key, { id: found, promise: Promise.resolve(found) });
    return found;
  }

  private async findChildFolder(
    mailbox: string,
    parent: string,
    name: string,
    options: CallOptions | undefined,
  ): Promise<string | undefined> {
    const page = await this.call<GraphPage<{ id: string; displayName?: string }>>(
      'folder lookup',
      mailbox,
      `${userPath(mailbox)}/mailFolders/${encodeURIComponent(parent)}/childFolders?${childFolderQuery(name)}`,
      options,
      (r) => r.get() as Promise<GraphPage<{ id: string; displayName?: string }>>,
    );
    const folder = page.value?.find((f) => f.displayName?.toLowerCase() === name.toLowerCase());
    if (folder !== undefined) this.foldersOf(mailbox).byId.set(folder.id, { name, wellKnown: false });
    return folder?.id;
  }

  /** The central quarantine folder (and per-recipient child) a location names; created only when asked. */
  private async centralFolder(
    location: Extract<QuarantineLocation, { kind: 'mailbox' }>,
    create: boolean,
    options: CallOptions | undefined,
  ): Promise<string | undefined> {
    const open = (parent: string, name: string) =>
      create
        ? this.ownFolder(location.mailbox, parent, name, false, options)
        : this.existingOwnFolder(location.mailbox, parent, name, options);
    const top = await open('msgfolderroot', location.folder);
    if (top === undefined || location.child === undefined) return top;
    return open(top, location.child);
  }

  /** Where this profile quarantines a recipient's copies. */
  private configuredLocation(mailbox: string): QuarantineLocation {
    const central = this.profile.quarantineMailbox;
    if (this.profile.quarantineTarget !== 'mailbox' || !central)
      return { kind: 'folder', folder: this.profile.quarantineFolder };
    return centralLocation(this.profile, central, mailbox);
  }

  private async mimeOf(
    mailbox: string,
    messagePath: string,
    options: CallOptions | undefined,
  ): Promise<Buffer> {
    const content = await this.call<ArrayBuffer>(
      'MIME download',
      mailbox,
      `${messagePath}/$value`,
      options,
      (r) => r.responseType(ResponseType.ARRAYBUFFER).get() as Promise<ArrayBuffer>,
    );
    return Buffer.from(content);
  }

  /** Graph accepts MIME only on `/users/{id}/messages`, base64 in a text/plain body; the item lands in Drafts. */
  private importMime(mailbox: string, mime: Buffer, options: CallOptions | undefined): Promise<GraphMessage> {
    return this.call<GraphMessage>(
      'MIME import',
      mailbox,
      `${userPath(mailbox)}/messages`,
      options,
      (r) => r.header('Content-Type', 'text/plain').post(mime.toString('base64')) as Promise<GraphMessage>,
    );
  }

  private foldersOf(mailbox: string): MailboxFolders {
    const key = mailbox.toLowerCase();
    let folders = this.folders.get(key);
    if (!folders) {
      if (this.folders.size >= folderCacheMailboxes) {
        const oldest = this.folders.keys().next();
        if (!oldest.done) this.folders.delete(oldest.value);
      }
      folders = { wellKnown: new Map(), byId: new Map(), own: new Map(), naming: new Map() };
      this.folders.set(key, folders);
    }
    return folders;
  }

  /** Display names for folder ids not known yet; a folder that cannot be read stays nameless. */
  private async nameFolders(
    mailbox: string,
    folderIds: string[],
    options: CallOptions | undefined,
  ): Promise<void> {
    const folders = this.foldersOf(mailbox);
    const ids = [...new Set(folderIds)].filter((id) => !folders.byId.has(id));
    const unknown = ids.filter((id) => !folders.naming.has(id));
    const lookup = this.each('folder lookup', mailbox, unknown, options, (id) => ({
      method: 'GET',
      url: `${userPath(mailbox)}/mailFolders/${encodeURIComponent(id)}?$select=id,displayName`,
    })).then((results) => {
      for (const [i, result] of results.entries()) {
        const id = unknown[i];
        const name = result.ok ? (result.body as { displayName?: string }).displayName : undefined;
        if (id !== undefined && name !== undefined && !folders.byId.has(id))
          folders.byId.set(id, { name, wellKnown: false });
      }
    });
    const shared = lookup.finally(() => {
      for (const id of unknown) folders.naming.delete(id);
    });
    for (const id of unknown) folders.naming.set(id, shared);
    await Promise.all([shared, ...ids.map((id) => folders.naming.get(id))]);
  }

  /** Looks up the display name of the copy's folder unless the backend knows it already. */
  private async nameFolderOf(
    mailbox: string,
    item: MailItem,
    options: CallOptions | undefined,
  ): Promise<void> {
    const folders = this.foldersOf(mailbox);
    if (item.folderName === recoverableItems || folders.byId.has(item.folderId)) return;
    await this.nameFolders(mailbox, [item.folderId], options);
  }

  /**
   * The original folder as restore needs it: a well-known name where the backend addressed it as one,
   * else `Name (id)`, or the bare id when the folder could not be read.
   */
  private folderLabelOf(mailbox: string, item: MailItem): string {
    const info = this.foldersOf(mailbox).byId.get(item.folderId);
    if (info === undefined) return item.folderName === recoverableItems ? recoverableItems : item.folderId;
    // The row shows the operator the name the search could not give.
    item.folderName ??= info.name;
    return folderLabel({ id: item.folderId, ...info });
  }

  private async call<T>(
    operation: string,
    mailbox: string,
    path: string,
    options: CallOptions | undefined,
    send: (request: GraphRequest) => Promise<T>,
    via: { url?: string; batchSlots?: { mailbox: string; weight: number } } = {},
  ): Promise<T> {
    const scope = new GraphCallScope(via.url, via.batchSlots);
    let request = this.client.api(path).middlewareOptions([scope]);
    if (options?.abortSignal) request = request.option('signal', options.abortSignal);
    try {
      return await send(request);
    } catch (error) {
      throw translateGraphError(scope.failure ?? error, this.errorContext(operation, mailbox));
    }
  }

  private async token(signal: AbortSignal | undefined): Promise<string> {
    const secret = await this.deps.secrets.getSecret(this.profile.certificate, { abortSignal: signal });
    const identityClient =
      this.deps.identityHttpClient ??
      (this.profile.trustedCa ? (await this.trusting(signal)).identityClient : undefined);
    let current = this.certificate;
    if (
      current?.source !== secret.value ||
      current.identityClient !== identityClient ||
      !isCertificateCurrent(current.loaded)
    ) {
      const loaded = loadCertificate(secret, { label: describeRef(this.profile.certificate) });
      const provider = getGraphTokenProvider({
        profile: this.profile,
        certificate: loaded,
        timeoutSeconds: this.deps.timeoutSeconds,
        identityHttpClient: identityClient,
      });
      current = { source: secret.value, loaded, provider, ...(identityClient ? { identityClient } : {}) };
      this.certificate = current;
      const daysLeft = Math.floor((loaded.notAfter.getTime() - Date.now()) / 86_400_000);
      this.deps.log?.(
        `graph ${this.profile.name}: using certificate ${loaded.thumbprintSha1} (${loaded.subject}), valid until ${loaded.notAfter.toISOString()}${daysLeft < 30 ? ` — expires in ${daysLeft} days, renew it` : ''}`,
      );
    }
    return current.provider.getToken(signal);
  }

  /** The agent and identity client trusting the profile's `trustedCa`, rebuilt when the secret changes. */
  private async trusting(signal?: AbortSignal): Promise<{ agent: Agent; identityClient: HttpClient }> {
    const ref = this.profile.trustedCa;
    if (!ref) throw new ClawbackError('ConfigurationError', 'The profile names no trustedCa.');
    const secret = await this.deps.secrets.getSecret(ref, { abortSignal: signal });
    if (this.trusted?.source !== secret.value) {
      const agent = agentTrusting(secret.value);
      this.trusted = { source: secret.value, agent, identityClient: identityClientTrusting(agent) };
    }
    return this.trusted;
  }

  private errorContext(operation: string, mailbox: string): GraphErrorContext {
    return {
      operation,
      mailbox,
      tenantId: this.profile.tenantId,
      clientId: this.profile.clientId,
      authorityHost: this.endpoints.authorityHost,
      graphEndpoint: this.endpoints.graphEndpoint,
      timeoutSeconds: this.deps.timeoutSeconds,
      certificateThumbprint: this.certificate?.loaded.thumbprintSha1,
    };
  }
}

/** Stands for the copy's folder label in an outcome while the label is still being looked up. */
const pendingFolder = '\u0000folder';

function withFolderLabel(outcome: ActionOutcome, label: string): ActionOutcome {
  return outcome.originalFolder === pendingFolder ? { ...outcome, originalFolder: label } : outcome;
}

/** The id as Graph stores it (with angle brackets), or undefined when there is nothing to search by. */
function usableMessageId(value: string | undefined): string | undefined {
  const id = value?.trim();
  if (!id || /[\r\n]/.test(id)) return undefined;
  return id.startsWith('<') && id.endsWith('>') ? id : `<${id.replace(/^<|>$/g, '')}>`;
}

function fallbackCriteria(criteria: FindCriteria): FallbackCriteria | undefined {
  const receivedAt = criteria.receivedAt ? new Date(criteria.receivedAt) : undefined;
  if (!criteria.sender || !criteria.subject || !receivedAt || Number.isNaN(receivedAt.getTime()))
    return undefined;
  return { sender: criteria.sender, subject: criteria.subject, receivedAt };
}

function describeRef(ref: SecretRef): string {
  if ('keyVaultSecret' in ref) return `Key Vault secret "${ref.keyVaultSecret}"`;
  if ('file' in ref) return `certificate file ${ref.file}`;
  return `environment variable ${ref.env}`;
}

function centralLocation(
  profile: GraphProfile,
  central: string,
  mailbox: string,
): Extract<QuarantineLocation, { kind: 'mailbox' }> {
  return {
    kind: 'mailbox',
    mailbox: central.toLowerCase(),
    folder: profile.quarantineFolder,
    child: profile.folderPerRecipient ? mailbox.toLowerCase() : undefined,
  };
}

/**
 * The internetMessageId a row's forward goes out with: derived from the row, so any attempt can
 * search for it, and unique per row, so it never names another message.
 */
export function forwardMarker(key: string): string {
  return `<clawback.${createHash('sha256').update(key).digest('hex').slice(0, 40)}@clawback.invalid>`;
}

function messagePathOf(mailbox: string, id: string): string {
  return `${userPath(mailbox)}/messages/${encodeURIComponent(id)}`;
}

/** The category on a central quarantine copy that says whose mailbox it came from. */
function quarantineCategory(mailbox: string): string {
  return `Clawback: ${mailbox.toLowerCase()}`;
}

/** The Graph error code behind a translated error (e.g. ErrorFolderExists), when there was one. */
/** Tags a copy restored from the central mailbox with the quarantine copy it was imported from. */
function restoreCategory(copyId: string): string {
  return `clawback-restore:${createHash('sha256').update(copyId).digest('hex').slice(0, 16)}`;
}

/** Tags a quarantine copy with the row and the original item it was imported from. */
function copyCategory(rowKey: string, itemId: string): string {
  return `clawback-copy:${createHash('sha256').update(`${rowKey}|${itemId}`).digest('hex').slice(0, 16)}`;
}

function graphCodeOf(error: unknown): string | undefined {
  const code = (error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The i-th entry, or the last one when there are fewer entries than copies. */
function pick(values: string[], index: number): string {
  return values[Math.min(index, values.length - 1)] ?? 'inbox';
}

function plural(n: number): string {
  return n === 1 ? 'copy' : 'copies';
}
