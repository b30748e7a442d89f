/** A message seeded into (or added to) a sandbox mailbox. */
export interface SandboxMessage {
  id?: string;
  internetMessageId: string;
  subject?: string;
  /** Sender address. */
  from?: string;
  receivedDateTime?: string;
  isRead?: boolean;
  /** Well-known name (`inbox`, `junkemail`, …) or display name; a display name that does not exist yet is created under the message folder root. Default `inbox`. */
  folder?: string;
  /** Raw RFC 822 text served by `$value`; generated from the other fields when absent. */
  mime?: string;
  /** Default: the mailbox itself. A message seeded into Sent Items lists whom it went to. */
  toRecipients?: string[];
  /** Default none. Cc recipients, served as `ccRecipients`. */
  ccRecipients?: string[];
  /** Default none. Bcc recipients, served as `bccRecipients`: Graph lists them on the sender's copy (Sent Items). */
  bccRecipients?: string[];
  /** Served only when `$select` names `internetMessageHeaders` (e.g. References, In-Reply-To). */
  internetMessageHeaders?: { name: string; value: string }[];
  /** File attachments, served by `/messages/{id}/attachments`. */
  attachments?: { name: string; contentBase64: string }[];
  /**
   * Attached messages (a forward as attachment), listed after the file attachments as
   * `#microsoft.graph.itemAttachment`; `mime` is the RFC 822 text served by `/attachments/{id}/$value`.
   */
  itemAttachments?: { name: string; mime: string }[];
}

export interface SandboxMailbox {
  address: string;
  displayName?: string;
  /** `notEnabledForRest` models a user whose mailbox Graph cannot reach (on-premises, inactive, unlicensed). */
  kind?: 'user' | 'notEnabledForRest';
  messages?: SandboxMessage[];
}

export interface SandboxGroup {
  address: string;
  displayName?: string;
  /** Addresses of users or other groups; any other address is listed as an external contact. */
  members: string[];
}

export interface SandboxApp {
  tenantId: string;
  tenantDomain?: string;
  clientId: string;
  /** Public certificate registered on the app registration. */
  certificatePem: string;
  /** Application permissions granted with admin consent. Default {@link defaultAppPermissions}. */
  permissions?: string[];
}

export const defaultAppPermissions: readonly string[] = [
  'Mail.ReadWrite',
  'Mail.Send',
  'GroupMember.Read.All',
  'User.Read.All',
];

export interface SandboxTenantOptions {
  apps: SandboxApp[];
  mailboxes: SandboxMailbox[];
  groups?: SandboxGroup[];
  /** Serve https with this key and certificate; plain http otherwise. */
  tls?: { keyPem: string; certPem: string };
  /** Default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Page size when `$top` is absent. Default 10, as Graph. */
  pageSize?: number;
  /**
   * The authority host the identity clients are configured with, when they reach the sandbox through a
   * URL-rewriting `httpClient` (MSAL only accepts https and checks that the discovery document's issuer has
   * the origin it called). Default: `x-forwarded-proto`/`x-forwarded-host` when sent; else the request's own
   * https origin plus `/login` when serving TLS; else {@link defaultPublicAuthorityHost}.
   */
  publicAuthorityHost?: string;
  /**
   * When set, a request that would make more than this many Graph requests in flight for one mailbox is
   * answered 429 `ApplicationThrottled` (Outlook allows four). Default: no limit.
   */
  mailboxConcurrencyLimit?: number;
  /** Retry-After (seconds) sent with that 429. Default 0. */
  mailboxConcurrencyRetryAfterSeconds?: number;
  /**
   * Time every Graph operation (a request, or each item of a `$batch`) takes while it holds one of its
   * mailbox's slots, as Exchange Online's own processing time. Default 0.
   */
  latencyMs?: number;
  /** Server-driven paging: no page holds more than this many items, whatever `$top` asks. Default: `$top`. */
  maxPageSize?: number;
  /** Lifetime of issued access tokens. Default 3599 s, as Entra ID. */
  tokenLifetimeSeconds?: number;
  /** Seed of the PRNG behind `FaultRule.probability` and the order of `$batch` responses. Default 1. */
  seed?: number;
  /** One line per request (method, path, status); never tokens or keys. */
  log?: (line: string) => void;
}

