import {
  AggregateAuthenticationError,
  AuthenticationError,
  AuthenticationRequiredError,
  CredentialUnavailableError,
} from '@azure/identity';
import { GraphError } from '@microsoft/microsoft-graph-client';
import { describe, expect, it } from 'vitest';

import {
  type GraphErrorContext,
  GraphTimeoutError,
  isGraphTimeoutError,
  parseRetryAfter,
  translateGraphError,
} from '../../../../shared/mail/graph/errors.js';

const tenantId = 'contoso.onmicrosoft.com';
const clientId = '11111111-2222-3333-4444-555555555555';
const thumbprint = 'ABCDEF0123456789ABCDEF0123456789ABCDEF01';

/** Everything known about the failing call. */
const full: GraphErrorContext = {
  operation: 'message search',
  mailbox: 'alice@contoso.com',
  tenantId,
  clientId,
  authorityHost: 'https://login.microsoftonline.com',
  graphEndpoint: 'https://graph.microsoft.com',
  timeoutSeconds: 30,
  certificateThumbprint: thumbprint,
};
/** Only the operation is known. */
const bare: GraphErrorContext = { operation: 'message search' };

function graphError(
  status: number,
  code: string | null,
  message = 'x',
  headers?: Record<string, string>,
): GraphError {
  const error = new GraphError(status, message);
  error.code = code;
  if (headers !== undefined) error.headers = new Headers(headers);
  return error;
}

function entraError(code: number, text: string, status = 400): AuthenticationError {
  return new AuthenticationError(status, {
    error: 'invalid_request',
    error_description: `AADSTS${code}: ${text}\r\nTrace ID: 0000\r\nCorrelation ID: 1111`,
    error_codes: [code],
  });
}

function translated(error: unknown, context: GraphErrorContext = full) {
  const result = translateGraphError(error, context);
  return { code: result.code, retryable: result.retryable, detail: result.detail };
}

