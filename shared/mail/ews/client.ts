import {
  BasePropertySet,
  ConnectingIdType,
  ExchangeService,
  ExchangeVersion,
  Folder,
  FolderId,
  ImpersonatedUserId,
  Mailbox,
  PropertySet,
  Uri,
  WebCredentials,
  type WellKnownFolderName,
} from 'ews-javascript-api';

import type { EwsProfile } from '../../config/document.js';
import { ClawbackError, isClawbackError } from '../../errors.js';
import type { CallOptions } from '../../ports/mail.js';
import type { SecretSource } from '../../ports/secrets.js';
import { isEwsNetworkFailure, translateEwsError } from './errors.js';
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

export interface Session {
  readonly mailbox: string | undefined;
  readonly svc: ExchangeService;
  readonly xhr: GuardedXhr;
  readonly wellKnown: Map<WellKnownFolderName, string>;
}

export interface Credentials {
  password: string;
  ca: string | undefined;
}

export interface CallSpec {
  operation: string;
  /** False for sends and imports: they are repeated only when the request surely did not arrive. */
  repeatable?: boolean;
}

/** Connection failures where the request cannot have reached Exchange, so repeating a send is safe. */
const notDeliveredCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/** Opens sessions on one EWS profile and runs each request with its deadline, translation and retries. */
export class EwsClient {
  readonly log: (line: string) => void;
  readonly host: string;
  readonly impersonation: boolean;
  private readonly timeoutMs: number;
  private readonly retryDelayMs: number;
  private readonly maxAttempts: number;

  constructor(
    readonly profile: EwsProfile,
    readonly deps: EwsBackendDeps,
  ) {
    this.log = deps.log ?? (() => undefined);
    installStrayRejectionGuard(this.log);
    this.timeoutMs = deps.timeoutMs ?? deps.timeoutSeconds * 1000;
    this.retryDelayMs = deps.retryDelayMs ?? 1000;
    this.maxAttempts = Math.max(1, deps.maxAttempts);
    this.host = new URL(profile.ewsUrl).host;
    this.impersonation = profile.access === 'impersonation';
  }

  async credentials(options?: CallOptions): Promise<Credentials> {
    const { profile, deps } = this;
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

  open(mailbox: string | undefined, creds: Credentials): Session {
    const { profile } = this;
    const svc = new ExchangeService(ExchangeVersion.Exchange2013_SP1);
    svc.Url = new Uri(profile.ewsUrl);
    // Required by the library even for NTLM; the NTLM provider replaces the header it produces.
    svc.Credentials = new WebCredentials(profile.username, creds.password);
    const xhr = createXhr({
      timeoutMs: this.timeoutMs,
      auth: profile.auth,
      username: profile.username,
      password: creds.password,
      ca: creds.ca,
    });
    svc.XHRApi = xhr;
    if (mailbox !== undefined) {
      svc.HttpHeaders.Add('X-AnchorMailbox', mailbox);
      if (this.impersonation)
        svc.ImpersonatedUserId = new ImpersonatedUserId(ConnectingIdType.SmtpAddress, escapeXml(mailbox));
    }
    return { mailbox, svc, xhr, wellKnown: new Map() };
  }

  /** A well-known folder of the session's mailbox: implicit under impersonation, explicit for full access. */
  wellKnownFolder(session: Session, name: WellKnownFolderName): FolderId {
    return this.impersonation || session.mailbox === undefined
      ? new FolderId(name)
      : new FolderId(name, new Mailbox(escapeXml(session.mailbox)));
  }

  async call<T>(session: Session, spec: CallSpec, run: () => Promise<T>, options?: CallOptions): Promise<T> {
    const { profile, host, timeoutMs, maxAttempts } = this;
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
        const wait = error.retryAfterMs ?? this.retryDelayMs * 2 ** (attempt - 1);
        // A long server-requested back-off is not slept through here: the caller schedules the retry.
        const retry =
          error.retryable &&
          attempt < maxAttempts &&
          wait <= timeoutMs &&
          !signal?.aborted &&
          (spec.repeatable !== false || notDelivered);
        if (!retry) throw error;
        this.log(
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

  async wellKnownId(session: Session, name: WellKnownFolderName, options?: CallOptions): Promise<string> {
    const known = session.wellKnown.get(name);
    if (known) return known;
    const folder = await this.call(
      session,
      { operation: 'GetFolder' },
      () =>
        Folder.Bind(
          session.svc,
          this.wellKnownFolder(session, name),
          new PropertySet(BasePropertySet.IdOnly),
        ),
      options,
    );
    session.wellKnown.set(name, folder.Id.UniqueId);
    return folder.Id.UniqueId;
  }
}

/** Throttling and connection refusals mean Exchange never processed the request. */
export function surelyNotSent(error: ClawbackError): boolean {
  const cause = (error as Error & { cause?: unknown }).cause;
  return (
    error.code === 'Throttled' || (isEwsNetworkFailure(cause) && notDeliveredCodes.has(cause.code ?? ''))
  );
}
