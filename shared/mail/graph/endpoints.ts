import type { GraphProfile } from '../../config/document.js';

/*
 * Cloud endpoints, apart from the credential code: modules that only need to know where a profile's
 * Graph and authority live (test connection, the Defender connector) load no identity SDK for it.
 */

export type GraphCloud = GraphProfile['cloud'];

export interface GraphEndpoints {
  /** Entra ID authority host, without trailing slash. */
  authorityHost: string;
  /** Graph root without version or trailing slash, e.g. `https://graph.microsoft.com`. */
  graphEndpoint: string;
}

/** National cloud endpoints (learn.microsoft.com/graph/deployments); tokens are not interchangeable between them. */
export const cloudEndpoints: Readonly<Record<GraphCloud, GraphEndpoints>> = {
  global: {
    authorityHost: 'https://login.microsoftonline.com',
    graphEndpoint: 'https://graph.microsoft.com',
  },
  usgov: { authorityHost: 'https://login.microsoftonline.us', graphEndpoint: 'https://graph.microsoft.us' },
  usgovdod: {
    authorityHost: 'https://login.microsoftonline.us',
    graphEndpoint: 'https://dod-graph.microsoft.us',
  },
  china: {
    authorityHost: 'https://login.chinacloudapi.cn',
    graphEndpoint: 'https://microsoftgraph.chinacloudapi.cn',
  },
};

/** Authorities MSAL knows; any other host (a sovereign proxy, the sandbox) must skip instance discovery. */
const publicAuthorityHosts = new Set([
  'login.microsoftonline.com',
  'login.microsoft.com',
  'login.windows.net',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
]);

export function resolveGraphEndpoints(
  profile: Pick<GraphProfile, 'cloud' | 'authorityHost' | 'graphEndpoint'>,
): GraphEndpoints {
  const preset = cloudEndpoints[profile.cloud];
  return {
    authorityHost: trimSlash(profile.authorityHost ?? preset.authorityHost),
    graphEndpoint: trimSlash(profile.graphEndpoint ?? preset.graphEndpoint),
  };
}

export function isPublicAuthority(authorityHost: string): boolean {
  return publicAuthorityHosts.has(new URL(authorityHost).hostname.toLowerCase());
}

export function graphScope(graphEndpoint: string): string {
  return `${trimSlash(graphEndpoint)}/.default`;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
