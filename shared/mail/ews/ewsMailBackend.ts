import { createHash } from 'node:crypto';

import {
  AffectedTaskOccurrence,
  BasePropertySet,
  BodyType,
  ConflictResolutionMode,
  ConnectingIdType,
  DateTime,
  DefaultExtendedPropertySet,
  DeleteMode,
  EmailAddress,
  EmailMessage,
  EmailMessageSchema,
  ExchangeService,
  ExchangeVersion,
  ExtendedPropertyDefinition,
  Folder,
  FolderId,
  FolderSchema,
  FolderTraversal,
  FolderView,
  ImpersonatedUserId,
  type Item,
  ItemId,
  ItemSchema,
  ItemView,
  LogicalOperator,
  Mailbox,
  MailboxType,
  MapiPropertyType,
  MessageBody,
  MimeContent,
  PropertyDefinitionBase,
  PropertySet,
  SearchFilter,
  SendCancellationsMode,
  ServiceError,
  ServiceResult,
  Uri,
  WebCredentials,
  WellKnownFolderName,
} from 'ews-javascript-api';

import type { EwsProfile } from '../../config/document.js';
import { ClawbackError, isClawbackError } from '../../errors.js';
import type {
  ActionOutcome,
  CallOptions,
  ConnectionCheck,
  FindCriteria,
  FindResult,
  MailBackend,
  MailItem,
  PreviousRemediation,
  RecipientExpansion,
} from '../../ports/mail.js';
import type { SecretSource } from '../../ports/secrets.js';
import type { ActionName } from '../../verdicts/schema.js';
import { type EwsSentItems, findDerivedEwsMessages } from './derived.js';
import {
  backOffFromDetails,
  EwsNetworkFailure,
  EwsResponseError,
  responseCodeOf,
  translateEwsError,
} from './errors.js';
import { createXhr, type GuardedXhr, installStrayRejectionGuard, sleep, withDeadline } from './transport.js';
import { escapeXml } from './xml.js';

export interface EwsBackendDeps {
  secrets: SecretSource;
  /** `settings.ewsTimeoutSeconds`: the deadline of every EWS request. */
  timeoutSeconds: number;
  /** `settings.maxAttempts`: attempts per request for throttling and connection failures. */
  maxAttempts: number;
  /** The configured forward address; `forward` actions never take an address from the request. */
  forwardTo?: string | undefined;
  log?: (line: string) => void;
  /** Extra trust anchors (PEM), e.g. a test CA. Verification cannot be switched off here. */
  xhrOptions?: { ca?: string | undefined };
  /** Overrides `timeoutSeconds` with a finer value (tests). */
  timeoutMs?: number;
  /** First wait before re-trying a connection failure; doubles per attempt (default 1 s). */
  retryDelayMs?: number;
}

export type EwsMailBackend = MailBackend & {
  readonly kind: 'ews';
  /** Members (lower-case SMTP addresses) of a distribution list, nested lists expanded, cycle-safe. */
  expandDistributionList(address: string, options?: CallOptions): Promise<string[]>;
  /** `dumpsters`: search Recoverable Items (the archive's too) whatever the profile says, as a restore must. */
  findMessages(
    mailbox: string,
    criteria: FindCriteria,
    options?: CallOptions & { dumpsters?: boolean | undefined },
  ): Promise<FindResult>;
};

/** PR_INTERNET_MESSAGE_ID. */
const internetMessageIdProperty = new ExtendedPropertyDefinition(0x1035, MapiPropertyType.String);
/** PR_MESSAGE_FLAGS: 1 (read, not unsent) so an imported MIME copy does not show as a draft. */
const messageFlagsProperty = new ExtendedPropertyDefinition(0x0e07, MapiPropertyType.Integer);
/** PR_ATTR_HIDDEN: the quarantine folder in a recipient's mailbox is not shown by mail clients. */
const hiddenProperty = new ExtendedPropertyDefinition(0x10f4, MapiPropertyType.Boolean);
/** Travels with a moved item so `restore` knows where it came from (the port passes only the item). */
const originalFolderProperty = new ExtendedPropertyDefinition(
  DefaultExtendedPropertySet.PublicStrings,
  'ClawbackOriginalFolderId',
  MapiPropertyType.String,
);
/**
 * Names the copy an import came from (a hash of its item id): one quarantine copy per original copy,
 * one restored copy per quarantine copy, and a retry finds the import instead of making another.
 */
const importedFromProperty = new ExtendedPropertyDefinition(
  DefaultExtendedPropertySet.PublicStrings,
  'ClawbackImportedFrom',
  MapiPropertyType.String,
);
/** Set before a forward is sent, so a redelivered message never forwards twice. */
const forwardedProperty = new ExtendedPropertyDefinition(
  DefaultExtendedPropertySet.PublicStrings,
  'ClawbackForwarded',
  MapiPropertyType.String,
);

/** Items found in the central quarantine mailbox carry this prefix in their `MailItem.id`. */
const quarantineIdPrefix = 'quarantine-mailbox:';
const pageSize = 200;
const groupTypes = new Set([MailboxType.PublicGroup, MailboxType.ContactGroup]);
const mailboxTypes = new Set([MailboxType.Mailbox, MailboxType.GroupMailbox, MailboxType.Unknown]);
const folderGoneCodes = new Set(['ErrorFolderNotFound', 'ErrorToFolderNotFound']);
/** Connection failures where the request cannot have reached Exchange, so repeating a send is safe. */
const notDeliveredCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

