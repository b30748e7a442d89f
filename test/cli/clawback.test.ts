import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { run } from '../../cli/clawback.js';
import type { LocalRuntime } from '../../local/runtime.js';
import { walkthroughMessageId } from '../../local/sampleTenant.js';
import type { Report } from '../../shared/report/report.js';
import { startTestRuntime } from '../support/runtime.js';

let runtime: LocalRuntime;
let stop: () => Promise<void>;
let configDir: string;
let origin: string;
let configFile: string;

beforeAll(async () => {
  ({ runtime, stop } = await startTestRuntime());
  origin = runtime.apiUrl.replace(/\/api$/, '').replace('localhost', '127.0.0.1');
  // The README's example, pointed at this run's plain-http sandboxes (npm start serves them over https on the ports it was given).
  const example = readFileSync(path.join(__dirname, '../../docs/example-config.json'), 'utf8')
    .replaceAll('https://localhost:${CLAWBACK_SANDBOX_PORT:-7072}/login', runtime.tenant.publicAuthorityHost)
    .replaceAll('https://localhost:${CLAWBACK_SANDBOX_PORT:-7072}/graph', runtime.tenant.graphEndpoint)
    .replaceAll('https://127.0.0.1:${CLAWBACK_ONPREM_PORT:-7073}/EWS/Exchange.asmx', runtime.onprem.url);
  expect(example).not.toContain('${');
  configDir = mkdtempSync(path.join(tmpdir(), 'clawback-cli-'));
  configFile = path.join(configDir, 'clawback-config.json');
  writeFileSync(configFile, example);
});
afterAll(async () => {
  await stop?.();
  rmSync(configDir, { recursive: true, force: true });
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run([...argv, '--url', origin], {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    env: {},
    isTty: true,
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 50))),
  });
  return { code, out, err };
}

