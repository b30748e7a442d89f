import { createHash, randomBytes, randomUUID } from 'node:crypto';

import type {
  SandboxFolderState,
  SandboxGroup,
  SandboxMailbox,
  SandboxMailboxState,
  SandboxMessage,
  SandboxMessageState,
} from '../types.js';

export interface Folder {
  id: string;
  displayName: string;
  /** Set on the distinguished folders. */
  wellKnownName?: string;
  parentFolderId?: string;
  isHidden: boolean;
  /** Recoverable Items and its subfolders: not covered by `/messages`. */
  recoverable: boolean;
}

export interface Message {
  id: string;
  immutableId: string;
  internetMessageId: string;
  subject: string;
  from: string;
  toRecipients: string[];
  ccRecipients: string[];
  bccRecipients: string[];
  receivedDateTime: string;
  lastModifiedDateTime: string;
  isRead: boolean;
  isDraft: boolean;
  folderId: string;
  categories: string[];
  flagStatus: string;
  mime?: string;
  /** Threading headers of a seeded or forwarded message (References, In-Reply-To). */
  headers: { name: string; value: string }[];
  attachments: { name: string; contentBase64: string }[];
  /** Attached messages: their MIME is an item attachment's `$value`. */
  itemAttachments: { name: string; mime: string }[];
  /** A draft made by createForward: what it forwards, sent on `send`. */
  forwardOf?: { messageId: string; internetMessageId: string; comment?: string };
  /** Custom `x-` headers given when the message was created (Graph takes them only then). */
  internetMessageHeaders?: { name: string; value: string }[];
}

/** Looks like an Exchange EntryId-based Graph id: opaque, URL-safe, `=`-terminated. */
export function newGraphId(prefix = 'AAMkAGI2'): string {
  return `${prefix}${randomBytes(36).toString('base64url')}AAA=`;
}

/** Well-known folder names Graph accepts wherever a folder id is expected, case-insensitively. */
const addressableWellKnown = new Set([
  'msgfolderroot',
  'inbox',
  'drafts',
  'sentitems',
  'deleteditems',
  'junkemail',
  'archive',
  'outbox',
  'recoverableitemsroot',
  'recoverableitemsdeletions',
]);

/** The purges folder has no Graph well-known name; the sandbox names it for inspection only. */
export const purgesWellKnownName = 'recoverableitemspurges';

export class Mailbox {
  readonly userId = randomUUID();
  readonly address: string;
  readonly displayName: string;
  readonly kind: 'user' | 'notEnabledForRest';
  private readonly folders = new Map<string, Folder>();
  private readonly messages = new Map<string, Message>();
  private readonly byImmutableId = new Map<string, Message>();
  private readonly wellKnown = new Map<string, Folder>();

  constructor(seed: SandboxMailbox) {
    this.address = seed.address;
    this.displayName = seed.displayName ?? seed.address.split('@')[0] ?? seed.address;
    this.kind = seed.kind ?? 'user';
    const root = this.addFolder({ displayName: 'Root', isHidden: true, recoverable: false });
    const ipm = this.addFolder({
      displayName: 'Top of Information Store',
      wellKnownName: 'msgfolderroot',
      parentFolderId: root.id,
      isHidden: false,
      recoverable: false,
    });
    const standard: [string, string][] = [
      ['inbox', 'Inbox'],
      ['drafts', 'Drafts'],
      ['sentitems', 'Sent Items'],
      ['deleteditems', 'Deleted Items'],
      ['junkemail', 'Junk Email'],
      ['archive', 'Archive'],
      ['outbox', 'Outbox'],
    ];
    for (const [wellKnownName, displayName] of standard) {
      this.addFolder({
        displayName,
        wellKnownName,
        parentFolderId: ipm.id,
        isHidden: false,
        recoverable: false,
      });
    }
    const recoverable = this.addFolder({
      displayName: 'Recoverable Items',
      wellKnownName: 'recoverableitemsroot',
      parentFolderId: root.id,
      isHidden: true,
      recoverable: true,
    });
    for (const [wellKnownName, displayName] of [
      ['recoverableitemsdeletions', 'Deletions'],
      [purgesWellKnownName, 'Purges'],
    ] as const) {
      this.addFolder({
        displayName,
        wellKnownName,
        parentFolderId: recoverable.id,
        isHidden: true,
        recoverable: true,
      });
    }
    for (const message of seed.messages ?? []) this.addMessage(message);
  }