describe('Graph answers', () => {
  it('says which mailbox does not exist, in which tenant, and keeps the cause', () => {
    const error = graphError(404, 'ErrorInvalidMailbox', 'The mailbox is invalid.');
    const result = translateGraphError(error, full);
    expect(result.cause).toBe(error);
    expect(result.detail).toBe(
      'Mailbox alice@contoso.com does not exist in tenant contoso.onmicrosoft.com (404 ErrorInvalidMailbox: The mailbox is invalid.).',
    );
    expect(translated(graphError(404, 'ErrorInvalidUser', ''), bare)).toEqual({
      code: 'InvalidMailbox',
      retryable: false,
      detail: 'The mailbox does not exist in tenant (unknown) (404 ErrorInvalidUser).',
    });
  });

  it('an invalid-mailbox code that is not a 404 is no invalid mailbox, and a 404 of another code is no missing message', () => {
    expect(translated(graphError(400, 'ErrorInvalidUser', 'bad'), bare)).toEqual({
      code: 'Unknown',
      retryable: false,
      detail: 'Graph rejected message search for the mailbox (400 ErrorInvalidUser: bad).',
    });
    expect(translated(graphError(400, 'ErrorItemNotFound', 'bad'), bare).code).toBe('Unknown');
    expect(translated(graphError(404, 'ResourceGone', 'gone'), bare)).toEqual({
      code: 'Unknown',
      retryable: false,
      detail: 'Graph rejected message search for the mailbox (404 ResourceGone: gone).',
    });
  });

  it('reads the Graph code from a binary error body (the MIME download), and only from one', () => {
    const withBody = (body: unknown) => Object.assign(graphError(404, null, 'x'), { body });
    const bytes = (text: string) => {
      const buffer = Buffer.from(text, 'utf8');
      return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
    };
    const json = '{"error":{"code":"ErrorItemNotFound","message":"gone"}}';
    expect(translated(withBody(bytes(json)))).toEqual({
      code: 'MessageNotFound',
      retryable: false,
      detail: 'The message is no longer in mailbox alice@contoso.com (404 ErrorItemNotFound: x).',
    });
    expect(translated(withBody(Buffer.from(json))).detail).toBe(
      'Graph rejected message search for mailbox alice@contoso.com (404: x).',
    );
    expect(translated(withBody(bytes('{"error":{"code":404}}'))).detail).toBe(
      'Graph rejected message search for mailbox alice@contoso.com (404: x).',
    );
    expect(translated(withBody(bytes('not json'))).code).toBe('Unknown');
    expect(translated(withBody(bytes('{}'))).code).toBe('Unknown');
  });

  it('says what the Graph answer was even without a code or a message', () => {
    expect(translated(graphError(400, null, ''), bare).detail).toBe(
      'Graph rejected message search for the mailbox (400).',
    );
    expect(translated(graphError(400, '', 'Invalid  filter\n clause  '), bare).detail).toBe(
      'Graph rejected message search for the mailbox (400: Invalid filter clause).',
    );
  });

  it('names the app to grant directory permissions to when it is known', () => {
    expect(translated(graphError(403, 'Authorization_RequestDenied', 'no'))).toEqual({
      code: 'PermissionError',
      retryable: false,
      detail: `The directory refused message search (403 Authorization_RequestDenied: no). Grant the app ${clientId} the User.Read.All and GroupMember.Read.All application permissions with admin consent, so recipients can be told apart from groups and groups expanded.`,
    });
    expect(translated(graphError(400, 'Authorization_RequestDenied', 'no'), bare).detail).toBe(
      'The directory refused message search (400 Authorization_RequestDenied: no). Grant the app the User.Read.All and GroupMember.Read.All application permissions with admin consent, so recipients can be told apart from groups and groups expanded.',
    );
  });

  it.each(['ErrorAccessDenied', 'AccessDenied', 'ErrorAccessDeniedException'])(
    'an access-denied code (%s) is a permission error whatever the status',
    (code) => {
      expect(translated(graphError(400, code, 'no'), bare)).toEqual({
        code: 'PermissionError',
        retryable: false,
        detail: `Access to the mailbox was denied during message search (400 ${code}: no). Grant the app the Mail.ReadWrite application permission with admin consent, and check that no application access policy or RBAC for Applications management scope excludes this mailbox (changes take up to 2 hours to apply).`,
      });
    },
  );

  it('a 403 of any code is a permission error naming the app', () => {
    expect(translated(graphError(403, 'Forbidden', 'no')).detail).toBe(
      `Access to mailbox alice@contoso.com was denied during message search (403 Forbidden: no). Grant the app ${clientId} the Mail.ReadWrite application permission with admin consent, and check that no application access policy or RBAC for Applications management scope excludes this mailbox (changes take up to 2 hours to apply).`,
    );
  });

  it('a refused access token and a mailbox Graph cannot reach say what to check', () => {
    expect(translated(graphError(401, 'InvalidAuthenticationToken', 'expired'))).toEqual({
      code: 'AuthenticationError',
      retryable: false,
      detail:
        "Graph refused the access token during message search (401 InvalidAuthenticationToken: expired). Check that the profile's cloud matches the tenant and that the app registration is enabled.",
    });
    expect(translated(graphError(404, 'MailboxNotEnabledForRESTAPI', 'on-prem'), bare).detail).toBe(
      'Graph cannot reach the mailbox (404 MailboxNotEnabledForRESTAPI: on-prem): the mailbox is hosted on-premises, inactive or soft-deleted, or the user has no Exchange Online licence. Map it to an EWS profile if it is on-premises.',
    );
  });

  it('a throttled answer without Retry-After is retried with no wait of its own', () => {
    const error = graphError(429, 'TooManyRequests', 'slow down');
    const result = translateGraphError(error, bare);
    expect(result.retryAfterMs).toBeUndefined();
    expect(result.cause).toBe(error);
    expect(translated(error, bare)).toEqual({
      code: 'Throttled',
      retryable: true,
      detail: 'Graph kept throttling message search for the mailbox (429 TooManyRequests: slow down).',
    });
  });

  it('a 500 is a retryable connection error that keeps its cause', () => {
    const error = graphError(500, 'InternalServerError', 'oops');
    expect(translateGraphError(error, full).cause).toBe(error);
    expect(translated(error)).toEqual({
      code: 'ConnectionError',
      retryable: true,
      detail:
        'Graph failed during message search for mailbox alice@contoso.com (500 InternalServerError: oops).',
    });
    expect(translated(graphError(499, 'ClientClosedRequest', 'closed')).code).toBe('Unknown');
  });

  it('a Graph SDK error without an HTTP status is a transport failure', () => {
    for (const status of [0, -1]) {
      const error = graphError(status, 'ECONNRESET', 'fetch failed');
      expect(translated(error)).toEqual({
        code: 'ConnectionError',
        retryable: true,
        detail: 'Could not reach graph.microsoft.com during message search (ECONNRESET).',
      });
    }
  });

  it('a statusCode that is no number is no HTTP answer', () => {
    const error = Object.assign(new Error('odd'), { statusCode: '503' });
    expect(translated(error)).toEqual({
      code: 'Unknown',
      retryable: false,
      detail: 'Unexpected error during message search: odd',
    });
  });
});

