import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { maxDeliveryCount, queues, tables } from '../../shared/bindings.js';
import { hostSettings, loadSettings, settingDocs } from '../../shared/config/settings.js';
import {
  appSettings,
  type ArmTemplate,
  flatten,
  get,
  infraDir,
  isDeployment,
  loadCompiled,
  moduleDeployment,
  moduleName,
  moduleParameter,
  nestedTemplate,
  ofType,
  resourcesOf,
} from './arm.js';

const { main, parameterFiles } = loadCompiled();
const placed = flatten(main);
const one = (type: string) => {
  const found = ofType(placed, type);
  expect(found, type).toHaveLength(1);
  return found[0]!;
};
const site = one('Microsoft.Web/sites');
const settings = appSettings(site.resource);
const modules = resourcesOf(main).filter(isDeployment);
const templates: [string, ArmTemplate][] = [
  ['main', main],
  ...modules.map((m) => [moduleName(m), nestedTemplate(m)] as [string, ArmTemplate]),
];

describe('the Function App sets the app settings the code reads', () => {
  // Flex Consumption takes the runtime from functionAppConfig and rejects or ignores these
  // (learn.microsoft.com/azure/azure-functions/functions-app-settings#flex-consumption-plan-deprecations).
  const flexDeprecated = [
    'FUNCTIONS_EXTENSION_VERSION',
    'FUNCTIONS_WORKER_RUNTIME',
    'FUNCTIONS_WORKER_RUNTIME_VERSION',
    'WEBSITE_NODE_DEFAULT_VERSION',
    'WEBSITE_RUN_FROM_PACKAGE',
    'WEBSITE_CONTENTSHARE',
    'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
    'SCM_DO_BUILD_DURING_DEPLOYMENT',
    'ENABLE_ORYX_BUILD',
  ];
  const needed = [
    'CLAWBACK_RUNTIME',
    'ServiceBusConnection__fullyQualifiedNamespace',
    'CLAWBACK_TABLES_ENDPOINT',
    'CLAWBACK_KEY_VAULT_URL',
    'AZURE_CLIENT_ID',
  ];

  it('names only settings the code or the Functions host knows', () => {
    const known = new Set<string>([...Object.keys(settingDocs), ...hostSettings]);
    const allowed = (n: string) =>
      known.has(n) ||
      /^(ServiceBusConnection|AzureWebJobsStorage)__\w+$/.test(n) ||
      n.startsWith('APPLICATIONINSIGHTS_');
    expect([...settings.keys()].filter((n) => !allowed(n))).toEqual([]);
  });

  it('sets every setting a deployment needs and every host setting Flex Consumption accepts, none it rejects', () => {
    for (const name of needed) expect(Object.keys(settingDocs)).toContain(name);
    expect(needed.filter((n) => !settings.has(n))).toEqual([]);
    expect(hostSettings.filter((n) => !flexDeprecated.includes(n) && !settings.has(n))).toEqual([]);
    expect([...settings.keys()].filter((n) => flexDeprecated.includes(n))).toEqual([]);
  });

  it('builds each endpoint from the resource that holds the matching role, which the settings schema accepts', () => {
    expect(settings.get('CLAWBACK_RUNTIME')).toBe('azure');
    expect(settings.get('ServiceBusConnection__fullyQualifiedNamespace')).toMatch(
      /reference\(resourceId\('Microsoft\.ServiceBus\/namespaces', parameters\('serviceBusNamespaceName'\)\).*\.serviceBusEndpoint/,
    );
    expect(settings.get('CLAWBACK_TABLES_ENDPOINT')).toBe(
      "[format('https://{0}.table.{1}', parameters('storageAccountName'), environment().suffixes.storage)]",
    );
    expect(settings.get('AzureWebJobsStorage__accountName')).toBe("[parameters('storageAccountName')]");
    expect(settings.get('CLAWBACK_KEY_VAULT_URL')).toMatch(
      /^\[reference\(resourceId\('Microsoft\.KeyVault\/vaults', parameters\('keyVaultName'\)\), '[\d-]+'\)\.vaultUri\]$/,
    );
    // The Function App is handed the very names the modules holding the roles create.
    for (const [parameter, module] of [
      ['storageAccountName', 'storage'],
      ['serviceBusNamespaceName', 'servicebus'],
      ['keyVaultName', 'keyvault'],
      ['identityName', 'identity'],
    ] as const) {
      expect(moduleParameter(main, 'functionapp', parameter), parameter).toBe(
        moduleParameter(main, module, 'name'),
      );
    }
    expect(moduleParameter(main, 'functionapp', 'applicationInsightsName')).toBe(
      moduleParameter(main, 'monitoring', 'applicationInsightsName'),
    );
    const env = {
      CLAWBACK_RUNTIME: 'azure',
      ServiceBusConnection__fullyQualifiedNamespace: 'sb-clawback-abc.servicebus.windows.net',
      CLAWBACK_TABLES_ENDPOINT: 'https://stclawbackabc.table.core.windows.net',
      CLAWBACK_KEY_VAULT_URL: 'https://kv-clawback-abc.vault.azure.net/',
      AZURE_CLIENT_ID: '11111111-2222-3333-4444-555555555555',
    };
    expect(() => loadSettings(env)).not.toThrow();
  });
});

describe('Service Bus queues match the function registrations in shared/bindings.ts', () => {
  const sb = nestedTemplate(moduleDeployment(main, 'servicebus'));
  const queueResources = ofType(placed, 'Microsoft.ServiceBus/namespaces/queues').map((p) => p.resource);
  const queueName = (name: string) => /'([\w-]+)'\)\]$/.exec(name)?.[1];

  it('declares exactly the queues the functions use, with their session flags', () => {
    expect(queueResources.map((q) => queueName(q.name)).sort()).toEqual(
      Object.values(queues)
        .map((q) => q.name)
        .sort(),
    );
    for (const queue of Object.values(queues)) {
      const q = queueResources.find((r) => queueName(r.name) === queue.name)!;
      expect(get(q, 'properties.requiresSession'), queue.name).toBe(queue.sessions);
      expect(get(q, 'properties.requiresDuplicateDetection'), queue.name).toBe(true);
      expect(get(q, 'properties.deadLetteringOnMessageExpiration'), queue.name).toBe(true);
      expect(get(q, 'properties.maxDeliveryCount'), queue.name).toBe("[parameters('maxDeliveryCount')]");
    }
  });

  it('dead-letters after the delivery count the app assumes, in the module and in main', () => {
    expect(sb.parameters!.maxDeliveryCount!.defaultValue).toBe(maxDeliveryCount);
    expect(main.parameters!.maxDeliveryCount!.defaultValue).toBe(maxDeliveryCount);
    expect(moduleParameter(main, 'servicebus', 'maxDeliveryCount')).toBe(
      `"[parameters('maxDeliveryCount')]"`,
    );
  });

  it('uses a Standard namespace', () => {
    expect(get(one('Microsoft.ServiceBus/namespaces').resource, 'sku.name')).toBe('Standard');
  });
});

