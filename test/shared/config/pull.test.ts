import { describe, expect, it } from 'vitest';

import { validateConfigDocument } from '../../../shared/config/document.js';
import { ConfigMother } from '../../mothers/configMother.js';
import { ProfileMother } from '../../mothers/profileMother.js';

/** A Graph and an EWS profile, so a Defender source can name either. */
const base = ConfigMother.minimal()
  .withProfiles(ProfileMother.graph(), ProfileMother.ews())
  .withDomains({ ALL: 'contoso-online' })
  .withPolicies()
  .build();

const specSources = [
  { name: 'soar', signingSecret: { keyVaultSecret: 'soar-webhook' } },
  {
    name: 'proofpoint-tap',
    pull: {
      type: 'proofpoint-tap',
      baseUrl: 'https://tap-api-v2.proofpoint.com',
      principal: 'sp',
      secret: { keyVaultSecret: 'tap-secret' },
      intervalSeconds: 60,
    },
  },
  {
    name: 'cisco-secure-endpoint',
    pull: {
      type: 'cisco-secure-endpoint',
      baseUrl: 'https://api.amp.cisco.com',
      clientId: 'id',
      apiKey: { keyVaultSecret: 'amp-key' },
      intervalSeconds: 60,
      eventTypes: [553648147, 1090519054],
    },
  },
  { name: 'defender', pull: { type: 'defender', profile: 'contoso-online', intervalSeconds: 60 } },
];

describe('sources[].pull in the configuration document', () => {
  it('accepts the SPEC example of every pull type next to a signed push source', () => {
    const result = validateConfigDocument({ ...base, sources: specSources }, { runtime: 'azure' });
    expect(result.ok).toBe(true);
  });

  it('defaults the platforms’ hosts, the interval and the Secure Endpoint event types', () => {
    const result = validateConfigDocument(
      {
        ...base,
        sources: [
          { name: 'tap', pull: { type: 'proofpoint-tap', principal: 'sp', secret: { keyVaultSecret: 's' } } },
          {
            name: 'amp',
            pull: { type: 'cisco-secure-endpoint', clientId: 'c', apiKey: { keyVaultSecret: 'k' } },
          },
        ],
      },
      { runtime: 'azure' },
    );
    expect(result.ok && result.document.sources.map((s) => s.pull)).toEqual([
      expect.objectContaining({ baseUrl: 'https://tap-api-v2.proofpoint.com', intervalSeconds: 60 }),
      expect.objectContaining({ baseUrl: 'https://api.amp.cisco.com', eventTypes: [553648147, 1090519054] }),
    ]);
  });

  it.each([
    [
      'a Defender source naming an EWS profile',
      { name: 'd', pull: { type: 'defender', profile: 'contoso-onprem' } },
      'sources[0].pull.profile',
    ],
    [
      'a plain-http base URL that is not loopback',
      {
        name: 't',
        pull: {
          type: 'proofpoint-tap',
          baseUrl: 'http://tap.example',
          principal: 'p',
          secret: { keyVaultSecret: 's' },
        },
      },
      'sources[0].pull.baseUrl',
    ],
    [
      'an unknown pull type',
      { name: 'x', pull: { type: 'splunk', baseUrl: 'https://x.example' } },
      'sources[0].pull.type',
    ],
    [
      'an interval under 30 seconds',
      { name: 'd', pull: { type: 'defender', profile: 'contoso-online', intervalSeconds: 5 } },
      'sources[0].pull.intervalSeconds',
    ],
  ])('refuses %s, naming the field', (_, source, path) => {
    const result = validateConfigDocument({ ...base, sources: [source] }, { runtime: 'local' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.map((p) => p.path)).toContain(path);
  });

  it('refuses file and env secret references of pull sources in Azure, and takes them locally', () => {
    const sources = [
      { name: 't', pull: { type: 'proofpoint-tap', principal: 'p', secret: { file: 'tap.txt' } } },
      { name: 'a', pull: { type: 'cisco-secure-endpoint', clientId: 'c', apiKey: { env: 'AMP_KEY' } } },
    ];
    const azure = validateConfigDocument({ ...base, sources }, { runtime: 'azure' });
    expect(azure.ok).toBe(false);
    if (!azure.ok)
      expect(azure.problems.map((p) => p.path)).toEqual(['sources[0].pull.secret', 'sources[1].pull.apiKey']);
    expect(validateConfigDocument({ ...base, sources }, { runtime: 'local' }).ok).toBe(true);
  });
});
