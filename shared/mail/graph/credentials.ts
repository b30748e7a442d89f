import type { AccessToken } from '@azure/core-auth';
import { createPipelineRequest, type HttpClient } from '@azure/core-rest-pipeline';
import { ClientCertificateCredential } from '@azure/identity';

import type { GraphProfile } from '../../config/document.js';
import { ClawbackError, ensureError } from '../../errors.js';
import { raceAbort } from '../../secrets/abort.js';
import type { LoadedCertificate } from '../../secrets/certificate.js';
import { type GraphEndpoints, graphScope, isPublicAuthority, resolveGraphEndpoints } from './endpoints.js';
import { translateGraphError } from './errors.js';

export {
  cloudEndpoints,
  type GraphCloud,
  type GraphEndpoints,
  graphScope,
  isPublicAuthority,
  resolveGraphEndpoints,
} from './endpoints.js';

/** Issues Graph access tokens for one app registration and certificate. */
export interface GraphTokenProvider {
  getToken(signal?: AbortSignal): Promise<string>;
}

export interface GraphTokenProviderOptions {
  profile: Pick<GraphProfile, 'name' | 'tenantId' | 'clientId' | 'cloud' | 'authorityHost' | 'graphEndpoint'>;
  certificate: LoadedCertificate;
  timeoutSeconds: number;
  /** Reaches a fake or sandbox token endpoint in tests and local runs; production leaves it unset. */
  identityHttpClient?: HttpClient | undefined;
}

/** Refresh this long before expiry, so a token never expires between being attached and being checked. */
const refreshMarginMs = 5 * 60 * 1000;
const defaultClientKey = {};
const providers = new WeakMap<object, Map<string, CachingTokenProvider>>();

/**
 * One provider per (authority, tenant, app, certificate thumbprint) per process: a renewed certificate
 * gets a new credential, and N recipients of one profile cost one token request.
 */
export function getGraphTokenProvider(options: GraphTokenProviderOptions): GraphTokenProvider {
  const endpoints = resolveGraphEndpoints(options.profile);
  const key = [
    endpoints.authorityHost,
    options.profile.tenantId.toLowerCase(),
    options.profile.clientId.toLowerCase(),
    options.certificate.thumbprintSha256,
    endpoints.graphEndpoint,
  ].join('|');
  const clientKey = options.identityHttpClient ?? defaultClientKey;
  let byKey = providers.get(clientKey);
  if (!byKey) {
    byKey = new Map();
    providers.set(clientKey, byKey);
  }
  let provider = byKey.get(key);
  if (!provider) {
    provider = new CachingTokenProvider(options, endpoints);
    byKey.set(key, provider);
  }
  return provider;
}

class CachingTokenProvider implements GraphTokenProvider {
  private readonly credential: ClientCertificateCredential;
  private readonly scope: string;
  private current: AccessToken | undefined;
  private pending: Promise<AccessToken> | undefined;

  constructor(
    private readonly options: GraphTokenProviderOptions,
    private readonly endpoints: GraphEndpoints,
  ) {
    this.scope = graphScope(endpoints.graphEndpoint);
    try {
      this.credential = new ClientCertificateCredential(
        options.profile.tenantId,
        options.profile.clientId,
        { certificate: options.certificate.pem },
        {
          authorityHost: endpoints.authorityHost,
          disableInstanceDiscovery: !isPublicAuthority(endpoints.authorityHost),
          sendCertificateChain: false,
          ...(options.identityHttpClient ? { httpClient: options.identityHttpClient } : {}),
        },
      );
    } catch (error) {
      throw new ClawbackError(
        'ConfigurationError',
        `Profile "${options.profile.name}" cannot authenticate with authority ${endpoints.authorityHost}: ${ensureError(error).message}`,
        { cause: error },
      );
    }
  }

  async getToken(signal?: AbortSignal): Promise<string> {
    const now = Date.now();
    const current = this.current;
    if (current && now < (current.refreshAfterTimestamp ?? current.expiresOnTimestamp - refreshMarginMs))
      return current.token;
    this.pending ??= this.acquire().finally(() => {
      this.pending = undefined;
    });
    try {
      return (await raceAbort(this.pending, signal)).token;
    } catch (error) {
      throw translateGraphError(error, this.errorContext());
    }
  }

  private async acquire(): Promise<AccessToken> {
    const seconds = this.options.timeoutSeconds;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ClawbackError(
              'ConnectionError',
              `Entra ID (${this.endpoints.authorityHost}) did not issue a token within ${seconds} s.`,
              { retryable: true },
            ),
          ),
        seconds * 1000,
      );
    });
    try {
      const token = await Promise.race([this.credential.getToken(this.scope), timeout]);
      this.current = token;
      return token;
    } catch (error) {
      throw await this.explain(error);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * MSAL reports any failure to read the tenant's OpenID configuration as an opaque
   * `endpoints_resolution_error`, hiding Entra's AADSTS90002 (unknown tenant). Asking for the document
   * once more tells a wrong tenant or cloud apart from an unreachable authority.
   */
  private async explain(error: unknown): Promise<unknown> {
    const message = ensureError(error).message;
    if (!/endpoints_resolution_error|openid_config_error/i.test(message)) return error;
    const url = `${this.endpoints.authorityHost}/${encodeURIComponent(this.options.profile.tenantId)}/v2.0/.well-known/openid-configuration`;
    let probe: { status: number; body: string };
    try {
      probe = await this.fetchText(url);
    } catch (probeError) {
      return probeError;
    }
    const entra = parseEntraError(probe.body);
    if (probe.status >= 400 && entra?.error_description)
      return Object.assign(new Error(entra.error_description), {
        name: 'AuthenticationError',
        statusCode: probe.status,
        errorResponse: {
          error: entra.error ?? '',
          errorDescription: entra.error_description,
          errorCodes: entra.error_codes,
        },
      });
    return error;
  }

  private async fetchText(url: string): Promise<{ status: number; body: string }> {
    const client = this.options.identityHttpClient;
    const timeout = AbortSignal.timeout(this.options.timeoutSeconds * 1000);
    if (!client) {
      const response = await fetch(url, { signal: timeout });
      return { status: response.status, body: await response.text() };
    }
    const response = await client.sendRequest(
      createPipelineRequest({ url, method: 'GET', abortSignal: timeout }),
    );
    return { status: response.status, body: response.bodyAsText ?? '' };
  }

  private errorContext() {
    return {
      operation: 'token request',
      tenantId: this.options.profile.tenantId,
      clientId: this.options.profile.clientId,
      authorityHost: this.endpoints.authorityHost,
      certificateThumbprint: this.options.certificate.thumbprintSha1,
    };
  }
}

function parseEntraError(
  body: string,
): { error?: string; error_description?: string; error_codes?: number[] } | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}
