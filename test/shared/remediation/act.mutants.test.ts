import { describe, expect, it } from 'vitest';

import type { ConfigDocument } from '../../../shared/config/document.js';
import type {
  ActionOptions,
  ActionOutcome,
  EffectMarker,
  FindCriteria,
  FindResult,
  MailItem,
} from '../../../shared/ports/mail.js';
import type { RemediationPatch, RemediationRecord } from '../../../shared/ports/results.js';
import { list, maxIntentFolders, plural } from '../../../shared/remediation/act.js';
import { remediate } from '../../../shared/remediation/remediate.js';
import { InMemoryResultStore } from '../../../shared/results/memory/inMemoryResultStore.js';
import type { RemediationMessage } from '../../../shared/verdicts/messages.js';
import type { ActionName } from '../../../shared/verdicts/schema.js';
import { InMemoryMailBackend } from '../../fakes/inMemoryMailBackend.js';
import { ConfigMother } from '../../mothers/configMother.js';
import { ProfileMother } from '../../mothers/profileMother.js';

const alice = 'alice@contoso.com';
const messageId = '<m1@mail.example.com>';
const verdictId = 'v1';
const rowKey = 'r1';
const t0 = new Date('2026-01-01T10:00:00.000Z');

const config: ConfigDocument = ConfigMother.minimal()
  .withSettings({ maxAttempts: 3 })
  .withProfiles(ProfileMother.graph({ name: 'online' }))
  .withDomains({ 'contoso.com': 'online' })
  .withPolicies()
  .parse();

/**
 * The in-memory backend, with display names for its folders (as Graph and EWS report them), an
 * optional fallback search, and forwards it records instead of refusing.
 */
class NamedFolderBackend extends InMemoryMailBackend {
  fallback = false;
  readonly forwarded: string[] = [];
  readonly effects: (EffectMarker | undefined)[] = [];
  readonly names = new Map<string, string>([
    ['inbox', 'Inbox'],
    ['deleteditems', 'Deleted Items'],
  ]);

  override async findMessages(mailbox: string, criteria: FindCriteria): Promise<FindResult> {
    const found = await super.findMessages(mailbox, criteria);
    return {
      usedFallback: this.fallback,
      items: found.items.map((i) => {
        const name = this.names.get(i.folderId);
        const copy: MailItem = { ...i };
        delete copy.folderName;
        return name === undefined ? copy : { ...copy, folderName: name };
      }),
    };
  }

  override async applyAction(
    mailbox: string,
    item: MailItem,
    action: ActionName,
    options?: ActionOptions,
  ): Promise<ActionOutcome> {
    this.effects.push(options?.effect);
    if (action === 'quarantine') {
      this.actions.push({ mailbox, action, itemId: item.id });
      return { status: 'succeeded', originalFolder: item.folderId, quarantineLocation: 'central/Quarantine' };
    }
    if (action === 'none')
      return { ...(await super.applyAction(mailbox, item, action)), detail: this.actionNote };
    if (action === 'forward' || action === 'forwardAndDelete') {
      this.forwarded.push(item.id);
      this.actions.push({ mailbox, action, itemId: item.id });
      return { status: 'succeeded', originalFolder: item.folderId };
    }
    return super.applyAction(mailbox, item, action);
  }
}

async function setUp(
  action: ActionName,
  patch: RemediationPatch = {},
  mode: 'enforce' | 'simulate' = 'enforce',
  id = messageId,
) {
  const store = new InMemoryResultStore();
  const record: RemediationRecord = {
    verdictId,
    rowKey,
    recipient: alice,
    internetMessageId: id,
    action,
    status: 'pending',
    attempts: 0,
    updatedAt: t0.toISOString(),
  };
  await store.createRemediations([record]);
  if (Object.keys(patch).length > 0) {
    const current = (await store.getRemediation(verdictId, rowKey))!;
    await store.updateRemediation(verdictId, rowKey, patch, current.etag);
  }
  const message: RemediationMessage = {
    verdictId,
    rowKey,
    recipient: alice,
    internetMessageId: id,
    verdict: 'malicious',
    action,
    mode,
    threatKey: 'a'.repeat(64),
    attempt: 1,
  };
  const stored = async () => (await store.getRemediation(verdictId, rowKey))!.value;
  const run = (backend: InMemoryMailBackend) =>
    remediate(message, {
      store,
      config,
      backendFor: () => backend,
      scheduleRetry: () => Promise.resolve(),
      now: () => t0,
    });
  return { store, stored, run };
}

