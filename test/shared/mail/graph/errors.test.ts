import { AuthenticationError, CredentialUnavailableError } from '@azure/identity';
import { GraphError } from '@microsoft/microsoft-graph-client';
import { describe, expect, it } from 'vitest';

import { ClawbackError, type FailureReason } from '../../../../shared/errors.js';
import {
  GraphTimeoutError,
  parseRetryAfter,
  translateGraphError,
} from '../../../../shared/mail/graph/errors.js';

const context = {
  operation: 'message search',
  mailbox: 'alice@contoso.com',
  tenantId: 'contoso.onmicrosoft.com',
  clientId: '11111111-2222-3333-4444-555555555555',
  authorityHost: 'https://login.microsoftonline.com',
  graphEndpoint: 'https://graph.microsoft.com',
  timeoutSeconds: 30,
  certificateThumbprint: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01',
};

function graphError(
  status: number,
  code: string,
  message = 'x',
  headers: Record<string, string> = {},
): GraphError {
  const error = new GraphError(status, message);
  error.code = code;
  error.headers = new Headers(headers);
  return error;
}

function entraError(status: number, error: string, code: number, text: string): AuthenticationError {
  return new AuthenticationError(status, {
    error,
    error_description: `AADSTS${code}: ${text}\r\nTrace ID: 0000\r\nCorrelation ID: 1111\r\nTimestamp: 2026-01-01 00:00:00Z`,
    error_codes: [code],
  });
}

function socketError(code: string, hostname?: string): TypeError {
  return new TypeError('fetch failed', {
    cause: Object.assign(new Error(`${code} something`), { code, hostname }),
  });
}

interface Row {
  name: string;
  error: unknown;
  reason: FailureReason;
  retryable: boolean;
  detail: RegExp;
}

