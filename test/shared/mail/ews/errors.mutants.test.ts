import { ServiceError } from 'ews-javascript-api';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { ClawbackError } from '../../../../shared/errors.js';
import {
  backOffFromDetails,
  EwsDeadlineExceeded,
  EwsHttpFailure,
  EwsLibraryRejection,
  EwsNetworkFailure,
  EwsResponseError,
  isEwsNetworkFailure,
  parseFault,
  responseCodeOf,
  translateEwsError,
} from '../../../../shared/mail/ews/errors.js';

const context = {
  host: 'mail.contoso.com',
  mailbox: 'alice@contoso.com',
  operation: 'FindItem',
  username: 'CONTOSO\\svc-clawback',
};
const anonymous = { host: 'mail.contoso.com', operation: 'FindItem' };

/** What the operator sees of a translated error. */
function seen(error: ClawbackError) {
  return {
    code: error.code,
    retryable: error.retryable,
    retryAfterMs: error.retryAfterMs,
    detail: error.detail,
  };
}

/** The library's ErrorDetails dictionary, by shape. */
function dictionary(entries: Record<string, unknown>) {
  return {
    containsKey: (key: string) => key in entries,
    get: (key: string) => entries[key],
  };
}

const compactBusy = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode><faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The server cannot service this request right now. Try again later.</e:Message><t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">299984</t:Value></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>`;

describe('the error classes', () => {
  it.each([
    ['', 'HTTP 500 with an empty body'],
    ['  \n ', 'HTTP 500 with an empty body'],
    ['<html>oops</html>', 'HTTP 500'],
  ])('an HTTP failure with body %j reads %j', (body, message) => {
    const failure = new EwsHttpFailure(500, body);
    expect(failure.message).toBe(message);
    expect(failure.name).toBe('EwsHttpFailure');
  });

  it('a deadline names its timeout', () => {
    expect(new EwsDeadlineExceeded(5).message).toBe('no answer within 5 ms');
  });

  it('recognises a network failure by name only', () => {
    expect(isEwsNetworkFailure(new EwsNetworkFailure('ECONNRESET', 'reset'))).toBe(true);
    expect(isEwsNetworkFailure(new Error('reset'))).toBe(false);
    expect(isEwsNetworkFailure(null)).toBe(false);
  });

  it.each([
    ['an object with a message', { message: 'soap says no' }, 'soap says no'],
    ['an object with a non-string message', { message: 5 }, '[object Object]'],
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
    ['a string', 'plain text', 'plain text'],
  ])('a library rejection of %s reads %j', (_, value, message) => {
    const rejection = new EwsLibraryRejection(value);
    expect(rejection.message).toBe(message);
    expect(rejection.name).toBe('EwsLibraryRejection');
    expect(rejection.value).toBe(value);
  });

  it('a library rejection is unwrapped before translation', () => {
    const wrapped = new EwsLibraryRejection(new EwsNetworkFailure('ENOTFOUND', 'getaddrinfo ENOTFOUND'));
    expect(translateEwsError(wrapped, context).detail).toBe(
      "The EWS host mail.contoso.com cannot be resolved (ENOTFOUND); check the profile's ewsUrl and DNS.",
    );
  });
});

describe('translateEwsError: deadlines', () => {
  it.each([
    [30_000, '30 s'],
    [1000, '1 s'],
    [1550, '1.6 s'],
    [999, '999 ms'],
  ])('a deadline of %d ms reads "%s"', (ms, words) => {
    expect(seen(translateEwsError(new EwsDeadlineExceeded(ms), context))).toEqual({
      code: 'ConnectionError',
      retryable: true,
      retryAfterMs: undefined,
      detail: `EWS at mail.contoso.com did not answer FindItem within ${words}.`,
    });
  });
});

