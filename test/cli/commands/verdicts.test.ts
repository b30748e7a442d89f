import { describe, expect, it } from 'vitest';

import { run } from '../../../cli/clawback.js';

/** GET /api/verdicts as the app answers it: a page of verdict rows, newest first, and a next link. */
function fakeApp(total: number, pageSize: number): { fetch: typeof fetch; requests: string[] } {
  const requests: string[] = [];
  const verdicts = Array.from({ length: total }, (_, i) => ({
    verdictId: `v${String(total - i).padStart(4, '0')}`,
    status: i % 4 === 0 ? 'completedWithFailures' : 'completed',
    verdict: 'malicious',
    source: 'soar',
    action: 'quarantine',
    receivedAt: new Date(Date.UTC(2026, 10, 30, 8, 0, total - i)).toISOString(),
    recipients: 3,
    failed: i % 4 === 0 ? 1 : 0,
  }));
  const fetchImpl = (input: string | URL | Request) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    requests.push(`${url.pathname}${url.search}`);
    const offset = Number(url.searchParams.get('continuationToken') ?? '0');
    const page = verdicts.slice(offset, offset + pageSize);
    const next =
      offset + pageSize < total
        ? `${url.origin}/api/verdicts?continuationToken=${offset + pageSize}`
        : undefined;
    return Promise.resolve(
      new Response(JSON.stringify({ verdicts: page, ...(next ? { next } : {}) }), {
        headers: { 'content-type': 'application/json' },
      }),
    );
  };
  return { fetch: fetchImpl, requests };
}

async function cli(app: ReturnType<typeof fakeApp>, ...argv: string[]) {
  let out = '';
  const code = await run([...argv, '--url', 'http://127.0.0.1:7071'], {
    stdout: (t) => (out += t),
    stderr: () => undefined,
    env: {},
    isTty: false,
    fetch: app.fetch,
  });
  return { code, out };
}

describe('clawback verdicts list', () => {
  it('prints counts by status and the newest twenty, then says how to see the rest', async () => {
    const app = fakeApp(120, 50);
    const { code, out } = await cli(app, 'verdicts', 'list', '--status', 'completedWithFailures');
    expect(code).toBe(0);
    expect(app.requests).toEqual(['/api/verdicts?status=completedWithFailures']);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toBe('50+ verdicts: completed 37, completedWithFailures 13');
    expect(lines.filter((l) => /^\s+2026-11-30T08:\d\d:\d\d v\d{4}/.test(l))).toHaveLength(20);
    expect(lines[1]).toContain('v0120');
    expect(out).toContain('--all');
  });

  it('follows every page with --all and prints all of them as JSON with --json', async () => {
    const all = await cli(fakeApp(120, 50), 'verdicts', 'list', '--all');
    expect(all.out.split('\n').filter((l) => / v\d{4} /.test(l))).toHaveLength(120);
    const json = JSON.parse((await cli(fakeApp(120, 50), 'verdicts', 'list', '--json')).out) as {
      verdicts: unknown[];
    };
    expect(json.verdicts).toHaveLength(120);
  });
});
