import {
  AffectedTaskOccurrence,
  BasePropertySet,
  ConflictResolutionMode,
  DeleteMode,
  EmailMessage,
  type FolderId,
  ItemId,
  ItemSchema,
  type PropertyDefinitionBase,
  PropertySet,
  SendCancellationsMode,
  ServiceError,
  ServiceResult,
} from 'ews-javascript-api';

import { isClawbackError } from '../../errors.js';
import type { ActionOutcome, CallOptions, MailItem } from '../../ports/mail.js';
import type { EwsClient, Session } from './client.js';
import { backOffFromDetails, EwsResponseError } from './errors.js';
import { originalFolderProperty, readExtended, readProperty } from './properties.js';
import { escapeXml } from './xml.js';

/** Moves or deletes one item; `gone` when it was no longer there. */
export type ItemOp = (id: ItemId) => Promise<'done' | 'gone'>;

export const folderGoneCodes = new Set(['ErrorFolderNotFound', 'ErrorToFolderNotFound']);

export const alreadyGone = (originalFolder?: string): ActionOutcome => ({
  status: 'alreadyRemediated',
  originalFolder,
  detail: 'The copy was no longer where it was found.',
});

/** Item-level requests: bind, move and delete, and the stamped relocation every moving action uses. */
export class EwsItems {
  constructor(private readonly client: EwsClient) {}

  async bind(
    session: Session,
    itemId: string,
    properties: PropertyDefinitionBase[],
    options?: CallOptions,
  ): Promise<EmailMessage | undefined> {
    try {
      return await this.client.call(
        session,
        { operation: 'GetItem' },
        () =>
          EmailMessage.Bind(
            session.svc,
            new ItemId(escapeXml(itemId)),
            new PropertySet(BasePropertySet.IdOnly, properties),
          ),
        options,
      );
    } catch (error) {
      if (isClawbackError(error) && error.code === 'MessageNotFound') return undefined;
      throw error;
    }
  }

  /** Runs a multi-item operation (DeleteItem, MoveItem) and raises its one per-item error. */
  async single(
    session: Session,
    operation: string,
    run: () => Promise<{
      Responses: {
        Result: ServiceResult;
        ErrorCode: ServiceError;
        ErrorMessage: string;
        ErrorDetails: unknown;
      }[];
    }>,
    options?: CallOptions,
  ): Promise<'done' | 'gone'> {
    const result = await this.client
      .call(
        session,
        { operation },
        async () => {
          const responses = await run();
          const response = responses.Responses[0];
          if (response && response.Result === ServiceResult.Error) {
            throw new EwsResponseError(
              ServiceError[response.ErrorCode],
              response.ErrorMessage,
              backOffFromDetails(response.ErrorDetails),
            );
          }
          return 'done' as const;
        },
        options,
      )
      .catch((error: unknown) => {
        if (isClawbackError(error) && error.code === 'MessageNotFound') return 'gone' as const;
        throw error;
      });
    return result;
  }

  /** Moves (or deletes with a moving DeleteType) a copy, stamping its original folder first. */
  async relocate(
    session: Session,
    item: MailItem,
    destination: { folderId: string; location: string },
    move: ItemOp,
    options?: CallOptions,
  ): Promise<ActionOutcome> {
    const message = await this.bind(
      session,
      item.id,
      [ItemSchema.ParentFolderId, originalFolderProperty],
      options,
    );
    if (!message) return alreadyGone(item.folderId);
    const current = readProperty(() => message.ParentFolderId.UniqueId) ?? item.folderId;
    const stamped = readExtended(message, originalFolderProperty);
    const originalFolder = stamped ?? current;
    if (current === destination.folderId) {
      return {
        status: 'alreadyRemediated',
        originalFolder,
        quarantineLocation: destination.location,
        detail: `Already in ${destination.location}.`,
      };
    }
    if (!stamped) {
      message.SetExtendedProperty(originalFolderProperty, escapeXml(current));
      await this.client.call(
        session,
        { operation: 'UpdateItem' },
        () => message.Update(ConflictResolutionMode.AlwaysOverwrite),
        options,
      );
    }
    if ((await move(new ItemId(escapeXml(item.id)))) === 'gone') return alreadyGone(originalFolder);
    return { status: 'succeeded', originalFolder, quarantineLocation: destination.location };
  }

  deleteOp(session: Session, mode: DeleteMode, options?: CallOptions): ItemOp {
    return (id: ItemId) =>
      this.single(
        session,
        `DeleteItem (${DeleteMode[mode]})`,
        () =>
          session.svc.DeleteItems(
            [id],
            mode,
            SendCancellationsMode.SendToNone,
            AffectedTaskOccurrence.AllOccurrences,
          ),
        options,
      );
  }

  moveOp(session: Session, destination: FolderId, options?: CallOptions): ItemOp {
    return (id: ItemId) =>
      this.single(session, 'MoveItem', () => session.svc.MoveItems([id], destination), options);
  }
}