describe('parseRetryAfter', () => {
  it('reads an empty or blank value as absent', () => {
    expect(parseRetryAfter('', 0)).toBeUndefined();
    expect(parseRetryAfter('   ', 0)).toBeUndefined();
  });

  it('never waits a negative time, and rounds seconds to milliseconds', () => {
    expect(parseRetryAfter('-5', 0)).toBe(0);
    expect(parseRetryAfter('1.2345', 0)).toBe(1235);
  });
});

describe('token (Entra ID) errors', () => {
  const detailOf = (error: unknown, context: GraphErrorContext = full) => translated(error, context).detail;

  it.each([
    [
      90002,
      `Tenant '${tenantId}' was not found at https://login.microsoftonline.com (AADSTS90002); check tenantId and cloud.`,
    ],
    [
      90038,
      `Tenant '${tenantId}' belongs to another national cloud (AADSTS90038); set the profile's cloud to the tenant's cloud.`,
    ],
    [
      700016,
      `Application ${clientId} is not registered in tenant '${tenantId}' (AADSTS700016); check clientId and tenantId, and that an administrator has consented to the app in that tenant.`,
    ],
    [
      700027,
      `The certificate (thumbprint ${thumbprint}) is not registered on the app registration ${clientId} (AADSTS700027); upload it under Certificates & secrets.`,
    ],
    [
      50012,
      `The certificate (thumbprint ${thumbprint}) is not registered on the app registration ${clientId} (AADSTS50012); upload it under Certificates & secrets.`,
    ],
    [
      700024,
      "Entra ID rejected the client assertion as outside its valid time range (AADSTS700024); check this machine's clock.",
    ],
    [
      500133,
      "Entra ID rejected the client assertion as outside its valid time range (AADSTS500133); check this machine's clock.",
    ],
    [
      7000112,
      `Application ${clientId} is disabled in tenant '${tenantId}' (AADSTS7000112); enable its service principal (Enterprise applications).`,
    ],
    [700030, `The certificate's subject name is not authorized for application ${clientId} (AADSTS700030).`],
    [
      53003,
      `A Conditional Access policy in tenant '${tenantId}' blocks application ${clientId} (AADSTS53003).`,
    ],
    [
      50027,
      `Entra ID refused a token for application ${clientId} in tenant '${tenantId}': AADSTS50027: JWT token is invalid.`,
    ],
  ])('AADSTS%i tells the operator what to fix', (code, detail) => {
    const error = entraError(code, 'JWT token is invalid.');
    const result = translateGraphError(error, full);
    expect(result.code).toBe('AuthenticationError');
    expect(result.retryable).toBe(false);
    expect(result.detail).toBe(detail);
    expect(result.cause).toBe(error);
  });

  it('says what is unknown when the context lacks tenant, app, authority and thumbprint', () => {
    expect(detailOf(entraError(90002, 'x'), bare)).toBe(
      "Tenant '(unknown)' was not found at the authority host (AADSTS90002); check tenantId and cloud.",
    );
    expect(detailOf(entraError(700027, 'x'), bare)).toBe(
      'The certificate is not registered on the app registration (unknown) (AADSTS700027); upload it under Certificates & secrets.',
    );
    expect(detailOf(new CredentialUnavailableError('no certificate'), bare)).toBe(
      "Could not get a token for application (unknown) in tenant '(unknown)' from the authority host: no certificate",
    );
  });

  it('finds the AADSTS code in the text when the answer lists no codes', () => {
    expect(
      detailOf(
        new AuthenticationRequiredError({
          scopes: ['https://graph.microsoft.com/.default'],
          message: 'AADSTS700016: app not found',
        }),
      ),
    ).toMatch(/^Application 11111111-2222-3333-4444-555555555555 is not registered/);
    expect(
      detailOf(
        new AuthenticationRequiredError({
          scopes: ['https://graph.microsoft.com/.default'],
          message: 'AADSTS12345: something new\nTrace ID: 0',
        }),
        bare,
      ),
    ).toBe(
      "Entra ID refused a token for application (unknown) in tenant '(unknown)': AADSTS12345: something new",
    );
    const described = Object.assign(new Error('token request failed'), {
      name: 'AuthenticationError',
      errorResponse: { errorDescription: 'AADSTS90002: Tenant not found.' },
    });
    expect(detailOf(described)).toMatch(/^Tenant '.*' was not found/);
    const noCodes = new AuthenticationError(400, {
      error: 'invalid_request',
      error_description: 'AADSTS7000112: Application is disabled.',
    });
    expect(detailOf(noCodes)).toMatch(/is disabled in tenant/);
  });

  it('takes the AADSTS code from the listed codes when the text names none', () => {
    const listed = new AuthenticationError(400, {
      error: 'invalid_request',
      error_description: 'Tenant not found.',
      error_codes: [90002],
    });
    expect(detailOf(listed)).toBe(
      `Tenant '${tenantId}' was not found at https://login.microsoftonline.com (AADSTS90002); check tenantId and cloud.`,
    );
  });

  it('an aggregate of credential failures is a token error too', () => {
    expect(translated(new AggregateAuthenticationError([new Error('x')], 'all failed'), bare)).toEqual({
      code: 'AuthenticationError',
      retryable: false,
      detail:
        "Could not get a token for application (unknown) in tenant '(unknown)' from the authority host: all failed",
    });
  });

  it('Entra ID throttling or failing is retried later', () => {
    const failing = (status: number) =>
      new AuthenticationError(status, { error: 'temporarily_unavailable', error_description: 'Busy.' });
    const error = failing(429);
    expect(translateGraphError(error, full).cause).toBe(error);
    expect(translated(error)).toEqual({
      code: 'ConnectionError',
      retryable: true,
      detail:
        'Entra ID (https://login.microsoftonline.com) answered 429 while issuing a token; retrying later.',
    });
    expect(translated(failing(500), bare)).toEqual({
      code: 'ConnectionError',
      retryable: true,
      detail: 'Entra ID (the authority host) answered 500 while issuing a token; retrying later.',
    });
    expect(translated(failing(499), bare).code).toBe('AuthenticationError');
  });

  it('a token request that could not reach Entra ID is a retryable connection error', () => {
    const error = new CredentialUnavailableError('request failed: connect ECONNREFUSED 127.0.0.1:443');
    expect(
      translated(error, { operation: 'token request', authorityHost: 'https://login.microsoftonline.us' }),
    ).toEqual({
      code: 'ConnectionError',
      retryable: true,
      detail: 'Could not reach login.microsoftonline.us during token request (ECONNREFUSED).',
    });
  });
});