  private addFolder(folder: Omit<Folder, 'id'>): Folder {
    const created: Folder = { id: newGraphId('AAMkAGI2AAEu'), ...folder };
    this.folders.set(created.id, created);
    if (folder.wellKnownName !== undefined) this.wellKnown.set(folder.wellKnownName, created);
    return created;
  }

  /** The distinguished folders always exist. */
  wellKnownFolder(name: string): Folder {
    const folder = this.wellKnown.get(name);
    if (folder === undefined) throw new Error(`Mailbox ${this.address} has no ${name} folder.`);
    return folder;
  }

  /** A folder id or an addressable well-known name, as Graph accepts in URLs and `destinationId`. */
  resolveFolder(idOrName: string): Folder | undefined {
    const name = idOrName.toLowerCase();
    if (addressableWellKnown.has(name)) return this.wellKnown.get(name);
    return this.folders.get(idOrName);
  }

  childFolders(parentId: string): Folder[] {
    return [...this.folders.values()].filter((f) => f.parentFolderId === parentId);
  }

  /** Undefined when a sibling already has that name (Exchange compares folder names ignoring case). */
  createFolder(parent: Folder, displayName: string, isHidden: boolean): Folder | undefined {
    const taken = this.childFolders(parent.id).some(
      (f) => f.displayName.toLowerCase() === displayName.toLowerCase(),
    );
    if (taken) return undefined;
    return this.addFolder({
      displayName,
      parentFolderId: parent.id,
      isHidden,
      recoverable: parent.recoverable,
    });
  }

  private folderForSeed(name: string | undefined): Folder {
    const wanted = name ?? 'inbox';
    const known = this.wellKnown.get(wanted.toLowerCase());
    if (known !== undefined) return known;
    const byName = [...this.folders.values()].find(
      (f) => f.displayName.toLowerCase() === wanted.toLowerCase(),
    );
    if (byName !== undefined) return byName;
    const ipm = this.wellKnownFolder('msgfolderroot');
    return this.createFolder(ipm, wanted, false) ?? ipm;
  }

  addMessage(seed: SandboxMessage, overrides: Partial<Message> = {}): Message {
    const id = seed.id ?? newGraphId();
    if (this.messages.has(id)) throw new Error(`Message id ${id} already exists in ${this.address}.`);
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const message: Message = {
      id,
      immutableId: newGraphId('AAkALgAA'),
      internetMessageId: seed.internetMessageId,
      subject: seed.subject ?? '',
      from: seed.from ?? 'sender@external.example',
      toRecipients: seed.toRecipients ?? [this.address],
      ccRecipients: seed.ccRecipients ?? [],
      bccRecipients: seed.bccRecipients ?? [],
      headers: seed.internetMessageHeaders ?? [],
      attachments: seed.attachments ?? [],
      itemAttachments: seed.itemAttachments ?? [],
      receivedDateTime: seed.receivedDateTime ?? now,
      lastModifiedDateTime: now,
      isRead: seed.isRead ?? false,
      isDraft: false,
      folderId: this.folderForSeed(seed.folder).id,
      categories: [],
      flagStatus: 'notFlagged',
      ...(seed.mime === undefined ? {} : { mime: seed.mime }),
      ...overrides,
    };
    this.messages.set(message.id, message);
    this.byImmutableId.set(message.immutableId, message);
    return message;
  }

  /** By REST id or immutable id; Graph accepts either form in a URL. */
  findMessage(id: string): Message | undefined {
    return this.messages.get(id) ?? this.byImmutableId.get(id);
  }

  /** A move makes a new item in the destination, so the REST id changes; the immutable id does not. */
  moveMessage(message: Message, destination: Folder): Message {
    this.messages.delete(message.id);
    message.id = newGraphId();
    message.folderId = destination.id;
    message.lastModifiedDateTime = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    this.messages.set(message.id, message);
    return message;
  }

  /** A copy is a new item: new REST id and new immutable id. */
  copyMessage(message: Message, destination: Folder): Message {
    const seed: SandboxMessage = {
      internetMessageId: message.internetMessageId,
      subject: message.subject,
      from: message.from,
      receivedDateTime: message.receivedDateTime,
      isRead: message.isRead,
      ...(message.mime === undefined ? {} : { mime: message.mime }),
      internetMessageHeaders: message.headers,
      attachments: message.attachments,
      itemAttachments: message.itemAttachments,
    };
    return this.addMessage(seed, {
      folderId: destination.id,
      isDraft: message.isDraft,
      toRecipients: [...message.toRecipients],
      ccRecipients: [...message.ccRecipients],
      bccRecipients: [...message.bccRecipients],
      categories: [...message.categories],
      flagStatus: message.flagStatus,
    });
  }

