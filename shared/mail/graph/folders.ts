import { ClawbackError, isError } from '../../errors.js';
import type { CallOptions, MailItem } from '../../ports/mail.js';
import type { GraphClient, GraphPage } from './client.js';
import { folderLabel } from './locations.js';
import { childFolderQuery, userPath } from './odata.js';

export const recoverableItems = 'recoverableitemsdeletions';
const folderCacheMailboxes = 10_000;

interface FolderEntry {
  promise: Promise<string>;
  id: string | undefined;
}

interface FolderInfo {
  name: string;
  wellKnown: boolean;
}

/** What the backend knows about one mailbox's folders; filled as it goes, never invalidated. */
interface MailboxFolders {
  wellKnown: Map<string, FolderEntry>;
  /** How rows name a folder id: its well-known name, or its display name. */
  byId: Map<string, FolderInfo>;
  /** Folders Clawback finds or creates (quarantine folders), by `parentId/lower-case name`. */
  own: Map<string, FolderEntry>;
  /** Display-name lookups in flight, by folder id, so concurrent actions share one. */
  naming: Map<string, Promise<void>>;
}

/** Folder ids, names and labels per mailbox: well-known folders, Clawback's own folders, display names. */
export class GraphFolders {
  /** Folder knowledge per lower-case mailbox. */
  private readonly folders = new Map<string, MailboxFolders>();

  constructor(private readonly client: GraphClient) {}

  async wellKnownFolderId(mailbox: string, name: string, options: CallOptions | undefined): Promise<string> {
    const folders = this.foldersOf(mailbox);
    return this.cachedFolder(folders.wellKnown, name, async () => {
      const folder = await this.client.call<{ id: string }>(
        'folder lookup',
        mailbox,
        `${userPath(mailbox)}/mailFolders/${name}?$select=id`,
        options,
        (r) => r.get() as Promise<{ id: string }>,
      );
      folders.byId.set(folder.id, { name, wellKnown: true });
      return folder.id;
    });
  }

  /** One lookup per key at a time; a failed lookup is forgotten so the next call tries again. */
  private cachedFolder(
    cache: Map<string, FolderEntry>,
    key: string,
    lookup: () => Promise<string>,
  ): Promise<string> {
    const existing = cache.get(key);
    if (existing) return existing.promise;
    const entry: FolderEntry = {
      id: undefined,
      promise: lookup().then(
        (id) => {
          entry.id = id;
          return id;
        },
        (error: unknown) => {
          cache.delete(key);
          throw error;
        },
      ),
    };
    cache.set(key, entry);
    return entry.promise;
  }

  /**
   * A folder Clawback owns under `parent`, created on first use: creation is tried first, and Graph's
   * 409 ErrorFolderExists (another worker, an earlier run) sends it to look the folder up instead.
   */
  ownFolder(
    mailbox: string,
    parent: string,
    name: string,
    hidden: boolean,
    options: CallOptions | undefined,
  ): Promise<string> {
    const folders = this.foldersOf(mailbox);
    return this.cachedFolder(folders.own, `${parent}/${name.toLowerCase()}`, async () => {
      try {
        const created = await this.client.call<{ id: string }>(
          'folder creation',
          mailbox,
          `${userPath(mailbox)}/mailFolders/${encodeURIComponent(parent)}/childFolders`,
          options,
          (r) => r.post({ displayName: name, isHidden: hidden }) as Promise<{ id: string }>,
        );
        folders.byId.set(created.id, { name, wellKnown: false });
        return created.id;
      } catch (error) {
        if (graphCodeOf(error) !== 'ErrorFolderExists') throw error;
      }
      const found = await this.findChildFolder(mailbox, parent, name, options);
      if (found === undefined)
        throw new ClawbackError(
          'Unknown',
          `Graph says the folder "${name}" exists in ${mailbox} but does not list it; retrying later.`,
          { retryable: true },
        );
      return found;
    });
  }

