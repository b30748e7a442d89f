import type { ConfigDocument, Profile } from '../config/document.js';
import { ClawbackError, toClawbackError } from '../errors.js';
import type { CallOptions, MailBackend } from '../ports/mail.js';
import { type ConnectionTestCode, diagnose, type Diagnosis } from './diagnose.js';
import { probeProfile } from './probe.js';

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
  /** The failure reason (the `Reason` column) a remediation would have recorded. */
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
    const diagnosis = await diagnoseClosely(error, profile, mailbox);
    return { ...base, ok: false, ...diagnosis, detail: inOurWords(error.detail), reason: error.code };
  }
}

/**
 * A failure that does not say why gets a TCP probe of the profile's servers, so "unreachable" or a
 * bare "sign-in failed" becomes refused, unknown host or timeout when the network is the cause.
 */
async function diagnoseClosely(error: ClawbackError, profile: Profile, mailbox: string): Promise<Diagnosis> {
  const diagnosis = diagnose(error, profile, mailbox);
  // A sign-in library that cannot reach its authority may report only that sign-in failed.
  if (!['Unreachable', 'Unknown', 'AuthenticationFailed'].includes(diagnosis.code)) return diagnosis;
  const socketCode = await probeProfile(profile);
  if (!socketCode) return diagnosis;
  const probed = new ClawbackError('ConnectionError', error.detail, {
    cause: Object.assign(new Error(`connect ${socketCode}`), { code: socketCode }),
  });
  const closer = diagnose(probed, profile, mailbox);
  return closer.code === 'Unreachable' && diagnosis.code !== 'Unreachable' ? diagnosis : closer;
}

/** Programming-error text from inside a library (a TypeError's message) tells an operator nothing; it is cut from the detail. */
const internalError =
  /Cannot read propert(?:y|ies) of|undefined \(reading|is not a function|is not defined|is not iterable|Maximum call stack/;

function inOurWords(detail: string): string | undefined {
  if (!internalError.test(detail)) return detail;
  const trimmed = detail.replace(/\s*\((?:[^()]|\([^()]*\))*\)(?=\.?$)/, '');
  return internalError.test(trimmed) ? undefined : trimmed.endsWith('.') ? trimmed : `${trimmed}.`;
}
