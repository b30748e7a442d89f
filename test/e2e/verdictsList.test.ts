import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { run } from '../../cli/clawback.js';
import { startTestRuntime } from '../support/runtime.js';

let stop: () => Promise<void>;
let api: string;
const accepted: string[] = [];

async function post(eventId: string, recipients: string[]): Promise<string> {
  const response = await fetch(`${api}/verdicts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      eventId,
      source: 'soar',
      verdict: 'malicious',
      action: 'none',
      threat: { sha256: 'c'.repeat(64) },
      messages: [{ internetMessageId: `<${eventId}@mail.example>`, recipients }],
    }),
  });
  return ((await response.json()) as { verdictId: string }).verdictId;
}

beforeAll(async () => {
  const started = await startTestRuntime();
  stop = started.stop;
  api = started.runtime.apiUrl.replace('localhost', '127.0.0.1');
  // Sequential, so each verdict id is newer than the one before.
  for (let i = 0; i < 5; i++) accepted.push(await post(`list-${i}`, ['carol@contoso.com']));
  accepted.push(await post('list-unmapped', ['erin@tailspin.example']));
  for (const id of accepted)
    for (;;) {
      const body = (await (await fetch(`${api}/verdicts/${id}`)).json()) as { verdict: { status: string } };
      if (body.verdict.status.startsWith('completed')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
}, 120_000);
afterAll(() => stop?.());

describe('GET /api/verdicts', () => {
  it('pages through every verdict newest first, none skipped or repeated', async () => {
    const seen: string[] = [];
    let url: string | undefined = `${api}/verdicts?limit=2`;
    while (url) {
      const page = (await (await fetch(url.replace('localhost', '127.0.0.1'))).json()) as {
        verdicts: { verdictId: string }[];
        next?: string;
      };
      expect(page.verdicts.length).toBeLessThanOrEqual(2);
      seen.push(...page.verdicts.map((v) => v.verdictId));
      url = page.next;
    }
    expect(seen).toEqual([...accepted].reverse());
  });

  it('filters by status and refuses a bad limit', async () => {
    const failed = (await (await fetch(`${api}/verdicts?status=completedWithFailures`)).json()) as {
      verdicts: { verdictId: string }[];
    };
    expect(failed.verdicts.map((v) => v.verdictId)).toEqual([accepted.at(-1)]);
    expect((await fetch(`${api}/verdicts?limit=0`)).status).toBe(400);
  });

  it('is what clawback verdicts list prints', async () => {
    let out = '';
    const code = await run(['verdicts', 'list', '--url', api.replace(/\/api$/, '')], {
      stdout: (t) => (out += t),
      stderr: () => undefined,
      env: {},
      isTty: false,
    });
    expect(code).toBe(0);
    expect(out.split('\n')[0]).toBe('6 verdicts: completed 5, completedWithFailures 1');
  });
});
