import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';

import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';
import type { Context, Middleware } from '@microsoft/microsoft-graph-client';

import { isError } from '../../errors.js';

/**
 * Node's default trust plus a profile's `trustedCa` (a TLS-inspecting proxy, a sovereign endpoint).
 * An explicit `ca` replaces Node's store, so the public roots and NODE_EXTRA_CA_CERTS are added back:
 * the profile's CA is trusted in addition, never instead.
 */
export function caBundle(extraPem: string): string[] {
  const operatorFile = process.env.NODE_EXTRA_CA_CERTS?.trim();
  const operator = operatorFile ? readFileSync(operatorFile, 'utf8') : '';
  return [...tls.rootCertificates, ...(operator ? [operator] : []), extraPem];
}

export function agentTrusting(extraPem: string): https.Agent {
  return new https.Agent({ ca: caBundle(extraPem), keepAlive: true });
}

/** The identity client's requests go through the agent that trusts the profile's CA. */
export function identityClientTrusting(agent: https.Agent): HttpClient {
  const inner = createDefaultHttpClient();
  return {
    sendRequest(request) {
      if (request.url.startsWith('https:')) request.agent ??= agent;
      return inner.sendRequest(request);
    },
  };
}

/**
 * The last Graph middleware: the request the SDK's HTTPMessageHandler would send with fetch, sent
 * through node:http(s) with a keep-alive agent instead — the trusting agent when the profile names a
 * `trustedCa` (fetch takes no CA option), Node's global agent otherwise. Node's own client costs about
 * half of fetch's CPU per request (SPEC §10: the worker's CPU per recipient), and the response is the
 * same `Response` the SDK reads.
 */
export class NodeHttpHandler implements Middleware {
  constructor(
    private readonly agent: () => Promise<https.Agent | undefined> = () => Promise.resolve(undefined),
  ) {}

  async execute(context: Context): Promise<void> {
    const request = context.request;
    const url = new URL(typeof request === 'string' ? request : request.url);
    const options = context.options ?? {};
    const given = options.headers;
    const headers: Record<string, string> =
      given === undefined || given instanceof Headers || Array.isArray(given)
        ? Object.fromEntries(new Headers(given).entries())
        : { ...given };
    const body =
      options.body === undefined || options.body === null
        ? undefined
        : typeof options.body === 'string'
          ? Buffer.from(options.body)
          : Buffer.from(await new Response(options.body).arrayBuffer());
    const agent = url.protocol === 'https:' ? await this.agent() : undefined;
    context.response = await send(url, {
      method: options.method ?? 'GET',
      headers: body ? { ...headers, 'content-length': String(body.length) } : headers,
      body,
      agent,
      signal: options.signal ?? undefined,
    });
  }
}

function send(
  url: URL,
  init: {
    method: string;
    headers: Record<string, string>;
    body: Buffer | undefined;
    agent: https.Agent | undefined;
    signal: AbortSignal | undefined;
  },
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request(
      url,
      {
        method: init.method,
        headers: init.headers,
        ...(init.agent ? { agent: init.agent } : {}),
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const headers = new Headers();
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2)
            headers.append(res.rawHeaders[i] ?? '', res.rawHeaders[i + 1] ?? '');
          const status = res.statusCode ?? 500;
          const noBody = [101, 204, 205, 304].includes(status);
          resolve(
            new Response(noBody ? null : Buffer.concat(chunks), {
              status,
              statusText: res.statusMessage ?? '',
              headers,
            }),
          );
        });
      },
    );
    // As fetch: an aborted request rejects with the signal's reason (an AbortError unless the caller gave
    // one, so a cancelled call reads as cancelled), a network failure with TypeError('fetch failed') and its
    // cause, the shape the error translator expects.
    req.on('error', (error) => {
      const reason: unknown = init.signal?.aborted ? init.signal.reason : undefined;
      reject(isError(reason) ? reason : Object.assign(new TypeError('fetch failed'), { cause: error }));
    });
    req.end(init.body);
  });
}
