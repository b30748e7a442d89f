import { jsonResponse, type SandboxResponse } from '../http.js';
import { type GraphCall, GraphError, itemNotFound, requirePermission } from './context.js';
import type { Message } from './store.js';

const readPermissions = ['Mail.Read', 'Mail.ReadWrite'];

type Attachment =
  | { kind: 'file'; id: string; name: string; contentBase64: string }
  | { kind: 'item'; id: string; name: string; mime: string };

/** File attachments first, then item attachments, each with an id stable for the message. */
function attachmentsOf(message: Message): Attachment[] {
  return [
    ...message.attachments.map((a, i): Attachment => ({
      kind: 'file',
      id: `${message.immutableId}-att${i}`,
      ...a,
    })),
    ...message.itemAttachments.map((a, i): Attachment => ({
      kind: 'item',
      id: `${message.immutableId}-item${i}`,
      ...a,
    })),
  ];
}

/**
 * As Graph lists them: a fileAttachment carries its bytes in `contentBytes`; an itemAttachment (an
 * attached message) has no content here, `contentType` null — its MIME is read with `$value`.
 */
function attachmentJson(message: Message, attachment: Attachment): Record<string, unknown> {
  const common = {
    id: attachment.id,
    lastModifiedDateTime: message.lastModifiedDateTime,
    name: attachment.name,
    isInline: false,
  };
  return attachment.kind === 'file'
    ? {
        '@odata.type': '#microsoft.graph.fileAttachment',
        ...common,
        contentType: 'application/octet-stream',
        size: Buffer.from(attachment.contentBase64, 'base64').length,
        contentId: null,
        contentLocation: null,
        contentBytes: attachment.contentBase64,
      }
    : {
        '@odata.type': '#microsoft.graph.itemAttachment',
        ...common,
        contentType: null,
        size: Buffer.byteLength(attachment.mime, 'utf8'),
      };
}

/** `GET /users/{u}/messages/{id}/attachments`. */
export function listAttachments(call: GraphCall, message: Message): SandboxResponse {
  requirePermission(call, readPermissions, 'mail');
  return jsonResponse(200, { value: attachmentsOf(message).map((a) => attachmentJson(message, a)) });
}

/**
 * `GET /users/{u}/messages/{id}/attachments/{aid}[/$value]`: the attachment, or the raw contents of an
 * item attachment (an attached message's MIME, as the message's own `$value` is served).
 */
export function attachmentItem(
  call: GraphCall,
  message: Message,
  attachmentId: string,
  action: string | undefined,
): SandboxResponse {
  const method = call.request.method;
  if (method !== 'GET')
    throw new GraphError(
      405,
      'ErrorInvalidRequest',
      `The OData request is not supported: ${method} on attachments.`,
    );
  requirePermission(call, readPermissions, 'mail');
  const attachment = attachmentsOf(message).find((a) => a.id === attachmentId);
  if (attachment === undefined) throw itemNotFound();
  if (action === undefined) return jsonResponse(200, attachmentJson(message, attachment));
  if (action.toLowerCase() !== '$value')
    throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${action}'.`);
  if (attachment.kind !== 'item')
    throw new GraphError(400, 'BadRequest', 'The sandbox serves $value of item attachments only.');
  return { status: 200, headers: { 'Content-Type': 'message/rfc822' }, text: attachment.mime };
}
