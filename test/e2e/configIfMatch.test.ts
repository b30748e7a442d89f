import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestRuntime } from '../support/runtime.js';

let stop: () => Promise<void>;
let api: string;

beforeAll(async () => {
  const started = await startTestRuntime();
  stop = started.stop;
  api = started.runtime.apiUrl.replace('localhost', '127.0.0.1');
});
afterAll(() => stop?.());

const current = async () =>
  (await (await fetch(`${api}/config`)).json()) as { version: string; document: Record<string, unknown> };

async function put(document: unknown, ifMatch: string): Promise<number> {
  const response = await fetch(`${api}/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', 'if-match': ifMatch },
    body: JSON.stringify(document),
  });
  return response.status;
}

describe('PUT /api/config with If-Match (RFC 9110)', () => {
  it('applies with * whatever the current version, and with a list naming the current version among stale ones', async () => {
    const before = await current();
    const withSoc = { ...before.document, forwardTo: 'secops@contoso.com' };
    expect(await put(withSoc, '*')).toBe(200);
    const after = await current();
    expect(after.document.forwardTo).toBe('secops@contoso.com');

    const back = { ...after.document, forwardTo: 'soc@contoso.com' };
    expect(await put(back, `"0000000000000000", W/"${after.version}"`)).toBe(200);
    expect((await current()).document.forwardTo).toBe('soc@contoso.com');
  });

  it('answers 412 to a list of stale versions and changes nothing', async () => {
    const before = await current();
    expect(
      await put(
        { ...before.document, forwardTo: 'nobody@contoso.com' },
        '"0000000000000000", "1111111111111111"',
      ),
    ).toBe(412);
    expect((await current()).version).toBe(before.version);
  });
});
