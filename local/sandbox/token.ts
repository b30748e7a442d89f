import { constants, createHash, randomBytes, randomUUID, verify, X509Certificate } from 'node:crypto';

import { isNamedError } from '../../shared/errors.js';
import { jsonResponse, type SandboxResponse } from './http.js';
import { defaultAppPermissions, type SandboxApp } from './types.js';

/** What the sandbox remembers about an access token it issued (the token itself is opaque). */
export interface IssuedToken {
  tenantId: string;
  clientId: string;
  /** The resource the token is for: the scope without `/.default`. */
  resource: string;
  permissions: ReadonlySet<string>;
  expiresAt: number;
}

interface RegisteredApp {
  app: SandboxApp;
  certificate: X509Certificate;
  /** base64url SHA-256 of the certificate DER, what MSAL sends as `x5t#S256`. */
  thumbprintS256: string;
}

/** Entra ID accepts assertions a little outside nbf/exp to absorb clock skew. */
const clockSkewSeconds = 300;
const jwtBearer = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

class EntraError extends Error {
  override readonly name = 'EntraError';
  constructor(
    readonly status: number,
    readonly error: string,
    readonly code: number,
    readonly text: string,
  ) {
    super(text);
  }
}

const isEntraError = isNamedError<EntraError>('EntraError');

/**
 * The Entra ID v2.0 endpoints a confidential client with a certificate uses: OpenID discovery and the
 * client-credentials token grant with a PS256 client assertion.
 */
export class TokenService {
  private readonly apps: RegisteredApp[];
  private readonly tokens = new Map<string, IssuedToken>();

  constructor(
    apps: SandboxApp[],
    private readonly lifetimeSeconds: number,
  ) {
    this.apps = apps.map((app) => {
      const certificate = new X509Certificate(app.certificatePem);
      return {
        app,
        certificate,
        thumbprintS256: createHash('sha256').update(certificate.raw).digest('base64url'),
      };
    });
  }

  lookup(accessToken: string): IssuedToken | undefined {
    return this.tokens.get(accessToken);
  }

  expireAll(): void {
    for (const token of this.tokens.values()) token.expiresAt = 0;
  }

  /**
   * @param path the path under the authority host, e.g. `/{tenant}/oauth2/v2.0/token`
   * @param publicAuthority the authority host as the client sees it (discovery URLs and assertion audience)
   */
  handle(method: string, path: string, body: Buffer, publicAuthority: string): SandboxResponse {
    const segments = path.split('/').filter((s) => s !== '');
    const tenantSegment = segments[0] ?? '';
    const rest = segments.slice(1).join('/');
    try {
      if (method === 'GET' && rest === 'v2.0/.well-known/openid-configuration') {
        return this.discovery(tenantSegment, publicAuthority);
      }
      if (method === 'GET' && rest === 'discovery/v2.0/keys') {
        this.tenantApps(tenantSegment);
        return jsonResponse(200, { keys: [] });
      }
      if (method === 'POST' && rest === 'oauth2/v2.0/token') {
        return this.token(tenantSegment, new URLSearchParams(body.toString('utf8')), publicAuthority);
      }
      return jsonResponse(404, {
        error: 'not_found',
        error_description: `No such endpoint: ${method} ${path}`,
      });
    } catch (e) {
      if (isEntraError(e)) return entraErrorResponse(e, publicAuthority);
      throw e;
    }
  }

  private tenantApps(tenantSegment: string): RegisteredApp[] {
    const wanted = tenantSegment.toLowerCase();
    const apps = this.apps.filter(
      ({ app }) => app.tenantId.toLowerCase() === wanted || app.tenantDomain?.toLowerCase() === wanted,
    );
    if (apps.length === 0) {
      throw new EntraError(
        400,
        'invalid_tenant',
        90002,
        `Tenant '${tenantSegment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
      );
    }
    return apps;
  }

  private discovery(tenantSegment: string, publicAuthority: string): SandboxResponse {
    const tenantId = this.tenantApps(tenantSegment)[0]?.app.tenantId ?? tenantSegment;
    const base = `${publicAuthority}/${tenantId}`;
    return jsonResponse(200, {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${base}/v2.0`,
      request_uri_parameter_supported: false,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      tenant_region_scope: 'WW',
    });
  }