describe('translateEwsError: transport failures', () => {
  const untrusted = (what: string) =>
    `The TLS certificate of mail.contoso.com is not trusted (${what}); put the issuing CA certificate (PEM) in the profile's trustedCa secret. TLS verification is never turned off.`;
  const inTime = (what: string) => `EWS at mail.contoso.com did not answer FindItem in time (${what}).`;

  it.each([
    ['CERT_HAS_EXPIRED', 'expired', false, untrusted('CERT_HAS_EXPIRED')],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'no issuer', false, untrusted('UNABLE_TO_GET_ISSUER_CERT_LOCALLY')],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'self signed in chain', false, untrusted('SELF_SIGNED_CERT_IN_CHAIN')],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'altname', false, untrusted('ERR_TLS_CERT_ALTNAME_INVALID')],
    [
      undefined,
      "Hostname does not match the Certificate's altnames",
      false,
      untrusted("Hostname does not match the Certificate's altnames"),
    ],
    [
      'ENOTFOUND',
      'getaddrinfo',
      false,
      "The EWS host mail.contoso.com cannot be resolved (ENOTFOUND); check the profile's ewsUrl and DNS.",
    ],
    [
      'ECONNREFUSED',
      'connect',
      true,
      'mail.contoso.com refused the connection (ECONNREFUSED); check that EWS is reachable on that port.',
    ],
    ['ECONNABORTED', 'aborted', true, inTime('aborted')],
    ['ETIMEDOUT', 'connect failed', true, inTime('connect failed')],
    [undefined, 'Socket TIMEOUT', true, inTime('Socket TIMEOUT')],
    [
      'ECONNRESET',
      'read ECONNRESET',
      true,
      'The connection to mail.contoso.com failed during FindItem (ECONNRESET).',
    ],
    [
      'XCERT_IS_NOT_A_CERT_CODE',
      'odd',
      true,
      'The connection to mail.contoso.com failed during FindItem (XCERT_IS_NOT_A_CERT_CODE).',
    ],
    [
      undefined,
      'socket hang up',
      true,
      'The connection to mail.contoso.com failed during FindItem (socket hang up).',
    ],
  ])('code %s, message %j', (code, message, retryable, detail) => {
    expect(seen(translateEwsError(new EwsNetworkFailure(code, message), context))).toEqual({
      code: 'ConnectionError',
      retryable,
      retryAfterMs: undefined,
      detail,
    });
  });
});

describe('translateEwsError: HTTP statuses', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const rejected = (who: string) =>
    `EWS at mail.contoso.com rejected the username or password of ${who} (HTTP 401); check the profile's username (DOMAIN\\user or UPN), the password secret, and that this authentication method is enabled on the EWS virtual directory.`;

  it.each([
    [
      'NTLM',
      { ...context, auth: 'ntlm' as const },
      rejected('"CONTOSO\\svc-clawback" with NTLM authentication'),
    ],
    [
      'Basic',
      { ...context, auth: 'basic' as const },
      rejected('"CONTOSO\\svc-clawback" with Basic authentication'),
    ],
    ['no scheme', context, rejected('"CONTOSO\\svc-clawback"')],
    ['no username', anonymous, rejected('the service account')],
  ])('HTTP 401 with %s', (_, ctx, detail) => {
    expect(seen(translateEwsError(new EwsHttpFailure(401, ''), ctx))).toEqual({
      code: 'AuthenticationError',
      retryable: false,
      retryAfterMs: undefined,
      detail,
    });
  });

  it('HTTP 403 is a PermissionError', () => {
    expect(seen(translateEwsError(new EwsHttpFailure(403, ''), context))).toEqual({
      code: 'PermissionError',
      retryable: false,
      retryAfterMs: undefined,
      detail:
        'EWS at mail.contoso.com refused FindItem with HTTP 403; EWS access may be blocked for the service account.',
    });
  });

  it.each([
    [undefined, undefined],
    ['0', 0],
    ['-3', 0],
    ['1.5', 1500],
    ['soon', undefined],
    ['Thu, 01 Jan 2026 00:00:30 GMT', 30_000],
    ['Wed, 31 Dec 2025 23:59:00 GMT', 0],
  ])('HTTP 503 with Retry-After %j waits %j ms', (retryAfter, retryAfterMs) => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    const error = translateEwsError(new EwsHttpFailure(503, '', retryAfter), context);
    expect(seen(error)).toEqual({
      code: 'Throttled',
      retryable: true,
      retryAfterMs,
      detail: 'EWS at mail.contoso.com is overloaded (HTTP 503) during FindItem.',
    });
    expect('retryAfterMs' in error && error.retryAfterMs === undefined).toBe(retryAfterMs === undefined);
  });

  it.each([
    [
      500,
      '',
      'ConnectionError',
      true,
      'EWS at mail.contoso.com answered FindItem with HTTP 500 and an empty body.',
    ],
    [
      500,
      '  \n',
      'ConnectionError',
      true,
      'EWS at mail.contoso.com answered FindItem with HTTP 500 and an empty body.',
    ],
    [
      502,
      '<html>Bad gateway</html>',
      'ConnectionError',
      true,
      'EWS at mail.contoso.com answered FindItem with HTTP 502 and a body that is not a SOAP envelope.',
    ],
    [
      404,
      '<html>Not found</html>',
      'Unknown',
      false,
      'EWS at mail.contoso.com answered FindItem with HTTP 404.',
    ],
    [499, '', 'Unknown', false, 'EWS at mail.contoso.com answered FindItem with HTTP 499.'],
  ])('HTTP %d with body %j is %s', (status, body, code, retryable, detail) => {
    expect(seen(translateEwsError(new EwsHttpFailure(status, body), context))).toEqual({
      code,
      retryable,
      retryAfterMs: undefined,
      detail,
    });
  });

  it('a SOAP fault in an HTTP 500 is translated by its ResponseCode, and responseCodeOf finds it', () => {
    const error = translateEwsError(new EwsHttpFailure(500, compactBusy), context);
    expect(seen(error)).toEqual({
      code: 'Throttled',
      retryable: true,
      retryAfterMs: 299984,
      detail:
        'EWS at mail.contoso.com is throttling FindItem (ErrorServerBusy) ("The server cannot service this request right now. Try again later.").',
    });
    expect(responseCodeOf(error)).toBe('ErrorServerBusy');
    expect(responseCodeOf(new EwsHttpFailure(500, compactBusy))).toBe('ErrorServerBusy');
    expect(responseCodeOf(new EwsHttpFailure(500, ''))).toBeUndefined();
  });
});

