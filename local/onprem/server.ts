import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

import { ntlmChallenge, parseAuthenticate, verifyNtlmV2 } from './ntlm.js';
import { EwsOperations } from './operations.js';
import { envelopeOf, errorMessage, header, responses } from './soap.js';
import { RequestContext } from './state.js';
import { type EwsFakeOptions, type RecordedRequest, type ScriptedFault, T } from './types.js';
import {
  child,
  descendant,
  escapeXmlText as x,
  isXmlSyntaxError,
  parseXml,
  textOf,
  type XmlElement,
} from './xml.js';

/**
 * A fake Exchange Web Services endpoint: SOAP in, SOAP out, shaped like the captures in
 * ../shared/reference/ews-samples. It keeps mailboxes, folders and items, authenticates with Basic or
 * an NTLM handshake, honours ExchangeImpersonation and explicit-mailbox (full access) addressing, and
 * plays scripted faults (ErrorServerBusy with BackOffMilliseconds, empty HTTP 500, no answer, 401)
 * and scripted answers (a page shape the store never builds).
 * The adapter tests drive it directly; the local runtime serves it as the on-premises sandbox.
 */
export class FakeEwsServer extends EwsOperations {
  private readonly sockets = new Set<Socket>();
  private server!: http.Server;
  url = '';
  host = '';

  private constructor(private readonly options: EwsFakeOptions) {
    super();
  }

