import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

import {
  child,
  childrenNamed,
  descendant,
  escapeXmlText as x,
  parseXml,
  textOf,
  type XmlElement,
  XmlSyntaxError,
} from './xml.js';

/**
 * A fake Exchange Web Services endpoint: SOAP in, SOAP out, shaped like the captures in
 * ../shared/reference/ews-samples. It keeps mailboxes, folders and items, authenticates with Basic or
 * an NTLM handshake, honours ExchangeImpersonation and explicit-mailbox (full access) addressing, and
 * plays scripted faults (ErrorServerBusy with BackOffMilliseconds, empty HTTP 500, no answer, 401).
 * The adapter tests drive it directly; the local runtime serves it as the on-premises sandbox.
 */

const T = 'http://schemas.microsoft.com/exchange/services/2006/types';
const M = 'http://schemas.microsoft.com/exchange/services/2006/messages';

export interface EwsFakeOptions {
  auth?: 'basic' | 'ntlm';
  /** `DOMAIN\user` for NTLM (domain and user are checked), any login for Basic. */
  username?: string;
  password?: string;
  /** Serve https with this key and certificate chain (PEM). */
  tls?: { key: string; cert: string };
}

export interface RecordedRequest {
  operation: string;
  body: string;
  headers: http.IncomingHttpHeaders;
  /** SmtpAddress of the ExchangeImpersonation header, if any. */
  impersonated?: string | undefined;
  anchorMailbox?: string | undefined;
  /** Set when the body was not well-formed XML (the fake then answers ErrorSchemaValidation). */
  xmlError?: string | undefined;
}

export interface FakeMessage {
  id: string;
  mailbox: string;
  folderId: string;
  internetMessageId: string;
  subject: string;
  sender: string;
  receivedAt: string;
  isRead: boolean;
  /** Raw MIME text. */
  mime: string;
  /** Extended properties: `tag:<decimal>` or `name:<PropertyName>`. */
  extended: Map<string, string>;
  /** Hard-deleted (in Purges; invisible to searches). */
  purged?: boolean;
}

export interface FakeFolder {
  id: string;
  mailbox: string;
  name: string;
  parentId?: string | undefined;
  distinguished?: string | undefined;
  folderClass: string;
  hidden: boolean;
}

/** What the local runtime shows of a mailbox: its folders by path and every visible copy. */
export interface FakeMailboxView {
  address: string;
  folders: { id: string; path: string; hidden: boolean }[];
  messages: {
    id: string;
    internetMessageId: string;
    subject: string;
    sender: string;
    receivedAt: string;
    isRead: boolean;
    folderId: string;
    folder: string;
  }[];
}

export interface SentMessage {
  from: string;
  to: string[];
  referenceItemId: string;
  subject: string;
}

export type ScriptedFault =
  | { kind: 'serverBusy'; backOffMs: number }
  | { kind: 'empty500' }
  | { kind: 'hang' }
  | { kind: 'http'; status: number }
  | { kind: 'fault'; code: string; message?: string }
  | { kind: 'responseError'; code: string; message?: string };

interface MailboxState {
  address: string;
  fullAccess: boolean;
  impersonation: boolean;
}

const standardFolders: { id: string; name: string; parent?: string; folderClass?: string }[] = [
  { id: 'root', name: 'Root' },
  { id: 'msgfolderroot', name: 'Top of Information Store', parent: 'root' },
  { id: 'inbox', name: 'Inbox', parent: 'msgfolderroot' },
  { id: 'deleteditems', name: 'Deleted Items', parent: 'msgfolderroot' },
  { id: 'junkemail', name: 'Junk Email', parent: 'msgfolderroot' },
  { id: 'sentitems', name: 'Sent Items', parent: 'msgfolderroot' },
  { id: 'drafts', name: 'Drafts', parent: 'msgfolderroot' },
  { id: 'calendar', name: 'Calendar', parent: 'msgfolderroot', folderClass: 'IPF.Appointment' },
  { id: 'recoverableitemsroot', name: 'Recoverable Items', parent: 'root' },
  { id: 'recoverableitemsdeletions', name: 'Deletions', parent: 'recoverableitemsroot' },
  { id: 'recoverableitemspurges', name: 'Purges', parent: 'recoverableitemsroot' },
];

