import { createHash } from 'node:crypto';

import { ClawbackError } from '../../errors.js';
import type { ActionOptions, ActionOutcome, CallOptions } from '../../ports/mail.js';
import { type GraphMessage, messagePathOf } from './client.js';
import type { GraphContext } from './context.js';
import { messageIdFilter, messageSearchQuery, userPath } from './odata.js';
import { removing } from './outcomes.js';
import { searchAll } from './search.js';

/** Names the row whose forward (or quarantine copy) a message is. */
const remediationHeader = 'X-Clawback-Remediation';

/**
 * Forwards to the configured address only, once per row: the forward is a draft (createForward)
 * that gets the row's marker as its internetMessageId (a draft's id is writable) and carries it as
 * the `X-Clawback-Remediation` header, then is sent. Graph keeps the sent forward in the recipient's
 * Sent Items under that id, so an attempt that follows an interrupted one finds the forward (or its
 * unsent draft) instead of sending another. With `andDelete` the original then goes to Recoverable
 * Items, and a copy that vanished after the forward still counts as done.
 */
export async function forward(
  ctx: GraphContext,
  mailbox: string,
  originalFolder: string,
  messagePath: string,
  andDelete: boolean,
  options: ActionOptions | undefined,
): Promise<ActionOutcome> {
  const forwardTo = ctx.deps.forwardTo;
  if (!forwardTo)
    throw new ClawbackError(
      'ConfigurationError',
      'Forwarding needs forwardTo in the configuration document.',
    );
  const effect = options?.effect;
  const comment = `Forwarded by Clawback from ${mailbox} after a verdict change.`;
  let forwarded: ActionOutcome;
  if (effect === undefined) {
    const body = { comment, toRecipients: [{ emailAddress: { address: forwardTo } }] };
    forwarded = await removing(originalFolder, `forwarded to ${forwardTo}`, () =>
      ctx.client.call(
        'forward',
        mailbox,
        `${messagePath}/forward`,
        options,
        (request) => request.post(body) as Promise<unknown>,
      ),
    );
  } else {
    const marker = forwardMarker(effect.key);
    const earlier = effect.recovering ? await findForward(ctx, mailbox, marker, options) : undefined;
    if (earlier?.isDraft === false) {
      forwarded = {
        status: 'succeeded',
        originalFolder,
        detail: `forwarded to ${forwardTo} by an earlier attempt (${marker} is in Sent Items)`,
      };
    } else {
      forwarded = await removing(originalFolder, `forwarded to ${forwardTo} as ${marker}`, async () => {
        const draft =
          earlier ??
          (await createMarkedForward(
            ctx,
            mailbox,
            messagePath,
            forwardTo,
            comment,
            effect.key,
            marker,
            options,
          ));
        await ctx.client.call(
          'forward send',
          mailbox,
          `${messagePathOf(mailbox, draft.id)}/send`,
          options,
          (request) => request.post(null) as Promise<unknown>,
        );
      });
    }
  }
  if (forwarded.status !== 'succeeded' || !andDelete) return forwarded;
  await removing(originalFolder, '', () =>
    ctx.client.call(
      'delete',
      mailbox,
      messagePath,
      options,
      (request) => request.delete() as Promise<unknown>,
    ),
  );
  return {
    status: 'succeeded',
    originalFolder,
    detail: `${forwarded.detail ?? `forwarded to ${forwardTo}`} and deleted (Recoverable Items)`,
  };
}

/** The row's forward, sent (Sent Items) or still a draft, if an earlier attempt made it. */
async function findForward(
  ctx: GraphContext,
  mailbox: string,
  marker: string,
  options: CallOptions | undefined,
): Promise<GraphMessage | undefined> {
  const [found = []] = await searchAll(
    ctx,
    mailbox,
    [
      `${userPath(mailbox)}/messages?${messageSearchQuery(messageIdFilter(marker), 'id,internetMessageId,parentFolderId,isDraft')}`,
    ],
    options,
  );
  return found.find((m) => m.isDraft === false) ?? found.find((m) => m.isDraft === true);
}

async function createMarkedForward(
  ctx: GraphContext,
  mailbox: string,
  messagePath: string,
  forwardTo: string,
  comment: string,
  key: string,
  marker: string,
  options: CallOptions | undefined,
): Promise<GraphMessage> {
  const draft = await ctx.client.call<GraphMessage>(
    'forward draft',
    mailbox,
    `${messagePath}/createForward`,
    options,
    (request) =>
      request.post({
        comment,
        toRecipients: [{ emailAddress: { address: forwardTo } }],
        message: { internetMessageHeaders: [{ name: remediationHeader, value: key }] },
      }) as Promise<GraphMessage>,
  );
  await ctx.client.call(
    'forward draft update',
    mailbox,
    messagePathOf(mailbox, draft.id),
    options,
    (request) => request.patch({ internetMessageId: marker }) as Promise<unknown>,
  );
  return draft;
}

/**
 * The internetMessageId a row's forward goes out with: derived from the row, so any attempt can
 * search for it, and unique per row, so it never names another message.
 */
export function forwardMarker(key: string): string {
  return `<clawback.${createHash('sha256').update(key).digest('hex').slice(0, 40)}@clawback.invalid>`;
}
