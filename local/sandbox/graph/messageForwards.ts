import { randomUUID } from 'node:crypto';

import { type GraphCall, GraphError, jsonBody } from './context.js';
import type { Mailbox, Message } from './store.js';

export function recipientAddresses(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.map((r: unknown) => {
    const address = (r as { emailAddress?: { address?: unknown } } | null)?.emailAddress?.address;
    if (typeof address !== 'string' || !address.includes('@')) {
      throw new GraphError(400, 'ErrorInvalidRecipients', 'At least one recipient is not valid.');
    }
    return address;
  });
}

interface ForwardParams {
  to: string[];
  comment?: string;
  headers?: { name: string; value: string }[];
}

/** The parameters forward and createForward share, with Graph's rules on what may be combined. */
function forwardParams(call: GraphCall, recipientsRequired: boolean): ForwardParams {
  const body = jsonBody(call);
  const draft =
    typeof body.message === 'object' && body.message !== null
      ? (body.message as Record<string, unknown>)
      : undefined;
  if (typeof body.comment === 'string' && draft?.body !== undefined) {
    throw new GraphError(
      400,
      'ErrorInvalidRequest',
      'Specify either a comment or the body property of the message parameter, not both.',
    );
  }
  const direct = recipientAddresses(body.toRecipients);
  const nested = recipientAddresses(draft?.toRecipients);
  const to = direct ?? nested ?? [];
  if ((direct !== undefined && nested !== undefined) || (recipientsRequired && to.length === 0)) {
    throw new GraphError(
      400,
      'ErrorInvalidRecipients',
      'At least one recipient is required, but none were found.',
    );
  }
  const headers = draft?.internetMessageHeaders;
  if (headers !== undefined && !isHeaderList(headers))
    throw new GraphError(
      400,
      'ErrorInvalidInternetMessageHeader',
      'internetMessageHeaders must be name/value pairs.',
    );
  if (headers?.some((h) => !/^x-/i.test(h.name)))
    throw new GraphError(
      400,
      'InvalidInternetMessageHeader',
      'The internet message header name should start with x- or X-.',
    );
  return {
    to,
    ...(typeof body.comment === 'string' ? { comment: body.comment } : {}),
    ...(headers === undefined ? {} : { headers }),
  };
}

function isHeaderList(value: unknown): value is { name: string; value: string }[] {
  return (
    Array.isArray(value) &&
    value.every(
      (h: unknown) =>
        typeof (h as { name?: unknown } | null)?.name === 'string' &&
        typeof (h as { value?: unknown } | null)?.value === 'string',
    )
  );
}

export function forwardMessage(call: GraphCall, mailbox: Mailbox, message: Message): void {
  const { to, comment } = forwardParams(call, true);
  call.state.forwards.push({
    mailbox: mailbox.address,
    messageId: message.id,
    internetMessageId: message.internetMessageId,
    to,
    ...(comment === undefined ? {} : { comment }),
  });
  const forwardedId = `<sandbox-${randomUUID()}@${mailbox.address.split('@')[1] ?? 'sandbox.test'}>`;
  // Exchange threads a forward on the original: its id goes into References and In-Reply-To.
  const copy = {
    internetMessageId: forwardedId,
    subject: `FW: ${message.subject}`,
    from: mailbox.address,
    internetMessageHeaders: [
      { name: 'References', value: message.internetMessageId },
      { name: 'In-Reply-To', value: message.internetMessageId },
    ],
    attachments: message.attachments,
    itemAttachments: message.itemAttachments,
  };
  mailbox.addMessage({ ...copy, folder: 'sentitems', isRead: true }, { toRecipients: to });
  for (const address of to) {
    call.state.directory.user(address)?.addMessage({ ...copy, folder: 'inbox' }, { toRecipients: to });
  }
}

/** `createForward`: a draft in Drafts that forwards the message once it is sent. */
export function createForward(call: GraphCall, mailbox: Mailbox, message: Message): Message {
  const { to, comment, headers } = forwardParams(call, false);
  return mailbox.addMessage(
    {
      internetMessageId: `<sandbox-${randomUUID()}@${mailbox.address.split('@')[1] ?? 'sandbox.test'}>`,
      subject: `FW: ${message.subject}`,
      from: mailbox.address,
      isRead: true,
      folder: 'drafts',
    },
    {
      isDraft: true,
      toRecipients: to,
      forwardOf: {
        messageId: message.id,
        internetMessageId: message.internetMessageId,
        ...(comment === undefined ? {} : { comment }),
      },
      ...(headers === undefined ? {} : { internetMessageHeaders: headers }),
    },
  );
}

/**
 * `send` on a draft: it leaves Drafts for Sent Items (a new id, so sending the old id again is a
 * 404) and reaches its recipients with its own internetMessageId.
 */
export function sendDraft(call: GraphCall, mailbox: Mailbox, draft: Message): void {
  if (!draft.isDraft) throw new GraphError(400, 'ErrorInvalidRequest', 'Only a draft message can be sent.');
  if (draft.toRecipients.length === 0)
    throw new GraphError(
      400,
      'ErrorInvalidRecipients',
      'At least one recipient is required, but none were found.',
    );
  if (draft.forwardOf)
    call.state.forwards.push({
      mailbox: mailbox.address,
      messageId: draft.forwardOf.messageId,
      internetMessageId: draft.forwardOf.internetMessageId,
      to: [...draft.toRecipients],
      ...(draft.forwardOf.comment === undefined ? {} : { comment: draft.forwardOf.comment }),
      sentInternetMessageId: draft.internetMessageId,
      ...(draft.internetMessageHeaders === undefined
        ? {}
        : { headers: draft.internetMessageHeaders.map((h) => ({ ...h })) }),
    });
  draft.isDraft = false;
  mailbox.moveMessage(draft, mailbox.wellKnownFolder('sentitems'));
  // Custom headers set when the draft was created go out with it, as Exchange sends them.
  const copy = {
    internetMessageId: draft.internetMessageId,
    subject: draft.subject,
    from: mailbox.address,
    ...(draft.internetMessageHeaders === undefined
      ? {}
      : { internetMessageHeaders: draft.internetMessageHeaders.map((h) => ({ ...h })) }),
  };
  for (const address of draft.toRecipients)
    call.state.directory
      .user(address)
      ?.addMessage({ ...copy, folder: 'inbox' }, { toRecipients: [...draft.toRecipients] });
}
