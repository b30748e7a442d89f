import { describe, expect, it } from 'vitest';

import { type ConfigDocument, configDocumentSchema } from '../../../shared/config/document.js';
import { recipientDomain, routeRecipient } from '../../../shared/routing/route.js';

const graph = (name: string) => ({
  name,
  type: 'graph' as const,
  tenantId: 'contoso.onmicrosoft.com',
  clientId: '4f1b2f43-5a0c-4d6e-8f5e-0c1ab2c3d4e5',
  certificate: { keyVaultSecret: 'c' },
});

function config(domains: Record<string, string>): ConfigDocument {
  return configDocumentSchema.parse({
    profiles: [graph('online'), graph('onprem'), graph('other-tenant')],
    chains: [
      { name: 'first-chain', profiles: ['online'] },
      { name: 'second-chain', profiles: ['onprem', 'other-tenant'] },
    ],
    domains,
    policies: [{ verdict: 'malicious', action: 'softDelete' }],
  });
}

describe('the domain routing compares', () => {
  it('is the part after the last @, lower-cased even when it is not a domain name', () => {
    expect(recipientDomain('"a@b"@LocalHost')).toBe('localhost');
    expect(recipientDomain('postmaster@Contoso.COM.')).toBe('contoso.com');
  });
});

describe('routing a recipient', () => {
  // The document's domains are a plain object: a recipient "domain" that names one of its inherited
  // members must not be mistaken for a mapping of its own.
  it.each(['constructor', '__proto__', 'hasownproperty'])(
    'a recipient whose domain is "%s" has no mapping of its own and goes to ALL',
    (domain) => {
      const route = routeRecipient(config({ 'contoso.com': 'online', ALL: 'other-tenant' }), `x@${domain}`);
      expect(route).toEqual({
        target: 'other-tenant',
        profiles: [expect.objectContaining({ name: 'other-tenant' })],
      });
    },
  );

  it('a domain mapped to the second chain gets that chain, its profiles in order', () => {
    const route = routeRecipient(config({ 'contoso.com': 'second-chain' }), 'a@contoso.com');
    expect(route?.target).toBe('second-chain');
    expect(route?.profiles.map((p) => p.name)).toEqual(['onprem', 'other-tenant']);
  });

  it('a mapping that names neither a profile nor a chain routes nowhere', () => {
    const doc = config({ 'contoso.com': 'online' });
    const broken: ConfigDocument = { ...doc, domains: { 'contoso.com': 'retired' } };
    expect(routeRecipient(broken, 'a@contoso.com')).toBeUndefined();
  });

  it('a chain naming a profile the document no longer has keeps only the profiles it has', () => {
    const doc = config({ 'contoso.com': 'second-chain' });
    const edited: ConfigDocument = {
      ...doc,
      chains: [{ name: 'second-chain', profiles: ['gone', 'onprem'] }],
    };
    expect(routeRecipient(edited, 'a@contoso.com')?.profiles.map((p) => p.name)).toEqual(['onprem']);
  });
});
