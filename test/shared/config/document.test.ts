import { describe, expect, it } from 'vitest';

import {
  configDocumentSchema,
  configLimits,
  normalizeDomain,
  validateConfigDocument,
} from '../../../shared/config/document.js';
import { ProfileMother } from '../../mothers/profileMother.js';

// `extra` may hold what the schema must refuse, so it is spread over the mother's valid profile.
const graph = (name: string, extra: Record<string, unknown> = {}) => ({
  ...ProfileMother.graph({ name }),
  ...extra,
});
const ews = (name: string, extra: Record<string, unknown> = {}) => ({
  ...ProfileMother.ews({ name }),
  ...extra,
});

/** A valid document; every case changes one thing. */
function base(): Record<string, unknown> {
  return {
    settings: { maxAttempts: 3, graphTimeoutSeconds: 30, ewsTimeoutSeconds: 30, mode: 'enforce' },
    profiles: [graph('contoso-online'), ews('contoso-onprem')],
    chains: [{ name: 'hybrid', profiles: ['contoso-online', 'contoso-onprem'] }],
    domains: { 'contoso.com': 'hybrid', 'fabrikam.com': 'contoso-online', ALL: 'contoso-online' },
    policies: [
      { verdict: 'malicious', action: 'quarantine' },
      { verdict: 'suspicious', action: 'moveToJunk', mode: 'simulate' },
      { verdict: 'clean', action: 'restore' },
    ],
    forwardTo: 'soc@contoso.com',
    sources: [{ name: 'proofpoint-tap', signingSecret: { keyVaultSecret: 'tap-webhook' } }],
  };
}