/** The authority host assumed for clients that reach a plain-http sandbox through a rewriting httpClient. */
export const defaultPublicAuthorityHost = 'https://login.sandbox.test';

export interface SandboxFolderState {
  id: string;
  displayName: string;
  wellKnownName?: string;
  parentFolderId?: string;
  isHidden?: boolean;
}

export type SandboxMessageState = SandboxMessage & {
  id: string;
  folderId: string;
  isDraft: boolean;
  /** Stable id returned when a client sends `Prefer: IdType="ImmutableId"`. */
  immutableId: string;
};

export interface SandboxMailboxState {
  folders: SandboxFolderState[];
  messages: SandboxMessageState[];
}

export interface SandboxRequestRecord {
  method: string;
  /** Path under the Graph root with the query, percent-decoded, e.g. `/v1.0/users/a@b.c/messages?$top=10`. */
  path: string;
  /** What the request did: `search`, `folder`, `delete`, `move`, `batch`, … (see operationOf). */
  operation: string;
  /** Lower-cased mailbox address the request addressed, when it addressed one. */
  mailbox?: string;
  status: number;
  batched?: boolean;
  /** `performance.now()` when the request arrived and when it was answered, for round-trip counts. */
  startedAt: number;
  finishedAt: number;
}

export interface SandboxForward {
  mailbox: string;
  messageId: string;
  internetMessageId: string;
  to: string[];
  comment?: string;
  /** The internetMessageId the forward went out with (createForward + send). */
  sentInternetMessageId?: string;
  /** Custom `x-` headers the draft was created with: they go out with the forward. */
  headers?: { name: string; value: string }[];
}

export interface FaultStatusResponse {
  status: number;
  /** A 429/503 gets `Retry-After: 0` unless this sets `Retry-After` (an empty value omits the header). */
  headers?: Record<string, string>;
  /** Default: a Graph (or Entra, on the token endpoint) error body matching the status. */
  body?: unknown;
}

export type FaultResponse =
  | FaultStatusResponse
  /** Wait, then handle the request normally. */
  | { delayMs: number }
  /** Drop the connection without an answer (a batch item drops the whole batch). */
  | { destroySocket: true };

export interface FaultRule {
  match: {
    method?: string;
    /** Substring of the percent-decoded path and query (Graph: `/v1.0/...`, token: `/{tenant}/oauth2/v2.0/token`). */
    pathIncludes?: string;
    mailbox?: string;
    /** true: only `$batch` items; false: only top-level requests; absent: both. */
    inBatch?: boolean;
  };
  /** How many matching requests the rule answers. Default Infinity. */
  times?: number;
  /** Chance (0..1, seeded PRNG) that a matching request is answered; a skipped request does not use up `times`. */
  probability?: number;
  respond: FaultResponse;
}

export interface SandboxTenant {
  /** http(s)://host:port; https://localhost:port when serving TLS. */
  readonly baseUrl: string;
  /** `baseUrl/graph`; Graph requests go to `{graphEndpoint}/v1.0/...`. */
  readonly graphEndpoint: string;
  /** `baseUrl/login`; token requests go to `{authorityHost}/{tenant}/oauth2/v2.0/token`. */
  readonly authorityHost: string;
  /** The authority host the discovery document and assertion audience use (see the option). */
  readonly publicAuthorityHost: string;
  mailbox(address: string): SandboxMailboxState;
  addMessage(mailbox: string, message: SandboxMessage): string;
  /** Every Graph request, including each `$batch` item. */
  readonly requests: readonly SandboxRequestRecord[];
  readonly forwards: readonly SandboxForward[];
  readonly tokenRequests: number;
  /** Highest number of Graph requests (batch items count) ever in flight at once for that mailbox. */
  maxConcurrency(mailbox: string): number;
  /**
   * Graph operations by kind (`search`, `folder`, `delete`, …; a `$batch` envelope counts as `batch`, its
   * items by their own kind), for one mailbox or all of them.
   */
  operationCounts(mailbox?: string): Record<string, number>;
  /** Forgets recorded requests, concurrency peaks and the token request count. */
  resetCounters(): void;
  script(rule: FaultRule): void;
  clearScripts(): void;
  /** Makes every access token issued so far expire now, as if an hour had passed. */
  expireTokens(): void;
  close(): Promise<void>;
}