  folder(id: string): Folder | undefined {
    return this.folders.get(id);
  }

  allMessages(): Message[] {
    return [...this.messages.values()];
  }

  messagesIn(folderId: string): Message[] {
    return this.allMessages().filter((m) => m.folderId === folderId);
  }

  /** What `/users/{id}/messages` covers: every folder outside Recoverable Items. */
  searchableMessages(): Message[] {
    return this.allMessages().filter((m) => this.folders.get(m.folderId)?.recoverable !== true);
  }

  state(): SandboxMailboxState {
    const folders: SandboxFolderState[] = [...this.folders.values()].map((f) => ({
      id: f.id,
      displayName: f.displayName,
      isHidden: f.isHidden,
      ...(f.wellKnownName === undefined ? {} : { wellKnownName: f.wellKnownName }),
      ...(f.parentFolderId === undefined ? {} : { parentFolderId: f.parentFolderId }),
    }));
    const messages: SandboxMessageState[] = this.allMessages().map((m) => {
      const folder = this.folders.get(m.folderId);
      return {
        id: m.id,
        immutableId: m.immutableId,
        internetMessageId: m.internetMessageId,
        subject: m.subject,
        from: m.from,
        receivedDateTime: m.receivedDateTime,
        isRead: m.isRead,
        isDraft: m.isDraft,
        folderId: m.folderId,
        folder: folder?.wellKnownName ?? folder?.displayName ?? m.folderId,
        ...(m.mime === undefined ? {} : { mime: m.mime }),
      };
    });
    return { folders, messages };
  }
}

export type DirectoryMember =
  | { kind: 'user'; mailbox: Mailbox }
  | { kind: 'group'; group: Group }
  | { kind: 'contact'; id: string; address: string };

export interface Group {
  id: string;
  address: string;
  displayName: string;
  members: string[];
}

/** The users (one per mailbox) and mail-enabled groups of the tenant. */
export class Directory {
  private readonly mailboxes = new Map<string, Mailbox>();
  private readonly groups = new Map<string, Group>();

  constructor(mailboxes: SandboxMailbox[], groups: SandboxGroup[]) {
    for (const seed of mailboxes) this.mailboxes.set(seed.address.toLowerCase(), new Mailbox(seed));
    for (const seed of groups) {
      this.groups.set(seed.address.toLowerCase(), {
        id: randomUUID(),
        address: seed.address,
        displayName: seed.displayName ?? seed.address.split('@')[0] ?? seed.address,
        members: seed.members,
      });
    }
  }

  /** By address (case-insensitive) or by user object id, as `/users/{id|userPrincipalName}` allows. */
  user(idOrAddress: string): Mailbox | undefined {
    const key = idOrAddress.toLowerCase();
    return this.mailboxes.get(key) ?? [...this.mailboxes.values()].find((m) => m.userId === key);
  }

  users(): Mailbox[] {
    return [...this.mailboxes.values()];
  }

  groupByAddress(address: string): Group | undefined {
    return this.groups.get(address.toLowerCase());
  }

  allGroups(): Group[] {
    return [...this.groups.values()];
  }

  groupById(id: string): Group | undefined {
    return [...this.groups.values()].find((g) => g.id === id.toLowerCase());
  }

  directMembers(group: Group): DirectoryMember[] {
    return group.members.map((address) => {
      const mailbox = this.user(address);
      if (mailbox !== undefined) return { kind: 'user', mailbox };
      const nested = this.groupByAddress(address);
      if (nested !== undefined) return { kind: 'group', group: nested };
      return { kind: 'contact', id: contactId(address), address };
    });
  }

  /** Every nested member once, groups included, as `transitiveMembers` lists them; cycles are cut. */
  transitiveMembers(group: Group): DirectoryMember[] {
    const seen = new Set<string>([group.id]);
    const result: DirectoryMember[] = [];
    const queue: Group[] = [group];
    for (let current = queue.shift(); current !== undefined; current = queue.shift()) {
      for (const member of this.directMembers(current)) {
        const id =
          member.kind === 'user'
            ? member.mailbox.userId
            : member.kind === 'group'
              ? member.group.id
              : member.id;
        if (seen.has(id)) continue;
        seen.add(id);
        result.push(member);
        if (member.kind === 'group') queue.push(member.group);
      }
    }
    return result;
  }
}

/** Stable per address, so paging through members twice gives the same ids. */
function contactId(address: string): string {
  const hex = createHash('sha256').update(address.toLowerCase()).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