const profiles = (n: number) => Array.from({ length: n }, (_, i) => graph(`p${i + 1}`));
const domains = (n: number) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i + 1}.example`, 'contoso-online']));
const chains = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ name: `chain-${i + 1}`, profiles: ['contoso-online'] }));

type Case = [name: string, change: (doc: Record<string, unknown>) => void, problemPath: string | undefined];
const set =
  (key: string, value: unknown) =>
  (doc: Record<string, unknown>): void => {
    doc[key] = value;
  };
const setting = (key: string, value: unknown) => (doc: Record<string, unknown>) => {
  (doc.settings as Record<string, unknown>)[key] = value;
};

const limitCases: Case[] = [
  ['maxAttempts at its minimum (1)', setting('maxAttempts', configLimits.maxAttempts.min), undefined],
  [
    'maxAttempts below its minimum (0)',
    setting('maxAttempts', configLimits.maxAttempts.min - 1),
    'settings.maxAttempts',
  ],
  ['maxAttempts at its maximum (5)', setting('maxAttempts', configLimits.maxAttempts.max), undefined],
  [
    'maxAttempts above its maximum (6)',
    setting('maxAttempts', configLimits.maxAttempts.max + 1),
    'settings.maxAttempts',
  ],
  ['maxAttempts that is not an integer', setting('maxAttempts', 2.5), 'settings.maxAttempts'],
  ['graphTimeoutSeconds at 15', setting('graphTimeoutSeconds', 15), undefined],
  ['graphTimeoutSeconds at 14', setting('graphTimeoutSeconds', 14), 'settings.graphTimeoutSeconds'],
  ['graphTimeoutSeconds at 90', setting('graphTimeoutSeconds', 90), undefined],
  ['graphTimeoutSeconds at 91', setting('graphTimeoutSeconds', 91), 'settings.graphTimeoutSeconds'],
  ['ewsTimeoutSeconds at 15', setting('ewsTimeoutSeconds', 15), undefined],
  ['ewsTimeoutSeconds at 14', setting('ewsTimeoutSeconds', 14), 'settings.ewsTimeoutSeconds'],
  ['ewsTimeoutSeconds at 90', setting('ewsTimeoutSeconds', 90), undefined],
  ['ewsTimeoutSeconds at 91', setting('ewsTimeoutSeconds', 91), 'settings.ewsTimeoutSeconds'],
  ['an unknown mode', setting('mode', 'aggressive'), 'settings.mode'],
  ['an unknown setting', setting('retries', 3), 'settings'],
  [
    '5 chains',
    (d) => {
      d.chains = chains(configLimits.chains.max);
      d.domains = { 'contoso.com': 'chain-1' };
    },
    undefined,
  ],
  [
    '6 chains',
    (d) => {
      d.chains = chains(configLimits.chains.max + 1);
      d.domains = { 'contoso.com': 'chain-1' };
    },
    'chains',
  ],
  [
    'a chain of 10 profiles',
    (d) => {
      d.profiles = profiles(10);
      d.chains = [{ name: 'long', profiles: profiles(10).map((p) => p.name) }];
      d.domains = { 'contoso.com': 'long' };
    },
    undefined,
  ],
  [
    'a chain of 11 profiles',
    (d) => {
      d.profiles = profiles(11);
      d.chains = [{ name: 'long', profiles: profiles(11).map((p) => p.name) }];
      d.domains = { 'contoso.com': 'long' };
    },
    'chains[0].profiles',
  ],
  ['an empty chain', set('chains', [{ name: 'empty', profiles: [] }]), 'chains[0].profiles'],
  [
    '50 profiles',
    (d) => {
      d.profiles = profiles(configLimits.profiles.max);
      d.chains = [];
      d.domains = { ALL: 'p1' };
    },
    undefined,
  ],
  [
    '51 profiles',
    (d) => {
      d.profiles = profiles(configLimits.profiles.max + 1);
      d.chains = [];
      d.domains = { ALL: 'p1' };
    },
    'profiles',
  ],
  [
    'no profile',
    (d) => {
      d.profiles = [];
      d.chains = [];
      d.domains = { ALL: 'x' };
    },
    'profiles',
  ],
  ['1000 domains', set('domains', domains(configLimits.domains.max)), undefined],
  ['1001 domains', set('domains', domains(configLimits.domains.max + 1)), 'domains'],
  ['no domain', set('domains', {}), 'domains'],
  [
    '50 sources',
    set(
      'sources',
      Array.from({ length: configLimits.sources.max }, (_, i) => ({ name: `s${i}` })),
    ),
    undefined,
  ],
  [
    '51 sources',
    set(
      'sources',
      Array.from({ length: configLimits.sources.max + 1 }, (_, i) => ({ name: `s${i}` })),
    ),
    'sources',
  ],
  ['a source name of 64 characters', set('sources', [{ name: 'x'.repeat(64) }]), undefined],
  ['a source name of 65 characters', set('sources', [{ name: 'x'.repeat(65) }]), 'sources[0].name'],
  [
    'a profile name of 63 characters',
    (d) => {
      d.profiles = [graph('a'.repeat(63))];
      d.chains = [];
      d.domains = { ALL: 'a'.repeat(63) };
    },
    undefined,
  ],
  [
    'a profile name of 64 characters',
    (d) => {
      d.profiles = [graph('a'.repeat(64))];
      d.chains = [];
      d.domains = { ALL: 'a'.repeat(64) };
    },
    'profiles[0].name',
  ],
];

const ruleCases: Case[] = [
  ['the SPEC example', () => undefined, undefined],
  ['an upper-case profile name', set('profiles', [graph('Contoso')]), 'profiles[0].name'],
  [
    'a client id that is not a GUID',
    set('profiles', [graph('contoso-online', { clientId: 'app' })]),
    'profiles[0].clientId',
  ],
  ['an unknown cloud', set('profiles', [graph('contoso-online', { cloud: 'mars' })]), 'profiles[0].cloud'],
  [
    'an http Graph endpoint on a public host',
    set('profiles', [graph('contoso-online', { graphEndpoint: 'http://graph.example.com' })]),
    'profiles[0].graphEndpoint',
  ],
  [
    'an http Graph endpoint on a loopback host',
    (d) => {
      d.profiles = [
        graph('contoso-online', { graphEndpoint: 'http://127.0.0.1:8080/graph' }),
        ews('contoso-onprem'),
      ];
    },
    undefined,
  ],
  [
    'an http EWS URL on a public host',
    set('profiles', [ews('contoso-onprem', { ewsUrl: 'http://mail.contoso.com/EWS/Exchange.asmx' })]),
    'profiles[0].ewsUrl',
  ],
  ['an unknown EWS auth', set('profiles', [ews('contoso-onprem', { auth: 'kerberos' })]), 'profiles[0].auth'],
  [
    'an unknown EWS access',
    set('profiles', [ews('contoso-onprem', { access: 'owner' })]),
    'profiles[0].access',
  ],
  ['an unknown profile field', set('profiles', [graph('contoso-online', { color: 'blue' })]), 'profiles[0]'],
  ['an unknown profile type', set('profiles', [{ ...graph('x'), type: 'imap' }]), 'profiles[0].type'],
  [
    'quarantine to a mailbox without quarantineMailbox',
    (d) => {
      d.profiles = [graph('contoso-online', { quarantineTarget: 'mailbox' }), ews('contoso-onprem')];
    },
    'profiles[0].quarantineMailbox',
  ],
  [
    'two profiles with one name',
    (d) => {
      d.profiles = [graph('contoso-online'), ews('contoso-online'), ews('contoso-onprem')];
    },
    'profiles[1].name',
  ],
  [
    'a secret reference with two kinds',
    set('profiles', [graph('contoso-online', { certificate: { keyVaultSecret: 'a', env: 'B' } })]),
    'profiles[0].certificate',
  ],
  [
    'a Key Vault secret name with a dot',
    set('profiles', [graph('contoso-online', { certificate: { keyVaultSecret: 'a.b' } })]),
    'profiles[0].certificate.keyVaultSecret',
  ],
  [
    'a chain listing an unknown profile',
    set('chains', [{ name: 'hybrid', profiles: ['nope'] }]),
    'chains[0].profiles[0]',
  ],
  [
    'a chain listing a chain',
    set('chains', [
      { name: 'hybrid', profiles: ['contoso-online'] },
      { name: 'outer', profiles: ['hybrid'] },
    ]),
    'chains[1].profiles[0]',
  ],
  [
    'a chain listing one profile twice',
    set('chains', [{ name: 'hybrid', profiles: ['contoso-online', 'contoso-online'] }]),
    'chains[0].profiles[1]',
  ],
  [
    'a chain named like a profile',
    set('chains', [{ name: 'contoso-online', profiles: ['contoso-onprem'] }]),
    'chains[0].name',
  ],
  [
    'a domain mapped to nothing that exists',
    set('domains', { 'contoso.com': 'nowhere' }),
    'domains["contoso.com"]',
  ],
  [
    'a domain mapped twice in different case',
    set('domains', { 'contoso.com': 'hybrid', 'CONTOSO.COM': 'contoso-online' }),
    'domains["CONTOSO.COM"]',
  ],
  [
    'an IDN domain mapped twice (Unicode and punycode)',
    set('domains', { 'bücher.example': 'hybrid', 'xn--bcher-kva.example': 'contoso-online' }),
    'domains["xn--bcher-kva.example"]',
  ],
  ['a domain that is not a host name', set('domains', { 'contoso com': 'hybrid' }), 'domains["contoso com"]'],
  ['a domain with a single label', set('domains', { contoso: 'hybrid' }), 'domains.contoso'],
  ['the catch-all in lower case', set('domains', { all: 'hybrid' }), 'domains.all'],
  [
    'two policies for one verdict',
    set('policies', [
      { verdict: 'malicious', action: 'quarantine' },
      { verdict: 'malicious', action: 'hardDelete' },
    ]),
    'policies[1].verdict',
  ],
  [
    'a forwarding policy without forwardTo',
    (d) => {
      d.policies = [{ verdict: 'malicious', action: 'forwardAndDelete' }];
      delete d.forwardTo;
    },
    'policies[0].action',
  ],
  [
    'restore for a malicious verdict',
    set('policies', [{ verdict: 'malicious', action: 'restore' }]),
    'policies[0].action',
  ],
  [
    'a removal for a clean verdict',
    set('policies', [{ verdict: 'clean', action: 'hardDelete' }]),
    'policies[0].action',
  ],
  ['an unknown action', set('policies', [{ verdict: 'malicious', action: 'nuke' }]), 'policies[0].action'],
  ['a forwardTo that is not an address', set('forwardTo', 'soc'), 'forwardTo'],
  ['two sources with one name', set('sources', [{ name: 'tap' }, { name: 'tap' }]), 'sources[1].name'],
  ['an unknown top-level field', set('extra', true), '$'],
];

describe('configuration document validation', () => {
  it.each([...limitCases, ...ruleCases])('%s', (_name, change, problemPath) => {
    const doc = base();
    change(doc);
    const result = validateConfigDocument(doc, { runtime: 'local' });
    if (problemPath === undefined) {
      expect(result.ok ? [] : result.problems).toEqual([]);
    } else {
      expect(result.ok).toBe(false);
      expect(result.ok ? [] : result.problems.map((p) => p.path)).toContain(problemPath);
    }
  });

  it('lists every problem of a document at once, each with its path', () => {
    const doc = base();
    (doc.settings as Record<string, unknown>).maxAttempts = 9;
    doc.domains = { 'contoso.com': 'nowhere' };
    doc.policies = [{ verdict: 'malicious', action: 'restore' }];
    const result = validateConfigDocument(doc, { runtime: 'local' });
    expect(result.ok ? [] : result.problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['settings.maxAttempts', 'domains["contoso.com"]', 'policies[0].action']),
    );
  });

  it.each([
    [
      'certificate',
      'profiles[0].certificate',
      (d: Record<string, unknown>) =>
        ((d.profiles as Record<string, unknown>[])[0]!.certificate = { file: 'cert.pem' }),
    ],
    [
      'EWS password',
      'profiles[1].password',
      (d: Record<string, unknown>) =>
        ((d.profiles as Record<string, unknown>[])[1]!.password = { env: 'EWS_PASSWORD' }),
    ],
    [
      'EWS trusted CA',
      'profiles[1].trustedCa',
      (d: Record<string, unknown>) =>
        ((d.profiles as Record<string, unknown>[])[1]!.trustedCa = { file: 'ca.pem' }),
    ],
    [
      'source signing secret',
      'sources[0].signingSecret',
      (d: Record<string, unknown>) =>
        ((d.sources as Record<string, unknown>[])[0]!.signingSecret = { env: 'TAP' }),
    ],
  ])(
    'refuses a file or env reference for the %s when running in Azure, and accepts it locally',
    (_what, path, change) => {
      const doc = base();
      change(doc);
      expect(validateConfigDocument(doc, { runtime: 'local' }).ok).toBe(true);
      const inAzure = validateConfigDocument(doc, { runtime: 'azure' });
      expect(inAzure.ok ? [] : inAzure.problems.map((p) => p.path)).toEqual([path]);
    },
  );

  it('accepts Key Vault references in Azure', () => {
    expect(validateConfigDocument(base(), { runtime: 'azure' }).ok).toBe(true);
  });

  it('stores domains in lower case with IDN labels in punycode, and keeps ALL', () => {
    const doc = base();
    doc.domains = { 'Contoso.COM': 'hybrid', 'Bücher.Example': 'contoso-online', ALL: 'contoso-online' };
    expect(configDocumentSchema.parse(doc).domains).toEqual({
      'contoso.com': 'hybrid',
      'xn--bcher-kva.example': 'contoso-online',
      ALL: 'contoso-online',
    });
  });

  it.each([
    ['contoso.com', 'contoso.com'],
    ['Mail.Contoso.Com.', 'mail.contoso.com'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['-bad.example', undefined],
    ['a..b', undefined],
    ['localhost', undefined],
  ])('normalises the domain %s to %s', (input, expected) => {
    expect(normalizeDomain(input)).toBe(expected);
  });
});
