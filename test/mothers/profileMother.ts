import type { z } from 'zod';

import {
  type EwsProfile,
  ewsProfileSchema,
  type GraphProfile,
  graphProfileSchema,
} from '../../shared/config/document.js';

/** A profile as an administrator writes it in the configuration document (before defaults apply). */
export type GraphProfileInput = z.input<typeof graphProfileSchema>;
export type EwsProfileInput = z.input<typeof ewsProfileSchema>;
export interface ChainInput {
  name: string;
  profiles: string[];
}

/** The Contoso app registration every Graph profile of the tests uses unless a test is about it. */
export const contosoClientId = '4f1b2f43-5a0c-4d6e-8f5e-0c1ab2c3d4e5';

/**
 * Connection profiles of the configuration document (SPEC §4): Contoso's Exchange Online tenant, its
 * on-premises Exchange Server, and the hybrid chain of both. Each test overrides only what it is about;
 * `parsed*` gives the `Profile` the app sees, defaults applied.
 */
export const ProfileMother = {
  graph(overrides: Partial<GraphProfileInput> = {}): GraphProfileInput {
    return {
      name: 'contoso-online',
      type: 'graph',
      tenantId: 'contoso.onmicrosoft.com',
      clientId: contosoClientId,
      certificate: { keyVaultSecret: 'contoso-graph-cert' },
      ...overrides,
    };
  },

  ews(overrides: Partial<EwsProfileInput> = {}): EwsProfileInput {
    return {
      name: 'contoso-onprem',
      type: 'ews',
      ewsUrl: 'https://mail.contoso.com/EWS/Exchange.asmx',
      username: 'CONTOSO\\svc-clawback',
      password: { keyVaultSecret: 'contoso-ews-password' },
      ...overrides,
    };
  },

  /** A chain tries its profiles in order: by default Exchange Online first, then on-premises. */
  chain(name = 'hybrid', profiles: string[] = ['contoso-online', 'contoso-onprem']): ChainInput {
    return { name, profiles: [...profiles] };
  },

  /** Where a Graph profile finds a sandbox tenant (`startSandboxTenant`): its token and Graph endpoints. */
  sandboxEndpoints(tenant: { publicAuthorityHost: string; graphEndpoint: string }): {
    authorityHost: string;
    graphEndpoint: string;
  } {
    return { authorityHost: tenant.publicAuthorityHost, graphEndpoint: tenant.graphEndpoint };
  },

  parsedGraph(overrides: Partial<GraphProfileInput> = {}): GraphProfile {
    return graphProfileSchema.parse(ProfileMother.graph(overrides));
  },

  /**
   * The parsed Graph profile of a sandbox app registration: its ids, a certificate from the secret
   * `graph-cert`, the endpoints given (usually {@link ProfileMother.sandboxEndpoints}) and `overrides`.
   */
  sandboxGraph(
    app: { tenantId: string; clientId: string },
    endpoints: { authorityHost: string; graphEndpoint: string },
    overrides: Partial<GraphProfileInput> = {},
  ): GraphProfile {
    return ProfileMother.parsedGraph({
      name: 'sandbox',
      tenantId: app.tenantId,
      clientId: app.clientId,
      certificate: { keyVaultSecret: 'graph-cert' },
      ...endpoints,
      ...overrides,
    });
  },

  parsedEws(overrides: Partial<EwsProfileInput> = {}): EwsProfile {
    return ewsProfileSchema.parse(ProfileMother.ews(overrides));
  },
};