/** A row an earlier owner left in progress after recording its intent (its lease long expired). */
function takenOver(action: ActionName, folders?: string[]): RemediationPatch {
  return {
    status: 'inProgress',
    attempts: 1,
    intent: JSON.stringify({
      action,
      owner: 'owner-a',
      at: t0.toISOString(),
      ...(folders ? { folders } : {}),
    }),
  };
}

describe('actOnCopies when no copy is found', () => {
  it('tells a Graph profile that archived copies are out of its reach', async () => {
    const { run, stored } = await setUp('softDelete');
    await run(new NamedFolderBackend('graph').deliver(alice, '<other@x>'));
    const row = await stored();
    expect(row.status).toBe('notFound');
    expect(row.reason).toBe('MessageNotFound');
    expect(row.detail).toBe(
      `No copy of ${messageId} is in the mailbox ${alice}; it may have been deleted already or never delivered there.` +
        ' Graph cannot search In-Place Archive mailboxes; an archived copy needs an EWS profile.',
    );
  });

  it('adds nothing about archives for an EWS profile', async () => {
    const { run, stored } = await setUp('softDelete');
    await run(new NamedFolderBackend('ews').deliver(alice, '<other@x>'));
    expect((await stored()).detail).toBe(
      `No copy of ${messageId} is in the mailbox ${alice}; it may have been deleted already or never delivered there.`,
    );
  });

  it('counts a copy gone after an earlier owner recorded softDelete as this row taking it away', async () => {
    const { run, stored } = await setUp(
      'softDelete',
      takenOver('softDelete', ['Inbox (inbox)', 'Inbox (inbox)']),
    );
    const backend = new NamedFolderBackend().deliver(alice, '<other@x>');
    await run(backend);
    const row = await stored();
    expect(row.status).toBe('succeeded');
    expect(row.reason).toBeUndefined();
    expect(row.originalFolder).toBe('Inbox (inbox)');
    expect(row.detail).toBe('An earlier attempt applied softDelete; no copy is left where it was.');
    expect(backend.actions).toEqual([]);
  });

  it('records the copy under an empty id when neither the message nor a found copy has one', async () => {
    const { run, stored, store } = await setUp(
      'softDelete',
      takenOver('softDelete', ['Inbox (inbox)']),
      'enforce',
      '',
    );
    await run(new NamedFolderBackend().deliver(alice, '<other@x>'));
    expect((await stored()).status).toBe('succeeded');
    expect(await store.getRemediatedCopy('a'.repeat(64), alice, '')).toMatchObject({
      internetMessageId: '',
      originalFolder: 'Inbox (inbox)',
    });
  });

  it('in simulate mode does not count a missing copy as taken by an earlier owner', async () => {
    const { run, stored } = await setUp('softDelete', takenOver('softDelete', ['Inbox (inbox)']), 'simulate');
    await run(new NamedFolderBackend().deliver(alice, '<other@x>'));
    expect((await stored()).status).toBe('notFound');
  });

  it('does not trust an earlier intent for another action: the copy is not found', async () => {
    const { run, stored } = await setUp('softDelete', takenOver('hardDelete', ['Inbox (inbox)']));
    await run(new NamedFolderBackend().deliver(alice, '<other@x>'));
    expect((await stored()).status).toBe('notFound');
  });

  it('does not take a missing copy after an earlier forward as removed: forward leaves the copy', async () => {
    const { run, stored } = await setUp('forward', takenOver('forward', ['Inbox (inbox)']));
    await run(new NamedFolderBackend().deliver(alice, '<other@x>'));
    expect((await stored()).status).toBe('notFound');
  });
});

