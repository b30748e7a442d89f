import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { sampleMessageId, tryMessageId, walkthroughMessageId } from '../../local/sampleTenant.js';
import { StartedRuntime, unusedPort } from '../support/startProcess.js';

const root = path.resolve(__dirname, '../..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

/** The shell blocks the README marks `<!-- walkthrough: name -->`, exactly as a reader would paste them. */
const blocks = new Map(
  [...readme.matchAll(/<!-- walkthrough: (\w+) -->\n```sh\n([\s\S]*?)```/g)].map((m) => [
    m[1] ?? '',
    m[2] ?? '',
  ]),
);

let dataDir: string;
let runtime: StartedRuntime;
let env: NodeJS.ProcessEnv;
let origin: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'clawback-readme-'));
  // Fixed free ports, so the example configuration's ${CLAWBACK_SANDBOX_PORT} / ${CLAWBACK_ONPREM_PORT} resolve to them.
  env = {
    CLAWBACK_PORT: String(await unusedPort()),
    CLAWBACK_TABLE_PORT: '0',
    CLAWBACK_SANDBOX_PORT: String(await unusedPort()),
    CLAWBACK_ONPREM_PORT: String(await unusedPort()),
    CLAWBACK_DATA_DIR: dataDir,
    NODE_EXTRA_CA_CERTS: '',
  };
  runtime = await StartedRuntime.start(env);
  origin = `http://127.0.0.1:${env.CLAWBACK_PORT}`;
}, 120_000);

afterAll(async () => {
  await runtime?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Runs a README block in bash from the repository root, the app's port being the one this start has. */
function paste(name: string): Promise<string> {
  const block = blocks.get(name);
  if (block === undefined) throw new Error(`README.md has no block marked walkthrough: ${name}`);
  const script = block.replaceAll('http://localhost:7071', origin);
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['-c', script],
      { cwd: root, env: { ...process.env, ...env }, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        // `clawback verdicts show` exits 1 for a verdict with failures; the output is what counts.
        if (error && error.code !== 1)
          reject(new Error(`${name} failed: ${error.message}\n${stdout}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

interface MailboxView {
  folders: { id: string; displayName?: string; wellKnownName?: string }[];
  messages: { internetMessageId: string; folderId: string }[];
}

async function foldersHolding(mailbox: string, messageId: string): Promise<string[]> {
  const view = (await (await fetch(`${origin}/sandbox/mailboxes/${mailbox}`)).json()) as MailboxView;
  return view.messages
    .filter((m) => m.internetMessageId === messageId)
    .map((m) => {
      const folder = view.folders.find((f) => f.id === m.folderId);
      return folder?.wellKnownName ?? folder?.displayName ?? m.folderId;
    });
}

describe('the README, pasted against one npm start', () => {
  it('marks the three walk-throughs', () => {
    expect([...blocks.keys()].sort()).toEqual(['cli', 'quickstart', 'try']);
  });

  it('runs "Try every action", the CLI walk-through, the Quickstart and "Try every action" again, each doing what it says', async () => {
    const tried = await paste('try');
    // The quarantine and then the clean verdict's restore each succeeded for Alice.
    expect(tried.match(/succeeded\s+alice@contoso\.com via sandbox-online/g)).toHaveLength(2);
    expect(await foldersHolding('alice@contoso.com', tryMessageId)).toEqual(['inbox']);

    const walked = await paste('cli');
    expect(walked.match(/^OK Connected/gm)).toHaveLength(2);
    expect(walked).toMatch(/3 rows: .*failed 1/);
    expect(walked).toContain('NoProfileMapped ×1, e.g. erin@tailspin.example');
    expect(walked).toContain('Domains without a profile:\n  tailspin.example (1)');
    expect(await foldersHolding('alice@contoso.com', walkthroughMessageId)).toEqual(['deleteditems']);

    const quick = await paste('quickstart');
    expect(quick).toContain('4 rows: succeeded 3, notFound 1');
    expect(quick).toMatch(/succeeded\s+dan@contoso\.com via sandbox-onprem/);
    expect(await foldersHolding('alice@contoso.com', sampleMessageId)).not.toContain('inbox');
    const dan = (await (await fetch(`${origin}/sandbox/onprem/mailboxes/dan@contoso.com`)).json()) as {
      messages: { internetMessageId: string; folder: string }[];
    };
    expect(dan.messages.filter((m) => m.internetMessageId === sampleMessageId).map((m) => m.folder)).toEqual([
      'Recoverable Items/Deletions',
    ]);

    await paste('try');
    expect(await foldersHolding('alice@contoso.com', tryMessageId)).toEqual(['inbox']);
  }, 600_000);
});
