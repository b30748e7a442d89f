import { describe, expect, it } from 'vitest';

import { type ConfigDocument, configDocumentSchema, type Profile } from '../../../shared/config/document.js';
import { ClawbackError } from '../../../shared/errors.js';
import type { MailBackend } from '../../../shared/ports/mail.js';
import type { RemediatedCopy, RemediationRecord, ResultStore } from '../../../shared/ports/results.js';
import { remediate } from '../../../shared/remediation/remediate.js';
import { routeRecipient } from '../../../shared/routing/route.js';
import { remediationRowKey } from '../../../shared/verdicts/ids.js';
import type { RemediationMessage } from '../../../shared/verdicts/messages.js';
import { InMemoryMailBackend } from '../../fakes/inMemoryMailBackend.js';
import { ProfileMother } from '../../mothers/profileMother.js';

const messageId = '<m1@mail.example.com>';
const verdictId = '8235000000000-0123456789';

/** The rows remediate() reads and writes, in memory: the test is about routing, not Table Storage. */
class RowsInMemory implements Pick<
  ResultStore,
  'getRemediation' | 'updateRemediation' | 'recordRemediatedCopy'
> {
  readonly copies: RemediatedCopy[] = [];
  readonly rows = new Map<string, { value: RemediationRecord; etag: string }>();
  private n = 0;

  add(recipient: string): string {
    const rowKey = remediationRowKey(recipient, messageId);
    const value: RemediationRecord = {
      verdictId,
      rowKey,
      recipient,
      internetMessageId: messageId,
      action: 'softDelete',
      status: 'pending',
      attempts: 0,
      updatedAt: '',
    };
    this.rows.set(rowKey, { value, etag: `e${this.n++}` });
    return rowKey;
  }

  getRemediation(_v: string, rowKey: string) {
    const row = this.rows.get(rowKey);
    return Promise.resolve(row && { value: { ...row.value }, etag: row.etag });
  }

  updateRemediation(
    _v: string,
    rowKey: string,
    patch: Partial<RemediationRecord>,
    etag: string,
  ): Promise<string> {
    const row = this.rows.get(rowKey);
    if (!row || row.etag !== etag) return Promise.reject(new Error('etag mismatch'));
    row.value = { ...row.value, ...patch };
    row.etag = `e${this.n++}`;
    return Promise.resolve(row.etag);
  }

  recordRemediatedCopy(copy: RemediatedCopy): Promise<void> {
    this.copies.push(copy);
    return Promise.resolve();
  }

  row(rowKey: string): RemediationRecord {
    const row = this.rows.get(rowKey);
    if (!row) throw new Error(`no row ${rowKey}`);
    return row.value;
  }
}

const graph = (name: string) => ProfileMother.graph({ name });
const ews = (name: string) => ProfileMother.ews({ name });

function config(domains: Record<string, string>): ConfigDocument {
  return configDocumentSchema.parse({
    profiles: [graph('online'), ews('onprem'), graph('other-tenant')],
    chains: [{ name: 'hybrid', profiles: ['online', 'onprem'] }],
    domains,
    policies: [{ verdict: 'malicious', action: 'softDelete' }],
  });
}

async function run(recipient: string, doc: ConfigDocument, backends: Record<string, MailBackend>) {
  const store = new RowsInMemory();
  const rowKey = store.add(recipient);
  const message: RemediationMessage = {
    verdictId,
    rowKey,
    recipient,
    threatKey: 'a'.repeat(64),
    internetMessageId: messageId,
    verdict: 'malicious',
    action: 'softDelete',
    mode: 'enforce',
    attempt: 1,
  };
  const result = await remediate(message, {
    store: store as unknown as ResultStore,
    config: doc,
    backendFor: (profile: Profile) => {
      const backend = backends[profile.name];
      if (!backend) throw new Error(`no backend for ${profile.name}`);
      return backend;
    },
    scheduleRetry: () => Promise.resolve(),
  });
  return { result, row: store.row(rowKey) };
}

