/**
 * How a Graph remediation records where a copy was and where it went, so that `restore` can read it
 * back from the row: well-known folders by name (they exist in every mailbox, in every locale), other
 * folders as `Display name (folder id)` — readable for the operator, exact for the restore.
 */

/** Well-known folder names Graph accepts in place of a folder id. */
export const wellKnownFolders: ReadonlySet<string> = new Set([
  'archive',
  'clutter',
  'conflicts',
  'conversationhistory',
  'deleteditems',
  'drafts',
  'inbox',
  'junkemail',
  'localfailures',
  'msgfolderroot',
  'outbox',
  'recoverableitemsdeletions',
  'scheduled',
  'searchfolders',
  'sentitems',
  'serverfailures',
  'syncissues',
]);

/** Separator `remediate` uses when it joins the folders of several copies into one column. */
const listSeparator = '; ';

export function folderLabel(folder: { id: string; name: string; wellKnown: boolean }): string {
  return folder.wellKnown ? folder.name : `${folder.name} (${folder.id})`;
}

/**
 * The `destinationId`s an `originalFolder` column names, in order: a well-known name, the id inside
 * `Name (id)`, or the value itself (an id recorded bare).
 */
export function folderDestinations(originalFolder: string | undefined): string[] {
  if (originalFolder === undefined) return [];
  return originalFolder
    .split(listSeparator)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const lower = entry.toLowerCase();
      if (wellKnownFolders.has(lower)) return lower;
      return /\(([^()\s]+)\)$/.exec(entry)?.[1] ?? entry;
    });
}

export type QuarantineLocation =
  /** The hidden folder of that name under the recipient's message folder root. */
  | { kind: 'folder'; folder: string }
  /** A folder (and per-recipient child folder) of the central quarantine mailbox. */
  | { kind: 'mailbox'; mailbox: string; folder: string; child?: string | undefined };

export function formatQuarantineLocation(location: QuarantineLocation): string {
  if (location.kind === 'folder') return `folder:${location.folder}`;
  return `mailbox:${location.mailbox}/${location.folder}${location.child === undefined ? '' : `/${location.child}`}`;
}

/**
 * Reads a recorded quarantine location back. `topFolder` (the profile's quarantineFolder) tells where
 * the folder name ends when it contains a `/` itself.
 */
export function parseQuarantineLocation(
  value: string | undefined,
  topFolder: string,
): QuarantineLocation | undefined {
  const location = value?.split(listSeparator)[0]?.trim();
  if (!location) return undefined;
  if (location.startsWith('folder:')) return { kind: 'folder', folder: location.slice('folder:'.length) };
  if (!location.startsWith('mailbox:')) return undefined;
  const rest = location.slice('mailbox:'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const mailbox = rest.slice(0, slash);
  const path = rest.slice(slash + 1);
  if (path === topFolder) return { kind: 'mailbox', mailbox, folder: path };
  if (path.startsWith(`${topFolder}/`))
    return { kind: 'mailbox', mailbox, folder: topFolder, child: path.slice(topFolder.length + 1) };
  const last = path.lastIndexOf('/');
  if (last <= 0) return { kind: 'mailbox', mailbox, folder: path };
  return { kind: 'mailbox', mailbox, folder: path.slice(0, last), child: path.slice(last + 1) };
}
