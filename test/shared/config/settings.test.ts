import { describe, expect, it } from 'vitest';

import { loadSettings, settingDocs } from '../../../shared/config/settings.js';

describe('app settings', () => {
  it('accepts a managed-identity deployment and applies defaults', () => {
    const settings = loadSettings({
      ServiceBusConnection__fullyQualifiedNamespace: 'sb-clawback.servicebus.windows.net',
      CLAWBACK_TABLES_ENDPOINT: 'https://stclawback.table.core.windows.net',
    });
    expect(settings).toMatchObject({
      CLAWBACK_RUNTIME: 'azure',
      CLAWBACK_SECRET_CACHE_SECONDS: 300,
      CLAWBACK_FANOUT_BATCH_SIZE: 100,
    });
  });

  it('lists every missing or invalid setting in one error', () => {
    let message = '';
    try {
      loadSettings({
        CLAWBACK_FANOUT_BATCH_SIZE: '500',
        CLAWBACK_KEY_VAULT_URL: 'http://kv.example.com',
        CLAWBACK_RUNTIME: 'cloud',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/CLAWBACK_FANOUT_BATCH_SIZE: must be an integer from 1 to 100/);
    expect(message).toMatch(/CLAWBACK_KEY_VAULT_URL: must be an https URL/);
    expect(message).toMatch(/CLAWBACK_RUNTIME/);
    expect(message).toMatch(/CLAWBACK_TABLES_ENDPOINT: is required/);
  });

  it('needs no Service Bus setting when running locally (the in-process queue is used)', () => {
    expect(
      loadSettings({ CLAWBACK_RUNTIME: 'local', CLAWBACK_TABLES_CONNECTION: 'UseDevelopmentStorage=true' })
        .CLAWBACK_RUNTIME,
    ).toBe('local');
    expect(() => loadSettings({ CLAWBACK_TABLES_CONNECTION: 'UseDevelopmentStorage=true' })).toThrow(
      /ServiceBusConnection__fullyQualifiedNamespace: is required/,
    );
  });

  it('documents every setting with its meaning and an example, and the sample local settings list them all', async () => {
    const sample = (await import('../../../local.settings.sample.json', { with: { type: 'json' } }))
      .default as {
      Values: Record<string, string>;
    };
    for (const [name, doc] of Object.entries(settingDocs)) {
      expect(doc.meaning.length, name).toBeGreaterThan(10);
      expect(doc.example.length, name).toBeGreaterThan(0);
      expect(Object.keys(sample.Values), name).toContain(name);
    }
  });
});
