import http from 'node:http';

import { TableClient } from '@azure/data-tables';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { LocalRuntime } from '../../local/runtime.js';
import { startTestRuntime } from '../support/runtime.js';

let runtime: LocalRuntime;
let stop: () => Promise<void>;
let port: number;

beforeAll(async () => {
  ({ runtime, stop } = await startTestRuntime());
  port = Number(new URL(runtime.apiUrl).port);
}, 120_000);
afterAll(async () => {
  await stop();
}, 60_000);

interface RawResponse {
  status: number;
  body: string;
}

/** A request written by hand, so paths, headers and bodies reach the host exactly as given. */
function send(
  method: string,
  path: string,
  headers: Record<string, string | number>,
  body?: Buffer,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function rows(table: string): Promise<number> {
  const client = TableClient.fromConnectionString(runtime.tableConnectionString, table, {
    allowInsecureConnection: true,
  });
  let n = 0;
  try {
    for await (const page of client.listEntities().byPage()) n += page.length;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return 0;
    throw error;
  }
  return n;
}

const code = (r: RawResponse) => (JSON.parse(r.body) as { error: { code: string } }).error.code;

describe('the local host', () => {
  it.each(['/api/verdicts/%E0%A4%A', '/api/verdicts/%zz', '/api/verdicts%', '/api/profiles/%C0%AF/test'])(
    'answers 400 to the badly percent-encoded path %s',
    async (path) => {
      const response = await send('GET', path, {});
      expect(response.status).toBe(400);
      expect(code(response)).toBe('BadRequest');
    },
  );

  it('answers 413 to a declared length above 1 MiB without reading the body', async () => {
    const response = await new Promise<RawResponse>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/api/verdicts',
          headers: { 'content-type': 'application/json', 'content-length': 2 * 1024 * 1024 },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: '' }));
        },
      );
      req.on('error', reject);
      // Headers only: the answer must come before any of the promised 2 MiB is sent.
      req.flushHeaders();
    });
    expect(response.status).toBe(413);
  });

  it('answers 413 to a chunked body once it passes 1 MiB, before the sender has finished', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/api/verdicts',
          headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on('error', () => undefined);
      req.on('close', () => reject(new Error('closed without an answer')));
      // 1.5 MiB and no end: a host that waited for the whole body would never answer.
      for (let i = 0; i < 24; i += 1) req.write(Buffer.alloc(64 * 1024, 0x20));
    });
    expect(status).toBe(413);
  });

  it('never answers 5xx to random bodies, content types and paths over HTTP, and records nothing for them', async () => {
    const verdictsBefore = await rows('Verdicts');
    const claimsBefore = await rows('VerdictEvents');
    const queuedBefore = runtime.queue.stats('verdicts').active;
    const percent = fc
      .array(
        fc.oneof(fc.constantFrom('%', '%0', '%zz', '%E0%A4', '%C3', '%FF', '%2F', '%00'), fc.webSegment()),
        {
          maxLength: 4,
        },
      )
      .map((parts) => parts.join(''));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/api/verdicts', '/api/verdicts/', '/api/deliveries', '/api/verdicts/x'),
        percent,
        fc.constantFrom(
          'application/json',
          'application/json; charset=latin1',
          'text/plain',
          'application/json; charset=utf-8',
        ),
        fc.uint8Array({ maxLength: 400 }),
        async (path, suffix, contentType, bytes) => {
          const response = await send(
            'POST',
            `${path}${suffix}`,
            { 'content-type': contentType },
            Buffer.from(bytes),
          );
          expect(response.status).toBeLessThan(500);
          if (response.status >= 400) expect(code(response)).toMatch(/^[A-Z][A-Za-z]+$/);
        },
      ),
      { numRuns: 300 },
    );
    expect(runtime.queue.stats('verdicts').active).toBe(queuedBefore);
    expect(await rows('Verdicts')).toBe(verdictsBefore);
    expect(await rows('VerdictEvents')).toBe(claimsBefore);
  });
});
