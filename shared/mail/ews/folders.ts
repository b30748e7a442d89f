import {
  BasePropertySet,
  Folder,
  FolderId,
  FolderSchema,
  FolderTraversal,
  FolderView,
  PropertySet,
  SearchFilter,
  WellKnownFolderName,
} from 'ews-javascript-api';

import { isClawbackError } from '../../errors.js';
import type { CallOptions } from '../../ports/mail.js';
import type { EwsClient, Session } from './client.js';
import { responseCodeOf } from './errors.js';
import { hiddenProperty, readProperty } from './properties.js';
import { escapeXml } from './xml.js';

export interface FolderTarget {
  id: FolderId;
  uniqueId?: string | undefined;
  name: string;
}

export const pageSize = 200;

/** Folder listing, lookup and creation; quarantine folder ids are cached per mailbox and path. */
export class EwsFolders {
  /** Quarantine folder ids per mailbox and path, created once. */
  private readonly folderCache = new Map<string, string>();

  constructor(private readonly client: EwsClient) {}

  /** Drops a cached folder id an administrator deleted, so the next use finds or creates it again. */
  forget(mailbox: string, path: string[]): void {
    this.folderCache.delete(`${mailbox}|${path.join('/')}`);
  }

  async listFolders(
    session: Session,
    root: FolderId,
    prefix: string,
    options?: CallOptions,
  ): Promise<FolderTarget[]> {
    const folders: FolderTarget[] = [];
    for (let offset = 0; ;) {
      const view = new FolderView(pageSize, offset);
      view.Traversal = FolderTraversal.Deep;
      view.PropertySet = new PropertySet(BasePropertySet.IdOnly, [
        FolderSchema.DisplayName,
        FolderSchema.FolderClass,
      ]);
      const page = await this.client.call(
        session,
        { operation: 'FindFolder' },
        () => session.svc.FindFolders(root, view),
        options,
      );
      for (const folder of page.Folders) {
        const folderClass = readProperty(() => folder.FolderClass);
        // Calendars, contacts and tasks cannot hold a delivered message; skipping them saves requests.
        if (folderClass && !folderClass.startsWith('IPF.Note')) continue;
        folders.push({
          id: new FolderId(folder.Id.UniqueId),
          uniqueId: folder.Id.UniqueId,
          name: prefix + (readProperty(() => folder.DisplayName) ?? ''),
        });
      }
      if (!page.MoreAvailable || page.Folders.length === 0) return folders;
      offset = page.NextPageOffset ?? offset + page.Folders.length;
    }
  }

  /**
   * The folders a search covers. A restore (`dumpsters`) always looks in Recoverable Items, the
   * archive's included, since that is where a soft-deleted copy waits to be put back.
   */
  async mailboxFolders(
    session: Session,
    options?: CallOptions,
    dumpsters = this.client.profile.searchRecoverableItems,
  ): Promise<FolderTarget[]> {
    const { client } = this;
    const targets = await this.listFolders(
      session,
      client.wellKnownFolder(session, WellKnownFolderName.MsgFolderRoot),
      '',
      options,
    );
    if (dumpsters) {
      targets.push({
        id: client.wellKnownFolder(session, WellKnownFolderName.RecoverableItemsDeletions),
        name: 'Recoverable Items\\Deletions',
      });
    }
    if (client.profile.searchArchive) {
      try {
        targets.push(
          ...(await this.listFolders(
            session,
            client.wellKnownFolder(session, WellKnownFolderName.ArchiveMsgFolderRoot),
            'Archive\\',
            options,
          )),
        );
        if (dumpsters)
          targets.push({
            id: client.wellKnownFolder(session, WellKnownFolderName.ArchiveRecoverableItemsDeletions),
            name: 'Archive\\Recoverable Items\\Deletions',
          });
      } catch (error) {
        // A mailbox without an In-Place Archive answers ErrorFolderNotFound: nothing more to search.
        if (!(isClawbackError(error) && responseCodeOf(error) === 'ErrorFolderNotFound')) throw error;
      }
    }
    return targets;
  }

  quarantinePath(recipient: string): string[] {
    const { profile } = this.client;
    return profile.folderPerRecipient ? [profile.quarantineFolder, recipient] : [profile.quarantineFolder];
  }

  async findChildFolder(
    session: Session,
    parent: FolderId,
    name: string,
    options?: CallOptions,
  ): Promise<string | undefined> {
    const view = new FolderView(10);
    view.Traversal = FolderTraversal.Shallow;
    view.PropertySet = new PropertySet(BasePropertySet.IdOnly, [FolderSchema.DisplayName]);
    const filter = new SearchFilter.IsEqualTo(FolderSchema.DisplayName, escapeXml(name));
    const page = await this.client.call(
      session,
      { operation: 'FindFolder' },
      () => session.svc.FindFolders(parent, filter, view),
      options,
    );
    return page.Folders[0]?.Id.UniqueId;
  }

  async findFolderPath(session: Session, path: string[], options?: CallOptions): Promise<string | undefined> {
    let parent = this.client.wellKnownFolder(session, WellKnownFolderName.MsgFolderRoot);
    let id: string | undefined;
    for (const name of path) {
      id = await this.findChildFolder(session, parent, name, options);
      if (!id) return undefined;
      parent = new FolderId(escapeXml(id));
    }
    return id;
  }

  /** Finds or creates the folder path under MsgFolderRoot of the session's mailbox; cached per process. */
  async ensureFolderPath(
    session: Session,
    path: string[],
    hidden: boolean,
    options?: CallOptions,
  ): Promise<string> {
    const key = `${session.mailbox ?? ''}|${path.join('/')}`;
    const cached = this.folderCache.get(key);
    if (cached) return cached;
    let parent = this.client.wellKnownFolder(session, WellKnownFolderName.MsgFolderRoot);
    let id = '';
    for (const name of path) {
      id =
        (await this.findChildFolder(session, parent, name, options)) ??
        (await this.createFolder(session, parent, name, hidden, options));
      parent = new FolderId(escapeXml(id));
    }
    this.folderCache.set(key, id);
    return id;
  }

  private async createFolder(
    session: Session,
    parent: FolderId,
    name: string,
    hidden: boolean,
    options?: CallOptions,
  ): Promise<string> {
    const folder = new Folder(session.svc);
    folder.DisplayName = escapeXml(name);
    folder.FolderClass = 'IPF.Note';
    if (hidden) folder.SetExtendedProperty(hiddenProperty, true);
    try {
      await this.client.call(session, { operation: 'CreateFolder' }, () => folder.Save(parent), options);
      return folder.Id.UniqueId;
    } catch (error) {
      // Another worker created it first.
      if (isClawbackError(error) && responseCodeOf(error) === 'ErrorFolderExists') {
        const existing = await this.findChildFolder(session, parent, name, options);
        if (existing) return existing;
      }
      throw error;
    }
  }
}
