import { describe, expect, it } from 'vitest';

import { ClawbackError } from '../../../../shared/errors.js';
import {
  EwsDeadlineExceeded,
  EwsHttpFailure,
  EwsNetworkFailure,
  EwsResponseError,
  parseFault,
  translateEwsError,
} from '../../../../shared/mail/ews/errors.js';
import {
  handleUnhandledRejection,
  isLibraryRejection,
  withDeadline,
} from '../../../../shared/mail/ews/transport.js';
import { escapeXml } from '../../../../shared/mail/ews/xml.js';
import { parseXml } from '../../../fakes/ews/xml.js';

const context = {
  host: 'mail.contoso.com',
  mailbox: 'alice@contoso.com',
  operation: 'FindItem',
  username: 'CONTOSO\\svc-clawback',
};

// Verbatim shapes from reference/ews-samples (exchangelib fixture and real captures).
const serverBusyFault = `<?xml version='1.0' encoding='utf-8'?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
  <s:Body>
    <s:Fault>
      <faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode>
      <faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.</faultstring>
      <detail>
        <e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">
          ErrorServerBusy
        </e:ResponseCode>
        <e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">
          The server cannot service this request right now. Try again later.
        </e:Message>
        <t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
          <t:Value Name="BackOffMilliseconds">297749</t:Value>
        </t:MessageXml>
      </detail>
    </s:Fault>
  </s:Body>
</s:Envelope>`;
const serverBusyCompact = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode><faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The server cannot service this request right now. Try again later.</e:Message><t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">299984</t:Value></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>`;
const accessDeniedFault = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
<s:Fault>
<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorAccessDenied</faultcode>
<faultstring xml:lang="en-US">The caller has not assigned any of the RBAC roles requested in the management role header.</faultstring>
<detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorAccessDenied</e:ResponseCode>
<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The caller has not assigned any of the RBAC roles requested in the management role header.</e:Message></detail></s:Fault></s:Body>
</s:Envelope>`;
const nonExistentMailboxFault = `<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
    <s:Body>
        <s:Fault>
            <faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorNonExistentMailbox</faultcode>
            <faultstring xml:lang="zh-CN">SMTP 地址没有与其关联的邮箱。</faultstring>
            <detail>
                <e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorNonExistentMailbox</e:ResponseCode>
                <e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">SMTP 地址没有与其关联的邮箱。</e:Message>
                <t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
                    <t:Value Name="SmtpAddress">user1@example.com</t:Value>
                </t:MessageXml>
            </detail>
        </s:Fault>
    </s:Body>
