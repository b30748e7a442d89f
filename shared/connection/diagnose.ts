import type { Profile } from '../config/document.js';
import type { ClawbackError } from '../errors.js';

/** Our own vocabulary for what a connection test found; each has its own message and remedy. */
export const connectionTestCodes = [
  'Connected',
  'TenantNotFound',
  'WrongCloud',
  'AppNotFound',
  'AppDisabled',
  'CertificateRejected',
  'CertificateNoPrivateKey',
  'CertificateExpired',
  'CertificateUnreadable',
  'ClockSkew',
  'ConditionalAccessBlocked',
  'TokenRejected',
  'WrongCredentials',
  'SecretUnavailable',
  'MailboxNotFound',
  'PermissionDenied',
  'ImpersonationDenied',
  'WrongProfileKind',
  'ServerCertificateUntrusted',
  'HostNotFound',
  'ConnectionRefused',
  'Timeout',
  'Unreachable',
  'Throttled',
  'ConfigurationError',
  'AuthenticationFailed',
  'Unknown',
] as const;
export type ConnectionTestCode = (typeof connectionTestCodes)[number];

export interface Diagnosis {
  code: ConnectionTestCode;
  message: string;
  remedy: string;
}

const tlsCodes =
  /^(CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO_SELF_SIGNED|ERR_TLS_CERT|HOSTNAME_MISMATCH|ERR_SSL)/;

/** Everything in the error and its causes that tells failures apart: names, codes, statuses, Entra and EWS codes. */
interface Evidence {
  text: string;
  names: Set<string>;
  socketCodes: Set<string>;
  aadsts: number | undefined;
  ewsResponseCode: string | undefined;
  httpStatus: number | undefined;
}

function gather(error: ClawbackError): Evidence {
  const evidence: Evidence = {
    text: error.detail,
    names: new Set(),
    socketCodes: new Set(),
    aadsts: undefined,
    ewsResponseCode: undefined,
    httpStatus: undefined,
  };
  let current: unknown = (error as { cause?: unknown }).cause;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const e = current as {
      name?: unknown;
      message?: unknown;
      code?: unknown;
      status?: unknown;
      responseCode?: unknown;
      errorResponse?: { errorCodes?: unknown };
      cause?: unknown;
    };
    if (typeof e.name === 'string') evidence.names.add(e.name);
    if (typeof e.message === 'string') evidence.text += ` ${e.message}`;
    if (typeof e.code === 'string') evidence.socketCodes.add(e.code);
    if (typeof e.responseCode === 'string') evidence.ewsResponseCode ??= e.responseCode;
    if (typeof e.status === 'number' && e.name === 'EwsHttpFailure') evidence.httpStatus ??= e.status;
    const codes = e.errorResponse?.errorCodes;
    if (Array.isArray(codes) && typeof codes[0] === 'number') evidence.aadsts ??= codes[0];
    current = e.cause;
  }
  if (evidence.aadsts === undefined) {
    const match = /AADSTS(\d+)/.exec(evidence.text);
    if (match?.[1]) evidence.aadsts = Number(match[1]);
  }
  if (evidence.ewsResponseCode === undefined) {
    const match = /\((Error[A-Za-z]+)\)/.exec(evidence.text);
    if (match?.[1]) evidence.ewsResponseCode = match[1];
  }
  for (const match of evidence.text.matchAll(
    /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|(?:CERT|UNABLE_TO|SELF_SIGNED|DEPTH_ZERO_SELF_SIGNED)[A-Z_]*)\b/g,
  ))
    if (match[1]) evidence.socketCodes.add(match[1]);
  return evidence;
}

const has = (evidence: Evidence, pattern: RegExp) => pattern.test(evidence.text);

/**
 * Reads a backend failure closely enough to say, in our own words, which of the usual set-up
 * mistakes it is and what to do about it. The adapters' detail stays available next to it.
 */
