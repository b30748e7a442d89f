import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as it reached the recording front of Graph. */
export interface SeenRequest {
  method: string;
  /** Path and query exactly as sent, e.g. `/graph/v1.0/users/a%40b.c/messages?$top=10`. */
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Responder = (request: SeenRequest, response: http.ServerResponse) => void;

/**
 * A front of the sandbox's Graph on 127.0.0.1 that records what the client sent (method, URL, headers,
 * body), answers the paths a test scripts itself, holds the ones it is told to, and forwards the rest
 * to the sandbox unchanged (the Host header kept, so the sandbox's links point back here).
 */
export interface RecordingGraph {
  readonly base: string;
  /** `{base}/graph`: a Graph endpoint the sandbox's token endpoint issues tokens for. */
  readonly graphEndpoint: string;
  readonly seen: SeenRequest[];
  /** Answers requests whose URL includes `urlIncludes` with `respond`, before any earlier rule. */
  answer(urlIncludes: string, respond: Responder): void;
  /** Answers with `status` and the JSON `body`. */
  answerJson(urlIncludes: string, status: number, body: unknown, headers?: Record<string, string>): void;
  /** Holds matching requests unanswered until the returned function is called (then forwards them). */
  hold(urlIncludes: string): () => void;
  clear(): void;
  close(): Promise<void>;
}

export async function startRecordingGraph(target?: string): Promise<RecordingGraph> {
  const rules: { urlIncludes: string; respond: Responder }[] = [];
  const seen: SeenRequest[] = [];
  const forward: Responder = (request, response) => {
    if (target === undefined) {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'NotFound', message: 'Nothing here.' } }));
      return;
    }
    const upstream = http.request(
      `${target}${request.url}`,
      { method: request.method, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => response.destroy());
    upstream.end(request.body);
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(request);
      const rule = rules.find((r) => request.url.includes(r.urlIncludes));
      (rule?.respond ?? forward)(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const answer = (urlIncludes: string, respond: Responder) => void rules.unshift({ urlIncludes, respond });
  return {
    base,
    graphEndpoint: `${base}/graph`,
    seen,
    answer,
    answerJson(urlIncludes, status, body, headers = {}) {
      answer(urlIncludes, (_, res) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(body === undefined ? undefined : JSON.stringify(body));
      });
    },
    hold(urlIncludes) {
      const held: (() => void)[] = [];
      let released = false;
      const rule = {
        urlIncludes,
        respond: (request: SeenRequest, res: http.ServerResponse) =>
          released ? forward(request, res) : void held.push(() => forward(request, res)),
      };
      rules.unshift(rule);
      return () => {
        released = true;
        rules.splice(rules.indexOf(rule), 1);
        for (const go of held.splice(0)) go();
      };
    },
    clear: () => {
      rules.length = 0;
      seen.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Lets pending I/O and timers run `turns` times (a bounded wait for something that should happen, or not). */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Waits (boundedly) until `condition` holds; returns whether it did. */
export async function eventually(condition: () => boolean, turns = 400): Promise<boolean> {
  for (let i = 0; i < turns && !condition(); i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
  return condition();
}