describe('storage, Key Vault and the Flex Consumption app', () => {
  it('storage holds exactly the tables the app uses and one package container', () => {
    const st = nestedTemplate(moduleDeployment(main, 'storage'));
    expect(ofType(placed, 'Microsoft.Storage/storageAccounts/tableServices/tables')).toHaveLength(
      Object.keys(tables).length,
    );
    expect([...(st.variables!.tableNames as string[])].sort()).toEqual(Object.values(tables).sort());
    expect(ofType(placed, 'Microsoft.Storage/storageAccounts/blobServices/containers')).toHaveLength(1);
  });

  it('Key Vault keeps deleted secrets recoverable (soft delete, purge protection)', () => {
    const vault = one('Microsoft.KeyVault/vaults').resource;
    expect(get(vault, 'properties.enableSoftDelete')).toBe(true);
    expect(get(vault, 'properties.enablePurgeProtection')).toBe(true);
  });

  it('the app is Flex Consumption on Node 22 within the limits Microsoft documents', () => {
    const plan = one('Microsoft.Web/serverfarms').resource;
    expect(get(plan, 'sku')).toEqual({ name: 'FC1', tier: 'FlexConsumption' });
    expect(site.resource.kind).toBe('functionapp,linux');
    expect(get(site.resource, 'properties.functionAppConfig.runtime')).toEqual({
      name: 'node',
      version: '22',
    });
    // learn.microsoft.com/azure/azure-functions/flex-consumption-plan: instance sizes 512, 2048 (default),
    // 4096 MB; maximum instance count from 40 to 1000.
    for (const t of [main, site.template]) {
      expect(t.parameters!.instanceMemoryMB).toMatchObject({
        defaultValue: 2048,
        allowedValues: [512, 2048, 4096],
      });
      expect(t.parameters!.maximumInstanceCount).toMatchObject({ minValue: 40, maxValue: 1000 });
    }
  });
});

