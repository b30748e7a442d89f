import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { defaultConcurrentMailboxes } from '../../shared/config/settings.js';
import { repoRoot } from './arm.js';

describe('host.json suits the workload', () => {
  const host = JSON.parse(readFileSync(path.join(repoRoot, 'host.json'), 'utf8')) as {
    version: string;
    extensionBundle: { id: string; version: string };
    functionTimeout: string;
    retry?: unknown;
    logging: {
      logLevel: Record<string, string>;
      applicationInsights: { samplingSettings: { excludedTypes: string } };
    };
    extensions: { serviceBus: Record<string, unknown>; http: { routePrefix: string } };
  };

  it('uses extension bundle 4 and the api route prefix the routes assume', () => {
    expect(host.version).toBe('2.0');
    expect(host.extensionBundle).toEqual({
      id: 'Microsoft.Azure.Functions.ExtensionBundle',
      version: '[4.*, 5.0.0)',
    });
    expect(host.extensions.http.routePrefix).toBe('api');
  });

  it('bounds sessions and lets the app own retries (no host retry, completes on success)', () => {
    const sbHost = host.extensions.serviceBus;
    expect(host.retry).toBeUndefined();
    expect(sbHost.retry).toBeUndefined();
    expect(sbHost.autoCompleteMessages).toBe(true);
    expect(sbHost.prefetchCount).toBe(0);
    expect(sbHost.maxConcurrentSessions).toBe(defaultConcurrentMailboxes);
    expect(sbHost.sessionIdleTimeout).toMatch(/^\d\d:\d\d:\d\d$/);
    const seconds = (d: string) => d.split(':').reduce((s, part) => s * 60 + Number(part), 0);
    expect(seconds(sbHost.maxAutoLockRenewalDuration as string)).toBeGreaterThanOrEqual(
      seconds(host.functionTimeout),
    );
  });

  it('keeps every request in Application Insights and host results at Error', () => {
    expect(host.logging.logLevel.default).toBe('Information');
    expect(host.logging.logLevel['Host.Results']).toBe('Error');
    expect(host.logging.applicationInsights.samplingSettings.excludedTypes).toContain('Request');
  });
});
