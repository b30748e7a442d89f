import type { HttpClient } from '@azure/core-rest-pipeline';

import type { SandboxTenant } from '../../local/sandbox/index.js';
import type { GraphProfile } from '../../shared/config/document.js';
import {
  createGraphMailBackend,
  type GraphMailBackend,
  type GraphMailBackendDeps,
} from '../../shared/mail/graph/graphMailBackend.js';
import { ProfileMother } from '../mothers/profileMother.js';
import { pemSecrets } from './identity.js';

/** The sandbox app a Graph backend signs in as: its ids, its certificate and the identity client. */
export interface SandboxGraphApp {
  tenantId: string;
  clientId: string;
  pemBundle: string;
  identityHttpClient: HttpClient;
}

/**
 * The real Graph backend for the sandbox tenant, as the Graph module tests build it: a parsed profile
 * with the sandbox's endpoints and `overrides`, certificate secrets, a 15 s timeout and one attempt
 * unless `deps` says otherwise.
 */
export function sandboxGraphBackend(
  tenant: SandboxTenant,
  app: SandboxGraphApp,
  overrides: Partial<GraphProfile> = {},
  deps: Partial<GraphMailBackendDeps> = {},
): GraphMailBackend {
  return createGraphMailBackend(
    ProfileMother.sandboxGraph(app, ProfileMother.sandboxEndpoints(tenant), overrides),
    {
      secrets: pemSecrets(app.pemBundle),
      identityHttpClient: app.identityHttpClient,
      timeoutSeconds: 15,
      maxAttempts: 1,
      ...deps,
    },
  );
}

/** A folder of a sandbox mailbox by its well-known name, else its display name, else its id. */
export function folderNameIn(tenant: SandboxTenant, mailbox: string, folderId: string): string {
  const folder = tenant.mailbox(mailbox).folders.find((f) => f.id === folderId);
  return folder?.wellKnownName ?? folder?.displayName ?? folderId;
}
