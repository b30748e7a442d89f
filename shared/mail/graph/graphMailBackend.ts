import type { HttpClient } from '@azure/core-rest-pipeline';
import {
  Client,
  type GraphRequest,
  HTTPMessageHandler,
  RetryHandler,
  RetryHandlerOptions,
} from '@microsoft/microsoft-graph-client';

import type { GraphProfile, SecretRef } from '../../config/document.js';
import { ClawbackError, isClawbackError } from '../../errors.js';
import type {
  ActionOutcome,
  CallOptions,
  ConnectionCheck,
  FindCriteria,
  FindResult,
  MailBackend,
  MailItem,
} from '../../ports/mail.js';
import type { SecretSource } from '../../ports/secrets.js';
import { isCertificateCurrent, loadCertificate, type LoadedCertificate } from '../../secrets/certificate.js';
import type { ActionName } from '../../verdicts/schema.js';
import { getGraphTokenProvider, type GraphEndpoints, resolveGraphEndpoints } from './credentials.js';
import { type GraphErrorContext, translateGraphError } from './errors.js';
import { graphMailboxLimiter } from './mailboxLimiter.js';
import {
  BearerAuthMiddleware,
  GraphCallScope,
  MailboxLimitMiddleware,
  TimeoutMiddleware,
} from './middleware.js';
import {
  type FallbackCriteria,
  fallbackFilter,
  messageIdFilter,
  messageSearchQuery,
  userPath,
} from './odata.js';

export interface GraphMailBackendDeps {
  secrets: SecretSource;
  /** Reaches a fake or sandbox token endpoint; production leaves it unset. */
  identityHttpClient?: HttpClient | undefined;
  /** settings.graphTimeoutSeconds: the bound on each Graph attempt and on each token request. */
  timeoutSeconds: number;
  /** settings.maxAttempts: 429/503/504 are retried in process up to this many attempts in all. */
  maxAttempts: number;
  /** The configured forward address; never one from a request. */
  forwardTo?: string | undefined;
  log?: (line: string) => void;
}

interface GraphMessage {
  id: string;
  internetMessageId?: string;
  parentFolderId: string;
  isRead?: boolean;
}

interface FolderEntry {
  promise: Promise<string>;
  id: string | undefined;
}

interface GraphPage {
  value?: GraphMessage[];
  '@odata.nextLink'?: string;
}

/** Back-off when Graph sends no Retry-After, in seconds (the SDK grows it exponentially). */
const retryDelaySeconds = 3;
/** 1,000 pages of 100 is far beyond any real number of copies; a server looping its links stops here. */
const maxPages = 1000;
const folderCacheMailboxes = 10_000;
const recoverableItems = 'recoverableitemsdeletions';
const destinations = { moveToDeletedItems: 'deleteditems', moveToJunk: 'junkemail' } as const;
const unavailableActions = new Set<ActionName>(['quarantine', 'restore']);

export function createGraphMailBackend(profile: GraphProfile, deps: GraphMailBackendDeps): GraphMailBackend {
  return new GraphMailBackend(profile, deps);
}

/**
 * Exchange Online through Microsoft Graph v1.0 with app-only certificate credentials. Every request
 * passes the same middleware: bearer token, the SDK's retry handler (429/503/504, honouring
 * Retry-After), at most four requests in flight per mailbox, and a per-attempt timeout.
 */