  static async start(options: EwsFakeOptions = {}): Promise<FakeEwsServer> {
    const fake = new FakeEwsServer(options);
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => fake.handle(req, res);
    fake.server = options.tls
      ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, handler)
      : http.createServer(handler);
    fake.server.on('connection', (socket: Socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    fake.server.on('secureConnection', (socket: Socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(options.port ?? 0, '127.0.0.1', resolve);
    });
    const { port } = fake.server.address() as AddressInfo;
    fake.host = `127.0.0.1:${port}`;
    fake.url = `${options.tls ? 'https' : 'http'}://${fake.host}/EWS/Exchange.asmx`;
    return fake;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- HTTP --------------------------------------------------------------------------------------

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (!this.authenticate(req, res)) return;
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      this.dispatch(req, res, body);
    });
  }

  /** Basic: checks the login. NTLM: Type 1 → hand-made Type 2 challenge; Type 3 → checks user, domain and the NTLMv2 proof of the password. */
  protected authenticate(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const auth = req.headers.authorization ?? '';
    const username = this.options.username ?? 'CONTOSO\\svc-clawback';
    const [expectedDomain = '', expectedUser = ''] = username.includes('\\')
      ? username.split('\\')
      : ['', username];
    if ((this.options.auth ?? 'basic') === 'basic') {
      const expected = `Basic ${Buffer.from(`${username}:${this.options.password ?? 'p@ss'}`).toString('base64')}`;
      if (auth === expected) return true;
      this.reject(req, res, 'Basic realm="127.0.0.1"');
      return false;
    }
    if (!auth.startsWith('NTLM ')) {
      this.reject(req, res, 'NTLM');
      return false;
    }
    const message = Buffer.from(auth.slice(5), 'base64');
    const type = message.length >= 12 ? message.readUInt32LE(8) : 0;
    if (type === 1) {
      res.writeHead(401, { 'WWW-Authenticate': `NTLM ${ntlmChallenge()}`, 'Content-Length': '0' }).end();
      return false;
    }
    if (type === 3) {
      const login = parseAuthenticate(message);
      this.ntlmLogins.push({ domain: login.domain, user: login.user });
      if (
        login.user.toLowerCase() === expectedUser.toLowerCase() &&
        login.domain.toUpperCase() === expectedDomain.toUpperCase() &&
        verifyNtlmV2(login, this.options.password ?? 'p@ss')
      )
        return true;
    }
    this.reject(req, res, 'NTLM');
    return false;
  }

  protected reject(req: http.IncomingMessage, res: http.ServerResponse, challenge: string): void {
    this.requests.push({ operation: 'Unauthorized', body: '', headers: req.headers });
    res.writeHead(401, { 'WWW-Authenticate': challenge, 'Content-Length': '0' }).end();
  }

  protected dispatch(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const record: RecordedRequest = {
      operation: 'Unknown',
      body,
      headers: req.headers,
      anchorMailbox: header(req, 'x-anchormailbox'),
    };
    this.requests.push(record);
    let envelope: XmlElement;
    try {
      envelope = parseXml(body);
    } catch (error) {
      record.xmlError = isXmlSyntaxError(error) ? error.message : String(error);
      this.soapFault(
        res,
        'ErrorSchemaValidation',
        `The request failed schema validation: ${record.xmlError}`,
      );
      return;
    }
    const operationElement = child(envelope, 'Body')?.children[0];
    const operation = operationElement?.local ?? 'Unknown';
    record.operation = operation;
    const impersonation = descendant(child(envelope, 'Header'), 'ConnectingSID');
    const impersonated =
      textOf(
        child(impersonation, 'SmtpAddress') ?? child(impersonation, 'PrimarySmtpAddress'),
      ).toLowerCase() || undefined;
    record.impersonated = impersonated;

    const scripted = this.faults.findIndex((f) => f.operation === operation || f.operation === '*');
    if (scripted >= 0) {
      const [entry] = this.faults.splice(scripted, 1);
      if (entry && this.playFault(res, operation, entry.fault)) return;
    }
    if (impersonated !== undefined) {
      const state = this.mailboxes.get(impersonated);
      if (!state) {
        this.soapFault(
          res,
          'ErrorNonExistentMailbox',
          'The SMTP address has no mailbox associated with it.',
          `<t:Value Name="SmtpAddress">${x(impersonated)}</t:Value>`,
        );
        return;
      }
      if (!state.impersonation) {
        this.soapFault(
          res,
          'ErrorImpersonateUserDenied',
          'The account does not have permission to impersonate the requested user.',
        );
        return;
      }
    }
    const context = new RequestContext(this, impersonated);
    const handler = operationElement ? this.handlers[operation] : undefined;
    if (!handler || !operationElement) {
      this.soapFault(res, 'ErrorInvalidRequest', `The fake does not implement ${operation}.`);
      return;
    }
    const responseBody = handler.call(this, operationElement, context);
    res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' }).end(envelopeOf(responseBody));
  }

  protected playFault(res: http.ServerResponse, operation: string, fault: ScriptedFault): boolean {
    switch (fault.kind) {
      case 'serverBusy':
        this.soapFault(
          res,
          'ErrorServerBusy',
          'The server cannot service this request right now. Try again later.',
          `<t:Value Name="BackOffMilliseconds">${fault.backOffMs}</t:Value>`,
        );
        return true;
      case 'empty500':
        res.writeHead(500, { 'Content-Length': '0' }).end();
        return true;
      case 'hang':
        return true;
      case 'http':
        res
          .writeHead(fault.status, {
            'Content-Length': '0',
            ...(fault.status === 401 ? { 'WWW-Authenticate': 'Basic realm="127.0.0.1"' } : {}),
          })
          .end();
        return true;
      case 'fault':
        this.soapFault(res, fault.code, fault.message ?? fault.code);
        return true;
      case 'responseError':
        res
          .writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' })
          .end(
            envelopeOf(
              responses(operation, [errorMessage(operation, fault.code, fault.message ?? fault.code)]),
            ),
          );
        return true;
      case 'answer':
        res
          .writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' })
          .end(envelopeOf(responses(operation, [fault.message])));
        return true;
    }
  }

  protected soapFault(res: http.ServerResponse, code: string, message: string, messageXml = ''): void {
    const detailXml = messageXml ? `<t:MessageXml xmlns:t="${T}">${messageXml}</t:MessageXml>` : '';
    res
      .writeHead(500, { 'Content-Type': 'text/xml; charset=utf-8' })
      .end(
        `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode xmlns:a="${T}">a:${code}</faultcode><faultstring xml:lang="en-US">${x(message)}</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">${code}</e:ResponseCode><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">${x(message)}</e:Message>${detailXml}</detail></s:Fault></s:Body></s:Envelope>`,
      );
  }
}

export { mimeHeaderLines } from './soap.js';
export * from './types.js';
