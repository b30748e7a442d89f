import { randomUUID } from 'node:crypto';

import { emptyResponse, jsonResponse, type SandboxResponse } from '../http.js';
import {
  type EntitySchema,
  evaluateFilter,
  firstProperty,
  parseFilter,
  parseOrderBy,
  parseSelect,
  validateFilter,
} from '../odata.js';
import { listAttachments } from './attachments.js';
import {
  applySelect,
  collectionPage,
  type GraphCall,
  GraphError,
  itemNotFound,
  jsonBody,
  requirePermission,
} from './context.js';
import { createForward, forwardMessage, recipientAddresses, sendDraft } from './messageForwards.js';
import { addressOf, decodeStrictBase64, generateMime, parseMimeHeaders } from './mime.js';
import { type Folder, type Mailbox, type Message, purgesWellKnownName } from './store.js';

const readPermissions = ['Mail.ReadBasic.All', 'Mail.ReadBasic', 'Mail.Read', 'Mail.ReadWrite'];
const writePermissions = ['Mail.ReadWrite'];

const messageSchema: EntitySchema<Message> = {
  typeName: 'microsoft.graph.message',
  properties: {
    // Case-sensitivity of this comparison in Exchange is not documented; exact match is the stricter guess.
    internetMessageId: { type: 'Edm.String', get: (m) => m.internetMessageId },
    subject: { type: 'Edm.String', get: (m) => m.subject, ignoreCase: true },
    'from/emailAddress/address': { type: 'Edm.String', get: (m) => m.from, ignoreCase: true },
    'sender/emailAddress/address': { type: 'Edm.String', get: (m) => m.from, ignoreCase: true },
    receivedDateTime: { type: 'Edm.DateTimeOffset', get: (m) => m.receivedDateTime },
    sentDateTime: { type: 'Edm.DateTimeOffset', get: (m) => m.receivedDateTime },
    lastModifiedDateTime: { type: 'Edm.DateTimeOffset', get: (m) => m.lastModifiedDateTime },
    isRead: { type: 'Edm.Boolean', get: (m) => m.isRead },
    isDraft: { type: 'Edm.Boolean', get: (m) => m.isDraft },
    parentFolderId: { type: 'Edm.String', get: (m) => m.folderId },
  },
};

const messageProperties = [
  'id',
  'createdDateTime',
  'lastModifiedDateTime',
  'changeKey',
  'categories',
  'receivedDateTime',
  'sentDateTime',
  'hasAttachments',
  'internetMessageId',
  'subject',
  'bodyPreview',
  'importance',
  'parentFolderId',
  'conversationId',
  'isDeliveryReceiptRequested',
  'isReadReceiptRequested',
  'isRead',
  'isDraft',
  'inferenceClassification',
  'body',
  'sender',
  'from',
  'toRecipients',
  'ccRecipients',
  'bccRecipients',
  'replyTo',
  'flag',
  'internetMessageHeaders',
] as const;

function recipient(address: string): { emailAddress: { name: string; address: string } } {
  return { emailAddress: { name: address, address } };
}

export function messageJson(
  message: Message,
  immutableIds: boolean,
  select?: readonly string[],
): Record<string, unknown> {
  return {
    // Graph returns the headers only when they are selected.
    ...(select?.includes('internetMessageHeaders')
      ? { internetMessageHeaders: [...message.headers, ...(message.internetMessageHeaders ?? [])] }
      : {}),
    '@odata.etag': `W/"${Buffer.from(message.lastModifiedDateTime).toString('base64')}"`,
    id: immutableIds ? message.immutableId : message.id,
    createdDateTime: message.receivedDateTime,
    lastModifiedDateTime: message.lastModifiedDateTime,
    changeKey: Buffer.from(message.lastModifiedDateTime).toString('base64'),
    categories: message.categories,
    receivedDateTime: message.receivedDateTime,
    sentDateTime: message.receivedDateTime,
    hasAttachments: message.attachments.length + message.itemAttachments.length > 0,
    internetMessageId: message.internetMessageId,
    subject: message.subject,
    bodyPreview: `This is the sandbox copy of "${message.subject}".`,
    importance: 'normal',
    parentFolderId: message.folderId,
    conversationId: message.immutableId.slice(0, 40),
    isDeliveryReceiptRequested: false,
    isReadReceiptRequested: false,
    isRead: message.isRead,
    isDraft: message.isDraft,
    inferenceClassification: 'focused',
    body: { contentType: 'text', content: `This is the sandbox copy of "${message.subject}".` },
    sender: recipient(message.from),
    from: recipient(message.from),
    toRecipients: message.toRecipients.map(recipient),
    ccRecipients: message.ccRecipients.map(recipient),
    bccRecipients: message.bccRecipients.map(recipient),
    replyTo: [],
    flag: { flagStatus: message.flagStatus },
  };
}

