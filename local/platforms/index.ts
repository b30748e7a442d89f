import { type FakeCisco, startFakeCiscoSecureEndpoint } from './ciscoSecureEndpoint.js';
import { type FakeDefender, startFakeDefender } from './defender.js';
import { type FakeTap, startFakeTap } from './tap.js';

export type { FakeCisco } from './ciscoSecureEndpoint.js';
export type { FakeDefender } from './defender.js';
export type { FakeTap } from './tap.js';

/** The platforms' credentials in the sandbox; the runtime writes them where file secret references find them. */
export const platformCredentials = {
  tapPrincipal: 'sandbox-tap-principal@contoso.com',
  tapSecret: 'sandbox-tap-secret',
  ampClientId: 'sandbox-amp-client',
  ampApiKey: 'sandbox-amp-api-key',
} as const;

/** What the seeded events are about: two messages in Carol's sandbox mailbox. */
export const demo = {
  tapMessage: {
    internetMessageId: '<shipping-report.51c2@mail.tailspin-toys.example>',
    subject: 'Q4 shipping report',
    from: 'reports@tailspin-toys.example',
  },
  tapSha256: '5d41402abc4b2a76b9719d911017c592ae2c3b7f4e8a1d0c9b8a7f6e5d4c3b2a',
  tapGuid: 'f3c1a2b4-77d0-4e52-9b1a-0c5d6e7f8a9b',
  defenderMessage: {
    internetMessageId: '<payroll-update.88e1@contoso-hr.example>',
    subject: 'Payroll portal update',
    from: 'hr-portal@contoso-hr.example',
  },
  defenderUrl: 'https://payroll-contoso-hr.example/login',
  ampSha256: '12081e6ca366ad7d08368fbc7d4107605a9b75d27c671e7e0a58588f94be5837',
  recipient: 'carol@contoso.com',
} as const;

export interface Platforms {
  tap: FakeTap;
  amp: FakeCisco;
  defender: FakeDefender;
  close(): Promise<void>;
}

function tapEvent(status: 'active' | 'cleared', messageId: string, at: Date): Record<string, unknown> {
  return {
    GUID: demo.tapGuid,
    QID: 'r2FNwRHF004109',
    id: `${demo.tapGuid}-${status}`,
    messageID: messageId,
    recipient: [demo.recipient],
    toAddresses: [demo.recipient],
    fromAddress: [demo.tapMessage.from],
    headerFrom: `"Tailspin Reports" <${demo.tapMessage.from}>`,
    sender: '7c6a180b36896a0a8c02787eeafb0e4c@tailspin-toys.example',
    subject: demo.tapMessage.subject,
    messageTime: new Date(at.getTime() - 30 * 60_000).toISOString(),
    messageParts: [
      {
        disposition: 'attached',
        filename: 'shipping-q4.xlsm',
        sha256: demo.tapSha256,
        sandboxStatus: 'threat',
      },
    ],
    threatsInfoMap: [
      {
        threatID: demo.tapSha256,
        threat: demo.tapSha256,
        threatType: 'attachment',
        classification: 'malware',
        threatStatus: status,
        threatTime: at.toISOString(),
        campaignID: null,
      },
    ],
  };
}

/**
 * The three polling APIs on loopback, seeded for the sandbox: TAP reports a malicious attachment in
 * Carol's shipping report now and, `clearedAfterMs` later, clears it — with the empty `messageID`
 * real TAP events carry; Defender has a true-positive phishing alert on Carol's payroll message;
 * Secure Endpoint has a retrospective detection of a file no delivery was recorded for.
 */
export async function startPlatforms(options: {
  ports?: { tap?: number; amp?: number; defender?: number } | undefined;
  validateGraphToken: (token: string) => Promise<boolean>;
  clearedAfterMs?: number | undefined;
  now?: () => Date;
}): Promise<Platforms> {
  const now = options.now ?? (() => new Date());
  const started = now();
  const ago = (minutes: number) => new Date(started.getTime() - minutes * 60_000);
  const opened: { close(): Promise<void> }[] = [];
  try {
    const tap = await startFakeTap({
      principal: platformCredentials.tapPrincipal,
      secret: platformCredentials.tapSecret,
      port: options.ports?.tap ?? 0,
      now,
      events: [
        {
          createdAt: ago(20),
          event: tapEvent('active', demo.tapMessage.internetMessageId.slice(1, -1), ago(20)),
        },
        ...(options.clearedAfterMs === undefined
          ? []
          : [
              {
                createdAt: new Date(started.getTime() + options.clearedAfterMs),
                event: tapEvent('cleared', '', new Date(started.getTime() + options.clearedAfterMs)),
              },
            ]),
      ],
    });
    opened.push(tap);
    const amp = await startFakeCiscoSecureEndpoint({
      clientId: platformCredentials.ampClientId,
      apiKey: platformCredentials.ampApiKey,
      port: options.ports?.amp ?? 0,
      now,
      events: [
        {
          id: 6411425813945647,
          date: ago(12)
            .toISOString()
            .replace(/\.\d{3}Z$/, '+00:00'),
          timestamp: Math.floor(ago(12).getTime() / 1000),
          event_type: 'Retrospective Detection',
          event_type_id: 553648147,
          detection: 'W32.12081E6CA3-95.SBX.TG',
          severity: 'High',
          computer: { connector_guid: 'sandbox-connector', hostname: 'CAROL-LAPTOP' },
          file: {
            disposition: 'Malicious',
            file_name: 'MspthrdHash.exe',
            identity: { sha256: demo.ampSha256 },
          },
        },
      ],
    });
    opened.push(amp);
    const defender = await startFakeDefender({
      validateToken: options.validateGraphToken,
      port: options.ports?.defender ?? 0,
      now,
      alerts: [
        {
          '@odata.type': '#microsoft.graph.security.alert',
          id: 'fa637578995287051192_1436211',
          serviceSource: 'microsoftDefenderForOffice365',
          detectionSource: 'microsoftDefenderForOffice365',
          status: 'resolved',
          severity: 'medium',
          classification: 'truePositive',
          determination: 'phishing',
          title: 'Email messages containing malicious URL removed after delivery',
          category: 'InitialAccess',
          createdDateTime: ago(18).toISOString(),
          lastUpdateDateTime: ago(15).toISOString(),
          evidence: [
            {
              '@odata.type': '#microsoft.graph.security.analyzedMessageEvidence',
              internetMessageId: demo.defenderMessage.internetMessageId,
              networkMessageId: '0f3e7c4a-2b8d-4c1e-9a6f-08dc18c52e6d',
              recipientEmailAddress: demo.recipient,
              subject: demo.defenderMessage.subject,
              p2Sender: { emailAddress: demo.defenderMessage.from },
              deliveryAction: 'delivered',
              deliveryLocation: 'inbox',
              receivedDateTime: ago(25).toISOString(),
              urls: [demo.defenderUrl],
            },
            { '@odata.type': '#microsoft.graph.security.urlEvidence', url: demo.defenderUrl },
          ],
        },
      ],
    });
    opened.push(defender);
    return {
      tap,
      amp,
      defender,
      close: async () => {
        for (const server of opened.reverse()) await server.close().catch(() => undefined);
      },
    };
  } catch (error) {
    for (const server of opened.reverse()) await server.close().catch(() => undefined);
    throw error;
  }
}
