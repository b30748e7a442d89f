import {
  errorMessage,
  extendedKey,
  folderFields,
  folderIdXml,
  itemFields,
  matches,
  mimeHeaders,
  paginate,
  requestedExtended,
  responses,
  success,
} from './soap.js';
import { EwsMailboxStore, RequestContext } from './state.js';
import { type FakeFolder } from './types.js';
import { child, childrenNamed, descendant, escapeXmlText as x, textOf, type XmlElement } from './xml.js';

/** The EWS operations the fake answers, each turning a SOAP request into its response messages. */
export abstract class EwsOperations extends EwsMailboxStore {
  // ---- operations --------------------------------------------------------------------------------

  protected readonly handlers: Record<string, (op: XmlElement, ctx: RequestContext) => string> = {
    FindFolder: (op, ctx) => {
      const deep = op.attrs.Traversal === 'Deep';
      const view = child(op, 'IndexedPageFolderView');
      const parents = child(op, 'ParentFolderIds')?.children ?? [];
      const restriction = child(op, 'Restriction')?.children[0];
      const messages = parents.map((ref) => {
        const parent = ctx.resolveFolder(ref);
        if (typeof parent === 'string') return errorMessage('FindFolder', parent);
        const all = this.subfolders(parent.id, deep).filter(
          (f) => !restriction || matches(restriction, folderFields(f)),
        );
        const { page, offset, last } = paginate(all, view);
        const folders = page.map(
          (f) =>
            `<t:Folder>${folderIdXml(f)}<t:FolderClass>${x(f.folderClass)}</t:FolderClass><t:DisplayName>${x(f.name)}</t:DisplayName><t:TotalCount>${this.itemsIn(f.id).length}</t:TotalCount><t:ChildFolderCount>${this.subfolders(f.id, false).length}</t:ChildFolderCount></t:Folder>`,
        );
        return success(
          'FindFolder',
          `<m:RootFolder IndexedPagingOffset="${offset}" TotalItemsInView="${all.length}" IncludesLastItemInRange="${last}"><t:Folders>${folders.join('')}</t:Folders></m:RootFolder>`,
        );
      });
      return responses('FindFolder', messages);
    },

    GetFolder: (op, ctx) => {
      const messages = (child(op, 'FolderIds')?.children ?? []).map((ref) => {
        const folder = ctx.resolveFolder(ref);
        if (typeof folder === 'string') return errorMessage('GetFolder', folder);
        return success(
          'GetFolder',
          `<m:Folders><t:Folder>${folderIdXml(folder)}<t:DisplayName>${x(folder.name)}</t:DisplayName></t:Folder></m:Folders>`,
        );
      });
      return responses('GetFolder', messages);
    },

    FindItem: (op, ctx) => {
      const view = child(op, 'IndexedPageItemView');
      const restriction = child(op, 'Restriction')?.children[0];
      const requested = requestedExtended(child(op, 'ItemShape'));
      const messages = (child(op, 'ParentFolderIds')?.children ?? []).map((ref) => {
        const folder = ctx.resolveFolder(ref);
        if (typeof folder === 'string') return errorMessage('FindItem', folder);
        const all = this.itemsIn(folder.id).filter(
          (i) => !restriction || matches(restriction, itemFields(i)),
        );
        const { page, offset, last } = paginate(all, view);
        return success(
          'FindItem',
          `<m:RootFolder IndexedPagingOffset="${offset}" TotalItemsInView="${all.length}" IncludesLastItemInRange="${last}"><t:Items>${page.map((i) => this.itemXml(i, requested, false)).join('')}</t:Items></m:RootFolder>`,
        );
      });
      return responses('FindItem', messages);
    },

    GetItem: (op, ctx) => {
      const shape = child(op, 'ItemShape');
      const withMime = childrenNamed(child(shape, 'AdditionalProperties'), 'FieldURI').some(
        (f) => f.attrs.FieldURI === 'item:MimeContent',
      );
      const requested = requestedExtended(shape);
      const messages = (child(op, 'ItemIds')?.children ?? []).map((ref) => {
        const item = ctx.resolveItem(ref);
        if (typeof item === 'string') return errorMessage('GetItem', item);
        return success('GetItem', `<m:Items>${this.itemXml(item, requested, withMime)}</m:Items>`);
      });
      return responses('GetItem', messages);
    },

    UpdateItem: (op, ctx) => {
      const messages = childrenNamed(child(op, 'ItemChanges'), 'ItemChange').map((change) => {
        const item = ctx.resolveItem(child(change, 'ItemId'));
        if (typeof item === 'string') return errorMessage('UpdateItem', item);
        for (const set of childrenNamed(child(change, 'Updates'), 'SetItemField')) {
          for (const property of childrenNamed(
            descendant(set, 'Message') ?? descendant(set, 'Item'),
            'ExtendedProperty',
          )) {
            item.extended.set(
              extendedKey(child(property, 'ExtendedFieldURI')),
              textOf(child(property, 'Value')),
            );
          }
        }
        for (const removal of childrenNamed(child(change, 'Updates'), 'DeleteItemField')) {
          item.extended.delete(extendedKey(child(removal, 'ExtendedFieldURI')));
        }
        return success(
          'UpdateItem',
          `<m:Items><t:Message><t:ItemId Id="${x(item.id)}" ChangeKey="CK${this.seq}"/></t:Message></m:Items><m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>`,
        );
      });
      return responses('UpdateItem', messages);
    },

    DeleteItem: (op, ctx) => {
      const mode = op.attrs.DeleteType ?? 'HardDelete';
      const messages = (child(op, 'ItemIds')?.children ?? []).map((ref) => {
        const item = ctx.resolveItem(ref);
        if (typeof item === 'string') return errorMessage('DeleteItem', item);
        if (mode === 'HardDelete') {
          item.purged = true;
          item.folderId = this.folderIdOf(item.mailbox, 'recoverableitemspurges');
        } else {
          const archived = mode === 'SoftDelete' && this.inArchive(item.folderId);
          this.relocate(
            item,
            this.folderIdOf(
              item.mailbox,
              archived
                ? 'archiverecoverableitemsdeletions'
                : mode === 'SoftDelete'
                  ? 'recoverableitemsdeletions'
                  : 'deleteditems',
            ),
          );
        }
        return success('DeleteItem', '');
      });
      return responses('DeleteItem', messages);
    },

    MoveItem: (op, ctx) => {
      const destination = ctx.resolveFolder(child(op, 'ToFolderId')?.children[0]);
      const messages = (child(op, 'ItemIds')?.children ?? []).map((ref) => {
        if (typeof destination === 'string')
          return errorMessage(
            'MoveItem',
            destination === 'ErrorFolderNotFound' ? 'ErrorToFolderNotFound' : destination,
          );
        const item = ctx.resolveItem(ref);
        if (typeof item === 'string') return errorMessage('MoveItem', item);
        const crossMailbox = item.mailbox !== destination.mailbox;
        const moved = this.relocate(item, destination.id);
        // EWS returns no id for a cross-mailbox move.
        return success(
          'MoveItem',
          crossMailbox
            ? '<m:Items/>'
            : `<m:Items><t:Message><t:ItemId Id="${x(moved.id)}" ChangeKey="CK1"/></t:Message></m:Items>`,
        );
      });
      return responses('MoveItem', messages);
    },

    CreateItem: (op, ctx) => {
      const messages = (child(op, 'Items')?.children ?? []).map((element) => {
        if (element.local === 'ForwardItem') {
          const reference = ctx.resolveItem(child(element, 'ReferenceItemId'));
          if (typeof reference === 'string') return errorMessage('CreateItem', reference);
          const to = childrenNamed(child(element, 'ToRecipients'), 'Mailbox').map((m) =>
            textOf(child(m, 'EmailAddress')),
          );
          this.sent.push({
            from: reference.mailbox,
            to,
            referenceItemId: reference.id,
            subject: `FW: ${reference.subject}`,
          });
          return success('CreateItem', '<m:Items/>');
        }
        const folder = ctx.resolveFolder(child(op, 'SavedItemFolderId')?.children[0]);
        if (typeof folder === 'string') return errorMessage('CreateItem', folder);
        const mime = Buffer.from(textOf(child(element, 'MimeContent')), 'base64').toString('utf8');
        const headers = mimeHeaders(mime);
        const id = this.newId('ITEM');
        const extended = new Map<string, string>();
        for (const property of childrenNamed(element, 'ExtendedProperty')) {
          extended.set(extendedKey(child(property, 'ExtendedFieldURI')), textOf(child(property, 'Value')));
        }
        this.items.set(id, {
          id,
          mailbox: folder.mailbox,
          folderId: folder.id,
          internetMessageId: headers.get('message-id') ?? '',
          subject: headers.get('subject') ?? '',
          sender: headers.get('from') ?? '',
          receivedAt: new Date().toISOString(),
          isRead: extended.get('tag:3591') === '1',
          mime,
          extended,
        });
        return success(
          'CreateItem',
          `<m:Items><t:Message><t:ItemId Id="${x(id)}" ChangeKey="CK1"/></t:Message></m:Items>`,
        );
      });
      return responses('CreateItem', messages);
    },

    CreateFolder: (op, ctx) => {
      const parent = ctx.resolveFolder(child(op, 'ParentFolderId')?.children[0]);
      const messages = childrenNamed(child(op, 'Folders'), 'Folder').map((element) => {
        if (typeof parent === 'string') return errorMessage('CreateFolder', parent);
        const name = textOf(child(element, 'DisplayName'));
        if (this.subfolders(parent.id, false).some((f) => f.name === name))
          return errorMessage('CreateFolder', 'ErrorFolderExists');
        const hidden = childrenNamed(element, 'ExtendedProperty').some(
          (p) =>
            extendedKey(child(p, 'ExtendedFieldURI')) === 'tag:4340' && textOf(child(p, 'Value')) === 'true',
        );
        const id = this.newId('FOLDER');
        const folder: FakeFolder = {
          id,
          mailbox: parent.mailbox,
          name,
          parentId: parent.id,
          folderClass: textOf(child(element, 'FolderClass')) || 'IPF.Note',
          hidden,
        };
        this.folders.set(id, folder);
        return success('CreateFolder', `<m:Folders><t:Folder>${folderIdXml(folder)}</t:Folder></m:Folders>`);
      });
      return responses('CreateFolder', messages);
    },

    ExpandDL: (op) => {
      const address = textOf(descendant(child(op, 'Mailbox'), 'EmailAddress')).toLowerCase();
      const members = this.lists.get(address);
      if (!members)
        return responses('ExpandDL', [
          errorMessage('ExpandDL', 'ErrorNameResolutionNoResults', 'No results are found.'),
        ]);
      const entries = members.map(
        (m) =>
          `<t:Mailbox><t:Name>${x(m.name)}</t:Name><t:EmailAddress>${x(m.address)}</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType><t:MailboxType>${m.type}</t:MailboxType></t:Mailbox>`,
      );
      return responses('ExpandDL', [
        success(
          'ExpandDL',
          `<m:DLExpansion TotalItemsInView="${members.length}" IncludesLastItemInRange="true">${entries.join('')}</m:DLExpansion>`,
        ),
      ]);
    },
  };

  /** @internal */
}