export function diagnose(error: ClawbackError, profile: Profile, mailbox: string): Diagnosis {
  const e = gather(error);
  const who = describe(profile);
  const d = (code: ConnectionTestCode, message: string, remedy: string): Diagnosis => ({
    code,
    message,
    remedy,
  });

  if (error.code === 'ConfigurationError') {
    if (
      has(e, /holds no private key|holds a private key but no certificate|does not belong to any certificate/)
    )
      return d(
        'CertificateNoPrivateKey',
        `The certificate of ${who} has no usable private key.`,
        'Store the certificate together with its private key: import the PFX into Key Vault (or a PEM holding both the key and the certificate).',
      );
    if (has(e, /expired on|is not valid before/))
      return d(
        'CertificateExpired',
        `The certificate of ${who} is outside its validity period.`,
        'Create or renew the certificate, upload its public part to the app registration (Certificates & secrets) and store the new PFX in Key Vault.',
      );
    if (
      has(e, /is not a PEM|neither PEM nor|cannot be read as a PFX|PFX protected|cannot be read:|encrypted/)
    )
      return d(
        'CertificateUnreadable',
        `The certificate secret of ${who} cannot be read as a certificate.`,
        'Store it as a PFX without password (application/x-pkcs12) or as PEM with an unencrypted key (application/x-pem-file).',
      );
    if (
      has(
        e,
        /does not exist|is not set|may not read secret|CLAWBACK_KEY_VAULT_URL|has no value|secret of EWS profile/,
      )
    )
      return d(
        'SecretUnavailable',
        `A secret that ${who} references could not be read.`,
        'Check that the secret exists under the referenced name, that CLAWBACK_KEY_VAULT_URL names the vault, and that the app identity has the Key Vault Secrets User role.',
      );
    return d(
      'ConfigurationError',
      `The profile ${profile.name} cannot be used as configured.`,
      'Correct the profile in the configuration document and apply it again.',
    );
  }

  if (error.code === 'AuthenticationError') {
    switch (e.aadsts) {
      case 90002:
        return d(
          'TenantNotFound',
          `Entra ID does not know the tenant "${tenantOf(profile)}".`,
          "Set tenantId to the tenant id (GUID) or its primary .onmicrosoft.com domain, and check that the profile's cloud is the tenant's cloud.",
        );
      case 90038:
        return d(
          'WrongCloud',
          `The tenant "${tenantOf(profile)}" lives in another national cloud.`,
          "Set the profile's cloud (global, usgov, usgovdod, china) to the tenant's cloud.",
        );
      case 700016:
        return d(
          'AppNotFound',
          `The application ${clientOf(profile)} is not registered or not consented in tenant "${tenantOf(profile)}".`,
          "Check clientId against the app registration's Application (client) ID, and have an administrator grant admin consent in this tenant.",
        );
      case 7000112:
        return d(
          'AppDisabled',
          `The application ${clientOf(profile)} is disabled in tenant "${tenantOf(profile)}".`,
          'Enable the service principal under Enterprise applications → Properties.',
        );
      case 700027:
      case 50012:
      case 700030:
        return d(
          'CertificateRejected',
          `Entra ID rejected the certificate of ${who}: its thumbprint or signature does not match a certificate of the app registration.`,
          'Upload the public certificate (.cer) of the certificate Clawback holds to the app registration under Certificates & secrets, or point the profile at the certificate that is registered.',
        );
      case 700024:
      case 500133:
        return d(
          'ClockSkew',
          'Entra ID considers the sign-in request outside its validity window.',
          'Correct the clock of the machine running Clawback (NTP).',
        );
      case 53003:
        return d(
          'ConditionalAccessBlocked',
          `A Conditional Access policy in tenant "${tenantOf(profile)}" blocks the application ${clientOf(profile)}.`,
          "Exclude the workload identity from the policy or allow the Function App's outbound addresses.",
        );
      default:
        break;
    }
    if (profile.type === 'ews' && (e.httpStatus === 401 || has(e, /username or password|HTTP 401/)))
      return d(
        'WrongCredentials',
        `Exchange refused the username or password of "${profile.username}".`,
        `Check username (DOMAIN\\user or user@domain), the password secret, and that ${profile.auth === 'ntlm' ? 'NTLM (Windows authentication)' : 'Basic authentication'} is enabled on the EWS virtual directory.`,
      );
    if (has(e, /refused the access token/))
      return d(
        'TokenRejected',
        'Graph refused the access token Entra ID issued.',
        "Check that the profile's cloud matches the tenant and that the app registration is enabled.",
      );
    return d(
      'AuthenticationFailed',
      `Signing in as ${who} failed.`,
      'Check the tenant, application and credential of the profile.',
    );
  }

  if (error.code === 'InvalidMailbox')
    return d(
      'MailboxNotFound',
      `There is no mailbox ${mailbox} ${profile.type === 'graph' ? `in tenant "${tenantOf(profile)}"` : `on ${hostOf(profile, e)}`}.`,
      'Check the address for typos; if the mailbox lives elsewhere, map its domain to the profile or chain that reaches it.',
    );

  if (error.code === 'MailboxInaccessible')
    return d(
      'WrongProfileKind',
      profile.type === 'graph'
        ? `The mailbox ${mailbox} exists but Graph cannot reach it: it is hosted on-premises (or is inactive or unlicensed).`
        : `The mailbox ${mailbox} cannot be opened through EWS on ${hostOf(profile, e)}: it is hosted elsewhere (e.g. in Exchange Online).`,
      profile.type === 'graph'
        ? 'Use an EWS profile for on-premises mailboxes, or a chain that tries this Graph profile and then an EWS profile.'
        : 'Use a Graph profile for Exchange Online mailboxes, or a chain that tries both.',
    );

  if (error.code === 'PermissionError') {
    const code = e.ewsResponseCode;
    if (
      profile.type === 'ews' &&
      (code === 'ErrorImpersonateUserDenied' ||
        code === 'ErrorImpersonationDenied' ||
        (profile.access === 'impersonation' && has(e, /ApplicationImpersonation/)))
    )
      return d(
        'ImpersonationDenied',
        `The account "${profile.username}" may not impersonate ${mailbox}.`,
        'Grant it the ApplicationImpersonation role: New-ManagementRoleAssignment -Name Clawback-Impersonation -Role ApplicationImpersonation -User <account> (scope it with -CustomRecipientWriteScope if needed).',
      );
    return d(
      'PermissionDenied',
      `The mailbox ${mailbox} exists, but ${who} is not allowed to read it.`,
      profile.type === 'graph'
        ? `Grant the application ${profile.clientId} the Mail.ReadWrite application permission with admin consent, and check that no application access policy or RBAC for Applications scope excludes this mailbox (changes take up to 2 hours).`
        : `Give "${profile.username}" FullAccess on the mailbox (Add-MailboxPermission -Identity ${mailbox} -User <account> -AccessRights FullAccess) or use access "impersonation".`,
    );
  }

  if (error.code === 'ConnectionError' || error.code === 'Unknown') {
    const codes = [...e.socketCodes];
    if (codes.some((c) => tlsCodes.test(c)) || has(e, /is not trusted/))
      return d(
        'ServerCertificateUntrusted',
        `The TLS certificate of ${hostOf(profile, e)} is not trusted.`,
        profile.type === 'ews'
          ? "Put the certificate of the CA that issued the server certificate (PEM) into the profile's trustedCa secret; Clawback never turns verification off."
          : "If a TLS-inspecting proxy sits between Clawback and Microsoft, put its CA certificate (PEM) into the profile's trustedCa secret (locally, NODE_EXTRA_CA_CERTS works too); also check the profile's endpoints. Clawback never turns verification off.",
      );
    if (
      codes.includes('ENOTFOUND') ||
      codes.includes('EAI_AGAIN') ||
      has(e, /could not be resolved|cannot be resolved/)
    )
      return d(
        'HostNotFound',
        `The host name ${hostOf(profile, e)} does not resolve.`,
        'Check the URL in the profile and the DNS the Function App uses (private DNS zones, VNet integration).',
      );
    if (codes.includes('ECONNREFUSED') || has(e, /refused the connection/))
      return d(
        'ConnectionRefused',
        `${hostOf(profile, e)} refused the connection.`,
        "Check the port in the URL, that the service is running, and that firewalls let the Function App's outbound addresses in.",
      );
    if (
      e.names.has('GraphTimeoutError') ||
      e.names.has('EwsDeadlineExceeded') ||
      e.names.has('TimeoutError') ||
      has(e, /did not answer|did not issue a token within|in time\b/)
    )
      return d(
        'Timeout',
        `${hostOf(profile, e)} did not answer in time.`,
        `Check the network path to the server; if it is merely slow, raise settings.${profile.type === 'graph' ? 'graphTimeoutSeconds' : 'ewsTimeoutSeconds'} (at most 90).`,
      );
    if (error.code === 'ConnectionError')
      return d(
        'Unreachable',
        `${hostOf(profile, e)} could not be reached.`,
        'Check the URL, the network path and the server; then test again.',
      );
  }
  if (error.code === 'Throttled')
    return d(
      'Throttled',
      `${hostOf(profile, e)} is throttling Clawback right now.`,
      'Wait a few minutes and test again; the service is reachable and the credentials were accepted.',
    );
  return d(
    'Unknown',
    `The test of ${who} failed in an unexpected way.`,
    'Read the detail below; if it does not say what to fix, check the function log for this invocation.',
  );
}

