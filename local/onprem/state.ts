import { randomBytes } from 'node:crypto';

import { extendedKey } from './soap.js';
import {
  type FakeFolder,
  type FakeMailboxView,
  type FakeMessage,
  type MailboxState,
  type RecordedRequest,
  type ScriptedFault,
  type SentMessage,
  standardFolders,
} from './types.js';
import { child, descendant, escapeXmlText as x, textOf, type XmlElement } from './xml.js';

/** Mailboxes, folders and items of the fake Exchange Server, and what a request may see of them. */
export abstract class EwsMailboxStore {
  readonly requests: RecordedRequest[] = [];
  readonly sent: SentMessage[] = [];
  readonly ntlmLogins: { domain: string; user: string }[] = [];
  protected readonly mailboxes = new Map<string, MailboxState>();
  protected readonly folders = new Map<string, FakeFolder>();
  protected readonly items = new Map<string, FakeMessage>();
  protected readonly lists = new Map<string, { address: string; name: string; type: string }[]>();
  protected readonly faults: { operation: string; fault: ScriptedFault }[] = [];
  protected seq = 0;

  // ---- state -------------------------------------------------------------------------------------

  addMailbox(address: string, options: { archive?: boolean } = {}): void {
    const mailbox = address.toLowerCase();
    this.mailboxes.set(mailbox, { address: mailbox, fullAccess: true, impersonation: true });
    const ids = new Map<string, string>();
    const defs = [...standardFolders];
    if (options.archive) {
      defs.push(
        { id: 'archiveroot', name: 'Archive Root' },
        { id: 'archivemsgfolderroot', name: 'Top of Information Store', parent: 'archiveroot' },
      );
      defs.push({ id: 'archiveinbox', name: 'Inbox', parent: 'archivemsgfolderroot' });
      // The archive has its own dumpster: a copy soft-deleted in the archive goes there, not to the primary's.
      defs.push(
        { id: 'archiverecoverableitemsroot', name: 'Recoverable Items', parent: 'archiveroot' },
        { id: 'archiverecoverableitemsdeletions', name: 'Deletions', parent: 'archiverecoverableitemsroot' },
      );
    }
    for (const def of defs) {
      const id = this.newId('FOLDER');
      ids.set(def.id, id);
      const parentId = def.parent ? ids.get(def.parent) : undefined;
      this.folders.set(id, {
        id,
        mailbox,
        name: def.name,
        parentId,
        distinguished: def.id,
        folderClass: def.folderClass ?? 'IPF.Note',
        hidden: false,
      });
    }
  }

  /** Creates a folder; `parent` is a distinguished name (default msgfolderroot) or a folder id. */
  addFolder(mailbox: string, name: string, parent = 'msgfolderroot'): string {
    const parentFolder = this.folders.get(parent) ?? this.distinguished(mailbox.toLowerCase(), parent);
    if (!parentFolder) throw new Error(`no folder ${parent} in ${mailbox}`);
    const id = this.newId('FOLDER');
    this.folders.set(id, {
      id,
      mailbox: parentFolder.mailbox,
      name,
      parentId: parentFolder.id,
      folderClass: 'IPF.Note',
      hidden: false,
    });
    return id;
  }

