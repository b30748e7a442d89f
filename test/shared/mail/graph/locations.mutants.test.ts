import { describe, expect, it } from 'vitest';

import {
  folderDestinations,
  parseQuarantineLocation,
  wellKnownFolders,
} from '../../../../shared/mail/graph/locations.js';

const folderId = 'AAMkAGI2AAEuAAAAAAAiQ8W967B7TKBjgx9rVEURAQAiIsqMbYjsT5e-T7KzowPTAAAAAAEMAAA=';

const wellKnown = [
  'Archive',
  'Clutter',
  'Conflicts',
  'ConversationHistory',
  'DeletedItems',
  'Drafts',
  'Inbox',
  'JunkEmail',
  'LocalFailures',
  'MsgFolderRoot',
  'Outbox',
  'RecoverableItemsDeletions',
  'Scheduled',
  'SearchFolders',
  'SentItems',
  'ServerFailures',
  'SyncIssues',
];

describe('well-known folders in a recorded column', () => {
  it('knows every well-known name Graph accepts in place of a folder id', () => {
    expect([...wellKnownFolders].sort()).toEqual(wellKnown.map((name) => name.toLowerCase()).sort());
  });

  it.each(wellKnown)('restores to %s by its well-known name, whatever its case', (name) => {
    expect(folderDestinations(name)).toEqual([name.toLowerCase()]);
  });

  it('reads entries with stray spaces around them', () => {
    expect(folderDestinations(`  Inbox ;  Invoices (${folderId})  ;  `)).toEqual(['inbox', folderId]);
  });

  it('takes a name in parentheses that holds a space as it is: folder ids hold none', () => {
    expect(folderDestinations('Team (North region)')).toEqual(['Team (North region)']);
  });
});

describe('recorded quarantine locations', () => {
  const soc = 'soc@contoso.com';

  it('reads a location with spaces around it', () => {
    expect(parseQuarantineLocation('  folder:Clawback Quarantine  ', 'Clawback Quarantine')).toEqual({
      kind: 'folder',
      folder: 'Clawback Quarantine',
    });
    expect(parseQuarantineLocation(` mailbox:${soc}/Q `, 'Q')).toEqual({
      kind: 'mailbox',
      mailbox: soc,
      folder: 'Q',
    });
  });

  it('reads the first location of a joined column', () => {
    expect(
      parseQuarantineLocation(`mailbox:${soc}/Q/a@contoso.com; mailbox:${soc}/Q/b@contoso.com`, 'Q'),
    ).toEqual({
      kind: 'mailbox',
      mailbox: soc,
      folder: 'Q',
      child: 'a@contoso.com',
    });
  });

  it('ignores a location of another kind, one without a mailbox and one without a folder', () => {
    expect(parseQuarantineLocation(`archive:${soc}/Q`, 'Q')).toBeUndefined();
    expect(parseQuarantineLocation('mailbox:/Q', 'Q')).toBeUndefined();
    expect(parseQuarantineLocation(`mailbox:${soc}`, 'Q')).toBeUndefined();
  });

  it('keeps a profile folder that contains a slash whole when the copy sits in it directly', () => {
    expect(parseQuarantineLocation(`mailbox:${soc}/Q/2026`, 'Q/2026')).toEqual({
      kind: 'mailbox',
      mailbox: soc,
      folder: 'Q/2026',
    });
  });

  it('keeps a recipient child folder whose name contains a slash whole', () => {
    expect(parseQuarantineLocation(`mailbox:${soc}/Q/ops/dept@contoso.com`, 'Q')).toEqual({
      kind: 'mailbox',
      mailbox: soc,
      folder: 'Q',
      child: 'ops/dept@contoso.com',
    });
  });

  it('after a rename, splits at the last slash and keeps a folder without one whole', () => {
    expect(parseQuarantineLocation(`mailbox:${soc}/Old/name/alice@contoso.com`, 'New')).toEqual({
      kind: 'mailbox',
      mailbox: soc,
      folder: 'Old/name',
      child: 'alice@contoso.com',
    });
    expect(parseQuarantineLocation(`mailbox:${soc}/Old`, 'New')).toEqual({
      kind: 'mailbox',
      mailbox: soc,
      folder: 'Old',
    });
    expect(parseQuarantineLocation(`mailbox:${soc}//alice@contoso.com`, 'New')).toEqual({
      kind: 'mailbox',
      mailbox: soc,
      folder: '/alice@contoso.com',
    });
  });
});