describe('actOnCopies in simulate mode', () => {
  it('shows the folder names (the id where there is none) and changes nothing', async () => {
    const { run, stored } = await setUp('softDelete', {}, 'simulate');
    const backend = new NamedFolderBackend()
      .deliver(alice, messageId)
      .deliver(alice, messageId, 'Invoices-id');
    await run(backend);
    const row = await stored();
    expect(row.status).toBe('simulated');
    expect(row.reason).toBeUndefined();
    expect(row.originalFolder).toBe('Inbox; Invoices-id');
    expect(row.detail).toBe('Would apply softDelete to 2 copies; simulate mode changed nothing.');
    expect(backend.actions).toEqual([]);
    expect(backend.items(alice).map((i) => i.folderId)).toEqual(['inbox', 'Invoices-id']);
  });

  it('says "copy" for one copy and names how a fallback search found it', async () => {
    const { run, stored } = await setUp('softDelete', {}, 'simulate');
    const backend = new NamedFolderBackend().deliver(alice, messageId);
    backend.fallback = true;
    await run(backend);
    expect((await stored()).detail).toBe(
      'Would apply softDelete to 1 copy (found by sender, subject and received time because the message id matched nothing); simulate mode changed nothing.',
    );
  });
});

describe('actOnCopies in enforce mode', () => {
  it('applies the action, shows the folder names and appends what the backend noted', async () => {
    const { run, stored } = await setUp('softDelete');
    const backend = new NamedFolderBackend().deliver(alice, messageId).deliver(alice, messageId);
    backend.actionNote = 'kept as a draft';
    await run(backend);
    const row = await stored();
    expect(row.status).toBe('succeeded');
    expect(row.originalFolder).toBe('Inbox');
    expect(row.quarantineLocation).toBeUndefined();
    expect(row.detail).toBe('Applied softDelete to 2 of 2 copies. kept as a draft');
    expect(JSON.parse(row.intent!)).toMatchObject({ action: 'softDelete', folders: ['Inbox (inbox)'] });
    expect(backend.items(alice).map((i) => i.folderId)).toEqual([
      'recoverableitemsdeletions',
      'recoverableitemsdeletions',
    ]);
  });

  it('appends nothing when the backend noted nothing, and says "copy" for one', async () => {
    const { run, stored } = await setUp('softDelete');
    await run(new NamedFolderBackend().deliver(alice, messageId));
    expect((await stored()).detail).toBe('Applied softDelete to 1 of 1 copy.');
  });

  it('records at most maxIntentFolders distinct folders in the intent, by name and id, or the id alone', async () => {
    const { run, stored } = await setUp('softDelete');
    const backend = new NamedFolderBackend().deliver(alice, messageId);
    for (let i = 0; i < 60; i += 1) backend.deliver(alice, messageId, `f-${i}`);
    await run(backend);
    const folders = (JSON.parse((await stored()).intent!) as { folders: string[] }).folders;
    expect(folders).toHaveLength(maxIntentFolders);
    expect(folders.slice(0, 2)).toEqual(['Inbox (inbox)', 'f-0']);
  });

  it('marks its effect as recovering only after an earlier owner recorded an intent', async () => {
    const fresh = await setUp('softDelete');
    const first = new NamedFolderBackend().deliver(alice, messageId);
    await fresh.run(first);
    expect(first.effects).toEqual([{ key: `${verdictId}|${rowKey}`, recovering: false }]);

    const again = await setUp('softDelete', takenOver('softDelete', ['Inbox (inbox)']));
    const second = new NamedFolderBackend().deliver(alice, messageId);
    await again.run(second);
    expect(second.effects).toEqual([{ key: `${verdictId}|${rowKey}`, recovering: true }]);
  });

  it('records where quarantine put the copy, on the row and on the remediated copy', async () => {
    const { run, stored, store } = await setUp('quarantine');
    const backend = new NamedFolderBackend().deliver(alice, messageId);
    await run(backend);
    const row = await stored();
    expect(row.status).toBe('succeeded');
    expect(row.quarantineLocation).toBe('central/Quarantine');
    expect(backend.actions.map((a) => a.action)).toEqual(['quarantine']);
    expect(await store.getRemediatedCopy('a'.repeat(64), alice, messageId)).toMatchObject({
      quarantineLocation: 'central/Quarantine',
      originalFolder: 'inbox',
    });
  });

  it('shows folder ids where the copies have no names', async () => {
    const { run, stored } = await setUp('softDelete');
    const backend = new NamedFolderBackend()
      .deliver(alice, messageId, 'f-1')
      .deliver(alice, messageId, 'f-2');
    await run(backend);
    expect((await stored()).originalFolder).toBe('f-1; f-2');
  });

  it('with action none finds the copies, changes nothing and leaves out what the backend says', async () => {
    const { run, stored } = await setUp('none');
    const backend = new NamedFolderBackend().deliver(alice, messageId);
    backend.actionNote = 'kept as a draft';
    await run(backend);
    const row = await stored();
    expect(row.detail).toBe('Found 1 copy; the action is none, so nothing was changed.');
    expect(row.intent).toBeUndefined();
    expect(backend.items(alice).map((i) => i.folderId)).toEqual(['inbox']);
  });

  it('reports copies already where the action puts them as already remediated', async () => {
    const { run, stored } = await setUp('moveToDeletedItems');
    const backend = new NamedFolderBackend().deliver(alice, messageId, 'deleteditems');
    await run(backend);
    const row = await stored();
    expect(row.status).toBe('alreadyRemediated');
    expect(row.originalFolder).toBe('Deleted Items');
    expect(row.detail).toBe('Every copy was already where moveToDeletedItems would put it.');
  });

  it('counts copies already in place after an earlier owner as its work, showing the recorded folders', async () => {
    const { run, stored } = await setUp(
      'moveToDeletedItems',
      takenOver('moveToDeletedItems', ['Inbox (inbox)']),
    );
    const backend = new NamedFolderBackend().deliver(alice, messageId, 'deleteditems');
    await run(backend);
    const row = await stored();
    expect(row.status).toBe('succeeded');
    expect(row.originalFolder).toBe('Inbox (inbox)');
    expect(row.detail).toBe('An earlier attempt applied moveToDeletedItems to 1 copy.');
  });

  it('forwardAndDelete sends the first copy and deletes the others without sending them', async () => {
    const { run, stored } = await setUp('forwardAndDelete');
    const backend = new NamedFolderBackend().deliver(alice, messageId).deliver(alice, messageId);
    await run(backend);
    expect(backend.actions.map((a) => [a.itemId, a.action])).toEqual([
      ['item-1', 'forwardAndDelete'],
      ['item-2', 'softDelete'],
    ]);
    expect(backend.forwarded).toEqual(['item-1']);
    expect(backend.items(alice).map((i) => i.folderId)).toEqual(['inbox', 'recoverableitemsdeletions']);
    expect((await stored()).status).toBe('succeeded');
  });
});

describe('list and plural', () => {
  it('joins the distinct non-empty values, or gives undefined', () => {
    expect(list(['a', undefined, '', 'b', 'a'])).toBe('a; b');
    expect(list([''])).toBeUndefined();
    expect(list([undefined])).toBeUndefined();
    expect(list([])).toBeUndefined();
    expect(list(undefined)).toBeUndefined();
    expect(plural(1)).toBe('copy');
    expect(plural(0)).toBe('copies');
    expect(plural(2)).toBe('copies');
  });
});