describe('network failures', () => {
  const chained = (code: string, depth: number, top: Error = new Error('boom')): Error => {
    let inner: object = { code };
    for (let i = 1; i < depth; i++) inner = { cause: inner };
    return Object.assign(top, depth === 0 ? { code } : { cause: inner });
  };

  it.each([
    'ECONNREFUSED',
    'ECONNRESET',
    'ECONNABORTED',
    'ETIMEDOUT',
    'EPIPE',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'EAI_AGAIN',
    'UND_ERR_SOCKET',
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
    'UND_ERR_CLOSED',
  ])('%s is a retryable failure to reach Graph', (code) => {
    const error = chained(code, 1);
    expect(translateGraphError(error, full).cause).toBe(error);
    expect(translated(error)).toEqual({
      code: 'ConnectionError',
      retryable: true,
      detail: `Could not reach graph.microsoft.com during message search (${code}).`,
    });
  });

  it('looks five causes deep for the socket code, no deeper', () => {
    expect(translated(chained('ECONNRESET', 4)).code).toBe('ConnectionError');
    expect(translated(chained('ECONNRESET', 5))).toEqual({
      code: 'Unknown',
      retryable: false,
      detail: 'Unexpected error during message search: boom',
    });
  });

  it('a code it does not know, a null cause and a code that only contains a TLS word are no network failure', () => {
    expect(translated(chained('EACCES', 0)).code).toBe('Unknown');
    expect(translated(new Error('boom', { cause: null })).code).toBe('Unknown');
    expect(translated(new TypeError('fetch failed', { cause: { code: 'NOT_A_CERT_ERROR' } }))).toEqual({
      code: 'ConnectionError',
      retryable: true,
      detail: 'Could not reach graph.microsoft.com during message search: fetch failed.',
    });
  });

  it.each([
    ['getaddrinfo ENOTFOUND graph.contoso.invalid', 'ENOTFOUND'],
    ['connect ECONNREFUSED 127.0.0.1:443', 'ECONNREFUSED'],
    ['read ECONNRESET', 'ECONNRESET'],
    ['connect ETIMEDOUT 10.0.0.1:443', 'ETIMEDOUT'],
    ['getaddrinfo EAI_AGAIN graph.microsoft.com', 'EAI_AGAIN'],
  ])('finds the code in the message "%s"', (message, code) => {
    const detail = translated(new Error(message), bare).detail;
    expect(detail).toBe(
      code === 'ENOTFOUND'
        ? 'The host Graph could not be resolved (ENOTFOUND); check the endpoint and DNS.'
        : `Could not reach Graph during message search (${code}).`,
    );
  });

  it.each([
    'certificate has expired CERT_HAS_EXPIRED',
    'unable to verify UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'self-signed certificate in chain SELF_SIGNED_CERT_IN_CHAIN',
    'self-signed certificate DEPTH_ZERO_SELF_SIGNED_CERT',
  ])('finds the TLS code in the message "%s"', (message) => {
    const error = new Error(message);
    const code = message.split(' ').at(-1);
    expect(translateGraphError(error, full).cause).toBe(error);
    expect(translated(error)).toEqual({
      code: 'ConnectionError',
      retryable: false,
      detail: `The TLS certificate of graph.microsoft.com is not trusted (${code}); check for a TLS-inspecting proxy or a wrong endpoint.`,
    });
  });

  it.each([
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'HOSTNAME_MISMATCH',
    'ERR_SSL_WRONG_VERSION_NUMBER',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
  ])('the socket code %s is an untrusted certificate', (code) => {
    expect(translated(chained(code, 1)).detail).toBe(
      `The TLS certificate of graph.microsoft.com is not trusted (${code}); check for a TLS-inspecting proxy or a wrong endpoint.`,
    );
  });

  it('names the host it could not resolve, else the endpoint from the context, five causes deep at most', () => {
    const resolving = (hostname: string | undefined, depth: number) => {
      let inner: object = hostname === undefined ? {} : { hostname };
      for (let i = 1; i < depth; i++) inner = { cause: inner };
      return Object.assign(new Error('boom', { cause: inner }), { code: 'ENOTFOUND' });
    };
    expect(translated(resolving('graph.contoso.invalid', 4)).detail).toBe(
      'The host graph.contoso.invalid could not be resolved (ENOTFOUND); check the endpoint and DNS.',
    );
    expect(translated(resolving('graph.contoso.invalid', 5)).detail).toBe(
      'The host graph.microsoft.com could not be resolved (ENOTFOUND); check the endpoint and DNS.',
    );
    const nullCause = Object.assign(new Error('boom', { cause: null }), { code: 'ENOTFOUND' });
    expect(
      translated(nullCause, { operation: 'x', authorityHost: 'https://login.microsoftonline.us/' }).detail,
    ).toBe(
      'The host login.microsoftonline.us could not be resolved (ENOTFOUND); check the endpoint and DNS.',
    );
    expect(translated(nullCause, { operation: 'x', graphEndpoint: 'not a url' }).detail).toBe(
      'The host Graph could not be resolved (ENOTFOUND); check the endpoint and DNS.',
    );
  });

  it('fetch failed without a code is a retryable failure to reach Graph; another TypeError is not', () => {
    expect(translated(new TypeError('fetch failed\n'), bare)).toEqual({
      code: 'ConnectionError',
      retryable: true,
      detail: 'Could not reach Graph during message search: fetch failed.',
    });
    expect(translated(new TypeError('x is not a function'), bare).code).toBe('Unknown');
    expect(translated(new Error('fetch failed'), bare).code).toBe('Unknown');
  });

  it('shortens an unexpected message to one line of 400 characters', () => {
    const error = new RangeError(`  first\n\tsecond   ${'y'.repeat(500)}  `);
    const result = translateGraphError(error, bare);
    expect(result.cause).toBe(error);
    expect(result.detail).toBe(
      `Unexpected error during message search: first second ${'y'.repeat(400 - 13)}`,
    );
  });
});