export function listMessages(call: GraphCall, mailbox: Mailbox, folder: Folder | undefined): SandboxResponse {
  requirePermission(call, readPermissions, 'mail');
  const params = call.request.url.searchParams;
  const filterText = params.get('$filter');
  const filter = filterText === null ? undefined : parseFilter(filterText);
  if (filter !== undefined) validateFilter(filter, messageSchema);
  const select = parseSelect(params.get('$select'), messageSchema.typeName, messageProperties);
  const orderBy = parseOrderBy(params.get('$orderby'));
  if (orderBy !== undefined) {
    if (!['receivedDateTime', 'subject', 'lastModifiedDateTime'].includes(orderBy.property)) {
      throw new GraphError(400, 'BadRequest', `The sandbox cannot order messages by '${orderBy.property}'.`);
    }
    if (filter !== undefined && firstProperty(filter).toLowerCase() !== orderBy.property.toLowerCase()) {
      throw new GraphError(
        400,
        'InefficientFilter',
        'The restriction or sort order is too complex for this operation.',
      );
    }
  }
  const sortKey = orderBy?.property ?? 'receivedDateTime';
  const descending = orderBy?.descending ?? true;
  const items = (folder === undefined ? mailbox.searchableMessages() : mailbox.messagesIn(folder.id))
    .filter((m) => filter === undefined || evaluateFilter(filter, messageSchema, m))
    .sort((a, b) => {
      const left =
        sortKey === 'subject'
          ? a.subject
          : sortKey === 'receivedDateTime'
            ? a.receivedDateTime
            : a.lastModifiedDateTime;
      const right =
        sortKey === 'subject'
          ? b.subject
          : sortKey === 'receivedDateTime'
            ? b.receivedDateTime
            : b.lastModifiedDateTime;
      const order = left < right ? -1 : left > right ? 1 : a.immutableId < b.immutableId ? -1 : 1;
      return descending ? -order : order;
    });
  return collectionPage(call, items, (m) => applySelect(messageJson(m, call.immutableIds, select), select));
}

/** A message by REST or immutable id; a purged one is gone, as Graph sees it. */
export function findOrThrow(mailbox: Mailbox, id: string): Message {
  const message = mailbox.findMessage(id);
  if (message === undefined || mailbox.folder(message.folderId)?.wellKnownName === purgesWellKnownName) {
    throw itemNotFound();
  }
  return message;
}

function destinationOf(call: GraphCall, mailbox: Mailbox): Folder {
  const destinationId = jsonBody(call).destinationId;
  if (typeof destinationId !== 'string' || destinationId === '') {
    throw new GraphError(400, 'ErrorInvalidParameter', "The parameter 'destinationId' is missing or empty.");
  }
  const destination = mailbox.resolveFolder(destinationId);
  if (destination === undefined) throw itemNotFound();
  return destination;
}

/** Routes `/users/{u}/messages/{id}[/action]`. */
export function messageItem(
  call: GraphCall,
  mailbox: Mailbox,
  id: string,
  action: string | undefined,
): SandboxResponse {
  const method = call.request.method;
  const message = findOrThrow(mailbox, id);
  const asJson = (m: Message, status = 200): SandboxResponse =>
    jsonResponse(status, messageJson(m, call.immutableIds));
  switch (`${method} ${action?.toLowerCase() ?? ''}`) {
    case 'GET ': {
      requirePermission(call, readPermissions, 'mail');
      const select = parseSelect(
        call.request.url.searchParams.get('$select'),
        messageSchema.typeName,
        messageProperties,
      );
      return jsonResponse(200, applySelect(messageJson(message, call.immutableIds, select), select));
    }
    case 'GET attachments':
      return listAttachments(call, message);
    case 'GET $value':
      requirePermission(call, ['Mail.Read', 'Mail.ReadWrite'], 'mail');
      return {
        status: 200,
        headers: { 'Content-Type': 'message/rfc822' },
        text: message.mime ?? generateMime(message),
      };
    case 'PATCH ':
      requirePermission(call, writePermissions, 'mail');
      return asJson(updateMessage(call, message));
    case 'DELETE ': {
      requirePermission(call, writePermissions, 'mail');
      const deletions = mailbox.wellKnownFolder('recoverableitemsdeletions');
      if (message.folderId === deletions.id) {
        throw new GraphError(403, 'ErrorCannotDeleteObject', 'Object cannot be deleted.');
      }
      mailbox.moveMessage(message, deletions);
      return emptyResponse(204);
    }
    case 'POST permanentdelete':
      requirePermission(call, writePermissions, 'mail');
      mailbox.moveMessage(message, mailbox.wellKnownFolder(purgesWellKnownName));
      return emptyResponse(204);
    case 'POST move':
      requirePermission(call, writePermissions, 'mail');
      return asJson(mailbox.moveMessage(message, destinationOf(call, mailbox)), 201);
    case 'POST copy': {
      requirePermission(call, writePermissions, 'mail');
      const destination = destinationOf(call, mailbox);
      return asJson(mailbox.copyMessage(message, destination), 201);
    }
    case 'POST forward':
      requirePermission(call, ['Mail.Send'], 'mail');
      forwardMessage(call, mailbox, message);
      return emptyResponse(202);
    case 'POST createforward':
      requirePermission(call, writePermissions, 'mail');
      return asJson(createForward(call, mailbox, message), 201);
    case 'POST send':
      requirePermission(call, ['Mail.Send'], 'mail');
      sendDraft(call, mailbox, message);
      return emptyResponse(202);
    default:
      throw new GraphError(
        405,
        'ErrorInvalidRequest',
        `The OData request is not supported: ${method} on messages${action === undefined ? '' : `/${action}`}.`,
      );
  }
}

