import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';

import { createPipelineRequest } from '@azure/core-rest-pipeline';
import type { Context } from '@microsoft/microsoft-graph-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createDevCertificateAuthority, issueServerCertificate } from '../../../../local/sandbox/index.js';
import {
  agentTrusting,
  caBundle,
  identityClientTrusting,
  NodeHttpHandler,
} from '../../../../shared/mail/graph/trustedCa.js';

const ca = createDevCertificateAuthority();
const extra = ca.caCertPem;
const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
let plain: http.Server;
let secure: https.Server;
let plainBase: string;
let secureBase: string;

const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString(),
    });
    if (req.url === '/broken') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
      setImmediate(() => res.socket?.destroy());
      return;
    }
    res.writeHead(201, 'Made It', { 'x-one': 'a', 'x-two': 'b' });
    res.end('{"ok":true}');
  });
};

beforeAll(async () => {
  plain = http.createServer(handler);
  const server = issueServerCertificate(ca, ['127.0.0.1']);
  secure = https.createServer({ key: server.keyPem, cert: server.certPem }, handler);
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
  plainBase = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
  secureBase = `https://127.0.0.1:${(secure.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => plain.close(() => resolve()));
  await new Promise<void>((resolve) => secure.close(() => resolve()));
});

describe('caBundle', () => {
  const saved = process.env.NODE_EXTRA_CA_CERTS;
  afterEach(() => {
    if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
    else process.env.NODE_EXTRA_CA_CERTS = saved;
  });

  it("is Node's roots plus the profile's CA when the operator names no extra file", () => {
    delete process.env.NODE_EXTRA_CA_CERTS;
    expect(caBundle(extra)).toEqual([...tls.rootCertificates, extra]);
    process.env.NODE_EXTRA_CA_CERTS = '   ';
    expect(caBundle(extra)).toEqual([...tls.rootCertificates, extra]);
  });

  it("adds the operator's NODE_EXTRA_CA_CERTS file back, its name trimmed", () => {
    const file = join(mkdtempSync(join(tmpdir(), 'clawback-ca-')), 'operator.pem');
    writeFileSync(file, 'OPERATOR PEM');
    process.env.NODE_EXTRA_CA_CERTS = ` ${file} `;
    expect(caBundle(extra)).toEqual([...tls.rootCertificates, 'OPERATOR PEM', extra]);
  });
});

describe('agentTrusting and identityClientTrusting', () => {
  it('keeps connections alive and trusts the bundle', () => {
    const agent = agentTrusting(extra);
    expect(agent.options.keepAlive).toBe(true);
    expect(agent.options.ca).toEqual(caBundle(extra));
  });

  it('sends https requests through the trusting agent, keeping an agent the request already has', async () => {
    const client = identityClientTrusting(agentTrusting(extra));
    const request = createPipelineRequest({ url: `${secureBase}/token`, method: 'GET' });
    expect((await client.sendRequest(request)).status).toBe(201);
    const own = agentTrusting(extra);
    const withOwn = createPipelineRequest({ url: `${secureBase}/token`, method: 'GET' });
    withOwn.agent = own;
    await client.sendRequest(withOwn);
    expect(withOwn.agent).toBe(own);
  });

  it('leaves plain-http requests without the agent', async () => {
    const client = identityClientTrusting(agentTrusting(extra));
    const request = createPipelineRequest({
      url: `${plainBase}/token`,
      method: 'GET',
      allowInsecureConnection: true,
    });
    expect((await client.sendRequest(request)).status).toBe(201);
    expect(request.agent).toBeUndefined();
  });
});

describe('NodeHttpHandler', () => {
  const send = async (url: string, options?: RequestInit, handlerOf = new NodeHttpHandler()) => {
    const context = { request: url, options } as Context;
    await handlerOf.execute(context);
    return context.response!;
  };

  it('sends a GET without headers or body when the request has no options', async () => {
    seen.length = 0;
    const response = await send(`${plainBase}/plain`);
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/plain', body: '' });
    expect(seen[0]?.headers['content-length']).toBeUndefined();
    expect(response.status).toBe(201);
    expect(response.statusText).toBe('Made It');
    expect(Object.fromEntries(response.headers.entries())).toMatchObject({ 'x-one': 'a', 'x-two': 'b' });
  });

  it('takes a header list, a null body and a binary body', async () => {
    seen.length = 0;
    await send(`${plainBase}/list`, { method: 'GET', headers: [['X-List', '1']], body: null });
    await send(`${plainBase}/bytes`, { method: 'POST', body: new Uint8Array([104, 105]) });
    expect(seen[0]).toMatchObject({ method: 'GET', body: '', headers: { 'x-list': '1' } });
    expect(seen[0]?.headers['content-length']).toBeUndefined();
    expect(seen[1]).toMatchObject({ method: 'POST', body: 'hi', headers: { 'content-length': '2' } });
    await send(`${plainBase}/blob`, { method: 'POST', body: new Blob(['yo!']) });
    expect(seen[2]).toMatchObject({ method: 'POST', body: 'yo!', headers: { 'content-length': '3' } });
  });

  it('asks for the agent for https only, and reaches a private CA through it', async () => {
    let asked = 0;
    const trusting = new NodeHttpHandler(() => {
      asked += 1;
      return Promise.resolve(agentTrusting(extra));
    });
    expect((await send(`${plainBase}/p`, {}, trusting)).status).toBe(201);
    expect(asked).toBe(0);
    expect((await send(`${secureBase}/s`, {}, trusting)).status).toBe(201);
    expect(asked).toBe(1);
  });

  it('fails over https without the agent, verification on', async () => {
    await expect(send(`${secureBase}/s`)).rejects.toMatchObject({ message: 'fetch failed' });
  });

  it('fails when the answer breaks off mid-body', async () => {
    await expect(send(`${plainBase}/broken`)).rejects.toBeDefined();
  });
});