describe('timeouts and cancellation', () => {
  it('says how long Graph was given: the timeout error’s own seconds first, else the profile’s', () => {
    expect(translated(new GraphTimeoutError(7))).toEqual({
      code: 'ConnectionError',
      retryable: true,
      detail: 'Graph did not answer within 7 s during message search.',
    });
    const timeout = new DOMException('The operation timed out.', 'TimeoutError');
    expect(translated(timeout)).toEqual({
      code: 'ConnectionError',
      retryable: true,
      detail: 'Graph did not answer within 30 s during message search.',
    });
    expect(translated(timeout, bare).detail).toBe('Graph did not answer within ? s during message search.');
  });

  it('a cancelled call names the operation', () => {
    const abort = new DOMException('This operation was aborted', 'AbortError');
    expect(translated(abort, bare).detail).toBe('Message search was cancelled before Graph answered.');
  });

  it('the timeout error tells how long it waited', () => {
    const error = new GraphTimeoutError(12);
    expect(error.message).toBe('Graph did not answer within 12 s');
    expect(error.name).toBe('GraphTimeoutError');
  });

  it('recognises the timeout error by name and seconds, also from another module copy', () => {
    expect(isGraphTimeoutError(new GraphTimeoutError(3))).toBe(true);
    expect(isGraphTimeoutError({ name: 'GraphTimeoutError', timeoutSeconds: 3 })).toBe(true);
    expect(isGraphTimeoutError({ name: 'GraphTimeoutError', timeoutSeconds: '3' })).toBe(false);
    expect(isGraphTimeoutError({ name: 'GraphTimeoutError' })).toBe(false);
    expect(isGraphTimeoutError({ name: 'TimeoutError', timeoutSeconds: 3 })).toBe(false);
    expect(isGraphTimeoutError(null)).toBe(false);
    expect(isGraphTimeoutError(undefined)).toBe(false);
    expect(isGraphTimeoutError(Object.assign(() => undefined, { timeoutSeconds: 3 }))).toBe(false);
  });
});
