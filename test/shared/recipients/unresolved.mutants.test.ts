import { describe, expect, it } from 'vitest';

import { type ConfigDocument, configDocumentSchema } from '../../../shared/config/document.js';
import type { Page, PageRequest } from '../../../shared/ports/results.js';
import {
  copiesWithoutMessageId,
  type Misses,
  noMisses,
  type ResolvedCopy,
  unresolvedNote,
} from '../../../shared/recipients/unresolved.js';
import type { ActionName, DeliveredMessage, VerdictChange } from '../../../shared/verdicts/schema.js';

const threat = 'ab'.repeat(32);

const graph = (name: string, fallbackSearch: boolean) => ({
  name,
  type: 'graph' as const,
  tenantId: 'contoso.onmicrosoft.com',
  clientId: '4f1b2f43-5a0c-4d6e-8f5e-0c1ab2c3d4e5',
  certificate: { keyVaultSecret: 'c' },
  fallbackSearch,
});

/**
 * contoso.com: a chain whose second profile searches; fabrikam.com: one profile that does not;
 * northwind.example: a chain where none does.
 */
const config: ConfigDocument = configDocumentSchema.parse({
  profiles: [graph('online', false), graph('searching', true), graph('plain', false)],
  chains: [
    { name: 'hybrid', profiles: ['online', 'searching'] },
    { name: 'strict', profiles: ['online', 'plain'] },
  ],
  domains: { 'contoso.com': 'hybrid', 'fabrikam.com': 'plain', 'northwind.example': 'strict' },
});

/** A table read page by page, remembering every request it was asked. */
class PagedTable {
  readonly requests: { key: string; page: PageRequest }[] = [];
  constructor(private readonly items: ResolvedCopy[]) {}

  list(key: string, page: PageRequest): Promise<Page<ResolvedCopy>> {
    this.requests.push({ key, page: { ...page } });
    const start = Number(page.continuationToken ?? '0');
    const end = start + page.pageSize;
    return Promise.resolve({
      items: this.items.slice(start, end),
      continuationToken: end < this.items.length ? String(end) : undefined,
    });
  }
}

async function resolve(
  messages: DeliveredMessage[],
  action: ActionName,
  tables: { ledger?: ResolvedCopy[]; remediated?: ResolvedCopy[] } = {},
) {
  const ledger = new PagedTable(tables.ledger ?? []);
  const remediated = new PagedTable(tables.remediated ?? []);
  const misses = noMisses();
  const copies: ResolvedCopy[] = [];
  for await (const copy of copiesWithoutMessageId(
    messages,
    action,
    threat,
    {
      deliveries: { listDeliveries: (k, p) => ledger.list(k, p) as never },
      copies: { listRemediatedCopies: (k, p) => remediated.list(k, p) as never },
      config,
      batchSize: 2,
    },
    misses,
  ))
    copies.push(copy);
  return { copies, misses, ledger, remediated };
}

const searchable = {
  sender: 'billing@northwind.example',
  subject: 'Invoice',
  receivedAt: '2026-11-26T08:14:00Z',
};
const copy = (recipient: string, id = `<${recipient}>`): ResolvedCopy => ({
  recipient,
  internetMessageId: id,
});