  private token(tenantSegment: string, form: URLSearchParams, publicAuthority: string): SandboxResponse {
    const apps = this.tenantApps(tenantSegment);
    const grantType = form.get('grant_type');
    if (grantType !== 'client_credentials') {
      throw new EntraError(
        400,
        'unsupported_grant_type',
        70003,
        `The app requested an unsupported grant type '${grantType ?? ''}'.`,
      );
    }
    const clientId = required(form, 'client_id');
    const registered = apps.find(({ app }) => app.clientId.toLowerCase() === clientId.toLowerCase());
    if (registered === undefined) {
      throw new EntraError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenantSegment}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      );
    }
    const scope = required(form, 'scope');
    if (!scope.endsWith('/.default') || scope.includes(' ')) {
      throw new EntraError(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    if (form.has('client_secret')) {
      throw new EntraError(
        401,
        'invalid_client',
        7000215,
        'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.',
      );
    }
    const assertion = form.get('client_assertion');
    if (form.get('client_assertion_type') !== jwtBearer || assertion === null) {
      throw new EntraError(
        401,
        'invalid_client',
        7000216,
        "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
      );
    }
    this.verifyAssertion(assertion, registered, publicAuthority);

    const accessToken = randomBytes(32).toString('base64url');
    this.tokens.set(accessToken, {
      tenantId: registered.app.tenantId,
      clientId: registered.app.clientId,
      resource: scope.slice(0, -'/.default'.length),
      permissions: new Set(registered.app.permissions ?? defaultAppPermissions),
      expiresAt: Date.now() + this.lifetimeSeconds * 1000,
    });
    return jsonResponse(
      200,
      {
        token_type: 'Bearer',
        expires_in: this.lifetimeSeconds,
        ext_expires_in: this.lifetimeSeconds,
        access_token: accessToken,
      },
      { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' },
    );
  }

  private verifyAssertion(assertion: string, registered: RegisteredApp, publicAuthority: string): void {
    const { app, certificate, thumbprintS256 } = registered;
    const parts = assertion.split('.');
    const [encodedHeader, encodedPayload, encodedSignature] = parts;
    const header = parts.length === 3 ? decodeJson(encodedHeader) : undefined;
    const payload = parts.length === 3 ? decodeJson(encodedPayload) : undefined;
    if (header === undefined || payload === undefined || encodedSignature === undefined) {
      throw new EntraError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
    }
    const presented = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : '';
    const keyFailure = (reason: string): EntraError =>
      new EntraError(
        401,
        'invalid_client',
        700027,
        `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - ${reason}, Thumbprint of key used by client: '${presented}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${app.clientId}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/${app.clientId}']`,
      );
    if (header['x5t#S256'] !== thumbprintS256) throw keyFailure('The key was not found.');
    if (new Date(certificate.validTo).getTime() < Date.now()) throw keyFailure('The key used is expired.');
    const signatureValid =
      header.alg === 'PS256' &&
      verify(
        'sha256',
        Buffer.from(`${encodedHeader}.${encodedPayload}`),
        { key: certificate.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        Buffer.from(encodedSignature, 'base64url'),
      );
    if (!signatureValid) {
      throw new EntraError(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
    }

    if (payload.iss !== app.clientId || payload.sub !== app.clientId) {
      throw new EntraError(
        401,
        'invalid_client',
        700021,
        "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
      );
    }
    const audiences = [app.tenantId, app.tenantDomain]
      .filter((t): t is string => t !== undefined)
      .map((t) => `${publicAuthority}/${t}/oauth2/v2.0/token`.toLowerCase());
    if (typeof payload.aud !== 'string' || !audiences.includes(payload.aud.toLowerCase())) {
      throw new EntraError(
        401,
        'invalid_client',
        50027,
        `JWT token is invalid or malformed. The assertion audience '${String(payload.aud)}' is not this tenant's token endpoint.`,
      );
    }
    const now = Date.now() / 1000;
    const nbf = typeof payload.nbf === 'number' ? payload.nbf : 0;
    const exp = typeof payload.exp === 'number' ? payload.exp : 0;
    if (now < nbf - clockSkewSeconds || now > exp + clockSkewSeconds) {
      throw new EntraError(
        401,
        'invalid_client',
        700024,
        `Client assertion is not within its valid time range. Current time: ${isoSeconds(now)}, assertion valid from ${isoSeconds(nbf)}, expiry time of assertion ${isoSeconds(exp)}. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .`,
      );
    }
  }
}

function required(form: URLSearchParams, name: string): string {
  const value = form.get(name);
  if (value === null || value === '') {
    throw new EntraError(
      400,
      'invalid_request',
      900144,
      `The request body must contain the following parameter: '${name}'.`,
    );
  }
  return value;
}

function decodeJson(part: string | undefined): Record<string, unknown> | undefined {
  if (part === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Entra's timestamps read `2024-05-01 10:11:12Z`. */
function entraTimestamp(): string {
  return new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

export function entraErrorBody(
  error: string,
  code: number,
  text: string,
  publicAuthority: string,
): Record<string, unknown> {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = entraTimestamp();
  return {
    error,
    error_description: `AADSTS${code}: ${text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `${publicAuthority}/error?code=${code}`,
  };
}

function entraErrorResponse(e: EntraError, publicAuthority: string): SandboxResponse {
  return jsonResponse(e.status, entraErrorBody(e.error, e.code, e.text, publicAuthority), {
    'Cache-Control': 'no-store, no-cache',
  });
}
