import { describe, expect, it } from 'vitest';

import {
  folderDestinations,
  folderLabel,
  formatQuarantineLocation,
  parseQuarantineLocation,
  type QuarantineLocation,
} from '../../../../shared/mail/graph/locations.js';

const folderId = 'AAMkAGI2AAEuAAAAAAAiQ8W967B7TKBjgx9rVEURAQAiIsqMbYjsT5e-T7KzowPTAAAAAAEMAAA=';

describe('recorded folders', () => {
  it('names a well-known folder by its name and any other by name and id', () => {
    expect(folderLabel({ id: folderId, name: 'inbox', wellKnown: true })).toBe('inbox');
    expect(folderLabel({ id: folderId, name: 'Invoices (2026)', wellKnown: false })).toBe(
      `Invoices (2026) (${folderId})`,
    );
  });

  it('reads back the destinations of every copy remediate joined into one column', () => {
    expect(folderDestinations(`inbox; Invoices (2026) (${folderId}); JunkEmail`)).toEqual([
      'inbox',
      folderId,
      'junkemail',
    ]);
  });

  it('takes a bare folder id as it is, and nothing as nothing', () => {
    expect(folderDestinations(folderId)).toEqual([folderId]);
    expect(folderDestinations(undefined)).toEqual([]);
    expect(folderDestinations('')).toEqual([]);
  });
});

describe('quarantine locations', () => {
  it.each<QuarantineLocation>([
    { kind: 'folder', folder: 'Clawback Quarantine' },
    {
      kind: 'mailbox',
      mailbox: 'soc@contoso.com',
      folder: 'Clawback Quarantine',
      child: 'alice@contoso.com',
    },
    { kind: 'mailbox', mailbox: 'soc@contoso.com', folder: 'Clawback Quarantine' },
    { kind: 'mailbox', mailbox: 'soc@contoso.com', folder: 'Q/2026', child: 'bob@contoso.com' },
  ])('round-trips %j', (location) => {
    expect(parseQuarantineLocation(formatQuarantineLocation(location), location.folder)).toEqual(location);
  });

  it('shows where the copy is in words an operator can follow', () => {
    expect(
      formatQuarantineLocation({
        kind: 'mailbox',
        mailbox: 'soc@contoso.com',
        folder: 'Clawback Quarantine',
        child: 'alice@contoso.com',
      }),
    ).toBe('mailbox:soc@contoso.com/Clawback Quarantine/alice@contoso.com');
  });

  it('falls back to the last path segment when the profile folder was renamed since', () => {
    expect(parseQuarantineLocation('mailbox:soc@contoso.com/Old name/alice@contoso.com', 'New name')).toEqual(
      {
        kind: 'mailbox',
        mailbox: 'soc@contoso.com',
        folder: 'Old name',
        child: 'alice@contoso.com',
      },
    );
  });

  it('ignores what it does not recognise', () => {
    expect(parseQuarantineLocation(undefined, 'Q')).toBeUndefined();
    expect(parseQuarantineLocation('somewhere', 'Q')).toBeUndefined();
  });
});