describe('copies of recipients named without a message id', () => {
  it('reads nothing when no recipient is named', async () => {
    const { copies, ledger, remediated } = await resolve([], 'softDelete', {
      ledger: [copy('a@contoso.com')],
    });
    expect(copies).toEqual([]);
    expect(ledger.requests).toEqual([]);
    expect(remediated.requests).toEqual([]);
  });

  it('reads the ledger of the threat page by page, in pages of the batch size, and keeps only named recipients', async () => {
    const named = ['a@contoso.com', 'c@contoso.com', 'e@contoso.com'];
    const ledger = ['a', 'b', 'c', 'd', 'e'].map((n) => copy(`${n}@contoso.com`));
    const result = await resolve([{ recipients: named }], 'softDelete', { ledger });
    expect(result.copies).toEqual(named.map((r) => copy(r)));
    expect(result.ledger.requests).toEqual([
      { key: threat, page: { pageSize: 2, continuationToken: undefined } },
      { key: threat, page: { pageSize: 2, continuationToken: '2' } },
      { key: threat, page: { pageSize: 2, continuationToken: '4' } },
    ]);
    expect(result.remediated.requests).toEqual([]);
    expect(result.misses).toEqual(noMisses());
  });

  it('matches a recipient written in capitals to its lower-case ledger row', async () => {
    const { copies, misses } = await resolve([{ recipients: ['A@Contoso.com'] }], 'softDelete', {
      ledger: [copy('a@contoso.com')],
    });
    expect(copies).toEqual([copy('a@contoso.com')]);
    expect(misses.recipients).toEqual([]);
  });

  it('for a restore reads only what Clawback changed, and a recipient it changed nothing for is missed with why', async () => {
    const result = await resolve(
      [{ recipients: ['a@contoso.com', 'b@contoso.com'], ...searchable }],
      'restore',
      {
        ledger: [copy('b@contoso.com')],
        remediated: [copy('a@contoso.com')],
      },
    );
    expect(result.copies).toEqual([copy('a@contoso.com')]);
    expect(result.ledger.requests).toEqual([]);
    expect(result.misses).toEqual<Misses>({
      recipients: ['b@contoso.com'],
      remedies: new Set([
        'Clawback changed no copy of this threat in these mailboxes, so there is nothing to put back',
      ]),
    });
  });

  it('searches for a recipient the ledger does not know when any profile of its chain allows it', async () => {
    const { copies, misses } = await resolve(
      [{ recipients: ['a@contoso.com'], ...searchable }],
      'softDelete',
    );
    expect(copies).toEqual([{ recipient: 'a@contoso.com', internetMessageId: '', ...searchable }]);
    expect(misses.recipients).toEqual([]);
  });

  it.each([
    ['sender', { sender: undefined }],
    ['subject', { subject: undefined }],
    ['received time', { receivedAt: undefined }],
  ])('does not search without the %s, and says what the source should send', async (_what, without) => {
    const { copies, misses } = await resolve(
      [{ recipients: ['a@contoso.com'], ...searchable, ...without }],
      'softDelete',
    );
    expect(copies).toEqual([]);
    expect(misses).toEqual<Misses>({
      recipients: ['a@contoso.com'],
      remedies: new Set([
        'record the deliveries of this threat (POST /api/deliveries)',
        'have the source send the message id, or its sender, subject and received time for a fallback search',
      ]),
    });
  });

  it('names the profiles to enable the search on, or says none is mapped', async () => {
    const { copies, misses } = await resolve(
      [{ recipients: ['a@fabrikam.com', 'b@tailspin.example', 'c@northwind.example'], ...searchable }],
      'softDelete',
    );
    expect(copies).toEqual([]);
    expect(misses).toEqual<Misses>({
      recipients: ['a@fabrikam.com', 'b@tailspin.example', 'c@northwind.example'],
      remedies: new Set([
        'record the deliveries of this threat (POST /api/deliveries)',
        'enable fallbackSearch on the profile of a@fabrikam.com (plain)',
        'enable fallbackSearch on the profile of b@tailspin.example (none mapped)',
        'enable fallbackSearch on the profile of c@northwind.example (online, plain)',
      ]),
    });
  });
});

const change = (overrides: Partial<VerdictChange> = {}): VerdictChange => ({
  eventId: 'e',
  source: 's',
  verdict: 'malicious',
  threat: { sha256: threat },
  ...overrides,
});

describe('the note of a verdict that missed copies', () => {
  it('says nothing when every named recipient was reached', () => {
    expect(
      unresolvedNote(change({ messages: [{ recipients: ['a@x.com'] }] }), 'softDelete', 1, noMisses()),
    ).toBe(undefined);
    expect(unresolvedNote(change(), 'softDelete', 3, noMisses())).toBe(undefined);
  });

  it('names the threat by hash, else URL, else generically, when the verdict names no messages and nothing was found', () => {
    expect(unresolvedNote(change(), 'softDelete', 0, noMisses())).toBe(
      `The verdict names no messages and the delivery ledger has no delivery of ${threat}. ` +
        'To resolve it: record deliveries (POST /api/deliveries) from the mail gateway, or have the source send ' +
        'the message id and recipients (or sender, subject and received time, with fallbackSearch enabled on the profile).',
    );
    expect(
      unresolvedNote(
        change({ threat: { url: 'https://evil.example/' }, messages: [] }),
        'restore',
        0,
        noMisses(),
      ),
    ).toBe(
      'The verdict names no messages and Clawback changed no copy of https://evil.example/, so there is nothing to restore.',
    );
    expect(unresolvedNote(change({ threat: {} }), 'restore', 0, noMisses())).toBe(
      'The verdict names no messages and Clawback changed no copy of the threat, so there is nothing to restore.',
    );
  });

  it('lists the first ten missed recipients, counts the rest, and joins the remedies', () => {
    const misses: Misses = {
      recipients: Array.from({ length: 12 }, (_, i) => `u${i}@x.com`),
      remedies: new Set(['do this', 'do that']),
    };
    expect(
      unresolvedNote(change({ messages: [{ recipients: ['u0@x.com'] }] }), 'softDelete', 0, misses),
    ).toBe(
      'No copy could be identified for 12 recipient(s) named without a message id ' +
        '(u0@x.com, u1@x.com, u2@x.com, u3@x.com, u4@x.com, u5@x.com, u6@x.com, u7@x.com, u8@x.com, u9@x.com and 2 more). ' +
        'To resolve it: do this; do that.',
    );
    const ten = { recipients: misses.recipients.slice(0, 10), remedies: new Set(['do this']) };
    expect(unresolvedNote(change(), 'softDelete', 4, ten)).toBe(
      'No copy could be identified for 10 recipient(s) named without a message id ' +
        '(u0@x.com, u1@x.com, u2@x.com, u3@x.com, u4@x.com, u5@x.com, u6@x.com, u7@x.com, u8@x.com, u9@x.com). ' +
        'To resolve it: do this.',
    );
  });
});
