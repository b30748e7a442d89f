import { describe, expect, it } from 'vitest';

import { SimulatedCrash } from '../../../shared/chaos/crash.js';
import type { ConfigDocument } from '../../../shared/config/document.js';
import { ClawbackError } from '../../../shared/errors.js';
import type { RemediatedCopy } from '../../../shared/ports/results.js';
import { remediate } from '../../../shared/remediation/remediate.js';
import type { RemediationMessage } from '../../../shared/verdicts/messages.js';
import { InMemoryMailBackend } from '../../fakes/inMemoryMailBackend.js';
import { ConfigMother } from '../../mothers/configMother.js';
import { ProfileMother } from '../../mothers/profileMother.js';
import { alice, deps, FlakyRows, message, messageId } from '../../support/remediate.js';

describe('following forwards after a removal (withForwards)', () => {
  it('adds the derived-copy note to the detail of the row, singular for one copy', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend().deliver(alice, messageId);
    const seen: string[] = [];
    const follow = (copy: { profile: { name: string } }) => {
      seen.push(copy.profile.name);
      return Promise.resolve(1);
    };
    await expect(
      remediate(message, { ...deps(rows, backend), followForwards: follow }),
    ).resolves.toMatchObject({ status: 'succeeded' });
    expect(seen).toEqual(['online']);
    expect(rows.row.status).toBe('succeeded');
    expect(rows.row.detail).toBe(
      'Applied softDelete to 1 of 1 copy. Followed forwards and replies: 1 derived copy queued.',
    );
    expect(backend.actions).toHaveLength(1);
  });

  it('says copies for more than one, after a detail the action already wrote', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend().deliver(alice, messageId);
    backend.actionNote = 'imported as MIME';
    await expect(
      remediate(message, { ...deps(rows, backend), followForwards: () => Promise.resolve(2) }),
    ).resolves.toMatchObject({ status: 'succeeded' });
    expect(rows.row.detail).toBe(
      'Applied softDelete to 1 of 1 copy. imported as MIME Followed forwards and replies: 2 derived copies queued.',
    );
  });

  it('leaves the detail alone when no derived copy was queued', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend().deliver(alice, messageId);
    await expect(
      remediate(message, { ...deps(rows, backend), followForwards: () => Promise.resolve(0) }),
    ).resolves.toMatchObject({ status: 'succeeded' });
    expect(rows.row.detail ?? '').not.toMatch(/Followed/);
  });

  it('does not follow forwards of a copy that was not found', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend().deliver(alice, '<other@mail.example.com>');
    let calls = 0;
    const follow = () => {
      calls += 1;
      return Promise.resolve(3);
    };
    await expect(
      remediate(message, { ...deps(rows, backend), followForwards: follow }),
    ).resolves.toMatchObject({
      status: 'notFound',
    });
    expect(calls).toBe(0);
    expect(rows.row.detail ?? '').not.toMatch(/Followed/);
  });
});

describe('a recipient that is a group', () => {
  const invalid = () => new ClawbackError('InvalidMailbox', 'no mailbox', { retryable: false });

  it('expands it into member rows and names the group and the count in the detail', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend().group(alice, ['bob@contoso.com']).failNext(alice, invalid());
    const expanded: string[][] = [];
    const expandGroup = (members: string[]) => {
      expanded.push(members);
      return Promise.resolve(1);
    };
    await expect(remediate(message, { ...deps(rows, backend), expandGroup })).resolves.toMatchObject({
      status: 'succeeded',
    });
    expect(expanded).toEqual([['bob@contoso.com']]);
    expect(rows.row.status).toBe('succeeded');
    expect(rows.row.detail).toBe(
      `${alice} is a group "alice": expanded into 1 member mailbox (1 new rows), each remediated on its own row.`,
    );
  });

  it('says mailboxes for more than one member', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend()
      .group(alice, ['bob@contoso.com', 'carol@contoso.com'])
      .failNext(alice, invalid());
    await expect(
      remediate(message, { ...deps(rows, backend), expandGroup: () => Promise.resolve(2) }),
    ).resolves.toMatchObject({ status: 'succeeded' });
    expect(rows.row.detail).toMatch(/expanded into 2 member mailboxes \(2 new rows\)/);
  });

  it('does not expand on an error other than InvalidMailbox', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend()
      .group(alice, ['bob@contoso.com'])
      .failNext(alice, new ClawbackError('PermissionError', 'denied', { retryable: false }));
    let calls = 0;
    const expandGroup = () => {
      calls += 1;
      return Promise.resolve(1);
    };
    await expect(remediate(message, { ...deps(rows, backend), expandGroup })).resolves.toMatchObject({
      status: 'failed',
    });
    expect(calls).toBe(0);
    expect(rows.row.status).toBe('failed');
  });
});