describe('routing a recipient to a profile', () => {
  it('a domain mapped to a profile is remediated by that profile, which the row records', async () => {
    const online = new InMemoryMailBackend('graph').deliver('alice@fabrikam.com', messageId);
    const { row } = await run('alice@fabrikam.com', config({ 'fabrikam.com': 'online' }), { online });
    expect(row.status).toBe('succeeded');
    expect(row.profile).toBe('online');
    expect(row.backend).toBe('graph');
    expect(online.actions).toHaveLength(1);
  });

  it('when the mailbox does not exist under the first profile of a chain, the second profile is tried and owns the row', async () => {
    const online = new InMemoryMailBackend('graph');
    const onprem = new InMemoryMailBackend('ews').deliver('dan@contoso.com', messageId);
    const { row } = await run('dan@contoso.com', config({ 'contoso.com': 'hybrid' }), { online, onprem });
    expect(online.finds).toEqual(['dan@contoso.com']);
    expect(row).toMatchObject({ status: 'succeeded', profile: 'onprem', backend: 'ews' });
  });

  it('when the first profile of a chain cannot reach the mailbox (on-premises), the next profile is tried', async () => {
    const online = new InMemoryMailBackend('graph').failNext(
      'dan@contoso.com',
      new ClawbackError('MailboxInaccessible', 'on-premises mailbox'),
    );
    const onprem = new InMemoryMailBackend('ews').deliver('dan@contoso.com', messageId);
    const { row } = await run('dan@contoso.com', config({ 'contoso.com': 'hybrid' }), { online, onprem });
    expect(row).toMatchObject({ status: 'succeeded', profile: 'onprem' });
  });

  it('a chain stops at the first profile that owns the mailbox, even when the message is not there', async () => {
    const online = new InMemoryMailBackend('graph').deliver('alice@contoso.com', '<other@mail.example.com>');
    const onprem = new InMemoryMailBackend('ews').deliver('alice@contoso.com', messageId);
    const { row } = await run('alice@contoso.com', config({ 'contoso.com': 'hybrid' }), { online, onprem });
    expect(row).toMatchObject({ status: 'notFound', reason: 'MessageNotFound', profile: 'online' });
    expect(onprem.finds).toEqual([]);
  });

  it('a chain does not move on for a failure that is not about the mailbox (permission)', async () => {
    const online = new InMemoryMailBackend('graph').failNext(
      'alice@contoso.com',
      new ClawbackError('PermissionError', 'denied'),
    );
    const onprem = new InMemoryMailBackend('ews').deliver('alice@contoso.com', messageId);
    const { row } = await run('alice@contoso.com', config({ 'contoso.com': 'hybrid' }), { online, onprem });
    expect(row).toMatchObject({ status: 'failed', reason: 'PermissionError', profile: 'online' });
    expect(onprem.finds).toEqual([]);
  });

  it('when no profile of a chain has the mailbox, the row fails with InvalidMailbox', async () => {
    const { row } = await run('ghost@contoso.com', config({ 'contoso.com': 'hybrid' }), {
      online: new InMemoryMailBackend('graph'),
      onprem: new InMemoryMailBackend('ews'),
    });
    expect(row).toMatchObject({ status: 'failed', reason: 'InvalidMailbox' });
    expect(row.detail).toContain('hybrid');
  });

  it('a domain without a mapping of its own goes to ALL', async () => {
    const other = new InMemoryMailBackend('graph').deliver('erin@tailspin.example', messageId);
    const { row } = await run(
      'erin@tailspin.example',
      config({ 'contoso.com': 'hybrid', ALL: 'other-tenant' }),
      { 'other-tenant': other },
    );
    expect(row).toMatchObject({ status: 'succeeded', profile: 'other-tenant' });
  });

  it('a domain with its own mapping does not go to ALL', () => {
    expect(
      routeRecipient(config({ 'contoso.com': 'online', ALL: 'other-tenant' }), 'a@contoso.com')?.target,
    ).toBe('online');
  });

  it('an unmapped domain without ALL fails the row with NoProfileMapped and names the domain', async () => {
    const { row } = await run('erin@tailspin.example', config({ 'contoso.com': 'hybrid' }), {});
    expect(row).toMatchObject({ status: 'failed', reason: 'NoProfileMapped' });
    expect(row.detail).toContain('tailspin.example');
  });

  it.each([
    ['Alice@CONTOSO.com', 'contoso.com'],
    ['anna@Bücher.example', 'xn--bcher-kva.example'],
    ['anna@xn--bcher-kva.example', 'xn--bcher-kva.example'],
  ])('routes %s by its domain in normalised form (%s)', (recipient, domain) => {
    const doc = config({ 'contoso.com': 'online', 'bücher.example': 'onprem' });
    expect(routeRecipient(doc, recipient)?.target).toBe(domain === 'contoso.com' ? 'online' : 'onprem');
  });
});