describe('translateEwsError: EWS response codes', () => {
  const impersonation = (who: string, mailbox: string) =>
    `${who} needs the ApplicationImpersonation role for ${mailbox} (New-ManagementRoleAssignment -Role ApplicationImpersonation -User <account>)`;
  const fullAccess = (who: string, mailbox: string) =>
    `${who} needs FullAccess on ${mailbox} (Add-MailboxPermission -Identity ${mailbox} -User <account> -AccessRights FullAccess)`;
  const svc = '"CONTOSO\\svc-clawback"';

  it.each([
    [
      'ErrorServerBusy',
      'busy',
      250,
      context,
      'Throttled',
      true,
      250,
      'EWS at mail.contoso.com is throttling FindItem (ErrorServerBusy) ("busy").',
    ],
    [
      'ErrorExceededConnectionCount',
      'too many',
      1200,
      context,
      'Throttled',
      true,
      1200,
      'EWS at mail.contoso.com is throttling FindItem (ErrorExceededConnectionCount) ("too many").',
    ],
    [
      'ErrorTooManyObjectsOpened',
      '',
      undefined,
      context,
      'Throttled',
      true,
      undefined,
      'EWS at mail.contoso.com is throttling FindItem (ErrorTooManyObjectsOpened).',
    ],
    [
      'ErrorMailboxStoreUnavailable',
      'store down',
      99,
      context,
      'ConnectionError',
      true,
      undefined,
      'alice@contoso.com is temporarily unavailable on mail.contoso.com (ErrorMailboxStoreUnavailable) ("store down").',
    ],
    [
      'ErrorMailboxMoveInProgress',
      '',
      undefined,
      context,
      'ConnectionError',
      true,
      undefined,
      'alice@contoso.com is temporarily unavailable on mail.contoso.com (ErrorMailboxMoveInProgress).',
    ],
    [
      'ErrorInternalServerTransientError',
      'x',
      undefined,
      context,
      'ConnectionError',
      true,
      undefined,
      'alice@contoso.com is temporarily unavailable on mail.contoso.com (ErrorInternalServerTransientError) ("x").',
    ],
    [
      'ErrorConnectionFailed',
      '',
      undefined,
      anonymous,
      'ConnectionError',
      true,
      undefined,
      'the mailbox is temporarily unavailable on mail.contoso.com (ErrorConnectionFailed).',
    ],
    [
      'ErrorImpersonationDenied',
      'no',
      undefined,
      context,
      'PermissionError',
      false,
      undefined,
      `EWS at mail.contoso.com denied FindItem (ErrorImpersonationDenied) ("no"): ${impersonation(svc, 'alice@contoso.com')}.`,
    ],
    [
      'ErrorImpersonateUserDenied',
      'no',
      undefined,
      { ...context, access: 'impersonation' as const },
      'PermissionError',
      false,
      undefined,
      `EWS at mail.contoso.com denied FindItem (ErrorImpersonateUserDenied) ("no"): ${impersonation(svc, 'alice@contoso.com')}.`,
    ],
    [
      'ErrorAccessDenied',
      '',
      undefined,
      { ...context, access: 'fullAccess' as const },
      'PermissionError',
      false,
      undefined,
      `EWS at mail.contoso.com denied FindItem (ErrorAccessDenied): ${fullAccess(svc, 'alice@contoso.com')}.`,
    ],
    [
      'ErrorAccessDenied',
      '',
      undefined,
      { ...anonymous, access: 'fullAccess' as const },
      'PermissionError',
      false,
      undefined,
      `EWS at mail.contoso.com denied FindItem (ErrorAccessDenied): ${fullAccess('the service account', 'the mailbox')}.`,
    ],
    [
      'ErrorNonExistentMailbox',
      'gone',
      undefined,
      context,
      'InvalidMailbox',
      false,
      undefined,
      'EWS at mail.contoso.com has no mailbox alice@contoso.com (ErrorNonExistentMailbox) ("gone").',
    ],
    [
      'ErrorInvalidSmtpAddress',
      '',
      undefined,
      context,
      'InvalidMailbox',
      false,
      undefined,
      'EWS at mail.contoso.com has no mailbox alice@contoso.com (ErrorInvalidSmtpAddress).',
    ],
    [
      'ErrorNameResolutionNoResults',
      '',
      undefined,
      anonymous,
      'InvalidMailbox',
      false,
      undefined,
      'EWS at mail.contoso.com has no mailbox the mailbox (ErrorNameResolutionNoResults).',
    ],
    [
      'ErrorItemNotFound',
      'ignored',
      undefined,
      context,
      'MessageNotFound',
      false,
      undefined,
      'The item is no longer in alice@contoso.com (ErrorItemNotFound during FindItem).',
    ],
    [
      'ErrorMailboxConfiguration',
      'cfg',
      undefined,
      context,
      'MailboxInaccessible',
      false,
      undefined,
      'alice@contoso.com cannot be opened through EWS at mail.contoso.com (ErrorMailboxConfiguration) ("cfg").',
    ],
    [
      'ErrorMailboxLogonFailed',
      '',
      undefined,
      context,
      'MailboxInaccessible',
      false,
      undefined,
      'alice@contoso.com cannot be opened through EWS at mail.contoso.com (ErrorMailboxLogonFailed).',
    ],
    [
      'ErrorSomethingElse',
      'odd',
      500,
      context,
      'Unknown',
      false,
      undefined,
      'EWS at mail.contoso.com answered FindItem with ErrorSomethingElse ("odd").',
    ],
  ])(
    '%s (%j, back-off %j)',
    (responseCode, message, backOffMs, ctx, code, retryable, retryAfterMs, detail) => {
      const error = translateEwsError(new EwsResponseError(responseCode, message, backOffMs), ctx);
      expect(seen(error)).toEqual({ code, retryable, retryAfterMs, detail });
      expect(responseCodeOf(error)).toBe(responseCode);
    },
  );
});