describe('parameters, outputs and the parameter files', () => {
  const secretish =
    /listKeys|listConnectionStrings|secret|password|connectionString|AccountKey|SharedAccessKey/i;

  it.each(templates)(
    '%s: every parameter says Required. or Optional., matching whether it has a default',
    (_, t) => {
      for (const [name, p] of Object.entries(t.parameters ?? {})) {
        const text = p.metadata?.description ?? '';
        expect(text, name).toMatch(/^(Required|Optional)\. \S/);
        expect(text.startsWith('Optional.'), `${name}: default vs description`).toBe(
          p.defaultValue !== undefined,
        );
      }
    },
  );

  it.each(templates)(
    '%s: no parameter default or output carries a secret, and every output is described',
    (_, t) => {
      for (const [name, p] of Object.entries(t.parameters ?? {}))
        expect(JSON.stringify(p.defaultValue ?? ''), name).not.toMatch(secretish);
      for (const [name, o] of Object.entries(t.outputs ?? {})) {
        expect(`${name} ${JSON.stringify(o.value)}`, name).not.toMatch(secretish);
        expect(o.metadata?.description, name).toBeDefined();
      }
    },
  );

  it('every module and main output their name and resourceId', () => {
    for (const [name, t] of templates)
      expect(Object.keys(t.outputs ?? {}), name).toEqual(expect.arrayContaining(['name', 'resourceId']));
  });

  it('each parameter file sets every required parameter of main.bicep and nothing main does not declare', () => {
    expect([...parameterFiles.keys()]).toContain('main.parameters.json');
    const declared = Object.entries(main.parameters!);
    for (const [file, values] of parameterFiles) {
      expect(
        Object.keys(values).filter((n) => !main.parameters![n]),
        file,
      ).toEqual([]);
      expect(
        declared.filter(([n, p]) => p.defaultValue === undefined && !(n in values)).map(([n]) => n),
        file,
      ).toEqual([]);
    }
  });
});

describe('API versions and linter rules', () => {
  const bicepSources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory()
        ? bicepSources(path.join(dir, e.name))
        : e.name.endsWith('.bicep')
          ? [path.join(dir, e.name)]
          : [],
    );

  it('are stable, except diagnostic settings whose newest version is a preview', () => {
    const previews = placed
      .filter((p) => /preview/i.test(p.resource.apiVersion ?? ''))
      .map((p) => p.resource.type.toLowerCase());
    expect([...new Set(previews)]).toEqual(['microsoft.insights/diagnosticsettings']);
  });

  it('suppress the linter only right above a diagnostic settings resource', () => {
    for (const file of bicepSources(infraDir)) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (!line.includes('#disable')) return;
        expect(line.trim(), file).toBe('#disable-next-line use-recent-api-versions');
        expect(lines[i + 1], file).toMatch(/^resource \w+ 'Microsoft\.Insights\/diagnosticSettings@/);
      });
    }
  });

  it('bicepconfig.json makes every linter rule an error', () => {
    const config = JSON.parse(readFileSync(path.join(infraDir, 'bicepconfig.json'), 'utf8')) as {
      analyzers: { core: { enabled: boolean; rules: Record<string, { level: string }> } };
    };
    expect(config.analyzers.core.enabled).toBe(true);
    const rules = Object.entries(config.analyzers.core.rules);
    expect(rules.length).toBeGreaterThan(30);
    expect(rules.filter(([, r]) => r.level !== 'error').map(([n]) => n)).toEqual([]);
  });
});

describe('saved queries answer "what did Clawback do today"', () => {
  it('the workspace holds the Clawback queries over the app tables', () => {
    const monitoring = nestedTemplate(moduleDeployment(main, 'monitoring'));
    const queries = monitoring.variables!.savedQueries as { displayName: string; query: string }[];
    expect(queries.length).toBeGreaterThanOrEqual(5);
    for (const q of queries) {
      expect(q.displayName).toMatch(/^Clawback today: /);
      expect(q.query.trim()).toMatch(
        /^(AppTraces|AppRequests)\n\| where TimeGenerated > startofday\(now\(\)\)/,
      );
    }
    const searches = ofType(placed, 'Microsoft.OperationalInsights/workspaces/savedSearches');
    expect(searches).toHaveLength(queries.length);
    for (const s of searches) expect(get(s.resource, 'properties.category')).toBe('Clawback');
  });
});
