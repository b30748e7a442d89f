import type { ConfigDocumentInput } from '../shared/config/document.js';
import type { SandboxMailbox } from './sandbox/types.js';

/** The sandbox's app registration: one tenant, one app, its certificate generated on first start. */
export const sandboxApp = {
  tenantId: '8d6c3b5a-0000-4c1a-9a55-5a4db0c1ec0e',
  tenantDomain: 'contoso.onmicrosoft.com',
  clientId: '4f1b2f43-5a0c-4d6e-8f5e-0c1ab2c3d4e5',
} as const;

export const sampleMessageId = '<invoice-2291.7f3a@mail.northwind-traders.example>';
export const sampleSha256 = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

/**
 * Each walk-through of the README has a message and a threat of its own, so the Quickstart, "Try every
 * action" and the CLI walk-through work in any order against one start: none removes another's copy
 * and a clean verdict restores only its own threat.
 */
export const tryMessageId = '<statement-7781.b2c4@mail.northwind-traders.example>';
export const trySha256 = '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae';
export const walkthroughMessageId = '<shipping-4410.9d2e@mail.northwind-traders.example>';

const invoice = {
  internetMessageId: sampleMessageId,
  subject: 'Invoice 2291 overdue',
  from: 'billing@northwind-traders.example',
  receivedDateTime: '2026-11-26T08:14:00Z',
};

/**
 * Seeded Exchange Online mailboxes: the sample message was delivered to two of them, one of which also
 * filed a copy. Dan's mailbox is hosted on-premises, so Graph knows the user but cannot reach the mailbox.
 */
export function sandboxMailboxes(): SandboxMailbox[] {
  return [
    {
      address: 'alice@contoso.com',
      displayName: 'Alice Wilber',
      messages: [
        { ...invoice },
        { internetMessageId: '<weekly-1@contoso.com>', subject: 'Weekly update' },
        {
          internetMessageId: tryMessageId,
          subject: 'Statement 7781',
          from: invoice.from,
          receivedDateTime: '2026-11-26T09:02:00Z',
        },
        {
          internetMessageId: walkthroughMessageId,
          subject: 'Shipping notice 4410',
          from: 'noreply@shipping.northwind-traders.example',
          receivedDateTime: '2026-11-26T09:40:00Z',
        },
      ],
    },
    {
      address: 'bob@contoso.com',
      displayName: 'Bob Kelly',
      messages: [{ ...invoice }, { ...invoice, folder: 'Invoices' }],
    },
    { address: 'carol@contoso.com', displayName: 'Carol Lin', messages: [] },
    { address: 'dan@contoso.com', displayName: 'Dan Onprem', kind: 'notEnabledForRest' },
    { address: 'soc@contoso.com', displayName: 'Security Operations', messages: [] },
    { address: 'quarantine@contoso.com', displayName: 'Clawback Quarantine', messages: [] },
  ];
}

/** The on-premises sandbox's service account; its password is generated into a file secret on first start. */
export const onpremServiceAccount = 'CONTOSO\\svc-clawback';

export interface OnpremMailbox {
  address: string;
  messages: { internetMessageId: string; subject: string; sender: string; receivedAt?: string }[];
}

/** Seeded Exchange Server mailboxes: Dan's, which received the sample message too. */
export function onpremMailboxes(): OnpremMailbox[] {
  return [
    {
      address: 'dan@contoso.com',
      messages: [
        {
          internetMessageId: invoice.internetMessageId,
          subject: invoice.subject,
          sender: invoice.from,
          receivedAt: invoice.receivedDateTime,
        },
        { internetMessageId: '<weekly-1@contoso.com>', subject: 'Weekly update', sender: 'news@contoso.com' },
      ],
    },
  ];
}

/**
 * The configuration document applied at start: a Graph profile on the sandbox tenant and an EWS profile
 * on the on-premises sandbox, chained for contoso.com so a mailbox Graph cannot reach falls through to EWS.
 */