describe('translateEwsError: library exceptions', () => {
  it.each([
    [
      'a ServiceResponseException with ErrorDetails',
      {
        message: 'outer',
        Response: {
          ErrorCode: ServiceError.ErrorExceededConnectionCount,
          ErrorMessage: 'inner',
          ErrorDetails: dictionary({ BackOffMilliseconds: '1500' }),
        },
      },
      {
        code: 'Throttled',
        retryable: true,
        retryAfterMs: 1500,
        detail: 'EWS at mail.contoso.com is throttling FindItem (ErrorExceededConnectionCount) ("inner").',
      },
    ],
    [
      'a ServiceResponseException without an ErrorMessage',
      { message: 'outer', Response: { ErrorCode: ServiceError.ErrorItemNotFound, ErrorMessage: 7 } },
      {
        code: 'MessageNotFound',
        retryable: false,
        retryAfterMs: undefined,
        detail: 'The item is no longer in alice@contoso.com (ErrorItemNotFound during FindItem).',
      },
    ],
    [
      'a ServiceResponseException without any message',
      { Response: { ErrorCode: ServiceError.ErrorMailboxLogonFailed } },
      {
        code: 'MailboxInaccessible',
        retryable: false,
        retryAfterMs: undefined,
        detail:
          'alice@contoso.com cannot be opened through EWS at mail.contoso.com (ErrorMailboxLogonFailed).',
      },
    ],
    [
      'a ServiceResponseException whose Response has no numeric ErrorCode',
      { message: 'outer', Response: { ErrorCode: 'ErrorServerBusy' } },
      {
        code: 'Unknown',
        retryable: false,
        retryAfterMs: undefined,
        detail: 'Unexpected EWS failure during FindItem on mail.contoso.com: outer',
      },
    ],
    [
      'a SoapFaultDetails with a prefixed FaultCode',
      {
        message: 'fault',
        FaultCode: 'ab:ErrorServerBusy',
        HttpStatusCode: 500,
        ErrorDetails: dictionary({ BackOffMilliseconds: 2500 }),
      },
      {
        code: 'Throttled',
        retryable: true,
        retryAfterMs: 2500,
        detail: 'EWS at mail.contoso.com is throttling FindItem (ErrorServerBusy) ("fault").',
      },
    ],
    [
      'a FaultCode without HttpStatusCode',
      { message: 'fault', FaultCode: 'ErrorA b:c' },
      {
        code: 'Unknown',
        retryable: false,
        retryAfterMs: undefined,
        detail: 'EWS at mail.contoso.com answered FindItem with ErrorA b:c ("fault").',
      },
    ],
    [
      'a SOAP FaultCode that is not an EWS code',
      { message: 'fault', FaultCode: 'soap:Client', HttpStatusCode: 500 },
      {
        code: 'Unknown',
        retryable: false,
        retryAfterMs: undefined,
        detail: 'Unexpected EWS failure during FindItem on mail.contoso.com: fault',
      },
    ],
    [
      'an HttpStatusCode 401',
      { message: 'Unauthorized', HttpStatusCode: 401 },
      {
        code: 'AuthenticationError',
        retryable: false,
        retryAfterMs: undefined,
        detail: `EWS at mail.contoso.com rejected the username or password of "CONTOSO\\svc-clawback" (HTTP 401); check the profile's username (DOMAIN\\user or UPN), the password secret, and that this authentication method is enabled on the EWS virtual directory.`,
      },
    ],
    [
      'a timeout without an HTTP status',
      { message: 'Timeout of 30000ms exceeded', HttpStatusCode: 'none' },
      {
        code: 'ConnectionError',
        retryable: true,
        retryAfterMs: undefined,
        detail: 'EWS at mail.contoso.com did not answer FindItem in time (Timeout of 30000ms exceeded).',
      },
    ],
    [
      'a timeout with an HTTP status',
      { message: 'timeout of 30000ms exceeded', HttpStatusCode: 500 },
      {
        code: 'Unknown',
        retryable: false,
        retryAfterMs: undefined,
        detail: 'Unexpected EWS failure during FindItem on mail.contoso.com: timeout of 30000ms exceeded',
      },
    ],
    [
      'another failure without an HTTP status',
      { message: 'socket closed', HttpStatusCode: undefined },
      {
        code: 'Unknown',
        retryable: false,
        retryAfterMs: undefined,
        detail: 'Unexpected EWS failure during FindItem on mail.contoso.com: socket closed',
      },
    ],
    [
      'a library object without a message of its own',
      { FaultCode: 'soap:Client', HttpStatusCode: 500 },
      {
        code: 'Unknown',
        retryable: false,
        retryAfterMs: undefined,
        detail: 'Unexpected EWS failure during FindItem on mail.contoso.com: [object Object]',
      },
    ],
  ])('%s', (_, thrown, expected) => {
    expect(seen(translateEwsError(thrown, context))).toEqual(expected);
  });

  it('a plain Error that mentions a timeout is not read as a library timeout', () => {
    expect(seen(translateEwsError(new Error('timeout of 5ms exceeded'), context))).toEqual({
      code: 'Unknown',
      retryable: false,
      retryAfterMs: undefined,
      detail: 'Unexpected EWS failure during FindItem on mail.contoso.com: timeout of 5ms exceeded',
    });
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'boom'],
    ['a number', 42],
  ])('%s is Unknown', (_, thrown) => {
    const error = translateEwsError(thrown, context);
    expect(seen(error)).toEqual({
      code: 'Unknown',
      retryable: false,
      retryAfterMs: undefined,
      detail: `Unexpected EWS failure during FindItem on mail.contoso.com: ${String(thrown)}`,
    });
    expect(error.cause).toBe(thrown);
  });

  it('responseCodeOf reads library exceptions and ignores what has no code', () => {
    const fault = { message: 'fault', FaultCode: 'a:ErrorServerBusy', HttpStatusCode: 500 };
    expect(responseCodeOf(translateEwsError(fault, context))).toBe('ErrorServerBusy');
    expect(responseCodeOf(new EwsLibraryRejection(fault))).toBe('ErrorServerBusy');
    expect(responseCodeOf(new Error('x'))).toBeUndefined();
  });
});