export class FakeEwsServer {
  readonly requests: RecordedRequest[] = [];
  readonly sent: SentMessage[] = [];
  readonly ntlmLogins: { domain: string; user: string }[] = [];
  private readonly mailboxes = new Map<string, MailboxState>();
  private readonly folders = new Map<string, FakeFolder>();
  private readonly items = new Map<string, FakeMessage>();
  private readonly lists = new Map<string, { address: string; name: string; type: string }[]>();
  private readonly faults: { operation: string; fault: ScriptedFault }[] = [];
  private readonly sockets = new Set<Socket>();
  private server!: http.Server;
  private seq = 0;
  url = '';
  host = '';

  private constructor(private readonly options: EwsFakeOptions) {}

  static async start(options: EwsFakeOptions = {}): Promise<FakeEwsServer> {
    const fake = new FakeEwsServer(options);
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => fake.handle(req, res);
    fake.server = options.tls
      ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, handler)
      : http.createServer(handler);
    fake.server.on('connection', (socket: Socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    fake.server.on('secureConnection', (socket: Socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    const { port } = fake.server.address() as AddressInfo;
    fake.host = `127.0.0.1:${port}`;
    fake.url = `${options.tls ? 'https' : 'http'}://${fake.host}/EWS/Exchange.asmx`;
    return fake;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

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

  private newId(kind: string): string {
    this.seq += 1;
    return `AAMk${kind}${this.seq}${randomBytes(6).toString('base64')}`;
  }

  private distinguished(mailbox: string, name: string): FakeFolder | undefined {
    return [...this.folders.values()].find((f) => f.mailbox === mailbox && f.distinguished === name);
  }

  // ---- HTTP --------------------------------------------------------------------------------------

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (!this.authenticate(req, res)) return;
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      this.dispatch(req, res, body);
    });
  }

  /** Basic: checks the login. NTLM: Type 1 → hand-made Type 2 challenge; Type 3 → checks user and domain. */
  private authenticate(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const auth = req.headers.authorization ?? '';
    const username = this.options.username ?? 'CONTOSO\\svc-clawback';
    const [expectedDomain = '', expectedUser = ''] = username.includes('\\')
      ? username.split('\\')
      : ['', username];
    if ((this.options.auth ?? 'basic') === 'basic') {
      const expected = `Basic ${Buffer.from(`${username}:${this.options.password ?? 'p@ss'}`).toString('base64')}`;
      if (auth === expected) return true;
      this.reject(req, res, 'Basic realm="127.0.0.1"');
      return false;
    }
    if (!auth.startsWith('NTLM ')) {
      this.reject(req, res, 'NTLM');
      return false;
    }
    const message = Buffer.from(auth.slice(5), 'base64');
    const type = message.length >= 12 ? message.readUInt32LE(8) : 0;
    if (type === 1) {
      res.writeHead(401, { 'WWW-Authenticate': `NTLM ${ntlmChallenge()}`, 'Content-Length': '0' }).end();
      return false;
    }
    if (type === 3) {
      const field = (offset: number) => {
        const length = message.readUInt16LE(offset);
        const start = message.readUInt32LE(offset + 4);
        return message.subarray(start, start + length).toString('utf16le');
      };
      const login = { domain: field(28), user: field(36) };
      this.ntlmLogins.push(login);
      if (
        login.user.toLowerCase() === expectedUser.toLowerCase() &&
        login.domain.toUpperCase() === expectedDomain.toUpperCase()
      )
        return true;
    }
    this.reject(req, res, 'NTLM');
    return false;
  }

  private reject(req: http.IncomingMessage, res: http.ServerResponse, challenge: string): void {
    this.requests.push({ operation: 'Unauthorized', body: '', headers: req.headers });
    res.writeHead(401, { 'WWW-Authenticate': challenge, 'Content-Length': '0' }).end();
  }

  private dispatch(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const record: RecordedRequest = {
      operation: 'Unknown',
      body,
      headers: req.headers,
      anchorMailbox: header(req, 'x-anchormailbox'),
    };
    this.requests.push(record);
    let envelope: XmlElement;
    try {
      envelope = parseXml(body);
    } catch (error) {
      record.xmlError = error instanceof XmlSyntaxError ? error.message : String(error);
      this.soapFault(
        res,
        'ErrorSchemaValidation',
        `The request failed schema validation: ${record.xmlError}`,
      );
      return;
    }
    const operationElement = child(envelope, 'Body')?.children[0];
    const operation = operationElement?.local ?? 'Unknown';
    record.operation = operation;
    const impersonation = descendant(child(envelope, 'Header'), 'ConnectingSID');
    const impersonated =
      textOf(
        child(impersonation, 'SmtpAddress') ?? child(impersonation, 'PrimarySmtpAddress'),
      ).toLowerCase() || undefined;
    record.impersonated = impersonated;

    const scripted = this.faults.findIndex((f) => f.operation === operation || f.operation === '*');
    if (scripted >= 0) {
      const [entry] = this.faults.splice(scripted, 1);
      if (entry && this.playFault(res, operation, entry.fault)) return;
    }
    if (impersonated !== undefined) {
      const state = this.mailboxes.get(impersonated);
      if (!state) {
        this.soapFault(
          res,
          'ErrorNonExistentMailbox',
          'The SMTP address has no mailbox associated with it.',
          `<t:Value Name="SmtpAddress">${x(impersonated)}</t:Value>`,
        );
        return;
      }
      if (!state.impersonation) {
        this.soapFault(
          res,
          'ErrorImpersonateUserDenied',
          'The account does not have permission to impersonate the requested user.',
        );
        return;
      }
    }
    const context = new RequestContext(this, impersonated);
    const handler = operationElement ? this.handlers[operation] : undefined;
    if (!handler || !operationElement) {
      this.soapFault(res, 'ErrorInvalidRequest', `The fake does not implement ${operation}.`);
      return;
    }
    const responseBody = handler.call(this, operationElement, context);
    res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' }).end(envelopeOf(responseBody));
  }

  private playFault(res: http.ServerResponse, operation: string, fault: ScriptedFault): boolean {
    switch (fault.kind) {
      case 'serverBusy':
        this.soapFault(
          res,
          'ErrorServerBusy',
          'The server cannot service this request right now. Try again later.',
          `<t:Value Name="BackOffMilliseconds">${fault.backOffMs}</t:Value>`,
        );
        return true;
      case 'empty500':
        res.writeHead(500, { 'Content-Length': '0' }).end();
        return true;
      case 'hang':
        return true;
      case 'http':
        res
          .writeHead(fault.status, {
            'Content-Length': '0',
            ...(fault.status === 401 ? { 'WWW-Authenticate': 'Basic realm="127.0.0.1"' } : {}),
          })
          .end();
        return true;
      case 'fault':
        this.soapFault(res, fault.code, fault.message ?? fault.code);
        return true;
      case 'responseError':
        res
          .writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' })
          .end(
            envelopeOf(
              responses(operation, [errorMessage(operation, fault.code, fault.message ?? fault.code)]),
            ),
          );
        return true;
    }
  }

  private soapFault(res: http.ServerResponse, code: string, message: string, messageXml = ''): void {
    const detailXml = messageXml ? `<t:MessageXml xmlns:t="${T}">${messageXml}</t:MessageXml>` : '';
    res
      .writeHead(500, { 'Content-Type': 'text/xml; charset=utf-8' })
      .end(
        `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode xmlns:a="${T}">a:${code}</faultcode><faultstring xml:lang="en-US">${x(message)}</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">${code}</e:ResponseCode><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">${x(message)}</e:Message>${detailXml}</detail></s:Fault></s:Body></s:Envelope>`,
      );
  }

  // ---- operations --------------------------------------------------------------------------------

  private readonly handlers: Record<string, (op: XmlElement, ctx: RequestContext) => string> = {
    FindFolder: (op, ctx) => {
      const deep = op.attrs.Traversal === 'Deep';
      const view = child(op, 'IndexedPageFolderView');
      const parents = child(op, 'ParentFolderIds')?.children ?? [];
      const restriction = child(op, 'Restriction')?.children[0];
      const messages = parents.map((ref) => {
        const parent = ctx.resolveFolder(ref);
        if (typeof parent === 'string') return errorMessage('FindFolder', parent);
        const all = this.subfolders(parent.id, deep).filter(
          (f) => !restriction || matches(restriction, folderFields(f)),
        );
        const { page, offset, last } = paginate(all, view);
        const folders = page.map(
          (f) =>
            `<t:Folder>${folderIdXml(f)}<t:FolderClass>${x(f.folderClass)}</t:FolderClass><t:DisplayName>${x(f.name)}</t:DisplayName><t:TotalCount>${this.itemsIn(f.id).length}</t:TotalCount><t:ChildFolderCount>${this.subfolders(f.id, false).length}</t:ChildFolderCount></t:Folder>`,
        );
        return success(
          'FindFolder',
          `<m:RootFolder IndexedPagingOffset="${offset}" TotalItemsInView="${all.length}" IncludesLastItemInRange="${last}"><t:Folders>${folders.join('')}</t:Folders></m:RootFolder>`,
        );
      });
      return responses('FindFolder', messages);
    },

    GetFolder: (op, ctx) => {
      const messages = (child(op, 'FolderIds')?.children ?? []).map((ref) => {
        const folder = ctx.resolveFolder(ref);
        if (typeof folder === 'string') return errorMessage('GetFolder', folder);
        return success(
          'GetFolder',
          `<m:Folders><t:Folder>${folderIdXml(folder)}<t:DisplayName>${x(folder.name)}</t:DisplayName></t:Folder></m:Folders>`,
        );
      });
      return responses('GetFolder', messages);
    },

    FindItem: (op, ctx) => {
      const view = child(op, 'IndexedPageItemView');
      const restriction = child(op, 'Restriction')?.children[0];
      const requested = requestedExtended(child(op, 'ItemShape'));
      const messages = (child(op, 'ParentFolderIds')?.children ?? []).map((ref) => {
        const folder = ctx.resolveFolder(ref);
        if (typeof folder === 'string') return errorMessage('FindItem', folder);
        const all = this.itemsIn(folder.id).filter(
          (i) => !restriction || matches(restriction, itemFields(i)),
        );
        const { page, offset, last } = paginate(all, view);
        return success(
          'FindItem',
          `<m:RootFolder IndexedPagingOffset="${offset}" TotalItemsInView="${all.length}" IncludesLastItemInRange="${last}"><t:Items>${page.map((i) => this.itemXml(i, requested, false)).join('')}</t:Items></m:RootFolder>`,
        );
      });
      return responses('FindItem', messages);
    },

    GetItem: (op, ctx) => {
      const shape = child(op, 'ItemShape');
      const withMime = childrenNamed(child(shape, 'AdditionalProperties'), 'FieldURI').some(
        (f) => f.attrs.FieldURI === 'item:MimeContent',
      );
      const requested = requestedExtended(shape);
      const messages = (child(op, 'ItemIds')?.children ?? []).map((ref) => {
        const item = ctx.resolveItem(ref);
        if (typeof item === 'string') return errorMessage('GetItem', item);
        return success('GetItem', `<m:Items>${this.itemXml(item, requested, withMime)}</m:Items>`);
      });
      return responses('GetItem', messages);
    },

    UpdateItem: (op, ctx) => {
      const messages = childrenNamed(child(op, 'ItemChanges'), 'ItemChange').map((change) => {
        const item = ctx.resolveItem(child(change, 'ItemId'));
        if (typeof item === 'string') return errorMessage('UpdateItem', item);
        for (const set of childrenNamed(child(change, 'Updates'), 'SetItemField')) {
          for (const property of childrenNamed(
            descendant(set, 'Message') ?? descendant(set, 'Item'),
            'ExtendedProperty',
          )) {
            item.extended.set(
              extendedKey(child(property, 'ExtendedFieldURI')),
              textOf(child(property, 'Value')),
            );
          }
        }
        for (const removal of childrenNamed(child(change, 'Updates'), 'DeleteItemField')) {
          item.extended.delete(extendedKey(child(removal, 'ExtendedFieldURI')));
        }
        return success(
          'UpdateItem',
          `<m:Items><t:Message><t:ItemId Id="${x(item.id)}" ChangeKey="CK${this.seq}"/></t:Message></m:Items><m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>`,
        );
      });
      return responses('UpdateItem', messages);
    },

    DeleteItem: (op, ctx) => {
      const mode = op.attrs.DeleteType ?? 'HardDelete';
      const messages = (child(op, 'ItemIds')?.children ?? []).map((ref) => {
        const item = ctx.resolveItem(ref);
        if (typeof item === 'string') return errorMessage('DeleteItem', item);
        if (mode === 'HardDelete') {
          item.purged = true;
          item.folderId = this.folderIdOf(item.mailbox, 'recoverableitemspurges');
        } else {
          this.relocate(
            item,
            this.folderIdOf(
              item.mailbox,
              mode === 'SoftDelete' ? 'recoverableitemsdeletions' : 'deleteditems',
            ),
          );
        }
        return success('DeleteItem', '');
      });
      return responses('DeleteItem', messages);
    },

    MoveItem: (op, ctx) => {
      const destination = ctx.resolveFolder(child(op, 'ToFolderId')?.children[0]);
      const messages = (child(op, 'ItemIds')?.children ?? []).map((ref) => {
        if (typeof destination === 'string')
          return errorMessage(
            'MoveItem',
            destination === 'ErrorFolderNotFound' ? 'ErrorToFolderNotFound' : destination,
          );
        const item = ctx.resolveItem(ref);
        if (typeof item === 'string') return errorMessage('MoveItem', item);
        const crossMailbox = item.mailbox !== destination.mailbox;
        const moved = this.relocate(item, destination.id);
        // EWS returns no id for a cross-mailbox move.
        return success(
          'MoveItem',
          crossMailbox
            ? '<m:Items/>'
            : `<m:Items><t:Message><t:ItemId Id="${x(moved.id)}" ChangeKey="CK1"/></t:Message></m:Items>`,
        );
      });
      return responses('MoveItem', messages);
    },

    CreateItem: (op, ctx) => {
      const messages = (child(op, 'Items')?.children ?? []).map((element) => {
        if (element.local === 'ForwardItem') {
          const reference = ctx.resolveItem(child(element, 'ReferenceItemId'));
          if (typeof reference === 'string') return errorMessage('CreateItem', reference);
          const to = childrenNamed(child(element, 'ToRecipients'), 'Mailbox').map((m) =>
            textOf(child(m, 'EmailAddress')),
          );
          this.sent.push({
            from: reference.mailbox,
            to,
            referenceItemId: reference.id,
            subject: `FW: ${reference.subject}`,
          });
          return success('CreateItem', '<m:Items/>');
        }
        const folder = ctx.resolveFolder(child(op, 'SavedItemFolderId')?.children[0]);
        if (typeof folder === 'string') return errorMessage('CreateItem', folder);
        const mime = Buffer.from(textOf(child(element, 'MimeContent')), 'base64').toString('utf8');
        const headers = mimeHeaders(mime);
        const id = this.newId('ITEM');
        const extended = new Map<string, string>();
        for (const property of childrenNamed(element, 'ExtendedProperty')) {
          extended.set(extendedKey(child(property, 'ExtendedFieldURI')), textOf(child(property, 'Value')));
        }
        this.items.set(id, {
          id,
          mailbox: folder.mailbox,
          folderId: folder.id,
          internetMessageId: headers.get('message-id') ?? '',
          subject: headers.get('subject') ?? '',
          sender: headers.get('from') ?? '',
          receivedAt: new Date().toISOString(),
          isRead: extended.get('tag:3591') === '1',
          mime,
          extended,
        });
        return success(
          'CreateItem',
          `<m:Items><t:Message><t:ItemId Id="${x(id)}" ChangeKey="CK1"/></t:Message></m:Items>`,
        );
      });
      return responses('CreateItem', messages);
    },

    CreateFolder: (op, ctx) => {
      const parent = ctx.resolveFolder(child(op, 'ParentFolderId')?.children[0]);
      const messages = childrenNamed(child(op, 'Folders'), 'Folder').map((element) => {
        if (typeof parent === 'string') return errorMessage('CreateFolder', parent);
        const name = textOf(child(element, 'DisplayName'));
        if (this.subfolders(parent.id, false).some((f) => f.name === name))
          return errorMessage('CreateFolder', 'ErrorFolderExists');
        const hidden = childrenNamed(element, 'ExtendedProperty').some(
          (p) =>
            extendedKey(child(p, 'ExtendedFieldURI')) === 'tag:4340' && textOf(child(p, 'Value')) === 'true',
        );
        const id = this.newId('FOLDER');
        const folder: FakeFolder = {
          id,
          mailbox: parent.mailbox,
          name,
          parentId: parent.id,
          folderClass: textOf(child(element, 'FolderClass')) || 'IPF.Note',
          hidden,
        };
        this.folders.set(id, folder);
        return success('CreateFolder', `<m:Folders><t:Folder>${folderIdXml(folder)}</t:Folder></m:Folders>`);
      });
      return responses('CreateFolder', messages);
    },

    ExpandDL: (op) => {
      const address = textOf(descendant(child(op, 'Mailbox'), 'EmailAddress')).toLowerCase();
      const members = this.lists.get(address);
      if (!members)
        return responses('ExpandDL', [
          errorMessage('ExpandDL', 'ErrorNameResolutionNoResults', 'No results are found.'),
        ]);
      const entries = members.map(
        (m) =>
          `<t:Mailbox><t:Name>${x(m.name)}</t:Name><t:EmailAddress>${x(m.address)}</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType><t:MailboxType>${m.type}</t:MailboxType></t:Mailbox>`,
      );
      return responses('ExpandDL', [
        success(
          'ExpandDL',
          `<m:DLExpansion TotalItemsInView="${members.length}" IncludesLastItemInRange="true">${entries.join('')}</m:DLExpansion>`,
        ),
      ]);
    },
  };

  /** @internal */
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

  private subfolders(parentId: string, deep: boolean): FakeFolder[] {
    const direct = [...this.folders.values()].filter((f) => f.parentId === parentId);
    return deep ? direct.flatMap((f) => [f, ...this.subfolders(f.id, true)]) : direct;
  }

  private itemsIn(folderId: string): FakeMessage[] {
    return [...this.items.values()].filter((i) => i.folderId === folderId && !i.purged);
  }

  /** Moves an item; like Exchange, the moved item gets a new id. */
  private relocate(item: FakeMessage, folderId: string): FakeMessage {
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

  private itemXml(item: FakeMessage, requested: XmlElement[], withMime: boolean): string {
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
class RequestContext {
  constructor(
    private readonly fake: FakeEwsServer,
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

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function envelopeOf(body: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" Version="V2017_07_11" xmlns:h="${T}" xmlns="${T}"/></s:Header>
<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">${body}</s:Body></s:Envelope>`;
}

function responses(operation: string, messages: string[]): string {
  return `<m:${operation}Response xmlns:m="${M}" xmlns:t="${T}"><m:ResponseMessages>${messages.join('')}</m:ResponseMessages></m:${operation}Response>`;
}

function success(operation: string, inner: string): string {
  return `<m:${operation}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${inner}</m:${operation}ResponseMessage>`;
}

const errorTexts: Record<string, string> = {
  ErrorItemNotFound: 'The specified object was not found in the store.',
  ErrorFolderNotFound: 'The specified folder could not be found in the store.',
  ErrorToFolderNotFound: 'The specified folder could not be found in the store.',
  ErrorNonExistentMailbox: 'The SMTP address has no mailbox associated with it.',
  ErrorAccessDenied: 'Access is denied. Check credentials and try again.',
  ErrorFolderExists: 'A folder with the specified name already exists.',
};

function errorMessage(operation: string, code: string, text?: string): string {
  return `<m:${operation}ResponseMessage ResponseClass="Error"><m:MessageText>${x(text ?? errorTexts[code] ?? code)}</m:MessageText><m:ResponseCode>${code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:${operation}ResponseMessage>`;
}

function folderIdXml(folder: FakeFolder): string {
  return `<t:FolderId Id="${x(folder.id)}" ChangeKey="AQAAAA=="/>`;
}

function paginate<T>(all: T[], view: XmlElement | undefined): { page: T[]; offset: number; last: boolean } {
  const start = Number(view?.attrs.Offset ?? 0);
  const max = Number(view?.attrs.MaxEntriesReturned ?? 1000);
  const page = all.slice(start, start + max);
  const offset = start + page.length;
  return { page, offset, last: offset >= all.length };
}

function requestedExtended(shape: XmlElement | undefined): XmlElement[] {
  return childrenNamed(child(shape, 'AdditionalProperties'), 'ExtendedFieldURI');
}

function extendedKey(uri: XmlElement | undefined): string {
  if (!uri) return '';
  if (uri.attrs.PropertyName) return `name:${uri.attrs.PropertyName}`;
  return `tag:${Number(uri.attrs.PropertyTag ?? NaN)}`;
}

type Fields = Record<string, string | undefined>;

function itemFields(item: FakeMessage): Fields {
  const fields: Fields = {
    'item:Subject': item.subject,
    'message:Sender': item.sender,
    'message:From': item.sender,
    'item:DateTimeReceived': item.receivedAt,
    'tag:4149': item.internetMessageId,
  };
  for (const [key, value] of item.extended) fields[key] = value;
  return fields;
}

function folderFields(folder: FakeFolder): Fields {
  return { 'folder:DisplayName': folder.name, 'folder:FolderClass': folder.folderClass };
}

/** Evaluates an EWS restriction (And, Or, Not, IsEqualTo, comparisons, Contains) against one object. */
function matches(node: XmlElement, fields: Fields): boolean {
  const operands = node.children;
  switch (node.local) {
    case 'And':
      return operands.every((o) => matches(o, fields));
    case 'Or':
      return operands.some((o) => matches(o, fields));
    case 'Not':
      return !operands.every((o) => matches(o, fields));
    case 'Contains': {
      const value = fieldValue(operands[0], fields) ?? '';
      const constant = child(node, 'Constant')?.attrs.Value ?? '';
      return value.toLowerCase().includes(constant.toLowerCase());
    }
    default: {
      const value = fieldValue(operands[0], fields);
      const constant = child(child(node, 'FieldURIOrConstant'), 'Constant')?.attrs.Value;
      if (value === undefined || constant === undefined) return false;
      const isDate = operands[0]?.attrs.FieldURI === 'item:DateTimeReceived';
      const compare = isDate ? Date.parse(value) - Date.parse(constant) : value.localeCompare(constant);
      switch (node.local) {
        case 'IsEqualTo':
          return isDate
            ? compare === 0
            : value === constant ||
                (operands[0]?.attrs.FieldURI === 'message:Sender' &&
                  value.toLowerCase() === constant.toLowerCase());
        case 'IsNotEqualTo':
          return value !== constant;
        case 'IsGreaterThan':
          return compare > 0;
        case 'IsGreaterThanOrEqualTo':
          return compare >= 0;
        case 'IsLessThan':
          return compare < 0;
        case 'IsLessThanOrEqualTo':
          return compare <= 0;
        default:
          return false;
      }
    }
  }
}

function fieldValue(uri: XmlElement | undefined, fields: Fields): string | undefined {
  if (!uri) return undefined;
  if (uri.local === 'ExtendedFieldURI') return fields[extendedKey(uri)];
  return fields[uri.attrs.FieldURI ?? ''];
}

function mimeHeaders(mime: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of mime.split(/\r?\n/)) {
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon > 0) {
      const name = line.slice(0, colon).trim().toLowerCase();
      if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
    }
  }
  return headers;
}

/** Names of the MIME headers of an item, in order, for tests that check the quarantine header. */
export function mimeHeaderLines(mime: string): string[] {
  const end = mime.search(/\r?\n\r?\n/);
  return (end < 0 ? mime : mime.slice(0, end)).split(/\r?\n/);
}

/** A hand-made NTLM Type 2 (challenge) message: target CONTOSO, server EXCH01, fixed challenge. */
function ntlmChallenge(): string {
  const u16 = (s: string) => Buffer.from(s, 'utf16le');
  const target = u16('CONTOSO');
  const av = (id: number, value: Buffer) => {
    const h = Buffer.alloc(4);
    h.writeUInt16LE(id, 0);
    h.writeUInt16LE(value.length, 2);
    return Buffer.concat([h, value]);
  };
  const info = Buffer.concat([av(2, u16('CONTOSO')), av(1, u16('EXCH01')), av(0, Buffer.alloc(0))]);
  const head = Buffer.alloc(48);
  head.write('NTLMSSP\0', 0, 'latin1');
  head.writeUInt32LE(2, 8);
  head.writeUInt16LE(target.length, 12);
  head.writeUInt16LE(target.length, 14);
  head.writeUInt32LE(48, 16);
  head.writeUInt32LE(0xa2898205, 20);
  Buffer.from('0123456789abcdef', 'hex').copy(head, 24);
  head.writeUInt16LE(info.length, 40);
  head.writeUInt16LE(info.length, 42);
  head.writeUInt32LE(48 + target.length, 44);
  return Buffer.concat([head, target, info]).toString('base64');
}
