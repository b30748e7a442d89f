import { createHash } from 'node:crypto';

import type { ExtendedPropertyDefinition, Item } from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';

import {
  forwardedProperty,
  importedFromProperty,
  internetMessageIdProperty,
  messageFlagsProperty,
  originalFolderProperty,
  readExtended,
  readProperty,
  sourceKey,
} from '../../../../shared/mail/ews/properties.js';

function itemWith(...props: [ExtendedPropertyDefinition, unknown][]): Item {
  const list = props.map(([PropertyDefinition, Value]) => ({ PropertyDefinition, Value }));
  return { ExtendedProperties: { GetEnumerator: () => list } } as unknown as Item;
}

describe('named extended properties', () => {
  it('carry their Clawback names', () => {
    expect(originalFolderProperty.Name).toBe('ClawbackOriginalFolderId');
    expect(importedFromProperty.Name).toBe('ClawbackImportedFrom');
    expect(forwardedProperty.Name).toBe('ClawbackForwarded');
  });

  it('are told apart from each other when read', () => {
    const item = itemWith([importedFromProperty, 'src'], [forwardedProperty, 'yes']);
    expect(readExtended(item, originalFolderProperty)).toBeUndefined();
    expect(readExtended(item, importedFromProperty)).toBe('src');
    expect(readExtended(item, forwardedProperty)).toBe('yes');
    const folderOnly = itemWith([originalFolderProperty, 'folder-1']);
    expect(readExtended(folderOnly, importedFromProperty)).toBeUndefined();
    expect(readExtended(folderOnly, forwardedProperty)).toBeUndefined();
    expect(readExtended(folderOnly, originalFolderProperty)).toBe('folder-1');
  });
});

describe('readExtended', () => {
  it('matches tagged properties by tag only', () => {
    const item = itemWith([messageFlagsProperty, 1], [importedFromProperty, 'src']);
    expect(readExtended(item, internetMessageIdProperty)).toBeUndefined();
    expect(readExtended(item, messageFlagsProperty)).toBe('1');
    const withId = itemWith([messageFlagsProperty, 1], [internetMessageIdProperty, '<m@x>']);
    expect(readExtended(withId, internetMessageIdProperty)).toBe('<m@x>');
  });

  it('skips a matching property without a value and keeps looking', () => {
    expect(
      readExtended(itemWith([internetMessageIdProperty, undefined]), internetMessageIdProperty),
    ).toBeUndefined();
    expect(
      readExtended(itemWith([internetMessageIdProperty, null]), internetMessageIdProperty),
    ).toBeUndefined();
    expect(readExtended(itemWith([forwardedProperty, null]), forwardedProperty)).toBeUndefined();
    expect(
      readExtended(itemWith([forwardedProperty, undefined], [forwardedProperty, 'later']), forwardedProperty),
    ).toBe('later');
    expect(
      readExtended(itemWith([forwardedProperty, null], [forwardedProperty, 'later']), forwardedProperty),
    ).toBe('later');
  });

  it('is undefined when the item has no extended properties loaded', () => {
    const item = {
      get ExtendedProperties(): never {
        throw new Error('not loaded');
      },
    } as unknown as Item;
    expect(readExtended(item, forwardedProperty)).toBeUndefined();
  });
});

describe('readProperty', () => {
  it('turns null and a throwing read into undefined', () => {
    expect(readProperty(() => null)).toBeUndefined();
    expect(
      readProperty(() => {
        throw new Error('not loaded');
      }),
    ).toBeUndefined();
    expect(readProperty(() => 0)).toBe(0);
  });
});

describe('sourceKey', () => {
  it('is the first 32 hex digits of the SHA-256 of the item id', () => {
    const full = createHash('sha256').update('AAMkAD=').digest('hex');
    expect(sourceKey('AAMkAD=')).toBe(full.slice(0, 32));
    expect(sourceKey('AAMkAD=')).toHaveLength(32);
  });
});