describe('backOffFromDetails', () => {
  it.each([
    ['null', null, undefined],
    ['undefined', undefined, undefined],
    ['a string', 'BackOffMilliseconds', undefined],
    ['an object without the dictionary methods', { BackOffMilliseconds: 5 }, undefined],
    ['a dictionary without get', { containsKey: () => true }, undefined],
    ['a dictionary without the key', { containsKey: () => false, get: () => '5' }, undefined],
    ['a number', dictionary({ BackOffMilliseconds: 2000 }), 2000],
    ['a padded decimal string', dictionary({ BackOffMilliseconds: ' 1500.4 ' }), 1500],
    ['zero', dictionary({ BackOffMilliseconds: '0' }), 0],
    ['a negative value', dictionary({ BackOffMilliseconds: '-5' }), undefined],
    ['Infinity', dictionary({ BackOffMilliseconds: 'Infinity' }), undefined],
    ['text', dictionary({ BackOffMilliseconds: 'soon' }), undefined],
    ['a boolean', dictionary({ BackOffMilliseconds: true }), undefined],
  ])('%s gives %j', (_, details, expected) => {
    expect(backOffFromDetails(details)).toBe(expected);
  });
});

describe('parseFault', () => {
  it('reads prefixed, attributed and padded fields', () => {
    const body = `<soap:Envelope xmlns:soap="urn:s"><soap:Body><soap:Fault xmlns:soap="urn:s">
<detail><err:ResponseCode xmlns:err="urn:e">
    ErrorMailboxStoreUnavailable
    </err:ResponseCode><err:Message xmlns:err="urn:e">  Store &lt;DB01&gt; is &quot;offline&quot; &amp; won&apos;t answer &amp;lt;  </err:Message><typ:MessageXml xmlns:typ="urn:t"><typ:Value  Name="BackOffMilliseconds" xmlns:typ="urn:t">
  1500.4
</typ:Value></typ:MessageXml></detail></soap:Fault></soap:Body></soap:Envelope>`;
    expect(parseFault(body)).toStrictEqual({
      responseCode: 'ErrorMailboxStoreUnavailable',
      message: `Store <DB01> is "offline" & won't answer &lt;`,
      backOffMs: 1500,
    });
  });

  it('reads unprefixed fields', () => {
    const body =
      '<Envelope><Body><Fault>\n<detail><ResponseCode>ErrorServerBusy</ResponseCode><Message>busy</Message><MessageXml><Value Name="BackOffMilliseconds">0</Value></MessageXml></detail></Fault></Body></Envelope>';
    expect(parseFault(body)).toStrictEqual({
      responseCode: 'ErrorServerBusy',
      message: 'busy',
      backOffMs: 0,
    });
  });

  it('falls back to faultcode and faultstring', () => {
    const body = `<s:Envelope><s:Body><s:Fault><faultcode xmlns:a="urn:t">
   ab:ErrorItemNotFound
   </faultcode><faultstring xml:lang="en-US">The item is gone.</faultstring></s:Fault></s:Body></s:Envelope>`;
    expect(parseFault(body)).toStrictEqual({
      responseCode: 'ErrorItemNotFound',
      message: 'The item is gone.',
    });
    expect(parseFault('<s:Fault><faultcode>ErrorAccessDenied</faultcode></s:Fault>')).toStrictEqual({
      responseCode: 'ErrorAccessDenied',
      message: '',
    });
  });

  it('prefers the ResponseCode over the faultcode', () => {
    const body =
      '<s:Fault><faultcode>a:ErrorInternalServerError</faultcode><detail><e:ResponseCode>ErrorServerBusy</e:ResponseCode></detail></s:Fault>';
    expect(parseFault(body)).toStrictEqual({ responseCode: 'ErrorServerBusy', message: '' });
  });

  it.each([
    [
      'a SOAP fault without an EWS code',
      '<s:Fault><faultcode>s:Client</faultcode><faultstring>bad</faultstring></s:Fault>',
    ],
    [
      'a response message that is not a fault',
      '<m:ResponseMessage><m:ResponseCode>ErrorServerBusy</m:ResponseCode></m:ResponseMessage>',
    ],
    [
      'an element that only starts with Fault',
      '<s:FaultDetail><e:ResponseCode>ErrorServerBusy</e:ResponseCode></s:FaultDetail>',
    ],
  ])('ignores %s', (_, body) => {
    expect(parseFault(body)).toBeUndefined();
  });
});