describe('a recipient no profile reaches', () => {
  it('fails the row naming the domain after the last @', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend();
    const odd = '"a@b"@fabrikam.com';
    await expect(remediate({ ...message, recipient: odd }, deps(rows, backend))).resolves.toMatchObject({
      status: 'failed',
    });
    expect(rows.row).toMatchObject({ status: 'failed', reason: 'NoProfileMapped' });
    expect(rows.row.detail).toContain('the domain "fabrikam.com"');
    expect(backend.finds).toHaveLength(0);
  });
});

describe('following forwards of a copy already remediated', () => {
  it('follows them too, and appends the note to the detail', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend().deliver(alice, messageId);
    // Another tool moved the copy between the find and the action: the backend says so, with no detail.
    backend.applyAction = () => Promise.resolve({ status: 'alreadyRemediated', originalFolder: 'inbox' });
    let calls = 0;
    const follow = () => {
      calls += 1;
      return Promise.resolve(1);
    };
    const result = await remediate(message, { ...deps(rows, backend), followForwards: follow });
    expect(result).toMatchObject({ kind: 'done', status: 'alreadyRemediated' });
    expect(calls).toBe(1);
    expect(rows.row.detail).toMatch(/Followed forwards and replies: 1 derived copy queued\.$/);
    expect(rows.row.detail).not.toMatch(/^\s|Stryker/);
  });
});

describe('a chain of profiles', () => {
  const chained: ConfigDocument = ConfigMother.minimal()
    .withSettings({ maxAttempts: 3 })
    .withProfiles(ProfileMother.graph({ name: 'first' }), ProfileMother.graph({ name: 'second' }))
    .withChains(ProfileMother.chain('hybrid', ['first', 'second']))
    .withDomains({ 'contoso.com': 'hybrid' })
    .withPolicies()
    .parse();
  const invalid = () => new ClawbackError('InvalidMailbox', 'no such mailbox here', { retryable: false });

  it('tries the next profile when one has no mailbox, and logs it', async () => {
    const rows = new FlakyRows();
    const first = new InMemoryMailBackend().failNext(alice, invalid());
    const second = new InMemoryMailBackend().deliver(alice, messageId);
    const lines: string[] = [];
    const result = await remediate(message, {
      ...deps(rows, first),
      config: chained,
      backendFor: (p) => (p.name === 'first' ? first : second),
      log: (line) => lines.push(line),
    });
    expect(result).toMatchObject({ kind: 'done', status: 'succeeded' });
    expect(second.actions).toHaveLength(1);
    expect(first.actions).toHaveLength(0);
    expect(lines).toContain(
      `profile first does not reach ${alice} (InvalidMailbox); trying the next profile of hybrid`,
    );
  });

  it('fails naming the chain and the last error when no profile has the mailbox', async () => {
    const rows = new FlakyRows();
    const first = new InMemoryMailBackend().failNext(alice, invalid());
    const second = new InMemoryMailBackend().failNext(alice, invalid());
    const result = await remediate(message, {
      ...deps(rows, first),
      config: chained,
      backendFor: (p) => (p.name === 'first' ? first : second),
    });
    expect(result).toMatchObject({ kind: 'done', status: 'failed' });
    expect(rows.row).toMatchObject({ status: 'failed', reason: 'InvalidMailbox' });
    expect(rows.row.detail).toBe(
      `No profile of the chain "hybrid" has a mailbox for ${alice} (last: no such mailbox here).`,
    );
  });

  it('does not try another profile when the recipient is mapped to a single profile', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend().failNext(alice, invalid());
    const result = await remediate(message, deps(rows, backend));
    expect(result).toMatchObject({ kind: 'done', status: 'failed' });
    expect(rows.row).toMatchObject({ status: 'failed', reason: 'InvalidMailbox' });
    expect(rows.row.detail ?? '').not.toMatch(/No profile of the chain/);
  });
});