function describe(profile: Profile): string {
  return profile.type === 'graph'
    ? `profile "${profile.name}" (application ${profile.clientId} in tenant ${profile.tenantId})`
    : `profile "${profile.name}" (account ${profile.username} on ${hostOf(profile)})`;
}

function tenantOf(profile: Profile): string {
  return profile.type === 'graph' ? profile.tenantId : '';
}

function clientOf(profile: Profile): string {
  return profile.type === 'graph' ? profile.clientId : '';
}

const authorityHosts = {
  global: 'login.microsoftonline.com',
  usgov: 'login.microsoftonline.us',
  usgovdod: 'login.microsoftonline.us',
  china: 'login.chinacloudapi.cn',
} as const;
const graphHosts = {
  global: 'graph.microsoft.com',
  usgov: 'graph.microsoft.us',
  usgovdod: 'dod-graph.microsoft.us',
  china: 'microsoftgraph.chinacloudapi.cn',
} as const;

function host(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** The server the failure is about: for Graph the sign-in authority when the error came from it, else Graph. */
function hostOf(profile: Profile, evidence?: Evidence): string {
  if (profile.type === 'ews') return host(profile.ewsUrl);
  const authority = profile.authorityHost ? host(profile.authorityHost) : authorityHosts[profile.cloud];
  const graph = profile.graphEndpoint ? host(profile.graphEndpoint) : graphHosts[profile.cloud];
  if (evidence && (evidence.text.includes(authority) || /Entra ID|token/i.test(evidence.text)))
    return authority;
  return graph;
}
