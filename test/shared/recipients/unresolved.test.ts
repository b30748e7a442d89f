import { describe, expect, it } from 'vitest';

import type { Page } from '../../../shared/ports/results.js';
import {
  copiesWithoutMessageId,
  noMisses,
  type ResolvedCopy,
  unresolvedNote,
} from '../../../shared/recipients/unresolved.js';
import type { ActionName, DeliveredMessage, VerdictChange } from '../../../shared/verdicts/schema.js';
import { ConfigMother } from '../../mothers/configMother.js';
import { ProfileMother } from '../../mothers/profileMother.js';

const threatKey = 'ab'.repeat(32);

function config(fallbackSearch: boolean) {
  return ConfigMother.minimal().withProfiles(ProfileMother.graph({ fallbackSearch })).withPolicies().parse();
}

function pages(items: ResolvedCopy[]) {
  return (): Promise<Page<ResolvedCopy>> => Promise.resolve({ items });
}

async function resolve(
  message: DeliveredMessage,
  action: ActionName,
  options: { ledger?: ResolvedCopy[]; remediated?: ResolvedCopy[]; fallbackSearch?: boolean },
) {
  const misses = noMisses();
  const copies: ResolvedCopy[] = [];
  const store = {
    listDeliveries: pages(options.ledger ?? []),
    listRemediatedCopies: pages(options.remediated ?? []),
  } as unknown as Parameters<typeof copiesWithoutMessageId>[3]['deliveries'] &
    Parameters<typeof copiesWithoutMessageId>[3]['copies'];
  for await (const copy of copiesWithoutMessageId(
    [message],
    action,
    threatKey,
    {
      deliveries: store,
      copies: store,
      config: config(options.fallbackSearch ?? false),
      batchSize: 10,
    },
    misses,
  ))
    copies.push(copy);
  return { copies, misses };
}

const idless: DeliveredMessage = {
  recipients: ['alice@contoso.com', 'bob@contoso.com'],
  sender: 'billing@northwind-traders.example',
  subject: 'Invoice 2291 overdue',
  receivedAt: '2026-11-26T08:14:00Z',
};

describe('recipients named without a message id', () => {
  it('are resolved from the delivery ledger where it knows them', async () => {
    const ledger = [
      { recipient: 'alice@contoso.com', internetMessageId: '<a@x>' },
      { recipient: 'zoe@contoso.com', internetMessageId: '<z@x>' },
    ];
    const { copies, misses } = await resolve(idless, 'quarantine', { ledger, fallbackSearch: true });
    expect(copies.map((c) => [c.recipient, c.internetMessageId])).toEqual([
      ['alice@contoso.com', '<a@x>'],
      ['bob@contoso.com', ''],
    ]);
    expect(copies[1]).toMatchObject({
      sender: idless.sender,
      subject: idless.subject,
      receivedAt: idless.receivedAt,
    });
    expect(misses.recipients).toEqual([]);
  });

  it('are unresolved when the profile does not allow the fallback search, and the note says to enable it', async () => {
    const { copies, misses } = await resolve(idless, 'quarantine', { fallbackSearch: false });
    expect(copies).toEqual([]);
    const change = {
      eventId: 'e',
      source: 's',
      verdict: 'malicious',
      threat: { sha256: threatKey },
      messages: [idless],
    };
    const note = unresolvedNote(change as VerdictChange, 'quarantine', 0, misses);
    expect(note).toMatch(
      /2 recipient\(s\) named without a message id \(alice@contoso.com, bob@contoso.com\)/,
    );
    expect(note).toMatch(/enable fallbackSearch on the profile of alice@contoso.com \(contoso-online\)/);
    expect(note).toMatch(/POST \/api\/deliveries/);
  });

  it('are unresolved without sender, subject and time, whatever the profile allows', async () => {
    const { copies, misses } = await resolve({ recipients: ['alice@contoso.com'] }, 'quarantine', {
      fallbackSearch: true,
    });
    expect(copies).toEqual([]);
    expect([...misses.remedies].join(' ')).toMatch(/sender, subject and received time/);
  });

  it('are restored from what Clawback changed for the threat in their mailboxes only', async () => {
    const remediated = [
      { recipient: 'bob@contoso.com', internetMessageId: '<b@x>' },
      { recipient: 'carol@contoso.com', internetMessageId: '<c@x>' },
    ];
    const { copies, misses } = await resolve(idless, 'restore', { remediated });
    expect(copies.map((c) => c.recipient)).toEqual(['bob@contoso.com']);
    expect(misses.recipients).toEqual(['alice@contoso.com']);
  });
});
