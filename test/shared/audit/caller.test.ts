import { describe, expect, it } from 'vitest';

import { callerOf, localKeyName, localKeyNameHeader } from '../../../shared/audit/caller.js';

const headers = (values: Record<string, string>) => new Headers(values);
const principal = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');

describe('who called, as the audit trail names them', () => {
  it('names an Entra identity from App Service Authentication', () => {
    expect(callerOf(headers({ 'x-ms-client-principal-name': 'ann@contoso.com' }), 'azure')).toBe(
      'entra:ann@contoso.com',
    );
    const appService = principal({
      auth_typ: 'aad',
      name_typ: 'preferred_username',
      claims: [{ typ: 'preferred_username', val: 'ben@contoso.com' }],
    });
    expect(callerOf(headers({ 'x-ms-client-principal': appService }), 'azure')).toBe('entra:ben@contoso.com');
    const staticWebApps = principal({ identityProvider: 'aad', userDetails: 'cy@contoso.com' });
    expect(callerOf(headers({ 'x-ms-client-principal': staticWebApps }), 'azure')).toBe(
      'entra:cy@contoso.com',
    );
  });

  it('names the key the local runtime matched, and never quotes a key', () => {
    const secret = 'sup3r-s3cret-key-value';
    const name = localKeyName(secret, `soc-admin=${secret},ingest=other`);
    expect(name).toBe('soc-admin');
    expect(localKeyName('guess', `soc-admin=${secret}`)).toBe('unrecognised');
    expect(localKeyName(undefined, `soc-admin=${secret}`)).toBeUndefined();
    const who = callerOf(headers({ 'x-functions-key': secret, [localKeyNameHeader]: name ?? '' }), 'local');
    expect(who).toBe('key:soc-admin');
    expect(who).not.toContain(secret);
  });

  it('in Azure, ignores a key name a client claims and says only that a key was used', () => {
    const claimed = headers({ 'x-functions-key': 'k', [localKeyNameHeader]: 'soc-admin' });
    expect(callerOf(claimed, 'azure')).toBe('key:unnamed');
    expect(callerOf(headers({}), 'azure')).toBe('anonymous');
  });

  it('strips control characters from what it records', () => {
    expect(callerOf(headers({ 'x-ms-client-principal-name': 'eve@contoso.com\u0007' }), 'azure')).toBe(
      'entra:eve@contoso.com',
    );
  });
});
