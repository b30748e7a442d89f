import { describe, expect, it } from 'vitest';

import { ClawbackError } from '../../../shared/errors.js';
import { remediate } from '../../../shared/remediation/remediate.js';
import { InMemoryMailBackend } from '../../fakes/inMemoryMailBackend.js';
import { MailboxMother } from '../../mothers/mailboxMother.js';
import { alice, deps, FlakyRows, message, messageId } from '../../support/remediate.js';

const later = () => new Date(Date.now() + 10 * 60_000);

describe('recording an outcome when Table Storage fails', () => {
  it('retries the row write and records what happened in the mailbox', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend().deliver(alice, messageId);
    rows.outage = 3;

    await expect(remediate(message, deps(rows, backend))).resolves.toMatchObject({ status: 'succeeded' });
    expect(rows.row).toMatchObject({ status: 'succeeded', reason: undefined });
    expect(backend.actions).toHaveLength(1);
  });

  it('never turns a done action into failed when storage stays down: the next delivery finds it done', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend().deliver(alice, messageId);
    rows.outage = 100;

    await expect(remediate(message, deps(rows, backend))).rejects.toThrow(/Table Storage kept failing/);
    expect(rows.row.status).not.toBe('failed');
    rows.outage = 0;
    await expect(remediate(message, deps(rows, backend, later))).resolves.toMatchObject({
      status: 'succeeded',
    });
    expect(rows.row).toMatchObject({ status: 'succeeded', reason: undefined });
    expect(backend.actions).toHaveLength(1);
  }, 30_000);

  it('keeps a notFound a notFound', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend().deliver(alice, '<another@mail.example.com>');
    rows.outage = 100;

    await expect(remediate(message, deps(rows, backend))).rejects.toThrow(/Table Storage kept failing/);
    rows.outage = 0;
    await expect(remediate(message, deps(rows, backend, later))).resolves.toMatchObject({
      status: 'notFound',
    });
    expect(rows.row).toMatchObject({ status: 'notFound', reason: 'MessageNotFound' });
  }, 30_000);

  it('clears the reason of an earlier throttled attempt when the row succeeds', async () => {
    const rows = new FlakyRows();
    const backend = new InMemoryMailBackend().deliver(alice, messageId);
    backend.failNext(alice, new ClawbackError('Throttled', 'Graph answered 429', { retryable: true }));

    await expect(remediate(message, deps(rows, backend))).resolves.toMatchObject({ kind: 'retry' });
    expect(rows.row).toMatchObject({ status: 'pending', reason: 'Throttled' });
    await expect(remediate({ ...message, attempt: 2 }, deps(rows, backend))).resolves.toMatchObject({
      status: 'succeeded',
    });
    expect(rows.row.status).toBe('succeeded');
    expect(rows.row.reason ?? '').toBe('');
  });
});

describe('the intent written before the effect', () => {
  it('names each original folder once, so a mailbox holding hundreds of copies fits in one table property', async () => {
    const rows = new FlakyRows();
    const intents: string[] = [];
    const update = rows.updateRemediation.bind(rows);
    rows.updateRemediation = (v, r, patch, etag) => {
      if (patch.intent) intents.push(patch.intent);
      return update(v, r, patch, etag);
    };
    const backend = new InMemoryMailBackend();
    // Graph folder ids are long; 500 copies in two folders must not make a 64 KiB property.
    const inbox = `AAMkAD${'x'.repeat(140)}inbox`;
    const invoices = `AAMkAD${'y'.repeat(140)}invoices`;
    MailboxMother.deliver(backend, alice, messageId, { copies: 500, folders: [inbox, invoices] });

    await expect(remediate(message, deps(rows, backend))).resolves.toMatchObject({ status: 'succeeded' });
    expect(backend.actions).toHaveLength(500);
    expect(intents).toHaveLength(1);
    expect((JSON.parse(intents[0] ?? '{}') as { folders?: string[] }).folders?.sort()).toEqual(
      // The in-memory backend names a folder by its id: "<name> (<id>)" as a real backend gives it.
      [inbox, invoices].map((f) => `${f} (${f})`).sort(),
    );
  });
});
