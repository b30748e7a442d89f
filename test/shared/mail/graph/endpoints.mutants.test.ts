import { describe, expect, it } from 'vitest';

import {
  cloudEndpoints,
  graphScope,
  isPublicAuthority,
  resolveGraphEndpoints,
} from '../../../../shared/mail/graph/endpoints.js';

describe('national cloud endpoints', () => {
  it.each([
    ['global', 'https://login.microsoftonline.com', 'https://graph.microsoft.com'],
    ['usgov', 'https://login.microsoftonline.us', 'https://graph.microsoft.us'],
    ['usgovdod', 'https://login.microsoftonline.us', 'https://dod-graph.microsoft.us'],
    ['china', 'https://login.chinacloudapi.cn', 'https://microsoftgraph.chinacloudapi.cn'],
  ] as const)('a %s profile without overrides talks to %s and %s', (cloud, authorityHost, graphEndpoint) => {
    expect(resolveGraphEndpoints({ cloud })).toEqual({ authorityHost, graphEndpoint });
    expect(cloudEndpoints[cloud]).toEqual({ authorityHost, graphEndpoint });
  });

  it('an authority and a Graph endpoint the profile names win over the cloud, without trailing slashes', () => {
    expect(
      resolveGraphEndpoints({
        cloud: 'china',
        authorityHost: 'https://127.0.0.1:8443/login//',
        graphEndpoint: 'https://127.0.0.1:8444/',
      }),
    ).toEqual({ authorityHost: 'https://127.0.0.1:8443/login', graphEndpoint: 'https://127.0.0.1:8444' });
  });

  it('the token scope is the Graph root plus /.default, whatever slashes the root ends with', () => {
    expect(graphScope('https://graph.microsoft.us')).toBe('https://graph.microsoft.us/.default');
    expect(graphScope('https://dod-graph.microsoft.us//')).toBe('https://dod-graph.microsoft.us/.default');
  });
});

describe('authorities MSAL knows', () => {
  it.each([
    'https://login.microsoftonline.com',
    'https://login.microsoft.com',
    'https://login.windows.net/',
    'https://LOGIN.MicrosoftOnline.US',
    'https://login.chinacloudapi.cn',
    'https://login.partner.microsoftonline.cn',
  ])('%s keeps instance discovery', (authorityHost) => {
    expect(isPublicAuthority(authorityHost)).toBe(true);
  });

  it.each([
    'https://127.0.0.1:8443',
    'https://login.sandbox.test',
    'https://login.microsoftonline.com.evil.example',
  ])('%s skips instance discovery', (authorityHost) => {
    expect(isPublicAuthority(authorityHost)).toBe(false);
  });
});