  /** A folder Clawback owns, without creating it: undefined when it does not exist. */
  async existingOwnFolder(
    mailbox: string,
    parent: string,
    name: string,
    options: CallOptions | undefined,
  ): Promise<string | undefined> {
    const folders = this.foldersOf(mailbox);
    const key = `${parent}/${name.toLowerCase()}`;
    const cached = folders.own.get(key);
    if (cached) return cached.promise;
    const found = await this.findChildFolder(mailbox, parent, name, options);
    if (found !== undefined && !folders.own.has(key))
      folders.own.set(key, { id: found, promise: Promise.resolve(found) });
    return found;
  }

  private async findChildFolder(
    mailbox: string,
    parent: string,
    name: string,
    options: CallOptions | undefined,
  ): Promise<string | undefined> {
    const page = await this.client.call<GraphPage<{ id: string; displayName?: string }>>(
      'folder lookup',
      mailbox,
      `${userPath(mailbox)}/mailFolders/${encodeURIComponent(parent)}/childFolders?${childFolderQuery(name)}`,
      options,
      (r) => r.get() as Promise<GraphPage<{ id: string; displayName?: string }>>,
    );
    const folder = page.value?.find((f) => f.displayName?.toLowerCase() === name.toLowerCase());
    if (folder !== undefined) this.foldersOf(mailbox).byId.set(folder.id, { name, wellKnown: false });
    return folder?.id;
  }

  foldersOf(mailbox: string): MailboxFolders {
    const key = mailbox.toLowerCase();
    let folders = this.folders.get(key);
    if (!folders) {
      if (this.folders.size >= folderCacheMailboxes) {
        const oldest = this.folders.keys().next();
        if (!oldest.done) this.folders.delete(oldest.value);
      }
      folders = { wellKnown: new Map(), byId: new Map(), own: new Map(), naming: new Map() };
      this.folders.set(key, folders);
    }
    return folders;
  }

  /** Display names for folder ids not known yet; a folder that cannot be read stays nameless. */
  private async nameFolders(
    mailbox: string,
    folderIds: string[],
    options: CallOptions | undefined,
  ): Promise<void> {
    const folders = this.foldersOf(mailbox);
    const ids = [...new Set(folderIds)].filter((id) => !folders.byId.has(id));
    const unknown = ids.filter((id) => !folders.naming.has(id));
    const lookup = this.client
      .each('folder lookup', mailbox, unknown, options, (id) => ({
        method: 'GET',
        url: `${userPath(mailbox)}/mailFolders/${encodeURIComponent(id)}?$select=id,displayName`,
      }))
      .then((results) => {
        for (const [i, result] of results.entries()) {
          const id = unknown[i];
          const name = result.ok ? (result.body as { displayName?: string }).displayName : undefined;
          if (id !== undefined && name !== undefined && !folders.byId.has(id))
            folders.byId.set(id, { name, wellKnown: false });
        }
      });
    const shared = lookup.finally(() => {
      for (const id of unknown) folders.naming.delete(id);
    });
    for (const id of unknown) folders.naming.set(id, shared);
    await Promise.all([shared, ...ids.map((id) => folders.naming.get(id))]);
  }

  /** Looks up the display name of the copy's folder unless the backend knows it already. */
  async nameFolderOf(mailbox: string, item: MailItem, options: CallOptions | undefined): Promise<void> {
    const folders = this.foldersOf(mailbox);
    if (item.folderName === recoverableItems || folders.byId.has(item.folderId)) return;
    await this.nameFolders(mailbox, [item.folderId], options);
  }

  /**
   * The original folder as restore needs it: a well-known name where the backend addressed it as one,
   * else `Name (id)`, or the bare id when the folder could not be read.
   */
  folderLabelOf(mailbox: string, item: MailItem): string {
    const info = this.foldersOf(mailbox).byId.get(item.folderId);
    if (info === undefined) return item.folderName === recoverableItems ? recoverableItems : item.folderId;
    // The row shows the operator the name the search could not give.
    item.folderName ??= info.name;
    return folderLabel({ id: item.folderId, ...info });
  }
}

/** The Graph error code behind a translated error (e.g. ErrorFolderExists), when there was one. */
function graphCodeOf(error: unknown): string | undefined {
  const code = (isError(error) ? (error.cause as { code?: unknown } | undefined) : undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