describe('restoring through a chain', () => {
  const chained: ConfigDocument = ConfigMother.minimal()
    .withSettings({ maxAttempts: 3 })
    .withProfiles(ProfileMother.graph({ name: 'first' }), ProfileMother.graph({ name: 'second' }))
    .withChains(ProfileMother.chain('hybrid', ['first', 'second']))
    .withDomains({ 'contoso.com': 'hybrid' })
    .withPolicies()
    .parse();
  const invalid = () => new ClawbackError('InvalidMailbox', 'no such mailbox here', { retryable: false });
  const restore: RemediationMessage = { ...message, action: 'restore' };
  const moved: RemediatedCopy = {
    threatKey: restore.threatKey,
    recipient: alice,
    internetMessageId: messageId,
    action: 'softDelete',
    profile: 'second',
    backend: 'graph',
    verdictId: 'v0',
    originalFolder: 'inbox',
    remediatedAt: '2026-11-30T08:00:00.000Z',
  };

  function setUp(firstErrors: ClawbackError[], secondErrors: ClawbackError[]) {
    const rows = new FlakyRows();
    Object.assign(rows, {
      getRemediatedCopy: () => Promise.resolve(moved),
      markRestored: () => Promise.resolve(),
    });
    const first = new InMemoryMailBackend()
      .deliver(alice, messageId, 'recoverableitemsdeletions')
      .failNext(alice, ...firstErrors);
    const second = new InMemoryMailBackend()
      .deliver(alice, messageId, 'recoverableitemsdeletions')
      .failNext(alice, ...secondErrors);
    const tried: string[] = [];
    const run = () =>
      remediate(restore, {
        ...deps(rows, first),
        config: chained,
        backendFor: (p) => {
          tried.push(p.name);
          return p.name === 'first' ? first : second;
        },
      });
    return { rows, first, second, tried, run };
  }

  it('asks the profile that moved the copy first', async () => {
    const t = setUp([], []);
    await expect(t.run()).resolves.toMatchObject({ kind: 'done', status: 'succeeded' });
    expect(t.tried).toEqual(['second']);
    expect(t.second.actions.map((a) => a.action)).toEqual(['restore']);
    expect(t.first.actions).toHaveLength(0);
  });

  it('falls back to the other profiles of the chain', async () => {
    const t = setUp([], [invalid()]);
    await expect(t.run()).resolves.toMatchObject({ kind: 'done', status: 'succeeded' });
    expect(t.tried).toEqual(['second', 'first']);
    expect(t.first.actions.map((a) => a.action)).toEqual(['restore']);
  });

  it('asks each profile once', async () => {
    const t = setUp([invalid()], [invalid()]);
    await expect(t.run()).resolves.toMatchObject({ kind: 'done', status: 'failed' });
    expect(t.tried).toEqual(['second', 'first']);
    expect(t.first.actions).toHaveLength(0);
    expect(t.second.actions).toHaveLength(0);
  });
});

describe('the lease of a delivery', () => {
  const start = new Date('2026-11-30T08:00:00.000Z');

  it('lasts five minutes by default, and a crashed process does not give it back', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend().deliver(alice, messageId);
    const crash = (point: string) => {
      if (point === 'afterIntent') throw new SimulatedCrash(point);
    };
    await expect(remediate(message, { ...deps(rows, backend, () => start), crash })).rejects.toThrow(
      SimulatedCrash,
    );
    expect(rows.row.status).not.toBe('succeeded');
    expect(rows.row.leaseExpiresAt).toBe('2026-11-30T08:05:00.000Z');
    expect(backend.actions).toHaveLength(0);
  });
});

