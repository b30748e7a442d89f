import http from 'node:http';

/** One request a fake platform API saw: when, what, and what it answered. */
export interface PlatformRequest {
  at: Date;
  method: string;
  url: string;
  status: number;
  headers: Record<string, string>;
}

export interface PlatformAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface PlatformServer {
  url: string;
  requests: PlatformRequest[];
  close(): Promise<void>;
}

/** A loopback HTTP server answering JSON, recording every request (never its credentials). */
export async function startPlatformServer(
  port: number,
  handle: (request: {
    method: string;
    url: URL;
    authorization: string | undefined;
  }) => Promise<PlatformAnswer> | PlatformAnswer,
  now: () => Date,
): Promise<PlatformServer> {
  const requests: PlatformRequest[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    void Promise.resolve()
      .then(() => handle({ method: req.method ?? 'GET', url, authorization: req.headers.authorization }))
      .catch((error: unknown): PlatformAnswer => ({
        status: 500,
        body: { error: error instanceof Error ? error.message : String(error) },
      }))
      .then((answer) => {
        const body = answer.body;
        const text = typeof body === 'string';
        const headers = {
          'content-type': text ? 'text/plain' : 'application/json',
          ...(answer.headers ?? {}),
        };
        requests.push({
          at: now(),
          method: req.method ?? 'GET',
          url: url.pathname + url.search,
          status: answer.status,
          headers,
        });
        res
          .writeHead(answer.status, headers)
          .end(typeof body === 'string' ? body : body === undefined ? '' : JSON.stringify(body));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function checkBasic(authorization: string | undefined, user: string, password: string): boolean {
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  return authorization === expected;
}

/** A scripted one-off answer (a 500, a 429 with Retry-After) the next matching request gets instead. */
export type Fault = PlatformAnswer;