  addMessage(
    mailbox: string,
    message: {
      internetMessageId: string;
      folder?: string;
      subject?: string;
      sender?: string;
      receivedAt?: string;
      isRead?: boolean;
      /** Raw RFC 822 text (headers such as References, To, Cc; attachments); generated when absent. */
      mime?: string;
    },
  ): string {
    const owner = mailbox.toLowerCase();
    const folder =
      this.folders.get(message.folder ?? '') ?? this.distinguished(owner, message.folder ?? 'inbox');
    if (!folder) throw new Error(`no folder ${message.folder ?? 'inbox'} in ${mailbox}`);
    const subject = message.subject ?? 'Invoice';
    const sender = message.sender ?? 'attacker@evil.example';
    const receivedAt = message.receivedAt ?? '2026-11-20T10:00:00Z';
    const mime = [
      `From: ${sender}`,
      `To: ${owner}`,
      `Subject: ${subject}`,
      `Message-ID: ${message.internetMessageId}`,
      `Date: ${new Date(receivedAt).toUTCString()}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Please open the attachment.',
      '',
    ].join('\r\n');
    const id = this.newId('ITEM');
    this.items.set(id, {
      id,
      mailbox: owner,
      folderId: folder.id,
      internetMessageId: message.internetMessageId,
      subject,
      sender,
      receivedAt,
      isRead: message.isRead ?? false,
      mime: message.mime ?? mime,
      extended: new Map(),
    });
    return id;
  }

  addDistributionList(
    address: string,
    members: { address: string; name?: string; type?: 'Mailbox' | 'PublicDL' | 'Contact' }[],
  ): void {
    this.lists.set(
      address.toLowerCase(),
      members.map((m) => ({
        address: m.address,
        name: m.name ?? m.address.split('@')[0] ?? m.address,
        type: m.type ?? 'Mailbox',
      })),
    );
  }

  denyImpersonation(mailbox: string): void {
    const state = this.mailboxes.get(mailbox.toLowerCase());
    if (state) state.impersonation = false;
  }

  denyFullAccess(mailbox: string): void {
    const state = this.mailboxes.get(mailbox.toLowerCase());
    if (state) state.fullAccess = false;
  }

  /** The next `times` requests of `operation` (or `*`) get `fault` instead of an answer. */
  fail(operation: string, fault: ScriptedFault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push({ operation, fault });
  }

  /** Drops the faults not played yet. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Visible copies of a message in a mailbox (purged ones excluded). */
  copiesOf(mailbox: string, internetMessageId: string): FakeMessage[] {
    return [...this.items.values()].filter(
      (i) => i.mailbox === mailbox.toLowerCase() && i.internetMessageId === internetMessageId && !i.purged,
    );
  }

  purgedCopiesOf(mailbox: string, internetMessageId: string): FakeMessage[] {
    return [...this.items.values()].filter(
      (i) => i.mailbox === mailbox.toLowerCase() && i.internetMessageId === internetMessageId && i.purged,
    );
  }

  /** Deletes a folder and everything in it, as an administrator would. */
  removeFolder(id: string): void {
    for (const item of [...this.items.values()]) if (item.folderId === id) this.items.delete(item.id);
    this.folders.delete(id);
  }

  folder(id: string): FakeFolder | undefined {
    return this.folders.get(id);
  }

  /** Path of a folder below its mailbox's msgfolderroot/root, e.g. `Inbox` or `Clawback/bob@contoso.com`. */
  folderPath(id: string): string {
    const names: string[] = [];
    for (
      let f = this.folders.get(id);
      f && f.distinguished !== 'msgfolderroot' && f.distinguished !== 'root';
      f = this.folders.get(f.parentId ?? '')
    ) {
      names.unshift(f.name);
    }
    return names.join('/');
  }

  /** Throws for an address that is not a mailbox of this server. */
  mailboxView(address: string): FakeMailboxView {
    const mailbox = address.toLowerCase();
    if (!this.mailboxes.has(mailbox)) throw new Error(`no mailbox ${address}`);
    const folders = [...this.folders.values()].filter(
      (f) => f.mailbox === mailbox && f.distinguished !== 'root' && f.distinguished !== 'msgfolderroot',
    );
    return {
      address: mailbox,
      folders: folders.map((f) => ({ id: f.id, path: this.folderPath(f.id), hidden: f.hidden })),
      messages: [...this.items.values()]
        .filter((i) => i.mailbox === mailbox && !i.purged)
        .map((i) => ({
          id: i.id,
          internetMessageId: i.internetMessageId,
          subject: i.subject,
          sender: i.sender,
          receivedAt: i.receivedAt,
          isRead: i.isRead,
          folderId: i.folderId,
          folder: this.folderPath(i.folderId),
        })),
    };
  }

  folderIdOf(mailbox: string, distinguished: string): string {
    const folder = this.distinguished(mailbox.toLowerCase(), distinguished);
    if (!folder) throw new Error(`no ${distinguished} in ${mailbox}`);
    return folder.id;
  }

  operations(): string[] {
    return this.requests.map((r) => r.operation);
  }

  protected newId(kind: string): string {
    this.seq += 1;
    return `AAMk${kind}${this.seq}${randomBytes(6).toString('base64')}`;
  }

  protected distinguished(mailbox: string, name: string): FakeFolder | undefined {
    return [...this.folders.values()].find((f) => f.mailbox === mailbox && f.distinguished === name);
  }

  mailboxState(address: string): MailboxState | undefined {
    return this.mailboxes.get(address);
  }

  /** @internal */
  folderByDistinguished(mailbox: string, name: string): FakeFolder | undefined {
    return this.distinguished(mailbox, name);
  }

  /** @internal */
  visibleItem(id: string): FakeMessage | undefined {
    const item = this.items.get(id);
    return item && !item.purged ? item : undefined;
  }

  protected subfolders(parentId: string, deep: boolean): FakeFolder[] {
    const direct = [...this.folders.values()].filter((f) => f.parentId === parentId);
    return deep ? direct.flatMap((f) => [f, ...this.subfolders(f.id, true)]) : direct;
  }

  protected itemsIn(folderId: string): FakeMessage[] {
    return [...this.items.values()].filter((i) => i.folderId === folderId && !i.purged);
  }

  /** Moves an item; like Exchange, the moved item gets a new id. */
  /** Whether a folder lies under the In-Place Archive's root. */
  protected inArchive(folderId: string): boolean {
    for (let folder = this.folders.get(folderId); folder; folder = this.folders.get(folder.parentId ?? ''))
      if (folder.distinguished === 'archiveroot') return true;
    return false;
  }

  protected relocate(item: FakeMessage, folderId: string): FakeMessage {
    const destination = this.folders.get(folderId);
    this.items.delete(item.id);
    const moved = {
      ...item,
      id: this.newId('ITEM'),
      folderId,
      mailbox: destination?.mailbox ?? item.mailbox,
    };
    this.items.set(moved.id, moved);
    return moved;
  }

  protected itemXml(item: FakeMessage, requested: XmlElement[], withMime: boolean): string {
    const extended = requested
      .map((uri) => {
        const value =
          item.extended.get(extendedKey(uri)) ??
          (extendedKey(uri) === 'tag:4149' ? item.internetMessageId : undefined);
        if (value === undefined) return '';
        const attrs = Object.entries(uri.attrs)
          .map(([k, v]) => ` ${k}="${x(k === 'PropertyTag' ? `0x${Number(v).toString(16)}` : v)}"`)
          .join('');
        return `<t:ExtendedProperty><t:ExtendedFieldURI${attrs}/><t:Value>${x(value)}</t:Value></t:ExtendedProperty>`;
      })
      .join('');
    const mime = withMime
      ? `<t:MimeContent CharacterSet="UTF-8">${Buffer.from(item.mime, 'utf8').toString('base64')}</t:MimeContent>`
      : '';
    return `<t:Message>${mime}<t:ItemId Id="${x(item.id)}" ChangeKey="CK1"/><t:ParentFolderId Id="${x(item.folderId)}" ChangeKey="AQAAAA=="/><t:Subject>${x(item.subject)}</t:Subject><t:DateTimeReceived>${x(item.receivedAt)}</t:DateTimeReceived>${extended}<t:IsRead>${item.isRead}</t:IsRead></t:Message>`;
  }
}

/** What one request may see: the impersonated mailbox, or explicitly addressed mailboxes (full access). */
export class RequestContext {
  constructor(
    private readonly fake: EwsMailboxStore,
    private readonly impersonated: string | undefined,
  ) {}

  resolveFolder(ref: XmlElement | undefined): FakeFolder | string {
    if (!ref) return 'ErrorInvalidIdEmpty';
    if (ref.local === 'DistinguishedFolderId') {
      const explicit = textOf(descendant(child(ref, 'Mailbox'), 'EmailAddress')).toLowerCase();
      const mailbox = explicit || this.impersonated;
      if (!mailbox) return 'ErrorNonExistentMailbox';
      const access = this.access(mailbox);
      if (access) return access;
      return this.fake.folderByDistinguished(mailbox, ref.attrs.Id ?? '') ?? 'ErrorFolderNotFound';
    }
    const folder = this.fake.folder(ref.attrs.Id ?? '');
    if (!folder) return 'ErrorFolderNotFound';
    return this.access(folder.mailbox) ?? folder;
  }

  resolveItem(ref: XmlElement | undefined): FakeMessage | string {
    const item = this.fake.visibleItem(ref?.attrs.Id ?? '');
    if (!item) return 'ErrorItemNotFound';
    return this.access(item.mailbox) ?? item;
  }

  private access(mailbox: string): string | undefined {
    const state = this.fake.mailboxState(mailbox);
    if (!state) return 'ErrorNonExistentMailbox';
    if (this.impersonated === mailbox) return undefined;
    return state.fullAccess ? undefined : 'ErrorAccessDenied';
  }
}
