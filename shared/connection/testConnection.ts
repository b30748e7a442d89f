import type { ConfigDocument, Profile } from '../config/document.js';
import { toClawbackError } from '../errors.js';
import type { CallOptions, MailBackend } from '../ports/mail.js';
import { type ConnectionTestCode, diagnose } from './diagnose.js';

export interface ConnectionTestResult {
  ok: boolean;
  profile: string;
  backend: 'graph' | 'ews';
  mailbox: string;
  code: ConnectionTestCode;
  message: string;
  remedy: string;
  /** The backend's own sentence (the `Detail` a remediation row would carry), when it failed. */
  detail?: string | undefined;
  /** The SPEC reason a remediation would have recorded. */
  reason?: string | undefined;
  rootFolder?: string | undefined;
}

/** A message id no mailbox holds: searching for it exercises sign-in, mailbox access and a read. */
const probeMessageId = '<clawback-connection-test@clawback.invalid>';

/**
 * Tests one profile against one mailbox the way a remediation would reach it: credential, mailbox,
 * a read of its root folder (or, for a backend without `testConnection`, a search).
 */
export async function testConnection(
  profile: Profile,
  mailbox: string,
  deps: { config: ConfigDocument; backendFor(profile: Profile, config: ConfigDocument): MailBackend },
  options?: CallOptions,
): Promise<ConnectionTestResult> {
  const base = { profile: profile.name, backend: profile.type, mailbox };
  try {
    const backend = deps.backendFor(profile, deps.config);
    let rootFolder: string | undefined;
    if (backend.testConnection) {
      const check = await backend.testConnection(mailbox, options);
      rootFolder = check.rootFolderName ?? check.rootFolderId;
    } else {
      await backend.findMessages(mailbox, { internetMessageId: probeMessageId }, options);
    }
    return {
      ...base,
      ok: true,
      code: 'Connected',
      message: `Signed in as profile "${profile.name}" and read the mailbox ${mailbox}${rootFolder ? ` (root folder "${rootFolder}")` : ''}.`,
      remedy: 'Nothing to do.',
      rootFolder,
    };
  } catch (caught) {
    const error = toClawbackError(caught);
    const diagnosis = diagnose(error, profile, mailbox);
    return { ...base, ok: false, ...diagnosis, detail: error.detail, reason: error.code };
  }
}
