import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { run } from '../../cli/clawback.js';
import type { LocalRuntime } from '../../local/runtime.js';
import { sampleMessageId } from '../../local/sampleTenant.js';
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
  // The README's example, pointed at this run's sandbox (npm start serves it on a fixed port instead).
  const example = readFileSync(path.join(__dirname, '../../docs/example-config.json'), 'utf8')
    .replaceAll('https://localhost:7072/login', runtime.tenant.publicAuthorityHost)
    .replaceAll('https://localhost:7072/graph', runtime.tenant.graphEndpoint);
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
    expect(applied.out).toContain('+ profiles[contoso-onprem]:');
    expect(applied.out).toContain(
      '~ chains[hybrid].profiles: ["sandbox-online","sandbox-onprem"] → ["sandbox-online","contoso-onprem"]',
    );
    expect(applied.out).toContain('- profiles[sandbox-onprem]:');
    expect(applied.out).toMatch(/Applied version [0-9a-f]{16}/);

    const again = await cli('config', 'apply', configFile);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/No changes: version [0-9a-f]{16} is already applied/);

    const shown = JSON.parse((await cli('config', 'show', '--json')).out) as {
      document: { chains: unknown };
    };
    expect(shown.document.chains).toEqual([
      { name: 'hybrid', profiles: ['sandbox-online', 'contoso-onprem'] },
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
            internetMessageId: sampleMessageId,
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