export function sandboxConfig(
  endpoints: { authorityHost: string; graphEndpoint: string; ewsUrl: string },
  secretFiles: { certificate: string; ewsPassword: string },
  sources?: ConfigDocumentInput['sources'],
): ConfigDocumentInput {
  return {
    ...(sources ? { sources } : {}),
    settings: { maxAttempts: 3, graphTimeoutSeconds: 30, ewsTimeoutSeconds: 30, mode: 'enforce' },
    profiles: [
      {
        name: 'sandbox-online',
        type: 'graph',
        tenantId: sandboxApp.tenantDomain,
        clientId: sandboxApp.clientId,
        certificate: { file: secretFiles.certificate },
        cloud: 'global',
        authorityHost: endpoints.authorityHost,
        graphEndpoint: endpoints.graphEndpoint,
        quarantineTarget: 'folder',
      },
      {
        name: 'sandbox-onprem',
        type: 'ews',
        ewsUrl: endpoints.ewsUrl,
        username: onpremServiceAccount,
        password: { file: secretFiles.ewsPassword },
        auth: 'ntlm',
        access: 'impersonation',
        quarantineTarget: 'folder',
      },
    ],
    chains: [{ name: 'hybrid', profiles: ['sandbox-online', 'sandbox-onprem'] }],
    domains: { 'contoso.com': 'hybrid' },
    // The ceiling for malicious is hardDelete, so a verdict may ask for any action to try it out.
    policies: [
      { verdict: 'malicious', action: 'hardDelete' },
      { verdict: 'suspicious', action: 'moveToJunk', mode: 'simulate' },
      { verdict: 'clean', action: 'restore' },
    ],
    forwardTo: 'soc@contoso.com',
  };
}

/** A verdict for the sample message, as a security platform would post it. */
export function sampleVerdict(eventId: string): Record<string, unknown> {
  return {
    eventId,
    source: 'cisco-secure-endpoint',
    verdict: 'malicious',
    previousVerdict: 'clean',
    action: 'softDelete',
    observedAt: new Date().toISOString(),
    threat: { sha256: sampleSha256, filename: 'invoice-2291.pdf.js', name: 'JS.Downloader.Agent' },
    messages: [
      {
        internetMessageId: sampleMessageId,
        recipients: ['alice@contoso.com', 'bob@contoso.com', 'carol@contoso.com', 'dan@contoso.com'],
        sender: 'billing@northwind-traders.example',
        subject: 'Invoice 2291 overdue',
      },
    ],
  };
}

/**
 * The pull sources of the sample configuration, each polling its local fake (local/platforms): TAP
 * asks for quarantine (reversible, so its later `cleared` restores), Defender for Junk, Secure
 * Endpoint for the policy's action.
 */
export function sandboxPullSources(
  urls: { tap: string; amp: string; defender: string },
  secretFiles: { tapSecret: string; ampApiKey: string },
  credentials: { tapPrincipal: string; ampClientId: string },
): NonNullable<ConfigDocumentInput['sources']> {
  return [
    {
      name: 'proofpoint-tap',
      pull: {
        type: 'proofpoint-tap',
        baseUrl: urls.tap,
        principal: credentials.tapPrincipal,
        secret: { file: secretFiles.tapSecret },
        intervalSeconds: 30,
        action: 'quarantine',
      },
    },
    {
      name: 'cisco-secure-endpoint',
      pull: {
        type: 'cisco-secure-endpoint',
        baseUrl: urls.amp,
        clientId: credentials.ampClientId,
        apiKey: { file: secretFiles.ampApiKey },
        intervalSeconds: 30,
        eventTypes: [553648147, 1090519054],
      },
    },
    {
      name: 'defender',
      pull: {
        type: 'defender',
        profile: 'sandbox-online',
        baseUrl: urls.defender,
        intervalSeconds: 30,
        action: 'moveToJunk',
      },
    },
  ];
}
