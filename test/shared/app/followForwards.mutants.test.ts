import { describe, expect, it } from 'vitest';

import {
  derivedFrom,
  derivedLimits,
  followForwards,
  followForwardsHook,
  maxDerivedDepth,
} from '../../../shared/app/followForwards.js';
import type { ConfigDocument, Profile } from '../../../shared/config/document.js';
import { ClawbackError } from '../../../shared/errors.js';
import type { CallOptions, DerivedMessage, DerivedSearch } from '../../../shared/ports/mail.js';
import type { OutgoingMessage, QueueSender } from '../../../shared/ports/queue.js';
import type { RemediationRecord } from '../../../shared/ports/results.js';
import type { RemovedCopy } from '../../../shared/remediation/remediate.js';
import { InMemoryResultStore } from '../../../shared/results/memory/inMemoryResultStore.js';
import { remediationRowKey } from '../../../shared/verdicts/ids.js';
import type { RemediationMessage } from '../../../shared/verdicts/messages.js';
import type { ActionName } from '../../../shared/verdicts/schema.js';
import { InMemoryMailBackend } from '../../fakes/inMemoryMailBackend.js';
import { configDocument } from '../../support/services.js';

const sha = 'ab'.repeat(32);
const original = '<orig@evil.example>';
const verdictId = '8227633599999-0123456789';

/** A backend whose Sent Items search answers what the test scripts, recording every search. */
class SentItemsBackend extends InMemoryMailBackend {
  readonly searches: { mailbox: string; original: DerivedSearch }[] = [];
  constructor(private readonly answer: DerivedMessage[] | Error) {
    super();
  }
  findDerivedMessages(
    mailbox: string,
    search: DerivedSearch,
    _options?: CallOptions,
  ): Promise<DerivedMessage[]> {
    this.searches.push({ mailbox, original: search });
    return Array.isArray(this.answer) ? Promise.resolve(this.answer) : Promise.reject(this.answer);
  }
}

