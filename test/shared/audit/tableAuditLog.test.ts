import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { sampleMessageId } from '../../../local/sampleTenant.js';
import type { AuditEntry } from '../../../shared/ports/audit.js';
import { type SafetyRuntime, startSafetyRuntime } from '../../support/safetyRuntime.js';

let run: SafetyRuntime;
const started = new Date(Date.now() - 1000);

beforeAll(async () => {
  run = await startSafetyRuntime();
}, 120_000);
afterAll(() => run?.stop());

/** Every secret this run handed out: the two function keys and each file under the sandbox's secrets folder. */
function secretsOfTheRun(): string[] {
  const dir = path.join(run.dataDir, 'secrets');
  const files = readdirSync(dir).map((f) => readFileSync(path.join(dir, f), 'utf8'));
  // A PEM file is long; any of its base64 lines would betray it.
  const pieces = files.flatMap((text) =>
    text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line.length >= 16 && !line.startsWith('-----')),
  );
  return [run.keys.admin, run.keys.ingest, ...pieces];
}

const verdict = (eventId: string, recipients: string[]) => ({
  eventId,
  source: 'soar',
  verdict: 'malicious',
  threat: { sha256: 'd'.repeat(63) + eventId.length.toString(16).slice(-1) },
  messages: [{ internetMessageId: sampleMessageId, recipients }],
});

describe('the audit trail of a full run', () => {
  it('has a row with the caller for every state change, and none holds a secret', async () => {
    await run.reconfigure((doc) => {
      doc.policies = [
        { verdict: 'malicious', action: 'moveToDeletedItems', approvalAbove: 1 },
        { verdict: 'clean', action: 'restore' },
      ];
    });
    const accepted = await run.call(
      'POST',
      'verdicts',
      'ingest',
      verdict('audit-1', ['alice@contoso.com', 'bob@contoso.com']),
    );
    const id = String(accepted.body.verdictId);
    await run.settle();
    expect(
      (await run.call('POST', `verdicts/${id}/approve`, 'admin', { comment: 'confirmed by the SOC' })).status,
    ).toBe(200);
    await run.settle();
    const undone = await run.call('POST', `verdicts/${id}/undo`, 'admin', { comment: 'user complaint' });
    expect(undone.status).toBe(202);
    const undoId = String(undone.body.verdictId);
    await run.settle();
    const other = await run.call(
      'POST',
      'verdicts',
      'ingest',
      verdict('audit-22', ['alice@contoso.com', 'carol@contoso.com']),
    );
    const otherId = String(other.body.verdictId);
    await run.settle();
    const lead = { 'x-ms-client-principal-name': 'soc.lead@contoso.com' };
    expect((await run.call('POST', `verdicts/${otherId}/reject`, 'admin', {}, lead)).status).toBe(200);

    const rows = await run.runtime.services.audit?.list(
      { from: started, to: new Date(Date.now() + 1000) },
      10_000,
    );
    if (!rows) throw new Error('the runtime has no audit trail');
    const find = (what: AuditEntry['what'], verdictId?: string) =>
      rows.filter((r) => r.what === what && (verdictId === undefined || r.verdictId === verdictId));

    expect(find('configurationApplied')[0]).toMatchObject({ who: 'key:soc-admin' });
    expect(find('accepted', id)).toEqual([expect.objectContaining({ who: 'key:ingest' })]);
    expect(find('accepted', otherId)).toEqual([expect.objectContaining({ who: 'key:ingest' })]);
    expect(find('policyDecision', id)[0]?.detail).toMatch(/awaiting approval/);
    expect(find('policyDecision', otherId)).not.toHaveLength(0);
    expect(find('approved', id)).toEqual([
      expect.objectContaining({
        who: 'key:soc-admin',
        detail: expect.stringContaining('confirmed by the SOC') as string,
      }),
    ]);
    expect(find('undo', id)).toEqual([
      expect.objectContaining({ who: 'key:soc-admin', detail: expect.stringContaining(undoId) as string }),
    ]);
    expect(find('rejected', otherId)).toEqual([
      expect.objectContaining({ who: 'entra:soc.lead@contoso.com' }),
    ]);
    // Alice has one copy, Bob two (Inbox and Invoices): one row per mailbox action, removal and restore.
    const actions = find('mailboxAction', id)
      .map((r) => `${r.mailbox} ${r.detail?.split(' ')[0]}`)
      .sort();
    expect(actions).toEqual([
      'alice@contoso.com moveToDeletedItems',
      'bob@contoso.com moveToDeletedItems',
      'bob@contoso.com moveToDeletedItems',
    ]);
    expect(
      // A restore puts back every copy of a mailbox in one action.
      find('mailboxAction', undoId)
        .map((r) => `${r.mailbox} ${r.detail?.split(' ')[0]}`)
        .sort(),
    ).toEqual(['alice@contoso.com restore', 'bob@contoso.com restore']);
    // Each mailbox action names the remediation that made it (carried by the call, not ambient state).
    expect([...new Set(find('mailboxAction', id).map((r) => r.who))]).toEqual(['clawback:remediateMailbox']);
    // The simulation and the rejected verdict changed nothing, so they left no mailbox action.
    expect(find('mailboxAction', otherId)).toHaveLength(0);

    for (const row of rows) expect(row.who).not.toBe('');
    const everything = JSON.stringify(rows);
    for (const secret of secretsOfTheRun()) expect(everything).not.toContain(secret);
  }, 180_000);

  it('stores each row under its day with At typed as a date', async () => {
    const client = TableClient.fromConnectionString(run.runtime.tableConnectionString, 'Audit', {
      allowInsecureConnection: true,
    });
    const entities = [];
    for await (const e of client.listEntities<Record<string, unknown>>()) entities.push(e);
    expect(entities.length).toBeGreaterThan(0);
    for (const e of entities) {
      expect(e.At).toBeInstanceOf(Date);
      expect(e.partitionKey).toBe((e.At as Date).toISOString().slice(0, 10).replace(/-/g, ''));
      expect(e.rowKey?.startsWith((e.At as Date).toISOString())).toBe(true);
    }
  });
});
