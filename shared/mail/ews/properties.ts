import { createHash } from 'node:crypto';

import {
  DefaultExtendedPropertySet,
  ExtendedPropertyDefinition,
  type Item,
  MapiPropertyType,
} from 'ews-javascript-api';

/** PR_INTERNET_MESSAGE_ID. */
export const internetMessageIdProperty = new ExtendedPropertyDefinition(0x1035, MapiPropertyType.String);
/** PR_MESSAGE_FLAGS: 1 (read, not unsent) so an imported MIME copy does not show as a draft. */
export const messageFlagsProperty = new ExtendedPropertyDefinition(0x0e07, MapiPropertyType.Integer);
/** PR_ATTR_HIDDEN: the quarantine folder in a recipient's mailbox is not shown by mail clients. */
export const hiddenProperty = new ExtendedPropertyDefinition(0x10f4, MapiPropertyType.Boolean);
/** Travels with a moved item so `restore` knows where it came from (the port passes only the item). */
export const originalFolderProperty = new ExtendedPropertyDefinition(
  DefaultExtendedPropertySet.PublicStrings,
  'ClawbackOriginalFolderId',
  MapiPropertyType.String,
);
/**
 * Names the copy an import came from (a hash of its item id): one quarantine copy per original copy,
 * one restored copy per quarantine copy, and a retry finds the import instead of making another.
 */
export const importedFromProperty = new ExtendedPropertyDefinition(
  DefaultExtendedPropertySet.PublicStrings,
  'ClawbackImportedFrom',
  MapiPropertyType.String,
);
/** Set before a forward is sent, so a redelivered message never forwards twice. */
export const forwardedProperty = new ExtendedPropertyDefinition(
  DefaultExtendedPropertySet.PublicStrings,
  'ClawbackForwarded',
  MapiPropertyType.String,
);

/** Items found in the central quarantine mailbox carry this prefix in their `MailItem.id`. */
export const quarantineIdPrefix = 'quarantine-mailbox:';

export function sourceKey(itemId: string): string {
  return createHash('sha256').update(itemId).digest('hex').slice(0, 32);
}

/** Reads a property the library throws on when the server did not return it. */
export function readProperty<T>(read: () => T): T | undefined {
  try {
    const value = read();
    return value === null ? undefined : value;
  } catch {
    return undefined;
  }
}

export function readExtended(item: Item, definition: ExtendedPropertyDefinition): string | undefined {
  const properties = readProperty(() => item.ExtendedProperties.GetEnumerator()) ?? [];
  for (const property of properties) {
    const d = property.PropertyDefinition;
    const same = definition.Name ? d.Name === definition.Name : d.Tag === definition.Tag;
    if (same && property.Value !== undefined && property.Value !== null)
      return String(property.Value as string);
  }
  return undefined;
}