const rows: Row[] = [
  {
    name: '404 ErrorInvalidUser',
    error: graphError(404, 'ErrorInvalidUser', "The requested user 'alice@contoso.com' is invalid."),
    reason: 'InvalidMailbox',
    retryable: false,
    detail: /alice@contoso\.com does not exist in tenant contoso/,
  },
  {
    name: '404 Request_ResourceNotFound',
    error: graphError(404, 'Request_ResourceNotFound'),
    reason: 'InvalidMailbox',
    retryable: false,
    detail: /does not exist/,
  },
  {
    name: '404 ErrorNonExistentMailbox',
    error: graphError(404, 'ErrorNonExistentMailbox'),
    reason: 'InvalidMailbox',
    retryable: false,
    detail: /does not exist/,
  },
  {
    name: 'MailboxNotEnabledForRESTAPI',
    error: graphError(
      404,
      'MailboxNotEnabledForRESTAPI',
      'The mailbox is either inactive, soft-deleted, or is hosted on-premise.',
    ),
    reason: 'MailboxInaccessible',
    retryable: false,
    detail: /on-premises.*licence/,
  },
  {
    name: '403 ErrorAccessDenied',
    error: graphError(403, 'ErrorAccessDenied', 'Access to OData is disabled.'),
    reason: 'PermissionError',
    retryable: false,
    detail: /Mail\.ReadWrite application permission.*admin consent.*application access policy.*RBAC/,
  },
  {
    name: '403 Authorization_RequestDenied',
    error: graphError(403, 'Authorization_RequestDenied'),
    reason: 'PermissionError',
    retryable: false,
    detail: /User\.Read\.All and GroupMember\.Read\.All application permissions/,
  },
  {
    name: '401',
    error: graphError(401, 'InvalidAuthenticationToken', 'Access token has expired or is not yet valid.'),
    reason: 'AuthenticationError',
    retryable: false,
    detail: /refused the access token/,
  },
  {
    name: '404 ErrorItemNotFound',
    error: graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.'),
    reason: 'MessageNotFound',
    retryable: false,
    detail: /no longer in mailbox alice/,
  },
  {
    name: '429 with Retry-After seconds',
    error: graphError(429, 'TooManyRequests', 'Please retry again later.', { 'Retry-After': '7' }),
    reason: 'Throttled',
    retryable: true,
    detail: /throttling/,
  },
  {
    name: '503',
    error: graphError(503, 'ServiceUnavailable'),
    reason: 'Throttled',
    retryable: true,
    detail: /503/,
  },
  {
    name: '504',
    error: graphError(504, 'GatewayTimeout'),
    reason: 'Throttled',
    retryable: true,
    detail: /504/,
  },
  {
    name: '500',
    error: graphError(500, 'InternalServerError'),
    reason: 'ConnectionError',
    retryable: true,
    detail: /500/,
  },
  {
    name: '400 BadRequest',
    error: graphError(400, 'BadRequest', 'Invalid filter clause'),
    reason: 'Unknown',
    retryable: false,
    detail: /400 BadRequest: Invalid filter clause/,
  },
  {
    name: 'timeout',
    error: new GraphTimeoutError(30),
    reason: 'ConnectionError',
    retryable: true,
    detail: /did not answer within 30 s/,
  },
  {
    name: 'abort',
    error: new DOMException('This operation was aborted', 'AbortError'),
    reason: 'ConnectionError',
    retryable: true,
    detail: /cancelled/,
  },
  {
    name: 'ENOTFOUND',
    error: socketError('ENOTFOUND', 'graph.contoso.invalid'),
    reason: 'ConnectionError',
    retryable: true,
    detail: /graph\.contoso\.invalid could not be resolved/,
  },
  {
    name: 'ECONNRESET',
    error: socketError('ECONNRESET'),
    reason: 'ConnectionError',
    retryable: true,
    detail: /Could not reach graph\.microsoft\.com.*ECONNRESET/,
  },
  {
    name: 'TLS UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    error: socketError('UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
    reason: 'ConnectionError',
    retryable: false,
    detail: /certificate of graph\.microsoft\.com is not trusted/,
  },
  {
    name: 'TLS SELF_SIGNED_CERT_IN_CHAIN',
    error: socketError('SELF_SIGNED_CERT_IN_CHAIN'),
    reason: 'ConnectionError',
    retryable: false,
    detail: /not trusted/,
  },
  {
    name: 'TLS CERT_HAS_EXPIRED',
    error: socketError('CERT_HAS_EXPIRED'),
    reason: 'ConnectionError',
    retryable: false,
    detail: /not trusted/,
  },
  {
    name: 'AADSTS90002 unknown tenant',
    error: entraError(400, 'invalid_tenant', 90002, "Tenant 'contoso.onmicrosoft.com' not found."),
    reason: 'AuthenticationError',
    retryable: false,
    detail: /Tenant 'contoso\.onmicrosoft\.com' was not found.*check tenantId and cloud/,
  },
  {
    name: 'AADSTS700016 unknown app',
    error: entraError(
      400,
      'unauthorized_client',
      700016,
      'Application with identifier was not found in the directory.',
    ),
    reason: 'AuthenticationError',
    retryable: false,
    detail:
      /Application 11111111-2222-3333-4444-555555555555 is not registered in tenant 'contoso\.onmicrosoft\.com'/,
  },
  {
    name: 'AADSTS700027 unknown certificate',
    error: entraError(401, 'invalid_client', 700027, 'Client assertion failed signature validation.'),
    reason: 'AuthenticationError',
    retryable: false,
    detail:
      /thumbprint ABCDEF0123456789ABCDEF0123456789ABCDEF01\) is not registered on the app registration.*Certificates & secrets/,
  },
  {
    name: 'AADSTS700024 assertion time',
    error: entraError(400, 'invalid_client', 700024, 'Client assertion is not within its valid time range.'),
    reason: 'AuthenticationError',
    retryable: false,
    detail: /clock/,
  },
  {
    name: 'AADSTS500133 assertion time',
    error: entraError(400, 'invalid_grant', 500133, 'Assertion is not within its valid time range.'),
    reason: 'AuthenticationError',
    retryable: false,
    detail: /clock/,
  },
  {
    name: 'AADSTS7000112 app disabled',
    error: entraError(401, 'unauthorized_client', 7000112, 'Application is disabled.'),
    reason: 'AuthenticationError',
    retryable: false,
    detail: /is disabled in tenant/,
  },
  {
    name: 'other AADSTS',
    error: entraError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.'),
    reason: 'AuthenticationError',
    retryable: false,
    detail: /AADSTS50027: JWT token is invalid/,
  },
  {
    name: 'Entra 503',
    error: new AuthenticationError(503, {
      error: 'temporarily_unavailable',
      error_description: 'Service is unavailable.',
    }),
    reason: 'ConnectionError',
    retryable: true,
    detail: /answered 503/,
  },
  {
    name: 'CredentialUnavailableError',
    error: new CredentialUnavailableError('ClientCertificateCredential: something odd'),
    reason: 'AuthenticationError',
    retryable: false,
    detail: /Could not get a token.*something odd/,
  },
  {
    name: 'anything else',
    error: new RangeError('boom'),
    reason: 'Unknown',
    retryable: false,
    detail: /boom/,
  },
];

describe('translateGraphError', () => {
  it.each(rows)('$name → $reason', ({ error, reason, retryable, detail }) => {
    const translated = translateGraphError(error, context);
    expect(translated).toBeInstanceOf(ClawbackError);
    expect(translated.code).toBe(reason);
    expect(translated.retryable).toBe(retryable);
    expect(translated.detail).toMatch(detail);
  });

  it('carries the Retry-After of a throttled answer', () => {
    expect(
      translateGraphError(graphError(429, 'TooManyRequests', 'x', { 'Retry-After': '7' }), context)
        .retryAfterMs,
    ).toBe(7000);
  });

  it('returns a ClawbackError unchanged', () => {
    const original = new ClawbackError('ConfigurationError', 'no');
    expect(translateGraphError(original, context)).toBe(original);
  });

  it('never copies a bearer token from the failing request into the detail', () => {
    const error = graphError(401, 'InvalidAuthenticationToken', 'Access token validation failure.');
    const detail = translateGraphError(error, context).detail;
    expect(detail).not.toMatch(/Bearer|eyJ/);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds', () => expect(parseRetryAfter('2', 0)).toBe(2000));
  it('reads an HTTP date relative to now', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
  });
  it('treats a date in the past as no wait', () =>
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', Date.parse('2026-01-01T00:00:00Z'))).toBe(0));
  it('ignores an absent or unreadable value', () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