describe('a row another delivery took over', () => {
  it('is left to that delivery: this one records nothing and says why', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend().deliver(alice, messageId);
    const update = rows.updateRemediation.bind(rows);
    let taken = false;
    rows.updateRemediation = async (v, r, patch, etag) => {
      if (patch.completedAt && !taken) {
        taken = true;
        const current = await rows.getRemediation();
        await update(
          v,
          r,
          { leaseOwner: 'another-owner', leaseExpiresAt: '2999-01-01T00:00:00.000Z' },
          current.etag,
        );
      }
      return update(v, r, patch, etag);
    };
    await expect(remediate(message, deps(rows, backend))).resolves.toEqual({
      kind: 'skipped',
      why: 'another delivery took the row over',
    });
    expect(rows.row.leaseOwner).toBe('another-owner');
    expect(rows.row.status).not.toBe('succeeded');
  });
});

describe('the mailbox calls after the action', () => {
  it('carry the lease signal, so a lost lease cuts them off', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend().deliver(alice, messageId);
    const signals: unknown[] = [];
    const follow = (_copy: unknown, options?: { abortSignal?: AbortSignal }) => {
      signals.push(options?.abortSignal);
      return Promise.resolve(0);
    };
    await expect(
      remediate(message, { ...deps(rows, backend), followForwards: follow }),
    ).resolves.toMatchObject({
      status: 'succeeded',
    });
    expect(signals).toHaveLength(1);
    expect(signals[0]).toBeInstanceOf(AbortSignal);
  });
});

describe('a lease lost before the intent is written', () => {
  it('acts on no copy and says so', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend().deliver(alice, messageId);
    const update = rows.updateRemediation.bind(rows);
    let taken = false;
    rows.updateRemediation = async (v, r, patch, etag) => {
      if (patch.intent && !taken) {
        taken = true;
        const current = await rows.getRemediation();
        await update(
          v,
          r,
          { leaseOwner: 'another-owner', leaseExpiresAt: '2999-01-01T00:00:00.000Z' },
          current.etag,
        );
      }
      return update(v, r, patch, etag);
    };
    await expect(remediate(message, deps(rows, backend))).resolves.toEqual({
      kind: 'skipped',
      why: 'the lease was lost before acting',
    });
    expect(backend.actions).toHaveLength(0);
    expect(rows.row.leaseOwner).toBe('another-owner');
  });
});

describe('a group without a display name', () => {
  it('is named by its address alone in the detail', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend().failNext(
      alice,
      new ClawbackError('InvalidMailbox', 'no mailbox', { retryable: false }),
    );
    backend.expandRecipient = () => Promise.resolve({ kind: 'group', members: ['bob@contoso.com'] });
    await expect(
      remediate(message, { ...deps(rows, backend), expandGroup: () => Promise.resolve(1) }),
    ).resolves.toMatchObject({ status: 'succeeded' });
    expect(rows.row.detail).toBe(
      `${alice} is a group: expanded into 1 member mailbox (1 new rows), each remediated on its own row.`,
    );
  });
});

describe('a fresh row that fails before its first write', () => {
  it('leaves the row to the retry it scheduled when the row changed since it was created, acting on nothing', async () => {
    const rows = new FlakyRows();
    // The row changed since the fan-out created it (etag e0): its lease cannot go with this owner's write.
    await rows.updateRemediation('v1', 'r1', { updatedAt: '2026-11-30T07:59:00.000Z' }, 'e0');
    const backend = new InMemoryMailBackend()
      .deliver(alice, messageId)
      .failNext(alice, new ClawbackError('ConnectionError', 'reset', { retryable: true }));
    const retries: number[] = [];
    const result = await remediate(
      { ...message, rowEtag: 'e0' },
      {
        ...deps(rows, backend),
        scheduleRetry: (next) => {
          retries.push(next.attempt);
          return Promise.resolve();
        },
      },
    );
    expect(result).toMatchObject({ kind: 'retry' });
    expect(retries).toEqual([2]);
    expect(backend.finds).toEqual([alice]);
    expect(backend.actions).toHaveLength(0);
    expect(rows.row.status).toBe('pending');
  });
});