/** What was sent, queue by queue. */
function recordingQueue() {
  const sent: { queue: string; messages: OutgoingMessage[] }[] = [];
  const queue: QueueSender = {
    send: (name, messages) => {
      sent.push({ queue: name, messages });
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  return { queue, sent };
}

const forwardedTo = (internetMessageId: string, recipients: string[]): DerivedMessage => ({
  internetMessageId,
  recipients,
  matchedBy: 'references',
});

function message(overrides: Partial<RemediationMessage> = {}): RemediationMessage {
  return {
    verdictId,
    rowKey: remediationRowKey('alice@contoso.com', original),
    recipient: 'alice@contoso.com',
    internetMessageId: original,
    verdict: 'malicious',
    action: 'softDelete',
    mode: 'enforce',
    threatKey: sha,
    attempt: 1,
    ...overrides,
  };
}

const following = (follow = true): Profile => ({
  ...(configDocument().profiles[0] as Profile),
  followForwards: follow,
});

async function run(options: {
  answer?: DerivedMessage[] | Error;
  message?: Partial<RemediationMessage>;
  profile?: Profile;
  config?: ConfigDocument;
  backend?: RemovedCopy['backend'];
}) {
  const store = new InMemoryResultStore();
  const { queue, sent } = recordingQueue();
  const backend = new SentItemsBackend(options.answer ?? []);
  const log: string[] = [];
  const copy: RemovedCopy = {
    message: message(options.message),
    profile: options.profile ?? following(),
    backend: options.backend ?? backend,
    deliveredAt: '2026-11-29T08:00:00Z',
  };
  const deps = {
    rows: store,
    queue,
    config: options.config ?? configDocument(),
    log: (l: string) => log.push(l),
  };
  const added = await followForwards(copy, deps);
  const rows = (await store.listRemediations(verdictId, { pageSize: 1000 })).items;
  return { added, rows, sent, searches: backend.searches, log, store, deps, copy };
}

describe('followForwards', () => {
  it('queues a derived row for every internal recipient of a forward, once, with where it came from', async () => {
    const { added, rows, sent, searches, log } = await run({
      answer: [
        forwardedTo('<fw-1@contoso.com>', [
          'Bob@Contoso.com',
          'carol@contoso.com',
          'partner@fabrikam.example',
          'alice@contoso.com',
          'bob@contoso.com',
        ]),
        forwardedTo('<fw-2@contoso.com>', ['bob@contoso.com']),
      ],
    });

    expect(searches).toEqual([
      {
        mailbox: 'alice@contoso.com',
        original: {
          internetMessageId: original,
          deliveredAt: '2026-11-29T08:00:00Z',
          sha256: sha,
          limit: derivedLimits.messages,
        },
      },
    ]);
    const expected = [
      ['bob@contoso.com', '<fw-1@contoso.com>'],
      ['carol@contoso.com', '<fw-1@contoso.com>'],
      ['bob@contoso.com', '<fw-2@contoso.com>'],
    ] as const;
    expect(added).toBe(3);
    expect(rows.map((r) => [r.recipient, r.internetMessageId]).sort()).toEqual(
      expected.map(([r, m]) => [r, m]).sort(),
    );
    for (const row of rows)
      expect(row).toMatchObject<Partial<RemediationRecord>>({
        verdictId,
        rowKey: remediationRowKey(row.recipient, row.internetMessageId),
        action: 'softDelete',
        status: 'pending',
        attempts: 0,
        derivedFrom: derivedFrom('alice@contoso.com', original),
      });
    expect(rows[0]?.derivedFrom).toBe(`alice@contoso.com ${original}`);
    expect(Number.isNaN(Date.parse(rows[0]!.updatedAt))).toBe(false);

    expect(sent).toHaveLength(1);
    expect(sent[0]?.queue).toBe('remediations');
    expect(sent[0]?.messages).toEqual(
      expected.map(([recipient, id]) => {
        const rowKey = remediationRowKey(recipient, id);
        return {
          body: {
            verdictId,
            rowKey,
            recipient,
            internetMessageId: id,
            verdict: 'malicious',
            action: 'softDelete',
            mode: 'enforce',
            threatKey: sha,
            attempt: 1,
            derivedDepth: 1,
          },
          messageId: `${verdictId}|${rowKey}|1`,
          sessionId: recipient,
        };
      }),
    );
    expect(log).toEqual([
      `verdict ${verdictId}: alice@contoso.com forwarded or replied to ${original}; 3 derived copies queued (3 new rows)`,
    ]);
  });

  it('a forward of a forward is followed once more, one level deeper', async () => {
    const { rows, sent } = await run({
      message: { derivedDepth: 1 },
      answer: [forwardedTo('<fw-3@contoso.com>', ['dave@contoso.com'])],
    });
    expect(rows.map((r) => r.recipient)).toEqual(['dave@contoso.com']);
    expect((sent[0]?.messages[0]?.body as RemediationMessage).derivedDepth).toBe(2);
  });

  it('a repeat queues the same rows again but counts none as new', async () => {
    const answer = [forwardedTo('<fw-1@contoso.com>', ['bob@contoso.com'])];
    const first = await run({ answer });
    const again = await followForwards(first.copy, first.deps);
    expect(again).toBe(0);
    expect((await first.store.listRemediations(verdictId, { pageSize: 100 })).items).toHaveLength(1);
    expect(first.sent).toHaveLength(2);
    expect(first.log.at(-1)).toContain('1 derived copies queued (0 new rows)');
  });

  it('searches by attachment hash only when the threat key is a SHA-256', async () => {
    for (const [threatKey, sha256] of [
      [sha, sha],
      [`url-${'a'.repeat(40)}`, undefined],
      [`x${sha}`, undefined],
      [`${sha}x`, undefined],
      [sha.slice(1), undefined],
      [sha.toUpperCase(), undefined],
    ] as const) {
      const { searches } = await run({ message: { threatKey } });
      expect(searches.map((s) => s.original.sha256)).toEqual([sha256]);
    }
  });

  it('leaves recipients outside the organisation alone: the ALL catch-all is no proof of being inside', async () => {
    const config = configDocument({ domains: { 'contoso.com': 'contoso-online', ALL: 'contoso-online' } });
    const { added, rows, sent, log } = await run({
      config,
      answer: [
        forwardedTo('<fw-1@contoso.com>', [
          'partner@fabrikam.example',
          'x@all',
          'no-domain',
          'alice@contoso.com',
        ]),
      ],
    });
    expect(added).toBe(0);
    expect(rows).toEqual([]);
    expect(sent).toEqual([]);
    expect(log).toEqual([]);
  });

  it(`adds at most ${derivedLimits.rows} rows per copy`, async () => {
    const many = Array.from({ length: 150 }, (_, i) => `user${i}@contoso.com`);
    const { added, rows, sent } = await run({
      answer: [
        forwardedTo('<fw-1@contoso.com>', many.slice(0, 60)),
        forwardedTo('<fw-2@contoso.com>', many.slice(60)),
      ],
    });
    expect(added).toBe(derivedLimits.rows);
    expect(rows).toHaveLength(derivedLimits.rows);
    expect(sent[0]?.messages).toHaveLength(derivedLimits.rows);
  });

  it('follows every action that takes a copy away', async () => {
    for (const action of [
      'hardDelete',
      'softDelete',
      'moveToDeletedItems',
      'moveToJunk',
      'quarantine',
      'forwardAndDelete',
    ] as ActionName[]) {
      const { rows } = await run({
        message: { action },
        answer: [forwardedTo('<fw-1@contoso.com>', ['bob@contoso.com'])],
      });
      expect(rows.map((r) => [r.recipient, r.action])).toEqual([['bob@contoso.com', action]]);
    }
  });

  it('does not search when the copy stays put, only simulated, is too deep, the profile does not follow forwards or the backend cannot search', async () => {
    const answer = [forwardedTo('<fw-1@contoso.com>', ['bob@contoso.com'])];
    const cases: Parameters<typeof run>[0][] = [
      ...(['none', 'restore', 'forward'] as ActionName[]).map((action) => ({ message: { action } })),
      { message: { mode: 'simulate' } },
      { message: { derivedDepth: maxDerivedDepth } },
      { profile: following(false) },
      { backend: new InMemoryMailBackend() },
    ];
    for (const c of cases) {
      const { added, rows, sent, searches } = await run({ ...c, answer });
      expect({ added, rows, sent, searches }).toEqual({ added: 0, rows: [], sent: [], searches: [] });
    }
  });
});

describe('followForwardsHook', () => {
  it('a failed search is logged and counts as none found', async () => {
    const store = new InMemoryResultStore();
    const { queue, sent } = recordingQueue();
    const log: string[] = [];
    const hook = followForwardsHook({
      rows: store,
      queue,
      config: configDocument(),
      log: (l) => log.push(l),
    });
    const copy: RemovedCopy = {
      message: message(),
      profile: following(),
      backend: new SentItemsBackend(new ClawbackError('PermissionError', 'no Sent Items access')),
    };

    expect(await hook(copy)).toBe(0);
    expect(log).toEqual([
      `verdict ${verdictId}: forwards of ${original} in alice@contoso.com not followed: no Sent Items access`,
    ]);
    expect(sent).toEqual([]);
  });

  it('passes on how many rows a successful search added', async () => {
    const store = new InMemoryResultStore();
    const { queue } = recordingQueue();
    const hook = followForwardsHook({ rows: store, queue, config: configDocument() });
    const copy: RemovedCopy = {
      message: message(),
      profile: following(),
      backend: new SentItemsBackend([
        forwardedTo('<fw-1@contoso.com>', ['bob@contoso.com', 'carol@contoso.com']),
      ]),
    };

    expect(await hook(copy)).toBe(2);
    expect((await store.listRemediations(verdictId, { pageSize: 10 })).items).toHaveLength(2);
  });
});
