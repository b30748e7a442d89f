import type http from 'node:http';

/** Shapes and constants of the fake Exchange Server: what its state holds and what callers can script. */
export const T = 'http://schemas.microsoft.com/exchange/services/2006/types';
export const M = 'http://schemas.microsoft.com/exchange/services/2006/messages';

export interface EwsFakeOptions {
  auth?: 'basic' | 'ntlm';
  /** `DOMAIN\user` for NTLM (domain and user are checked), any login for Basic. */
  username?: string;
  password?: string;
  /** Serve https with this key and certificate chain (PEM). */
  tls?: { key: string; cert: string };
  /** Default 0 (a free port). */
  port?: number;
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
  | { kind: 'responseError'; code: string; message?: string }
  /**
   * A successful answer with this response message (the whole `<m:…ResponseMessage>` element)
   * instead of the store's: for page shapes Exchange may send that the store never builds, such as
   * an empty page that says more items are available, or a RootFolder without IndexedPagingOffset.
   */
  | { kind: 'answer'; message: string };

export interface MailboxState {
  address: string;
  fullAccess: boolean;
  impersonation: boolean;
}

export const standardFolders: { id: string; name: string; parent?: string; folderClass?: string }[] = [
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
