import { jsonResponse, type SandboxResponse } from '../http.js';
import { type EntitySchema, evaluateFilter, parseFilter, parseSelect, validateFilter } from '../odata.js';
import {
  applySelect,
  collectionPage,
  type GraphCall,
  GraphError,
  itemNotFound,
  jsonBody,
  requirePermission,
} from './context.js';
import type { Folder, Mailbox } from './store.js';

const readPermissions = ['Mail.ReadBasic.All', 'Mail.ReadBasic', 'Mail.Read', 'Mail.ReadWrite'];

const folderSchema: EntitySchema<Folder> = {
  typeName: 'microsoft.graph.mailFolder',
  properties: {
    displayName: { type: 'Edm.String', get: (f) => f.displayName, ignoreCase: true },
    parentFolderId: { type: 'Edm.String', get: (f) => f.parentFolderId },
    isHidden: { type: 'Edm.Boolean', get: (f) => f.isHidden },
  },
};

const folderProperties = [
  'id',
  'displayName',
  'parentFolderId',
  'childFolderCount',
  'unreadItemCount',
  'totalItemCount',
  'sizeInBytes',
  'isHidden',
] as const;

/** The v1.0 mailFolder resource; `wellKnownName` exists only in beta, so it is not returned. */
function folderJson(mailbox: Mailbox, folder: Folder): Record<string, unknown> {
  const messages = mailbox.messagesIn(folder.id);
  return {
    id: folder.id,
    displayName: folder.displayName,
    parentFolderId: folder.parentFolderId,
    childFolderCount: mailbox.childFolders(folder.id).length,
    unreadItemCount: messages.filter((m) => !m.isRead).length,
    totalItemCount: messages.length,
    sizeInBytes: messages.length * 2048,
    isHidden: folder.isHidden,
  };
}

export function resolveFolderOrThrow(mailbox: Mailbox, idOrName: string): Folder {
  const folder = mailbox.resolveFolder(idOrName);
  if (folder === undefined) throw itemNotFound();
  return folder;
}

export function getFolder(call: GraphCall, mailbox: Mailbox, folder: Folder): SandboxResponse {
  requirePermission(call, readPermissions, 'mail');
  const select = parseSelect(
    call.request.url.searchParams.get('$select'),
    folderSchema.typeName,
    folderProperties,
  );
  return jsonResponse(200, applySelect(folderJson(mailbox, folder), select));
}

/** `mailFolders` lists the children of the message folder root; `childFolders` those of any folder. */
export function listChildFolders(call: GraphCall, mailbox: Mailbox, parent: Folder): SandboxResponse {
  requirePermission(call, readPermissions, 'mail');
  const params = call.request.url.searchParams;
  const includeHidden = params.get('includeHiddenFolders')?.toLowerCase() === 'true';
  const filterText = params.get('$filter');
  const filter = filterText === null ? undefined : parseFilter(filterText);
  if (filter !== undefined) validateFilter(filter, folderSchema);
  const select = parseSelect(params.get('$select'), folderSchema.typeName, folderProperties);
  const folders = mailbox
    .childFolders(parent.id)
    .filter((f) => includeHidden || !f.isHidden)
    .filter((f) => filter === undefined || evaluateFilter(filter, folderSchema, f));
  return collectionPage(call, folders, (f) => applySelect(folderJson(mailbox, f), select));
}

export function createFolder(call: GraphCall, mailbox: Mailbox, parent: Folder): SandboxResponse {
  requirePermission(call, ['Mail.ReadWrite'], 'mail');
  const body = jsonBody(call);
  const { displayName, isHidden } = body;
  if (typeof displayName !== 'string' || displayName.trim() === '') {
    throw new GraphError(400, 'ErrorInvalidParameter', "The parameter 'displayName' is missing or empty.");
  }
  if (isHidden !== undefined && typeof isHidden !== 'boolean') {
    throw new GraphError(
      400,
      'RequestBodyRead',
      "Cannot convert the literal to the expected type 'Edm.Boolean'.",
    );
  }
  const created = mailbox.createFolder(parent, displayName, isHidden === true);
  if (created === undefined) {
    throw new GraphError(409, 'ErrorFolderExists', 'A folder with the specified name already exists.');
  }
  return jsonResponse(201, folderJson(mailbox, created));
}