describe('the clawback CLI against the local runtime', () => {
  it('config apply shows the difference to the sample configuration, then applies the example; a second apply changes nothing', async () => {
    const applied = await cli('config', 'apply', configFile);
    expect(applied.err).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.out).toContain('+ domains["fabrikam.com"]: "sandbox-online"');
    expect(applied.out).toContain('~ profiles[sandbox-online].fallbackSearch: false → true');
    expect(applied.out).toContain('+ sources[soar]: {"name":"soar"}');
    expect(applied.out).not.toMatch(/certificate|password/);
    expect(applied.out).toMatch(/Applied version [0-9a-f]{16}/);

    const again = await cli('config', 'apply', configFile);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/No changes: version [0-9a-f]{16} is already applied/);

    const shown = JSON.parse((await cli('config', 'show', '--json')).out) as {
      document: { chains: unknown };
    };
    expect(shown.document.chains).toEqual([
      { name: 'hybrid', profiles: ['sandbox-online', 'sandbox-onprem'] },
    ]);
  });

  it('then a verdict runs through the chain, verdicts show waits for it with a progress bar, and report sums it up', async () => {
    await cli('config', 'apply', configFile);
    const response = await fetch(`${origin}/api/verdicts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        eventId: 'cli-test-1',
        source: 'cisco-secure-endpoint',
        verdict: 'malicious',
        threat: { sha256: 'd'.repeat(64), filename: 'invoice-2291.pdf.js' },
        messages: [
          {
            internetMessageId: walkthroughMessageId,
            recipients: ['alice@contoso.com', 'carol@contoso.com', 'erin@tailspin.example'],
          },
        ],
      }),
    });
    expect(response.status).toBe(202);
    const { verdictId } = (await response.json()) as { verdictId: string };

    const shown = await cli('verdicts', 'show', verdictId);
    expect(shown.err).toMatch(/\[#+-*\] 3\/3 completedWithFailures/);
    expect(shown.out).toContain('succeeded');
    expect(shown.out).toMatch(/alice@contoso\.com via sandbox-online/);
    expect(shown.out).toMatch(/notFound\s+carol@contoso\.com via sandbox-online/);
    expect(shown.out).toMatch(/failed\s+erin@tailspin\.example — NoProfileMapped/);
    expect(shown.code).toBe(1);

    const text = await cli('report');
    expect(text.code).toBe(0);
    expect(text.out).toContain('Domains without a profile:\n  tailspin.example (1)');

    const json = await cli('report', '--json');
    const report = JSON.parse(json.out) as Report;
    expect(report.totals.byStatus).toMatchObject({ succeeded: 1, notFound: 1, failed: 1 });
    expect(report.threats.find((t) => t.sha256 === 'd'.repeat(64))?.filenames).toEqual([
      'invoice-2291.pdf.js',
    ]);
    expect(report.unmappedDomains).toEqual([{ domain: 'tailspin.example', rows: 1 }]);
    expect(report.failures.map((f) => [f.recipient, f.reason])).toEqual([
      ['erin@tailspin.example', 'NoProfileMapped'],
    ]);
  });

  it('profiles test reports a working profile with exit 0 and a failing one with its code, remedy and exit 1', async () => {
    await cli('config', 'apply', configFile);
    const ok = await cli('profiles', 'test', 'sandbox-online', 'alice@contoso.com');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^OK Connected/);
    const wrongKind = await cli('profiles', 'test', 'sandbox-online', 'dan@contoso.com', '--json');
    expect(wrongKind.code).toBe(1);
    expect(JSON.parse(wrongKind.out)).toMatchObject({ ok: false, code: 'WrongProfileKind' });
  });

  it('verdicts show of 200 failed recipients prints a short summary grouped by reason, and every row with --all', async () => {
    await cli('config', 'apply', configFile);
    const recipients = Array.from({ length: 200 }, (_, i) => `user${i}@tailspin.example`);
    const response = await fetch(`${origin}/api/verdicts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        eventId: 'cli-test-200',
        source: 'soar',
        verdict: 'malicious',
        threat: { sha256: 'e'.repeat(64) },
        messages: [{ internetMessageId: '<flood-1@mail.example>', recipients }],
      }),
    });
    const { verdictId } = (await response.json()) as { verdictId: string };
    const summary = await cli('verdicts', 'show', verdictId);
    expect(summary.code).toBe(1);
    const lines = summary.out.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(8);
    expect(summary.out).toContain('200 rows: failed 200');
    expect(summary.out).toMatch(/NoProfileMapped ×200, e\.g\. user\d+@tailspin\.example/);
    expect(summary.out).toContain('--all');
    const all = await cli('verdicts', 'show', verdictId, '--all');
    expect(all.out.split('\n').filter((l) => /^\s+failed\s+user\d+@tailspin\.example/.test(l))).toHaveLength(
      200,
    );

    const reportText = await cli('report');
    expect(reportText.out).toMatch(
      /Top failures by reason \(\d+ failed\):\n {2}NoProfileMapped ×\d+, e\.g\. /,
    );
    expect(reportText.out.split('\n').length).toBeLessThan(40);
  }, 180_000);

  it('config apply fills ${NAME:-default} from the environment and refuses a file naming an unset variable', async () => {
    const templated = path.join(configDir, 'templated.json');
    const document = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(
      templated,
      JSON.stringify({ ...document, forwardTo: '${CLAWBACK_TEST_SOC:-soc@contoso.com}' }),
    );
    const applied = await cli('config', 'apply', templated, '--dry-run', '--json');
    expect(applied.code).toBe(0);
    writeFileSync(templated, JSON.stringify({ ...document, forwardTo: '${CLAWBACK_TEST_UNSET_SOC}' }));
    const refused = await cli('config', 'apply', templated);
    expect(refused.code).toBe(3);
    expect(refused.err).toContain('CLAWBACK_TEST_UNSET_SOC');
  });

  it('refuses an invalid file with every problem and exit 3, and applies nothing', async () => {
    const before = JSON.parse((await cli('config', 'show', '--json')).out) as { version: string };
    const bad = path.join(configDir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({ profiles: [], domains: { 'contoso.com': 'nowhere' }, settings: { maxAttempts: 9 } }),
    );
    const result = await cli('config', 'apply', bad);
    expect(result.code).toBe(3);
    expect(result.err).toContain('settings.maxAttempts');
    expect(result.err).toContain('profiles');
    const after = JSON.parse((await cli('config', 'show', '--json')).out) as { version: string };
    expect(after.version).toBe(before.version);
  });

  it('lists and replays dead letters', async () => {
    const empty = await cli('dlq', 'list');
    expect(empty.code).toBe(0);
    expect(empty.out).toBe('No dead letters.\n');
    const missing = await cli('dlq', 'replay', '--queue', 'remediations', 'no-such-message');
    expect(missing.code).toBe(4);
    expect(missing.out).toContain('Not found: no-such-message');
  });

  it('exits 2 on a usage error and 7 when the app cannot be reached', async () => {
    expect((await cli('config', 'frobnicate')).code).toBe(2);
    let err = '';
    const code = await run(['report', '--url', 'http://127.0.0.1:9'], {
      stdout: () => undefined,
      stderr: (t) => (err += t),
      env: {},
      isTty: false,
    });
    expect(code).toBe(7);
    expect(err).toContain('Cannot reach http://127.0.0.1:9/api');
  });
});
