import { describe, expect, it } from 'vitest';

import { childFolderQuery, groupByMailQuery } from '../../../../shared/mail/graph/odata.js';

/** What Graph reads from the query string: every parameter decoded, in order. */
const decoded = (query: string) => [...new URLSearchParams(query).entries()];

describe('child folder query', () => {
  it('asks for the child folders of that display name, hidden ones included, with id, name and isHidden', () => {
    const query = childFolderQuery("Clawback Quarantine (O'Neil+1)");
    expect(decoded(query)).toEqual([
      ['$filter', "displayName eq 'Clawback Quarantine (O''Neil+1)'"],
      ['includeHiddenFolders', 'true'],
      ['$select', 'id,displayName,isHidden'],
    ]);
    expect(query).toBe(
      '$filter=displayName%20eq%20%27Clawback%20Quarantine%20%28O%27%27Neil%2B1%29%27&includeHiddenFolders=true&$select=id,displayName,isHidden',
    );
  });
});

describe('group by mail query', () => {
  it('asks for the group whose mail is that address, with id, name and mail', () => {
    const query = groupByMailQuery("o'brien+sales@contoso.com");
    expect(decoded(query)).toEqual([
      ['$filter', "mail eq 'o''brien+sales@contoso.com'"],
      ['$select', 'id,displayName,mail'],
    ]);
    expect(query).toBe(
      '$filter=mail%20eq%20%27o%27%27brien%2Bsales%40contoso.com%27&$select=id,displayName,mail',
    );
  });
});