</s:Envelope>`;
const unescapedRequestConstant = '<t:Constant Value="<abc@contoso.com>"></t:Constant>';

describe('translateEwsError', () => {
  it.each([
    ['the indented fault', serverBusyFault, 297749],
    ['the compact fault', serverBusyCompact, 299984],
  ])('reads BackOffMilliseconds from %s as a retryable Throttled', (_, body, backOff) => {
    const error = translateEwsError(new EwsHttpFailure(500, body), context);
    expect(error).toMatchObject({ code: 'Throttled', retryable: true, retryAfterMs: backOff });
  });

  it('an HTTP 401 is an AuthenticationError that names the account and the host', () => {
    const error = translateEwsError(new EwsHttpFailure(401, ''), { ...context, auth: 'ntlm' });
    expect(error.code).toBe('AuthenticationError');
    expect(error.detail).toContain('"CONTOSO\\svc-clawback"');
    expect(error.detail).toContain('mail.contoso.com');
    expect(error.detail).toContain('NTLM');
  });

  it('ErrorAccessDenied names the permission the profile access mode needs', () => {
    const impersonation = translateEwsError(new EwsHttpFailure(500, accessDeniedFault), {
      ...context,
      access: 'impersonation',
    });
    const fullAccess = translateEwsError(new EwsHttpFailure(500, accessDeniedFault), {
      ...context,
      access: 'fullAccess',
    });
    expect(impersonation.code).toBe('PermissionError');
    expect(impersonation.detail).toContain('ApplicationImpersonation');
    expect(fullAccess.code).toBe('PermissionError');
    expect(fullAccess.detail).toContain('FullAccess');
    expect(fullAccess.retryable).toBe(false);
  });

  it.each(['ErrorImpersonateUserDenied', 'ErrorAccessDenied'])('%s is a PermissionError', (code) => {
    expect(translateEwsError(new EwsResponseError(code, 'denied'), context).code).toBe('PermissionError');
  });

  it('a localised ErrorNonExistentMailbox fault is an InvalidMailbox', () => {
    const error = translateEwsError(new EwsHttpFailure(500, nonExistentMailboxFault), context);
    expect(error.code).toBe('InvalidMailbox');
    expect(error.detail).toContain('alice@contoso.com');
  });

  it.each([
    ['ErrorInvalidSmtpAddress', 'InvalidMailbox'],
    ['ErrorItemNotFound', 'MessageNotFound'],
    ['ErrorMailboxMoveInProgress', 'ConnectionError'],
    ['ErrorSomethingElse', 'Unknown'],
  ])('%s is %s', (code, reason) => {
    expect(translateEwsError(new EwsResponseError(code, ''), context).code).toBe(reason);
  });

  it.each([
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate', false, 'not trusted'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate', false, 'not trusted'],
    ['ENOTFOUND', 'getaddrinfo ENOTFOUND mail.contoso.com', false, 'cannot be resolved'],
    ['ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.5:443', true, 'refused'],
    ['ECONNABORTED', 'timeout of 30000ms exceeded', true, 'in time'],
  ])('a %s transport failure is a ConnectionError naming the host', (code, message, retryable, words) => {
    const error = translateEwsError(new EwsNetworkFailure(code, message), context);
    expect(error).toMatchObject({ code: 'ConnectionError', retryable });
    expect(error.detail).toContain('mail.contoso.com');
    expect(error.detail).toContain(words);
  });

  it('an empty HTTP 500 and a passed deadline are retryable ConnectionErrors', () => {
    expect(translateEwsError(new EwsHttpFailure(500, ''), context)).toMatchObject({
      code: 'ConnectionError',
      retryable: true,
    });
    expect(translateEwsError(new EwsDeadlineExceeded(30_000), context)).toMatchObject({
      code: 'ConnectionError',
      retryable: true,
    });
  });

  it('an HTTP 503 is Throttled and honours Retry-After', () => {
    expect(translateEwsError(new EwsHttpFailure(503, '', '2'), context)).toMatchObject({
      code: 'Throttled',
      retryAfterMs: 2000,
    });
  });

  it('passes ClawbackErrors through and turns anything else into Unknown', () => {
    const own = new ClawbackError('ConfigurationError', 'x');
    expect(translateEwsError(own, context)).toBe(own);
    expect(translateEwsError(new Error('boom'), context).code).toBe('Unknown');
  });

  it('parseFault ignores bodies that are not SOAP faults', () => {
    expect(parseFault('')).toBeUndefined();
    expect(parseFault('<html>busy</html>')).toBeUndefined();
  });
});

describe('escapeXml', () => {
  it('escapes the five XML specials so the strict parser accepts the result', () => {
    const escaped = escapeXml(`<a&b"c'd>`);
    expect(escaped).toBe('&lt;a&amp;b&quot;c&apos;d&gt;');
    expect(parseXml(`<t:Constant Value="${escaped}"/>`).attrs.Value).toBe(`<a&b"c'd>`);
  });
});

describe('the fake server XML parser', () => {
  it('refuses the unescaped request the library would send, as Exchange does', () => {
    expect(() => parseXml(unescapedRequestConstant)).toThrow(/raw "<"/);
    expect(() => parseXml('<a v="x&y"/>')).toThrow(/bare "&"/);
    expect(() => parseXml('<a><b></a>')).toThrow();
  });
});

describe('stray rejection guard', () => {
  const libraryError = () => {
    const error = new TypeError("Cannot read properties of undefined (reading 'documentElement')");
    error.stack = `${error.name}: ${error.message}\n    at new EwsXmlReader (/app/node_modules/ews-javascript-api/js/Core/EwsXmlReader.js:32:57)`;
    return error;
  };

  it('logs and drops rejections raised inside ews-javascript-api', () => {
    const lines: string[] = [];
    expect(isLibraryRejection(libraryError())).toBe(true);
    expect(() => handleUnhandledRejection(libraryError(), (l) => lines.push(l), 0)).not.toThrow();
    expect(lines[0]).toContain('ews-javascript-api');
  });

  it('re-throws other rejections when nothing else listens, so Node still crashes on real bugs', () => {
    const bug = new Error('bug elsewhere');
    const lines: string[] = [];
    expect(isLibraryRejection(bug)).toBe(false);
    expect(() => handleUnhandledRejection(bug, (l) => lines.push(l), 0)).toThrow('bug elsewhere');
    expect(() => handleUnhandledRejection(bug, (l) => lines.push(l), 1)).not.toThrow();
    expect(lines).toHaveLength(2);
  });
});

describe('withDeadline', () => {
  it('rejects a call that never settles once the deadline passes', async () => {
    await expect(withDeadline(new Promise<never>(() => undefined), 20)).rejects.toMatchObject({
      name: 'EwsDeadlineExceeded',
    });
  });

  it('rejects at once when the caller aborts', async () => {
    const controller = new AbortController();
    const pending = withDeadline(new Promise<never>(() => undefined), 60_000, controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'EwsNetworkFailure', code: 'ABORT_ERR' });
  });
});
