import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Context } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NodeHttpHandler } from '../../../../shared/mail/graph/trustedCa.js';
import { unusedPort } from '../../../support/startProcess.js';

let server: http.Server;
let base: string;
const seen: { method: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', headers: req.headers, body });
      if (req.url === '/slow') return void setTimeout(() => res.end('{}'), 2_000);
      if (req.url === '/empty') return void res.writeHead(204).end();
      res.writeHead(201, { 'content-type': 'application/json', 'x-ms-ags-diagnostic': 'x' });
      res.end(JSON.stringify({ echoed: body }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const send = async (url: string, options: RequestInit = {}) => {
  const context = { request: url, options } as Context;
  await new NodeHttpHandler().execute(context);
  return context.response!;
};

describe("Graph's transport over node:http (every profile)", () => {
  it('sends the method, headers and a string body with its length, and hands back a Response', async () => {
    seen.length = 0;
    const response = await send(`${base}/users/a/messages`, {
      method: 'POST',
      headers: { Authorization: 'Bearer t', 'Content-Type': 'application/json' },
      body: JSON.stringify({ comment: 'é' }),
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-ms-ags-diagnostic')).toBe('x');
    expect(await response.json()).toEqual({ echoed: '{"comment":"é"}' });
    expect(seen[0]).toMatchObject({
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-length': String(Buffer.byteLength('{"comment":"é"}')) },
    });
  });

  it('takes Headers objects too, and gives a body-less answer no body', async () => {
    const response = await send(`${base}/empty`, { method: 'DELETE', headers: new Headers({ 'X-A': '1' }) });
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
    expect(seen.at(-1)?.headers['x-a']).toBe('1');
  });

  it('fails as fetch does: TypeError "fetch failed" with the socket error as its cause', async () => {
    const port = await unusedPort();
    await expect(send(`http://127.0.0.1:${port}/x`)).rejects.toMatchObject({
      name: 'TypeError',
      message: 'fetch failed',
      cause: { code: 'ECONNREFUSED' },
    });
  });

  it("stops when its signal aborts, rejecting with the signal's reason as fetch does", async () => {
    await expect(send(`${base}/slow`, { signal: AbortSignal.timeout(50) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    const caller = new AbortController();
    const sending = send(`${base}/slow`, { signal: caller.signal });
    caller.abort();
    await expect(sending).rejects.toMatchObject({ name: 'AbortError' });
  });
});
