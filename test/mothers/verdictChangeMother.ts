import { randomUUID } from 'node:crypto';

/** Verdict change bodies as a security platform posts them; each test changes only what it is about. */
export const VerdictChangeMother = {
  malicious(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      eventId: `evt-${randomUUID()}`,
      source: 'cisco-secure-endpoint',
      verdict: 'malicious',
      previousVerdict: 'clean',
      observedAt: '2026-11-26T10:00:00Z',
      threat: { sha256: 'a'.repeat(64), filename: 'invoice.pdf.exe', name: 'W32.Agent' },
      messages: [{ internetMessageId: '<m1@mail.example.com>', recipients: ['alice@contoso.com'] }],
      ...overrides,
    };
  },

  /** `messages` × `recipients` copies: message ids `<mN@mail.example.com>`, recipients `userN@contoso.com`. */
  withRecipients(
    recipients: number,
    messages = 1,
    overrides: Record<string, unknown> = {},
  ): Record<string, unknown> {
    const addresses = Array.from({ length: recipients }, (_, i) => `user${i + 1}@contoso.com`);
    return VerdictChangeMother.malicious({
      messages: Array.from({ length: messages }, (_, i) => ({
        internetMessageId: `<m${i + 1}@mail.example.com>`,
        recipients: addresses,
      })),
      ...overrides,
    });
  },
};
