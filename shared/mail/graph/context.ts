import type { GraphProfile } from '../../config/document.js';
import type { GraphClient, GraphMailBackendDeps } from './client.js';
import type { GraphFolders } from './folders.js';

/** What the backend's modules share: the profile, its dependencies, the request plumbing and the folder cache. */
export interface GraphContext {
  readonly profile: GraphProfile;
  readonly deps: GraphMailBackendDeps;
  readonly client: GraphClient;
  readonly folders: GraphFolders;
}