interface Session {
  readonly mailbox: string | undefined;
  readonly svc: ExchangeService;
  readonly xhr: GuardedXhr;
  readonly wellKnown: Map<WellKnownFolderName, string>;
}

interface Credentials {
  password: string;
  ca: string | undefined;
}

interface FolderTarget {
  id: FolderId;
  uniqueId?: string | undefined;
  name: string;
}

interface CallSpec {
  operation: string;
  /** False for sends and imports: they are repeated only when the request surely did not arrive. */
  repeatable?: boolean;
}

export function createEwsMailBackend(profile: EwsProfile, deps: EwsBackendDeps): EwsMailBackend {
  const log = deps.log ?? (() => undefined);
  installStrayRejectionGuard(log);
  const timeoutMs = deps.timeoutMs ?? deps.timeoutSeconds * 1000;
  const retryDelayMs = deps.retryDelayMs ?? 1000;
  const maxAttempts = Math.max(1, deps.maxAttempts);
  const host = new URL(profile.ewsUrl).host;
  const impersonation = profile.access === 'impersonation';
  /** Quarantine folder ids per mailbox and path, created once. */
  const folderCache = new Map<string, string>();

  async function credentials(options?: CallOptions): Promise<Credentials> {
    const read = async (what: string, ref: EwsProfile['password']) => {
      try {
        return (await deps.secrets.getSecret(ref, options)).value;
      } catch (error) {
        if (isClawbackError(error)) throw error;
        throw new ClawbackError(
          'ConfigurationError',
          `The ${what} secret of EWS profile "${profile.name}" cannot be read.`,
          { cause: error },
        );
      }
    };
    const password = await read('password', profile.password);
    const profileCa = profile.trustedCa ? await read('trustedCa', profile.trustedCa) : undefined;
    const ca = [profileCa, deps.xhrOptions?.ca].filter((c): c is string => !!c).join('\n') || undefined;
    return { password, ca };
  }

  function open(mailbox: string | undefined, creds: Credentials): Session {
    const svc = new ExchangeService(ExchangeVersion.Exchange2013_SP1);
    svc.Url = new Uri(profile.ewsUrl);
    // Required by the library even for NTLM; the NTLM provider replaces the header it produces.
    svc.Credentials = new WebCredentials(profile.username, creds.password);
    const xhr = createXhr({
      timeoutMs,
      auth: profile.auth,
      username: profile.username,
      password: creds.password,
      ca: creds.ca,
    });
    svc.XHRApi = xhr;
    if (mailbox !== undefined) {
      svc.HttpHeaders.Add('X-AnchorMailbox', mailbox);
      if (impersonation)
        svc.ImpersonatedUserId = new ImpersonatedUserId(ConnectingIdType.SmtpAddress, escapeXml(mailbox));
    }
    return { mailbox, svc, xhr, wellKnown: new Map() };
  }

  /** A well-known folder of the session's mailbox: implicit under impersonation, explicit for full access. */
  function wellKnownFolder(session: Session, name: WellKnownFolderName): FolderId {
    return impersonation || session.mailbox === undefined
      ? new FolderId(name)
      : new FolderId(name, new Mailbox(escapeXml(session.mailbox)));
  }

  async function call<T>(
    session: Session,
    spec: CallSpec,
    run: () => Promise<T>,
    options?: CallOptions,
  ): Promise<T> {
    const signal = options?.abortSignal;
    for (let attempt = 1; ; attempt++) {
      session.xhr.beginAttempt();
      try {
        return await withDeadline(run(), timeoutMs, signal);
      } catch (caught) {
        const raw = session.xhr.takeFailure() ?? caught;
        const error = translateEwsError(raw, {
          mailbox: session.mailbox,
          host,
          operation: spec.operation,
          username: profile.username,
          access: profile.access,
          auth: profile.auth,
        });
        const notDelivered = surelyNotSent(error);
        const wait = error.retryAfterMs ?? retryDelayMs * 2 ** (attempt - 1);
        // A long server-requested back-off is not slept through here: the caller schedules the retry.
        const retry =
          error.retryable &&
          attempt < maxAttempts &&
          wait <= timeoutMs &&
          !signal?.aborted &&
          (spec.repeatable !== false || notDelivered);
        if (!retry) throw error;
        log(
          `ews ${spec.operation} on ${host} for ${session.mailbox ?? 'the service account'}: ${error.code}, attempt ${attempt} of ${maxAttempts}, retrying in ${wait} ms`,
        );
        try {
          await sleep(wait, signal);
        } catch {
          throw error;
        }
      }
    }
  }

  async function wellKnownId(
    session: Session,
    name: WellKnownFolderName,
    options?: CallOptions,
  ): Promise<string> {
    const known = session.wellKnown.get(name);
    if (known) return known;
    const folder = await call(
      session,
      { operation: 'GetFolder' },
      () => Folder.Bind(session.svc, wellKnownFolder(session, name), new PropertySet(BasePropertySet.IdOnly)),
      options,
    );
    session.wellKnown.set(name, folder.Id.UniqueId);
    return folder.Id.UniqueId;
  }

  async function listFolders(
    session: Session,
    root: FolderId,
    prefix: string,
    options?: CallOptions,
  ): Promise<FolderTarget[]> {
    const folders: FolderTarget[] = [];
    for (let offset = 0; ;) {
      const view = new FolderView(pageSize, offset);
      view.Traversal = FolderTraversal.Deep;
      view.PropertySet = new PropertySet(BasePropertySet.IdOnly, [
        FolderSchema.DisplayName,
        FolderSchema.FolderClass,
      ]);
      const page = await call(
        session,
        { operation: 'FindFolder' },
        () => session.svc.FindFolders(root, view),
        options,
      );
      for (const folder of page.Folders) {
        const folderClass = readProperty(() => folder.FolderClass);
        // Calendars, contacts and tasks cannot hold a delivered message; skipping them saves requests.
        if (folderClass && !folderClass.startsWith('IPF.Note')) continue;
        folders.push({
          id: new FolderId(folder.Id.UniqueId),
          uniqueId: folder.Id.UniqueId,
          name: prefix + (readProperty(() => folder.DisplayName) ?? ''),
        });
      }
      if (!page.MoreAvailable || page.Folders.length === 0) return folders;
      offset = page.NextPageOffset ?? offset + page.Folders.length;
    }
  }

  async function searchFolders(
    session: Session,
    targets: FolderTarget[],
    filter: SearchFilter,
    criteria: FindCriteria,
    idPrefix: string,
    options?: CallOptions,
  ): Promise<MailItem[]> {
    const found: MailItem[] = [];
    for (const target of targets) {
      for (let offset = 0; ;) {
        const view = new ItemView(pageSize, offset);
        view.PropertySet = new PropertySet(BasePropertySet.IdOnly, [
          internetMessageIdProperty,
          ItemSchema.ParentFolderId,
          EmailMessageSchema.IsRead,
          ItemSchema.DateTimeReceived,
        ]);
        const page = await call(
          session,
          { operation: 'FindItem' },
          () => session.svc.FindItems(target.id, filter, view),
          options,
        );
        for (const item of page.Items) {
          found.push({
            id: idPrefix + item.Id.UniqueId,
            internetMessageId: readExtended(item, internetMessageIdProperty) ?? criteria.internetMessageId,
            folderId: target.uniqueId ?? readProperty(() => item.ParentFolderId.UniqueId) ?? '',
            folderName: target.name,
            isRead: item instanceof EmailMessage ? readProperty(() => item.IsRead) : undefined,
            deliveredAt: readProperty(() => item.DateTimeReceived.ToISOString()),
          });
        }
        if (!page.MoreAvailable || page.Items.length === 0) break;
        offset = page.NextPageOffset ?? offset + page.Items.length;
      }
    }
    return found;
  }

  /**
   * The folders a search covers. A restore (`dumpsters`) always looks in Recoverable Items, the
   * archive's included, since that is where a soft-deleted copy waits to be put back.
   */
  async function mailboxFolders(
    session: Session,
    options?: CallOptions,
    dumpsters = profile.searchRecoverableItems,
  ): Promise<FolderTarget[]> {
    const targets = await listFolders(
      session,
      wellKnownFolder(session, WellKnownFolderName.MsgFolderRoot),
      '',
      options,
    );
    if (dumpsters) {
      targets.push({
        id: wellKnownFolder(session, WellKnownFolderName.RecoverableItemsDeletions),
        name: 'Recoverable Items\\Deletions',
      });
    }
    if (profile.searchArchive) {
      try {
        targets.push(
          ...(await listFolders(
            session,
            wellKnownFolder(session, WellKnownFolderName.ArchiveMsgFolderRoot),
            'Archive\\',
            options,
          )),
        );
        if (dumpsters)
          targets.push({
            id: wellKnownFolder(session, WellKnownFolderName.ArchiveRecoverableItemsDeletions),
            name: 'Archive\\Recoverable Items\\Deletions',
          });
      } catch (error) {
        // A mailbox without an In-Place Archive answers ErrorFolderNotFound: nothing more to search.
        if (!(isClawbackError(error) && responseCodeOf(error) === 'ErrorFolderNotFound')) throw error;
      }
    }
    return targets;
  }

  /** The quarantine copies of `recipient` in the central quarantine mailbox (mailbox target only). */
  async function quarantineMailboxCopies(
    recipient: string,
    creds: Credentials,
    criteria: FindCriteria,
    options?: CallOptions,
  ): Promise<MailItem[]> {
    const quarantineMailbox = profile.quarantineMailbox;
    if (profile.quarantineTarget !== 'mailbox' || !quarantineMailbox || quarantineMailbox === recipient)
      return [];
    const session = open(quarantineMailbox, creds);
    const path = quarantinePath(recipient);
    const folder = await findFolderPath(session, path, options);
    if (!folder) return [];
    const target = {
      id: new FolderId(escapeXml(folder)),
      uniqueId: folder,
      name: `${quarantineMailbox}/${path.join('/')}`,
    };
    const filter = new SearchFilter.IsEqualTo(
      internetMessageIdProperty,
      escapeXml(criteria.internetMessageId),
    );
    return searchFolders(session, [target], filter, criteria, quarantineIdPrefix, options);
  }

  function quarantinePath(recipient: string): string[] {
    return profile.folderPerRecipient ? [profile.quarantineFolder, recipient] : [profile.quarantineFolder];
  }

  async function findChildFolder(
    session: Session,
    parent: FolderId,
    name: string,
    options?: CallOptions,
  ): Promise<string | undefined> {
    const view = new FolderView(10);
    view.Traversal = FolderTraversal.Shallow;
    view.PropertySet = new PropertySet(BasePropertySet.IdOnly, [FolderSchema.DisplayName]);
    const filter = new SearchFilter.IsEqualTo(FolderSchema.DisplayName, escapeXml(name));
    const page = await call(
      session,
      { operation: 'FindFolder' },
      () => session.svc.FindFolders(parent, filter, view),
      options,
    );
    return page.Folders[0]?.Id.UniqueId;
  }

  async function findFolderPath(
    session: Session,
    path: string[],
    options?: CallOptions,
  ): Promise<string | undefined> {
    let parent = wellKnownFolder(session, WellKnownFolderName.MsgFolderRoot);
    let id: string | undefined;
    for (const name of path) {
      id = await findChildFolder(session, parent, name, options);
      if (!id) return undefined;
      parent = new FolderId(escapeXml(id));
    }
    return id;
  }

  /** Finds or creates the folder path under MsgFolderRoot of the session's mailbox; cached per process. */
  async function ensureFolderPath(
    session: Session,
    path: string[],
    hidden: boolean,
    options?: CallOptions,
  ): Promise<string> {
    const key = `${session.mailbox ?? ''}|${path.join('/')}`;
    const cached = folderCache.get(key);
    if (cached) return cached;
    let parent = wellKnownFolder(session, WellKnownFolderName.MsgFolderRoot);
    let id = '';
    for (const name of path) {
      id =
        (await findChildFolder(session, parent, name, options)) ??
        (await createFolder(session, parent, name, hidden, options));
      parent = new FolderId(escapeXml(id));
    }
    folderCache.set(key, id);
    return id;
  }

  async function createFolder(
    session: Session,
    parent: FolderId,
    name: string,
    hidden: boolean,
    options?: CallOptions,
  ): Promise<string> {
    const folder = new Folder(session.svc);
    folder.DisplayName = escapeXml(name);
    folder.FolderClass = 'IPF.Note';
    if (hidden) folder.SetExtendedProperty(hiddenProperty, true);
    try {
      await call(session, { operation: 'CreateFolder' }, () => folder.Save(parent), options);
      return folder.Id.UniqueId;
    } catch (error) {
      // Another worker created it first.
      if (isClawbackError(error) && responseCodeOf(error) === 'ErrorFolderExists') {
        const existing = await findChildFolder(session, parent, name, options);
        if (existing) return existing;
      }
      throw error;
    }
  }

  async function bind(
    session: Session,
    itemId: string,
    properties: PropertyDefinitionBase[],
    options?: CallOptions,
  ): Promise<EmailMessage | undefined> {
    try {
      return await call(
        session,
        { operation: 'GetItem' },
        () =>
          EmailMessage.Bind(
            session.svc,
            new ItemId(escapeXml(itemId)),
            new PropertySet(BasePropertySet.IdOnly, properties),
          ),
        options,
      );
    } catch (error) {
      if (isClawbackError(error) && error.code === 'MessageNotFound') return undefined;
      throw error;
    }
  }

  /** Runs a multi-item operation (DeleteItem, MoveItem) and raises its one per-item error. */
  async function single(
    session: Session,
    operation: string,
    run: () => Promise<{
      Responses: {
        Result: ServiceResult;
        ErrorCode: ServiceError;
        ErrorMessage: string;
        ErrorDetails: unknown;
      }[];
    }>,
    options?: CallOptions,
  ): Promise<'done' | 'gone'> {
    const result = await call(
      session,
      { operation },
      async () => {
        const responses = await run();
        const response = responses.Responses[0];
        if (response && response.Result === ServiceResult.Error) {
          throw new EwsResponseError(
            ServiceError[response.ErrorCode],
            response.ErrorMessage,
            backOffFromDetails(response.ErrorDetails),
          );
        }
        return 'done' as const;
      },
      options,
    ).catch((error: unknown) => {
      if (isClawbackError(error) && error.code === 'MessageNotFound') return 'gone' as const;
      throw error;
    });
    return result;
  }

  const alreadyGone = (originalFolder?: string): ActionOutcome => ({
    status: 'alreadyRemediated',
    originalFolder,
    detail: 'The copy was no longer where it was found.',
  });

  /** Moves (or deletes with a moving DeleteType) a copy, stamping its original folder first. */
  async function relocate(
    session: Session,
    item: MailItem,
    destination: { folderId: string; location: string },
    move: (id: ItemId) => Promise<'done' | 'gone'>,
    options?: CallOptions,
  ): Promise<ActionOutcome> {
    const message = await bind(
      session,
      item.id,
      [ItemSchema.ParentFolderId, originalFolderProperty],
      options,
    );
    if (!message) return alreadyGone(item.folderId);
    const current = readProperty(() => message.ParentFolderId.UniqueId) ?? item.folderId;
    const stamped = readExtended(message, originalFolderProperty);
    const originalFolder = stamped ?? current;
    if (current === destination.folderId) {
      return {
        status: 'alreadyRemediated',
        originalFolder,
        quarantineLocation: destination.location,
        detail: `Already in ${destination.location}.`,
      };
    }
    if (!stamped) {
      message.SetExtendedProperty(originalFolderProperty, escapeXml(current));
      await call(
        session,
        { operation: 'UpdateItem' },
        () => message.Update(ConflictResolutionMode.AlwaysOverwrite),
        options,
      );
    }
    if ((await move(new ItemId(escapeXml(item.id)))) === 'gone') return alreadyGone(originalFolder);
    return { status: 'succeeded', originalFolder, quarantineLocation: destination.location };
  }

  function deleteOp(session: Session, mode: DeleteMode, options?: CallOptions) {
    return (id: ItemId) =>
      single(
        session,
        `DeleteItem (${DeleteMode[mode]})`,
        () =>
          session.svc.DeleteItems(
            [id],
            mode,
            SendCancellationsMode.SendToNone,
            AffectedTaskOccurrence.AllOccurrences,
          ),
        options,
      );
  }

  function moveOp(session: Session, destination: FolderId, options?: CallOptions) {
    return (id: ItemId) =>
      single(session, 'MoveItem', () => session.svc.MoveItems([id], destination), options);
  }

  function headerName(name: string, setting: string): string {
    if (!/^[!-9;-~]+$/.test(name)) {
      throw new ClawbackError(
        'ConfigurationError',
        `The ${setting} "${name}" of EWS profile "${profile.name}" is not a valid MIME header name.`,
      );
    }
    return name;
  }

  /** Prepends one header to a base64 MIME message; a header at the top is valid RFC 5322. */
  function withHeader(mimeBase64: string, name: string, value: string): string {
    const line = Buffer.from(`${name}: ${value.replace(/[\r\n]+/g, ' ')}\r\n`, 'utf8');
    return Buffer.concat([line, Buffer.from(mimeBase64, 'base64')]).toString('base64');
  }

  async function importMime(
    session: Session,
    folderId: string,
    mimeBase64: string,
    stamps: [ExtendedPropertyDefinition, string][],
    options?: CallOptions,
  ): Promise<void> {
    const copy = new EmailMessage(session.svc);
    copy.MimeContent = new MimeContent('UTF-8', mimeBase64);
    copy.SetExtendedProperty(messageFlagsProperty, 1);
    for (const [property, value] of stamps) copy.SetExtendedProperty(property, escapeXml(value));
    await call(
      session,
      { operation: 'CreateItem', repeatable: false },
      () => copy.Save(new FolderId(escapeXml(folderId))),
      options,
    );
  }

  async function holdsCopy(
    session: Session,
    folderId: string,
    sourceId: string,
    options?: CallOptions,
  ): Promise<boolean> {
    const filter = new SearchFilter.IsEqualTo(importedFromProperty, sourceKey(sourceId));
    const page = await call(
      session,
      { operation: 'FindItem' },
      () => session.svc.FindItems(new FolderId(escapeXml(folderId)), filter, new ItemView(1)),
      options,
    );
    return page.Items.length > 0;
  }

  async function quarantineToMailbox(
    session: Session,
    mailbox: string,
    item: MailItem,
    creds: Credentials,
    options?: CallOptions,
  ): Promise<ActionOutcome> {
    const quarantineMailbox = profile.quarantineMailbox;
    if (!quarantineMailbox) {
      throw new ClawbackError(
        'ConfigurationError',
        `EWS profile "${profile.name}" quarantines to a mailbox but has no quarantineMailbox.`,
      );
    }
    const header = headerName(profile.quarantineHeader, 'quarantineHeader');
    const message = await bind(
      session,
      item.id,
      [ItemSchema.MimeContent, ItemSchema.ParentFolderId, originalFolderProperty],
      options,
    );
    if (!message) return alreadyGone(item.folderId);
    const originalFolder =
      readExtended(message, originalFolderProperty) ??
      readProperty(() => message.ParentFolderId.UniqueId) ??
      item.folderId;
    const mime = readProperty(() => message.MimeContent.Content);
    if (!mime)
      throw new ClawbackError(
        'Unknown',
        `EWS at ${host} returned no MIME content for the copy in ${mailbox}.`,
      );
    const quarantine = open(quarantineMailbox, creds);
    const path = quarantinePath(mailbox);
    const folder = await ensureFolderPath(quarantine, path, false, options);
    const location = `${quarantineMailbox}/${path.join('/')}`;
    // A copy left by an earlier attempt that failed before deleting the original is not imported twice.
    if (!(await holdsCopy(quarantine, folder, item.id, options))) {
      const stampedMime = withHeader(mime, header, `${mailbox}; ${new Date().toISOString()}`);
      await importMime(
        quarantine,
        folder,
        stampedMime,
        [
          [originalFolderProperty, originalFolder],
          [importedFromProperty, sourceKey(item.id)],
        ],
        options,
      );
    }
    await deleteOp(session, DeleteMode.HardDelete, options)(new ItemId(escapeXml(item.id)));
    return { status: 'succeeded', originalFolder, quarantineLocation: location };
  }

  async function restoreFromQuarantineMailbox(
    session: Session,
    mailbox: string,
    item: MailItem,
    creds: Credentials,
    options?: CallOptions,
  ): Promise<ActionOutcome> {
    const quarantine = open(profile.quarantineMailbox, creds);
    const header = headerName(profile.restoreHeader, 'restoreHeader');
    const id = item.id.slice(quarantineIdPrefix.length);
    const copy = await bind(quarantine, id, [ItemSchema.MimeContent, originalFolderProperty], options);
    if (!copy) return alreadyGone();
    const mime = readProperty(() => copy.MimeContent.Content);
    if (!mime)
      throw new ClawbackError(
        'Unknown',
        `EWS at ${host} returned no MIME content for the quarantined copy of ${mailbox}.`,
      );
    let target =
      readExtended(copy, originalFolderProperty) ??
      (await wellKnownId(session, WellKnownFolderName.Inbox, options));
    const restoredMime = withHeader(mime, header, `${mailbox}; ${new Date().toISOString()}`);
    try {
      if (!(await holdsCopy(session, target, id, options)))
        await importMime(session, target, restoredMime, [[importedFromProperty, sourceKey(id)]], options);
    } catch (error) {
      if (!(isClawbackError(error) && folderGoneCodes.has(responseCodeOf(error) ?? ''))) throw error;
      target = await wellKnownId(session, WellKnownFolderName.Inbox, options);
      if (!(await holdsCopy(session, target, id, options)))
        await importMime(session, target, restoredMime, [[importedFromProperty, sourceKey(id)]], options);
    }
    await deleteOp(quarantine, DeleteMode.HardDelete, options)(new ItemId(escapeXml(id)));
    return {
      status: 'succeeded',
      originalFolder: target,
      quarantineLocation: item.folderName,
      detail: 'Re-imported from the quarantine mailbox.',
    };
  }

  async function restoreInMailbox(
    session: Session,
    item: MailItem,
    options?: CallOptions,
  ): Promise<ActionOutcome> {
    const message = await bind(
      session,
      item.id,
      [ItemSchema.ParentFolderId, originalFolderProperty],
      options,
    );
    if (!message) return alreadyGone(item.folderId);
    const current = readProperty(() => message.ParentFolderId.UniqueId) ?? item.folderId;
    const original = readExtended(message, originalFolderProperty);
    if (!original || original === current) {
      return {
        status: 'alreadyRemediated',
        originalFolder: original ?? current,
        detail: 'The copy is already in its original folder.',
      };
    }
    const outcome = await single(
      session,
      'MoveItem',
      () => session.svc.MoveItems([new ItemId(escapeXml(item.id))], new FolderId(escapeXml(original))),
      options,
    ).catch(async (error: unknown) => {
      if (!(isClawbackError(error) && folderGoneCodes.has(responseCodeOf(error) ?? ''))) throw error;
      return moveOp(
        session,
        wellKnownFolder(session, WellKnownFolderName.Inbox),
        options,
      )(new ItemId(escapeXml(item.id)));
    });
    return outcome === 'gone'
      ? alreadyGone(original)
      : {
          status: 'succeeded',
          originalFolder: original,
          quarantineLocation: item.folderName,
          detail: `Moved back from ${item.folderName ?? 'where it was'}.`,
        };
  }

  async function forward(
    session: Session,
    mailbox: string,
    item: MailItem,
    andDelete: boolean,
    options?: CallOptions,
  ): Promise<ActionOutcome> {
    const forwardTo = deps.forwardTo;
    if (!forwardTo) {
      throw new ClawbackError(
        'ConfigurationError',
        'The action forwards to the configured forwardTo address, and the configuration has none.',
      );
    }
    const message = await bind(session, item.id, [ItemSchema.ParentFolderId, forwardedProperty], options);
    if (!message) return alreadyGone(item.folderId);
    const originalFolder = readProperty(() => message.ParentFolderId.UniqueId) ?? item.folderId;
    const mark = async (state: 'pending' | 'sent' | undefined) => {
      if (state)
        message.SetExtendedProperty(
          forwardedProperty,
          escapeXml(`${state} ${forwardTo} ${new Date().toISOString()}`),
        );
      else message.RemoveExtendedProperty(forwardedProperty);
      await call(
        session,
        { operation: 'UpdateItem' },
        () => message.Update(ConflictResolutionMode.AlwaysOverwrite),
        options,
      );
    };
    const previous = readExtended(message, forwardedProperty);
    if (previous?.startsWith('pending')) {
      // An earlier attempt may or may not have sent it; sending again could deliver it twice.
      throw new ClawbackError(
        'ConnectionError',
        `An earlier attempt to forward this copy in ${mailbox} to ${forwardTo} was not confirmed; it is not sent again. Check whether ${forwardTo} received it.`,
      );
    }
    if (!previous) {
      // Marked before sending, so a redelivered message never forwards twice (at most once, by design).
      await mark('pending');
      const prefix = new MessageBody(
        BodyType.Text,
        escapeXml(`Forwarded by Clawback from the mailbox ${mailbox}.`),
      );
      try {
        await call(
          session,
          { operation: 'CreateItem (ForwardItem)', repeatable: false },
          () => message.Forward(prefix, [new EmailAddress(escapeXml(forwardTo))]),
          options,
        );
      } catch (error) {
        if (isClawbackError(error) && surelyNotSent(error)) await mark(undefined);
        throw error;
      }
      await mark('sent');
    }
    if (andDelete) await deleteOp(session, DeleteMode.SoftDelete, options)(new ItemId(escapeXml(item.id)));
    if (previous)
      return { status: 'alreadyRemediated', originalFolder, detail: `Already forwarded to ${forwardTo}.` };
    return {
      status: 'succeeded',
      originalFolder,
      detail: `Forwarded to ${forwardTo}${andDelete ? ' and deleted' : ''}.`,
    };
  }

  async function applyToQuarantined(
    session: Session,
    mailbox: string,
    item: MailItem,
    action: ActionName,
    creds: Credentials,
    options?: CallOptions,
  ): Promise<ActionOutcome> {
    if (action === 'restore') return restoreFromQuarantineMailbox(session, mailbox, item, creds, options);
    if (action === 'none')
      return {
        status: 'succeeded',
        quarantineLocation: item.folderName,
        detail: 'Held in the quarantine mailbox; no action taken.',
      };
    return {
      status: 'alreadyRemediated',
      quarantineLocation: item.folderName,
      detail: `Held in the quarantine mailbox; ${action} leaves it there.`,
    };
  }

  /** Issue 13: what the forwards search (derived.ts) reads of a mailbox's Sent Items. */
  const sentItems: EwsSentItems = {
    async findSent(mailbox, since, offset, options) {
      const session = open(mailbox, await credentials(options));
      const view = new ItemView(pageSize, offset);
      view.PropertySet = new PropertySet(BasePropertySet.IdOnly);
      const folder = wellKnownFolder(session, WellKnownFolderName.SentItems);
      const page = await call(
        session,
        { operation: 'FindItem' },
        () =>
          since
            ? session.svc.FindItems(
                folder,
                new SearchFilter.IsGreaterThanOrEqualTo(
                  ItemSchema.DateTimeReceived,
                  new DateTime(since.getTime()),
                ),
                view,
              )
            : session.svc.FindItems(folder, view),
        options,
      );
      const ids = page.Items.map((i) => i.Id.UniqueId);
      const more = page.MoreAvailable && ids.length > 0;
      return { ids, nextOffset: more ? (page.NextPageOffset ?? offset + ids.length) : undefined };
    },
    async mimeOf(mailbox, itemId, options) {
      const session = open(mailbox, await credentials(options));
      const message = await bind(session, itemId, [ItemSchema.MimeContent], options);
      const base64 = message && readProperty(() => message.MimeContent.Content);
      return base64 ? Buffer.from(base64, 'base64').toString('utf8') : undefined;
    },
  };

  const backend: EwsMailBackend = {
    kind: 'ews',

    findDerivedMessages: (mailbox, original, options) =>
      findDerivedEwsMessages(sentItems, mailbox, original, options),

    async findMessages(
      mailbox: string,
      criteria: FindCriteria,
      options?: CallOptions & { dumpsters?: boolean | undefined },
    ): Promise<FindResult> {
      const creds = await credentials(options);
      const session = open(mailbox, creds);
      const targets = await mailboxFolders(session, options, options?.dumpsters);
      const byId = new SearchFilter.IsEqualTo(
        internetMessageIdProperty,
        escapeXml(criteria.internetMessageId),
      );
      const items = await searchFolders(session, targets, byId, criteria, '', options);
      items.push(...(await quarantineMailboxCopies(mailbox, creds, criteria, options)));
      if (items.length > 0 || !profile.fallbackSearch) return { items, usedFallback: false };
      const fallback = fallbackFilter(criteria);
      if (!fallback) return { items, usedFallback: false };
      const similar = await searchFolders(session, targets, fallback, criteria, '', options);
      return { items: similar, usedFallback: similar.length > 0 };
    },

    async applyAction(
      mailbox: string,
      item: MailItem,
      action: ActionName,
      options?: CallOptions,
    ): Promise<ActionOutcome> {
      const creds = await credentials(options);
      const session = open(mailbox, creds);
      if (item.id.startsWith(quarantineIdPrefix))
        return applyToQuarantined(session, mailbox, item, action, creds, options);
      const itemId = () => new ItemId(escapeXml(item.id));
      switch (action) {
        case 'none':
          return { status: 'succeeded', originalFolder: item.folderId, detail: 'Found; no action taken.' };
        case 'hardDelete': {
          const result = await deleteOp(session, DeleteMode.HardDelete, options)(itemId());
          return result === 'gone'
            ? alreadyGone(item.folderId)
            : { status: 'succeeded', originalFolder: item.folderId, detail: 'Purged (not reversible).' };
        }
        case 'softDelete': {
          const folderId = await wellKnownId(session, WellKnownFolderName.RecoverableItemsDeletions, options);
          return relocate(
            session,
            item,
            { folderId, location: 'Recoverable Items\\Deletions' },
            deleteOp(session, DeleteMode.SoftDelete, options),
            options,
          );
        }
        case 'moveToDeletedItems': {
          const folderId = await wellKnownId(session, WellKnownFolderName.DeletedItems, options);
          return relocate(
            session,
            item,
            { folderId, location: 'Deleted Items' },
            deleteOp(session, DeleteMode.MoveToDeletedItems, options),
            options,
          );
        }
        case 'moveToJunk': {
          const folderId = await wellKnownId(session, WellKnownFolderName.JunkEmail, options);
          return relocate(
            session,
            item,
            { folderId, location: 'Junk Email' },
            moveOp(session, wellKnownFolder(session, WellKnownFolderName.JunkEmail), options),
            options,
          );
        }
        case 'quarantine': {
          if (profile.quarantineTarget === 'mailbox')
            return quarantineToMailbox(session, mailbox, item, creds, options);
          const toQuarantine = async () => {
            const folderId = await ensureFolderPath(session, [profile.quarantineFolder], true, options);
            return relocate(
              session,
              item,
              { folderId, location: profile.quarantineFolder },
              moveOp(session, new FolderId(escapeXml(folderId)), options),
              options,
            );
          };
          try {
            return await toQuarantine();
          } catch (error) {
            // The cached folder was deleted by an administrator: find or create it again, once.
            if (!folderGoneCodes.has(responseCodeOf(error) ?? '')) throw error;
            folderCache.delete(`${mailbox}|${profile.quarantineFolder}`);
            return toQuarantine();
          }
        }
        case 'restore':
          return restoreInMailbox(session, item, options);
        case 'forward':
          return forward(session, mailbox, item, false, options);
        case 'forwardAndDelete':
          return forward(session, mailbox, item, true, options);
      }
    },

    async expandDistributionList(address: string, options?: CallOptions): Promise<string[]> {
      const session = open(undefined, await credentials(options));
      const seen = new Set<string>([address.toLowerCase()]);
      const queue = [address];
      const members = new Set<string>();
      for (let list = queue.shift(); list !== undefined; list = queue.shift()) {
        const current = list;
        const expansion = await call(
          session,
          { operation: `ExpandDL (${current})` },
          () => session.svc.ExpandGroup(escapeXml(current)),
          options,
        );
        if (!expansion.IncludesAllMembers)
          log(`ews ExpandDL on ${host}: ${current} returned only part of its members`);
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
    },

    async testConnection(mailbox: string, options?: CallOptions): Promise<ConnectionCheck> {
      const session = open(mailbox, await credentials(options));
      return {
        rootFolderId: await wellKnownId(session, WellKnownFolderName.MsgFolderRoot, options),
        rootFolderName: 'Top of Information Store',
      };
    },

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
      const found = await backend.findMessages(
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
      for (const item of found.items)
        outcomes.push(await backend.applyAction(mailbox, item, 'restore', options));
      const restored = outcomes.filter((o) => o.status === 'succeeded');
      return {
        status: restored.length > 0 ? 'succeeded' : 'alreadyRemediated',
        originalFolder: restored[0]?.originalFolder ?? outcomes[0]?.originalFolder,
        detail:
          restored.length > 0
            ? `Moved ${restored.length} ${restored.length === 1 ? 'copy' : 'copies'} back.`
            : 'Every copy was already in its original folder.',
      };
    },

    /** A distribution list (ExpandDL answers with members) or, for anything else, a mailbox. */
    async expandRecipient(address: string, options?: CallOptions): Promise<RecipientExpansion> {
      try {
        const members = await backend.expandDistributionList(address, options);
        return members.length > 0 ? { kind: 'group', members } : { kind: 'mailbox' };
      } catch (error) {
        if (
          isClawbackError(error) &&
          (error.code === 'InvalidMailbox' || error.code === 'MessageNotFound' || error.code === 'Unknown')
        )
          return { kind: 'mailbox' };
        throw error;
      }
    },
  };
  return backend;
}

function sourceKey(itemId: string): string {
  return createHash('sha256').update(itemId).digest('hex').slice(0, 32);
}

/** Sender + subject within a day either side of the received time, for ids a gateway rewrote. */
function fallbackFilter(criteria: FindCriteria): SearchFilter | undefined {
  const parts: SearchFilter[] = [];
  if (criteria.sender)
    parts.push(new SearchFilter.IsEqualTo(EmailMessageSchema.Sender, escapeXml(criteria.sender)));
  if (criteria.subject)
    parts.push(new SearchFilter.IsEqualTo(ItemSchema.Subject, escapeXml(criteria.subject)));
  if (parts.length === 0) return undefined;
  const received = criteria.receivedAt ? Date.parse(criteria.receivedAt) : NaN;
  if (!Number.isNaN(received)) {
    const day = 24 * 60 * 60 * 1000;
    parts.push(
      new SearchFilter.IsGreaterThanOrEqualTo(ItemSchema.DateTimeReceived, new DateTime(received - day)),
    );
    parts.push(
      new SearchFilter.IsLessThanOrEqualTo(ItemSchema.DateTimeReceived, new DateTime(received + day)),
    );
  }
  return new SearchFilter.SearchFilterCollection(LogicalOperator.And, parts);
}

/** Throttling and connection refusals mean Exchange never processed the request. */
function surelyNotSent(error: ClawbackError): boolean {
  const cause = (error as Error & { cause?: unknown }).cause;
  return (
    error.code === 'Throttled' ||
    (cause instanceof EwsNetworkFailure && notDeliveredCodes.has(cause.code ?? ''))
  );
}

/** Reads a property the library throws on when the server did not return it. */
function readProperty<T>(read: () => T): T | undefined {
  try {
    const value = read();
    return value === null ? undefined : value;
  } catch {
    return undefined;
  }
}

function readExtended(item: Item, definition: ExtendedPropertyDefinition): string | undefined {
  const properties = readProperty(() => item.ExtendedProperties.GetEnumerator()) ?? [];
  for (const property of properties) {
    const d = property.PropertyDefinition;
    const same = definition.Name ? d.Name === definition.Name : d.Tag === definition.Tag;
    if (same && property.Value !== undefined && property.Value !== null)
      return String(property.Value as string);
  }
  return undefined;
}
