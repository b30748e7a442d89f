import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { sampleMessageId } from '../../local/sampleTenant.js';

const startScript = path.resolve(__dirname, '../../dist/local/start.js');
let child: ChildProcess;
let output = '';
let dataDir: string;

/** Waits until the runtime's output matches `pattern` (it prints progress as it starts). */
function waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = pattern.exec(output);
      if (match) {
        child.stdout?.off('data', check);
        resolve(match);
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => reject(new Error(`runtime exited with ${code}:\n${output}`)));
    check();
  });
}

beforeAll(async () => {
  if (!existsSync(startScript))
    throw new Error(
      'dist/local/start.js is missing: `npm test` builds first (pretest); run `npm run build`.',
    );
  dataDir = mkdtempSync(path.join(tmpdir(), 'clawback-start-'));
  child = spawn(process.execPath, [startScript], {
    env: {
      ...process.env,
      CLAWBACK_PORT: '0',
      CLAWBACK_TABLE_PORT: '0',
      CLAWBACK_SANDBOX_PORT: '0',
      CLAWBACK_DATA_DIR: dataDir,
      NODE_EXTRA_CA_CERTS: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  await waitFor(/Press Ctrl\+C to stop\./);
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('prints a curl that, pasted, makes the sample message disappear from the mailboxes of both sandboxes with succeeded rows', async () => {
    expect(output).toMatch(/creating a development CA/);
    expect(output).toMatch(
      /On-premises sandbox up: Exchange Server EWS at https:\/\/127\.0\.0\.1:\d+\/EWS\/Exchange\.asmx/,
    );
    const curl = /curl -s -X POST (\S+) -H 'Content-Type: application\/json' -d '(.+)'/.exec(output);
    expect(curl).not.toBeNull();
    const [, url = '', body = ''] = curl ?? [];
    const response = await fetch(url.replace('localhost', '127.0.0.1'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    expect(response.status).toBe(202);
    const { statusUrl } = (await response.json()) as { statusUrl: string };

    let status: {
      verdict: { status: string; succeeded: number };
      remediations: { recipient: string; status: string; profile?: string; backend?: string }[];
    };
    do {
      await new Promise((r) => setTimeout(r, 100));
      status = (await (await fetch(statusUrl.replace('localhost', '127.0.0.1'))).json()) as typeof status;
    } while (!status.verdict.status.startsWith('completed'));
    expect(status.verdict.succeeded).toBe(3);
    expect(status.remediations.find((r) => r.recipient === 'alice@contoso.com')?.status).toBe('succeeded');
    // Over https with the dev CA and NTLM, through the hybrid chain's second profile.
    expect(status.remediations.find((r) => r.recipient === 'dan@contoso.com')).toMatchObject({
      status: 'succeeded',
      profile: 'sandbox-onprem',
      backend: 'ews',
    });

    const mailboxUrl =
      /curl -s (http:\/\/localhost:\d+\/sandbox\/mailboxes\/alice@contoso\.com)/.exec(output)?.[1] ?? '';
    const mailbox = (await (await fetch(mailboxUrl.replace('localhost', '127.0.0.1'))).json()) as {
      folders: { id: string; wellKnownName?: string }[];
      messages: { internetMessageId: string; folderId: string }[];
    };
    const inbox = mailbox.folders.find((f) => f.wellKnownName === 'inbox')?.id;
    expect(
      mailbox.messages.filter((m) => m.internetMessageId === sampleMessageId && m.folderId === inbox),
    ).toEqual([]);

    const onpremUrl =
      /curl -s (http:\/\/localhost:\d+\/sandbox\/onprem\/mailboxes\/dan@contoso\.com)/.exec(output)?.[1] ??
      '';
    const dan = (await (await fetch(onpremUrl.replace('localhost', '127.0.0.1'))).json()) as {
      messages: { internetMessageId: string; folder: string }[];
    };
    expect(dan.messages.filter((m) => m.internetMessageId === sampleMessageId)).toEqual([
      expect.objectContaining({ folder: 'Recoverable Items/Deletions' }),
    ]);
    expect(output).toMatch(/remediation finished status=succeeded/);
  });
});