function updateMessage(call: GraphCall, message: Message): Message {
  const body = jsonBody(call);
  for (const [key, value] of Object.entries(body)) {
    if (key === 'isRead' && typeof value === 'boolean') message.isRead = value;
    else if (key === 'categories' && Array.isArray(value)) message.categories = value.map(String);
    else if (key === 'flag' && typeof value === 'object' && value !== null) {
      const { flagStatus } = value as { flagStatus?: unknown };
      message.flagStatus = typeof flagStatus === 'string' ? flagStatus : 'notFlagged';
    } else if ((key === 'subject' || key === 'internetMessageId') && typeof value === 'string') {
      if (!message.isDraft) {
        throw new GraphError(
          400,
          'ErrorInvalidPropertyUpdateSentMessage',
          'Update operation is not supported for this property on a sent message.',
        );
      }
      message[key] = value;
    } else if (!messageProperties.includes(key as (typeof messageProperties)[number])) {
      throw new GraphError(
        400,
        'RequestBodyRead',
        `The property '${key}' does not exist on type 'microsoft.graph.message'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
      );
    }
  }
  message.lastModifiedDateTime = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  return message;
}

/** `POST /users/{u}/messages`: JSON creates a draft; `text/plain` base64 MIME imports one (always a draft). */
export function createMessage(
  call: GraphCall,
  mailbox: Mailbox,
  folder: Folder | undefined,
): SandboxResponse {
  requirePermission(call, writePermissions, 'mail');
  const contentType = call.request.headers['content-type']?.toLowerCase() ?? '';
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const target = folder ?? mailbox.wellKnownFolder('drafts');
  if (contentType.startsWith('text/plain')) {
    if (folder !== undefined) {
      throw new GraphError(
        400,
        'ErrorInvalidRequest',
        'MIME content can be created only through /users/{id}/messages.',
      );
    }
    const mime = decodeStrictBase64(call.request.body.toString('utf8'));
    if (mime === undefined) {
      throw new GraphError(
        400,
        'ErrorMimeContentInvalidBase64String',
        'Invalid base64 string for MIME content.',
      );
    }
    const headers = parseMimeHeaders(mime);
    const created = mailbox.addMessage(
      {
        internetMessageId: headers.get('message-id') ?? `<sandbox-${randomUUID()}@sandbox.test>`,
        subject: headers.get('subject') ?? '',
        from: addressOf(headers.get('from')) ?? mailbox.address,
        receivedDateTime: now,
        isRead: true,
        mime,
      },
      { isDraft: true, folderId: target.id },
    );
    return jsonResponse(201, messageJson(created, call.immutableIds));
  }
  const body = jsonBody(call);
  const created = mailbox.addMessage(
    {
      internetMessageId:
        typeof body.internetMessageId === 'string'
          ? body.internetMessageId
          : `<sandbox-${randomUUID()}@sandbox.test>`,
      subject: typeof body.subject === 'string' ? body.subject : '',
      from: mailbox.address,
      receivedDateTime: now,
      isRead: true,
    },
    { isDraft: true, folderId: target.id, toRecipients: recipientAddresses(body.toRecipients) ?? [] },
  );
  return jsonResponse(201, messageJson(created, call.immutableIds));
}
