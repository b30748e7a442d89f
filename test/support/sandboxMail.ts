import type { SandboxTenant } from '../../local/sandbox/index.js';

/**
 * Where the visible copies of a message lie in a sandbox mailbox: well-known folder names, display
 * names otherwise, sorted.
 */
export function folderNamesOf(tenant: SandboxTenant, mailbox: string, internetMessageId: string): string[] {
  const state = tenant.mailbox(mailbox);
  return state.messages
    .filter((m) => m.internetMessageId === internetMessageId)
    .map((m) => {
      const folder = state.folders.find((f) => f.id === m.folderId);
      return folder?.wellKnownName ?? folder?.displayName ?? m.folderId;
    })
    .sort();
}