export class GraphMailBackend implements MailBackend {
  readonly kind = 'graph' as const;
  readonly endpoints: GraphEndpoints;
  private readonly client: Client;
  private certificate: { source: string; loaded: LoadedCertificate } | undefined;
  /** Well-known folder ids per lower-case mailbox, looked up once each. */
  private readonly folderIds = new Map<string, Map<string, FolderEntry>>();

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
        new HTTPMessageHandler(),
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
    options?: CallOptions,
  ): Promise<ActionOutcome> {
    if (unavailableActions.has(action))
      throw new ClawbackError(
        'ConfigurationError',
        `Action "${action}" is not available for Graph profiles yet`,
      );
    if (action === 'moveToDeletedItems' || action === 'moveToJunk')
      await this.wellKnownFolderId(mailbox, destinations[action], options);
    const originalFolder = await this.folderLabel(mailbox, item, options);
    const messagePath = `${userPath(mailbox)}/messages/${encodeURIComponent(item.id)}`;
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
      default:
        throw new ClawbackError(
          'ConfigurationError',
          `Action "${action}" is not available for Graph profiles yet`,
        );
    }
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

  /**
   * Forwards to the configured address only. Graph saves the forward in the recipient's Sent Items;
   * with `andDelete` the original then goes to Recoverable Items, and a copy that vanished after the
   * forward still counts as done.
   */
  private async forward(
    mailbox: string,
    originalFolder: string,
    messagePath: string,
    andDelete: boolean,
    options: CallOptions | undefined,
  ): Promise<ActionOutcome> {
    const forwardTo = this.deps.forwardTo;
    if (!forwardTo)
      throw new ClawbackError(
        'ConfigurationError',
        'Forwarding needs forwardTo in the configuration document.',
      );
    const body = {
      comment: `Forwarded by Clawback from ${mailbox} after a verdict change.`,
      toRecipients: [{ emailAddress: { address: forwardTo } }],
    };
    const forwarded = await this.removing(originalFolder, `forwarded to ${forwardTo}`, () =>
      this.call(
        'forward',
        mailbox,
        `${messagePath}/forward`,
        options,
        (request) => request.post(body) as Promise<unknown>,
      ),
    );
    if (forwarded.status !== 'succeeded' || !andDelete) return forwarded;
    await this.removing(originalFolder, '', () =>
      this.call('delete', mailbox, messagePath, options, (request) => request.delete() as Promise<unknown>),
    );
    return {
      status: 'succeeded',
      originalFolder,
      detail: `forwarded to ${forwardTo} and deleted (Recoverable Items)`,
    };
  }

  /** A copy that vanished between finding and acting was removed by someone else: the goal is met. */
  private async removing(
    originalFolder: string,
    done: string,
    act: () => Promise<unknown>,
  ): Promise<ActionOutcome> {
    try {
      await act();
      return { status: 'succeeded', originalFolder, detail: done };
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
    const scopes = [`${userPath(mailbox)}/messages`];
    if (this.profile.searchRecoverableItems)
      scopes.push(`${userPath(mailbox)}/mailFolders/${recoverableItems}/messages`);
    const found = new Map<string, MailItem>();
    for (const scope of scopes) {
      const inRecoverable = scope.endsWith(`/${recoverableItems}/messages`);
      let page = await this.call<GraphPage>(
        'message search',
        mailbox,
        `${scope}?${messageSearchQuery(filter)}`,
        options,
        (r) => r.get() as Promise<GraphPage>,
      );
      for (let pages = 1; ; pages++) {
        for (const message of page.value ?? []) {
          if (found.has(message.id)) continue;
          found.set(message.id, {
            id: message.id,
            internetMessageId: message.internetMessageId ?? '',
            folderId: message.parentFolderId,
            folderName: inRecoverable
              ? recoverableItems
              : this.knownFolderName(mailbox, message.parentFolderId),
            isRead: message.isRead,
          });
        }
        const next = page['@odata.nextLink'];
        if (next === undefined) break;
        if (pages >= maxPages)
          throw new ClawbackError(
            'Unknown',
            `Graph kept returning more pages after ${maxPages} for ${mailbox}; stopped searching.`,
          );
        page = await this.call<GraphPage>(
          'message search',
          mailbox,
          '/',
          options,
          (r) => r.get() as Promise<GraphPage>,
          next,
        );
      }
    }
    return [...found.values()];
  }

  private async wellKnownFolderId(
    mailbox: string,
    name: string,
    options: CallOptions | undefined,
  ): Promise<string> {
    const folders = this.foldersOf(mailbox);
    let entry = folders.get(name);
    if (!entry) {
      const lookup: FolderEntry = {
        id: undefined,
        promise: this.call<{ id: string }>(
          'folder lookup',
          mailbox,
          `${userPath(mailbox)}/mailFolders/${name}`,
          options,
          (r) => r.get() as Promise<{ id: string }>,
        ).then(
          (folder) => {
            lookup.id = folder.id;
            return folder.id;
          },
          (error: unknown) => {
            folders.delete(name);
            throw error;
          },
        ),
      };
      entry = lookup;
      folders.set(name, entry);
    }
    return entry.promise;
  }

  private foldersOf(mailbox: string): Map<string, FolderEntry> {
    const key = mailbox.toLowerCase();
    let folders = this.folderIds.get(key);
    if (!folders) {
      if (this.folderIds.size >= folderCacheMailboxes) {
        const oldest = this.folderIds.keys().next();
        if (!oldest.done) this.folderIds.delete(oldest.value);
      }
      folders = new Map();
      this.folderIds.set(key, folders);
    }
    return folders;
  }

  private knownFolderName(mailbox: string, folderId: string): string | undefined {
    for (const [name, entry] of this.folderIds.get(mailbox.toLowerCase()) ?? [])
      if (entry.id === folderId) return name;
    return undefined;
  }

  /** The original folder as restore needs it: a well-known name where it is one, else the folder id. */
  private async folderLabel(
    mailbox: string,
    item: MailItem,
    options: CallOptions | undefined,
  ): Promise<string> {
    if (item.folderName === recoverableItems) return recoverableItems;
    const known = this.knownFolderName(mailbox, item.folderId);
    if (known !== undefined) return known;
    return (await this.wellKnownFolderId(mailbox, 'inbox', options)) === item.folderId
      ? 'inbox'
      : item.folderId;
  }

  private async call<T>(
    operation: string,
    mailbox: string,
    path: string,
    options: CallOptions | undefined,
    send: (request: GraphRequest) => Promise<T>,
    verbatimUrl?: string,
  ): Promise<T> {
    const scope = new GraphCallScope(verbatimUrl);
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
    const label = describeRef(this.profile.certificate);
    let loaded = this.certificate?.source === secret.value ? this.certificate.loaded : undefined;
    if (!loaded || !isCertificateCurrent(loaded)) {
      loaded = loadCertificate(secret, { label });
      this.certificate = { source: secret.value, loaded };
      const daysLeft = Math.floor((loaded.notAfter.getTime() - Date.now()) / 86_400_000);
      this.deps.log?.(
        `graph ${this.profile.name}: using certificate ${loaded.thumbprintSha1} (${loaded.subject}), valid until ${loaded.notAfter.toISOString()}${daysLeft < 30 ? ` — expires in ${daysLeft} days, renew it` : ''}`,
      );
    }
    const provider = getGraphTokenProvider({
      profile: this.profile,
      certificate: loaded,
      timeoutSeconds: this.deps.timeoutSeconds,
      identityHttpClient: this.deps.identityHttpClient,
    });
    return provider.getToken(signal);
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
