import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { maxDeliveryCount, queues, serviceBusConnection, tables } from '../../shared/bindings.js';
import {
  defaultConcurrentMailboxes,
  hostSettings,
  loadSettings,
  settingDocs,
} from '../../shared/config/settings.js';

/*
 * The Bicep CLI cannot be installed on the build machines, so these tests read the templates as text.
 * The helpers below understand just enough Bicep to do that honestly: strings ('...' and '''...'''),
 * comments, balanced brackets, and top-level `param` / `var` / `resource` / `module` / `output`
 * statements with their decorators.
 */

const infraDir = path.resolve(__dirname, '../../infra');
const repoRoot = path.resolve(__dirname, '../..');

interface Decorated {
  name: string;
  decorators: string[];
}
interface Param extends Decorated {
  type: string;
  defaultValue: string | undefined;
}
interface Output extends Decorated {
  type: string;
  value: string;
}
interface Resource {
  symbol: string;
  type: string;
  apiVersion: string;
  existing: boolean;
  /** Object literal of the resource (for a loop, the object after `for x in y:`). */
  body: string;
  loopSource: string | undefined;
}
interface ModuleRef {
  symbol: string;
  path: string;
  params: Map<string, string>;
}
interface BicepFile {
  file: string;
  params: Param[];
  vars: Map<string, string>;
  resources: Resource[];
  modules: ModuleRef[];
  outputs: Output[];
  /** Source with comments removed. */
  code: string;
}

/** Index just past the string literal that starts at `i` (a `'` or `'''`). */
function skipString(text: string, i: number): number {
  if (text.startsWith("'''", i)) {
    const end = text.indexOf("'''", i + 3);
    if (end < 0) throw new Error('unterminated multi-line string');
    return end + 3;
  }
  let j = i + 1;
  while (j < text.length) {
    if (text[j] === '\\') j += 2;
    else if (text[j] === "'") return j + 1;
    else j++;
  }
  throw new Error('unterminated string');
}

function stripComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] === "'") {
      const end = skipString(text, i);
      out += text.slice(i, end);
      i = end;
    } else if (text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (text.startsWith('/*', i)) {
      i = text.indexOf('*/', i) + 2;
    } else {
      out += text[i];
      i++;
    }
  }
  return out;
}

const closing: Record<string, string> = { '{': '}', '[': ']', '(': ')' };

/** Index just past the bracket that closes the one at `open`, skipping strings (and `${...}` in them). */
function matchBracket(text: string, open: number): number {
  const stack: string[] = [];
  let i = open;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === "'") {
      i = skipString(text, i);
      continue;
    }
    if (ch in closing) stack.push(closing[ch]!);
    else if (ch === '}' || ch === ']' || ch === ')') {
      if (stack.pop() !== ch) throw new Error(`unbalanced ${ch} at ${i}`);
      if (stack.length === 0) return i + 1;
    }
    i++;
  }
  throw new Error(`no bracket closes the one at ${open}`);
}

/** A value expression starting at `i`: up to the end of the line, or a whole bracketed literal. */
function readExpression(text: string, i: number): { value: string; end: number } {
  let j = i;
  while (j < text.length && text[j] !== '\n') {
    if (text[j] === "'") j = skipString(text, j);
    else if (text[j]! in closing) j = matchBracket(text, j);
    else j++;
  }
  return { value: text.slice(i, j).trim(), end: j };
}

/** Top-level `key: value` pairs of an object literal (`{ ... }`), newline- or comma-separated. */
function objectProps(objectText: string): Map<string, string> {
  const props = new Map<string, string>();
  const inner = objectText.trim();
  if (!inner.startsWith('{')) throw new Error(`not an object: ${inner.slice(0, 40)}`);
  let i = 1;
  const end = matchBracket(inner, 0) - 1;
  while (i < end) {
    const rest = inner.slice(i, end);
    const key = /^[\s,]*('(?:[^'\\]|\\.)*'|[A-Za-z_$][\w$]*)\s*:/.exec(rest);
    if (!key) {
      if (rest.trim().replace(/,/g, '') === '') break;
      throw new Error(`cannot read object property at: ${rest.slice(0, 40)}`);
    }
    const valueStart = i + key[0].length;
    let j = valueStart;
    while (j < end && isInlineSpace(inner[j]!)) j++;
    let k = j;
    while (k < end && inner[k] !== '\n' && inner[k] !== ',') {
      if (inner[k] === "'") k = skipString(inner, k);
      else if (inner[k]! in closing) k = matchBracket(inner, k);
      else k++;
    }
    props.set(key[1]!.replace(/^'|'$/g, ''), inner.slice(j, k).trim());
    i = k + 1;
  }
  return props;
}

function isInlineSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r';
}

/** Items of an array literal (`[ ... ]`), newline- or comma-separated. */
function arrayItems(arrayText: string): string[] {
  const inner = arrayText.trim();
  if (!inner.startsWith('[')) throw new Error(`not an array: ${inner.slice(0, 40)}`);
  const end = matchBracket(inner, 0) - 1;
  const items: string[] = [];
  let i = 1;
  while (i < end) {
    while (i < end && /[\s,]/.test(inner[i]!)) i++;
    if (i >= end) break;
    let k = i;
    while (k < end && inner[k] !== '\n' && inner[k] !== ',') {
      if (inner[k] === "'") k = skipString(inner, k);
      else if (inner[k]! in closing) k = matchBracket(inner, k);
      else k++;
    }
    items.push(inner.slice(i, k).trim());
    i = k;
  }
  return items;
}

/** Follows a dotted path of properties (`properties.siteConfig.appSettings`) through object literals. */
function prop(objectText: string, dotted: string): string | undefined {
  let current: string | undefined = objectText;
  for (const key of dotted.split('.')) {
    if (current === undefined || !current.trim().startsWith('{')) return undefined;
    current = objectProps(current).get(key);
  }
  return current;
}

/** The value of a Bicep string literal without interpolation, or undefined for any other expression. */
function literal(expression: string | undefined): string | undefined {
  const m = /^'((?:[^'\\$]|\\.|\$(?!\{))*)'$/.exec(expression?.trim() ?? '');
  return m ? m[1]!.replace(/\\'/g, "'") : undefined;
}

function parseBicep(file: string): BicepFile {
  const code = stripComments(readFileSync(file, 'utf8'));
  const result: BicepFile = {
    file,
    params: [],
    vars: new Map(),
    resources: [],
    modules: [],
    outputs: [],
    code,
  };
  let decorators: string[] = [];
  let i = 0;
  while (i < code.length) {
    while (i < code.length && /\s/.test(code[i]!)) i++;
    if (i >= code.length) break;
    if (code[i] === '@') {
      const open = code.indexOf('(', i);
      const end = matchBracket(code, open);
      decorators.push(code.slice(i, end));
      i = end;
      continue;
    }
    const statement = /^(param|var|resource|module|output|metadata|targetScope|using)\b/.exec(
      code.slice(i, i + 20),
    );
    if (!statement) throw new Error(`${file}: unexpected text at ${code.slice(i, i + 40)}`);
    const head = /^[^=\n]*/.exec(code.slice(i))![0];
    const assign = code.indexOf('=', i + head.length);
    const afterHead = i + head.length;
    const expression =
      code[afterHead] === '=' ? readExpression(code, assign + 1) : { value: undefined, end: afterHead };
    const words = head.trim().split(/\s+/);
    switch (statement[1]) {
      case 'param':
        result.params.push({
          name: words[1]!,
          type: words[2]!,
          decorators,
          defaultValue: expression.value,
        });
        break;
      case 'var':
        result.vars.set(words[1]!, expression.value!);
        break;
      case 'output':
        result.outputs.push({ name: words[1]!, type: words[2]!, decorators, value: expression.value! });
        break;
      case 'resource': {
        const m = /^resource\s+(\w+)\s+'([^'@]+)@([^']+)'\s*(existing)?\s*$/.exec(head.trim());
        if (!m) throw new Error(`${file}: cannot read resource header ${head}`);
        const value = expression.value!;
        const loop = /^\[\s*for\s+(?:\(?[\w\s,]+\)?)\s+in\s+(\w+)\s*:\s*/.exec(value);
        result.resources.push({
          symbol: m[1]!,
          type: m[2]!,
          apiVersion: m[3]!,
          existing: m[4] !== undefined,
          body: loop ? value.slice(loop[0].length, value.lastIndexOf(']')).trim() : value,
          loopSource: loop?.[1],
        });
        break;
      }
      case 'module': {
        const m = /^module\s+(\w+)\s+'([^']+)'/.exec(head.trim());
        if (!m) throw new Error(`${file}: cannot read module header ${head}`);
        const params = prop(expression.value!, 'params');
        result.modules.push({
          symbol: m[1]!,
          path: m[2]!,
          params: params ? objectProps(params) : new Map<string, string>(),
        });
        break;
      }
      default:
        break;
    }
    decorators = [];
    i = expression.end;
  }
  return result;
}

function description(item: Decorated): string | undefined {
  const d = item.decorators.find((x) => x.startsWith('@description('));
  return d ? literal(d.slice('@description('.length, -1)) : undefined;
}

const moduleFiles = readdirSync(path.join(infraDir, 'modules'))
  .filter((f) => f.endsWith('.bicep'))
  .map((f) => path.join(infraDir, 'modules', f));
const main = parseBicep(path.join(infraDir, 'main.bicep'));
const modules = moduleFiles.map(parseBicep);
const allFiles = [main, ...modules];

function moduleFile(name: string): BicepFile {
  const found = modules.find((m) => path.basename(m.file) === name);
  if (!found) throw new Error(`infra/modules/${name} is missing`);
  return found;
}
function resourcesOfType(file: BicepFile, type: string): Resource[] {
  return file.resources.filter((r) => r.type.toLowerCase() === type.toLowerCase());
}
function single<T>(items: T[], what: string): T {
  if (items.length !== 1) throw new Error(`expected exactly one ${what}, found ${items.length}`);
  return items[0]!;
}

const functionAppFile = moduleFile('functionApp.bicep');
const site = single(
  resourcesOfType(functionAppFile, 'Microsoft.Web/sites').filter((r) => !r.existing),
  'Microsoft.Web/sites',
);
const appSettings = new Map(
  arrayItems(prop(site.body, 'properties.siteConfig.appSettings') ?? '[]').map((item) => {
    const props = objectProps(item);
    const name = literal(props.get('name'));
    if (name === undefined) throw new Error(`app setting without a literal name: ${item}`);
    return [name, props.get('value') ?? ''] as const;
  }),
);

/** Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles). */
const roles = {
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39',
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0',
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
} as const;
const broadRoles = {
  owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  userAccessAdministrator: '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
  serviceBusDataOwner: '090c5cfd-751d-490a-894a-3ce6f1109419',
  keyVaultAdministrator: '00482a5a-887f-4fb3-b363-3b7fe8e74483',
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  storageAccountContributor: '17d1049b-9a84-46fb-8f53-869881c3d3ab',
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
} as const;

interface RoleAssignment {
  file: string;
  symbol: string;
  scopeSymbol: string;
  scopeType: string;
  roleId: string;
  nameArgs: string[];
  roleDefinitionExpression: string;
  principalExpression: string;
}

function splitArgs(args: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < args.length; i++) {
    const ch = args[i]!;
    if (ch === "'") {
      i = skipString(args, i) - 1;
      continue;
    }
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(args.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(args.slice(start).trim());
  return parts;
}

function roleAssignments(file: BicepFile): RoleAssignment[] {
  return resourcesOfType(file, 'Microsoft.Authorization/roleAssignments').map((r) => {
    const props = objectProps(r.body);
    const scopeSymbol = props.get('scope') ?? '(resource group)';
    const scope = file.resources.find((x) => x.symbol === scopeSymbol);
    const roleDefinitionExpression = prop(r.body, 'properties.roleDefinitionId') ?? '';
    const definition = file.vars.get(roleDefinitionExpression) ?? roleDefinitionExpression;
    const roleId =
      /^subscriptionResourceId\(\s*'Microsoft\.Authorization\/roleDefinitions'\s*,\s*'([0-9a-f-]{36})'\s*\)$/.exec(
        definition.replace(/\s+/g, ' '),
      )?.[1];
    const name = props.get('name') ?? '';
    const nameCall = /^guid\(([\s\S]*)\)$/.exec(name);
    return {
      file: path.basename(file.file),
      symbol: r.symbol,
      scopeSymbol,
      scopeType: scope?.type ?? '(not a resource of this file)',
      roleId: roleId ?? `(unresolved: ${definition})`,
      nameArgs: nameCall ? splitArgs(nameCall[1]!) : [],
      roleDefinitionExpression,
      principalExpression: prop(r.body, 'properties.principalId') ?? '',
    };
  });
}
const assignments = allFiles.flatMap(roleAssignments);

describe('the Function App module sets the app settings the code reads', () => {
  const known = new Set<string>([...Object.keys(settingDocs), ...hostSettings]);
  const isAllowed = (name: string) =>
    known.has(name) ||
    /^(ServiceBusConnection|AzureWebJobsStorage)__\w+$/.test(name) ||
    name.startsWith('APPLICATIONINSIGHTS_');
  // Flex Consumption takes the runtime and version from functionAppConfig; these settings are rejected or
  // ignored there, so hostSettings entries among them are deliberately not set.
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
  // A deployment in Azure reaches everything with its managed identity.
  const needed = [
    'CLAWBACK_RUNTIME',
    'ServiceBusConnection__fullyQualifiedNamespace',
    'CLAWBACK_TABLES_ENDPOINT',
    'CLAWBACK_KEY_VAULT_URL',
    'AZURE_CLIENT_ID',
  ];

  it('names only settings the code or the Functions host knows', () => {
    expect([...appSettings.keys()].filter((n) => !isAllowed(n))).toEqual([]);
  });

  it('sets every setting a deployment needs, each of them known to the settings schema', () => {
    for (const name of needed) expect(Object.keys(settingDocs)).toContain(name);
    expect(needed.filter((n) => !appSettings.has(n))).toEqual([]);
  });

  it('sets every host setting that Flex Consumption accepts, and none that it rejects', () => {
    const hostNeeded = hostSettings.filter((n) => !flexDeprecated.includes(n));
    expect(hostNeeded.filter((n) => !appSettings.has(n))).toEqual([]);
    expect([...appSettings.keys()].filter((n) => flexDeprecated.includes(n))).toEqual([]);
  });

  it('runs as azure and connects with the managed identity, never with a connection string or key', () => {
    expect(literal(appSettings.get('CLAWBACK_RUNTIME'))).toBe('azure');
    for (const prefix of [serviceBusConnection, 'AzureWebJobsStorage']) {
      expect(literal(appSettings.get(`${prefix}__credential`))).toBe('managedidentity');
      expect(appSettings.get(`${prefix}__clientId`)).toBe('identity.properties.clientId');
    }
    expect(appSettings.get('AZURE_CLIENT_ID')).toBe('identity.properties.clientId');
    expect(appSettings.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')).toMatch(/Authorization=AAD/);
    for (const name of [serviceBusConnection, 'CLAWBACK_TABLES_CONNECTION', 'AzureWebJobsStorage']) {
      expect(appSettings.has(name)).toBe(false);
    }
    for (const value of appSettings.values())
      expect(value).not.toMatch(/listKeys|AccountKey|SharedAccessKey/i);
  });

  it('gives values the settings schema accepts when the Bicep expressions are filled in', () => {
    const sample: Record<string, string> = {
      'identity.properties.clientId': '11111111-2222-3333-4444-555555555555',
      'storage.name': 'stclawback',
      'environment().suffixes.storage': 'core.windows.net',
      "split(split(namespace.properties.serviceBusEndpoint, '/')[2], ':')[0]":
        'sb-clawback.servicebus.windows.net',
      'vault.properties.vaultUri': 'https://kv-clawback.vault.azure.net/',
    };
    const evaluate = (expression: string): string => {
      if (expression in sample) return sample[expression]!;
      const text = literal(
        expression.replace(/\$\{([^}]+)\}/g, (_, inner: string) => sample[inner] ?? `<${inner}>`),
      );
      if (text === undefined || text.includes('<')) throw new Error(`cannot evaluate ${expression}`);
      return text;
    };
    const env = Object.fromEntries(needed.map((n) => [n, evaluate(appSettings.get(n)!)]));
    expect(() => loadSettings(env)).not.toThrow();
  });
});

describe('Service Bus queues match the function registrations in shared/bindings.ts', () => {
  const sb = moduleFile('serviceBus.bicep');
  const queueResources = resourcesOfType(sb, 'Microsoft.ServiceBus/namespaces/queues');
  const queueByName = new Map(queueResources.map((q) => [literal(prop(q.body, 'name')), q]));
  const paramDefault = (file: BicepFile, name: string) =>
    file.params.find((p) => p.name === name)?.defaultValue;

  it('declares exactly the queues the functions use', () => {
    expect([...queueByName.keys()].sort()).toEqual(
      Object.values(queues)
        .map((q) => q.name)
        .sort(),
    );
  });

  it.each(Object.values(queues))(
    'queue $name: sessions as registered, duplicate detection on, dead-lettering on expiry',
    (queue) => {
      const q = queueByName.get(queue.name)!;
      expect(prop(q.body, 'properties.requiresSession')).toBe(String(queue.sessions));
      expect(prop(q.body, 'properties.requiresDuplicateDetection')).toBe('true');
      expect(prop(q.body, 'properties.duplicateDetectionHistoryTimeWindow')).toBeDefined();
      expect(prop(q.body, 'properties.deadLetteringOnMessageExpiration')).toBe('true');
      expect(prop(q.body, 'properties.maxDeliveryCount')).toBe('maxDeliveryCount');
    },
  );

  it('maxDeliveryCount defaults to the value the app assumes, in the module and in main', () => {
    expect(paramDefault(sb, 'maxDeliveryCount')).toBe(String(maxDeliveryCount));
    expect(paramDefault(main, 'maxDeliveryCount')).toBe(String(maxDeliveryCount));
    const sbModule = main.modules.find((m) => m.path === 'modules/serviceBus.bicep')!;
    expect(sbModule.params.get('maxDeliveryCount')).toBe('maxDeliveryCount');
  });

  it('the namespace is Standard with local (SAS) authentication off', () => {
    const ns = single(resourcesOfType(sb, 'Microsoft.ServiceBus/namespaces'), 'namespace');
    expect(literal(prop(ns.body, 'sku.name'))).toBe('Standard');
    expect(prop(ns.body, 'properties.disableLocalAuth')).toBe('true');
  });
});

describe('storage, Key Vault, monitoring and the site are locked down', () => {
  it('storage: no shared keys, TLS 1.2, no public blobs, and the tables the app uses', () => {
    const st = moduleFile('storage.bicep');
    const account = single(resourcesOfType(st, 'Microsoft.Storage/storageAccounts'), 'storage account');
    expect(prop(account.body, 'properties.allowSharedKeyAccess')).toBe('false');
    expect(literal(prop(account.body, 'properties.minimumTlsVersion'))).toBe('TLS1_2');
    expect(prop(account.body, 'properties.allowBlobPublicAccess')).toBe('false');
    const tableResource = single(
      resourcesOfType(st, 'Microsoft.Storage/storageAccounts/tableServices/tables'),
      'tables',
    );
    const names = arrayItems(st.vars.get(tableResource.loopSource ?? '') ?? '[]').map(literal);
    expect(names.sort()).toEqual(Object.values(tables).sort());
    expect(resourcesOfType(st, 'Microsoft.Storage/storageAccounts/blobServices/containers')).toHaveLength(1);
  });

  it('Key Vault: RBAC authorisation, soft delete, purge protection', () => {
    const vault = single(resourcesOfType(moduleFile('keyVault.bicep'), 'Microsoft.KeyVault/vaults'), 'vault');
    expect(prop(vault.body, 'properties.enableRbacAuthorization')).toBe('true');
    expect(prop(vault.body, 'properties.enableSoftDelete')).toBe('true');
    expect(prop(vault.body, 'properties.enablePurgeProtection')).toBe('true');
  });

  it('Application Insights accepts only Entra-authenticated telemetry', () => {
    const appi = single(
      resourcesOfType(moduleFile('monitoring.bicep'), 'Microsoft.Insights/components'),
      'component',
    );
    expect(prop(appi.body, 'properties.DisableLocalAuth')).toBe('true');
  });

  it('the Function App is Flex Consumption on Node 22, HTTPS only, TLS 1.2, FTPS and basic publishing off', () => {
    const plan = single(resourcesOfType(functionAppFile, 'Microsoft.Web/serverfarms'), 'plan');
    expect(literal(prop(plan.body, 'sku.name'))).toBe('FC1');
    expect(literal(prop(plan.body, 'sku.tier'))).toBe('FlexConsumption');
    expect(literal(prop(site.body, 'kind'))).toBe('functionapp,linux');
    expect(literal(prop(site.body, 'identity.type'))).toBe('UserAssigned');
    expect(prop(site.body, 'properties.httpsOnly')).toBe('true');
    expect(literal(prop(site.body, 'properties.siteConfig.minTlsVersion'))).toBe('1.2');
    expect(literal(prop(site.body, 'properties.siteConfig.ftpsState'))).toBe('Disabled');
    expect(literal(prop(site.body, 'properties.functionAppConfig.runtime.name'))).toBe('node');
    expect(literal(prop(site.body, 'properties.functionAppConfig.runtime.version'))).toBe('22');
    expect(
      literal(prop(site.body, 'properties.functionAppConfig.deployment.storage.authentication.type')),
    ).toBe('UserAssignedIdentity');
    const policies = resourcesOfType(
      functionAppFile,
      'Microsoft.Web/sites/basicPublishingCredentialsPolicies',
    );
    expect(policies.map((p) => literal(prop(p.body, 'name'))).sort()).toEqual(['ftp', 'scm']);
    for (const p of policies) expect(prop(p.body, 'properties.allow')).toBe('false');
  });

  it('alerts: dead-lettered messages, connectivity/authentication failures and a failure spike, to an e-mail', () => {
    const alerts = moduleFile('alerts.bicep');
    const metric = single(resourcesOfType(alerts, 'Microsoft.Insights/metricAlerts'), 'metric alert');
    const criterion = arrayItems(prop(metric.body, 'properties.criteria.allOf')!)[0]!;
    expect(literal(prop(criterion, 'metricName'))).toBe('DeadletteredMessages');
    expect(prop(criterion, 'threshold')).toBe('0');
    const queries = resourcesOfType(alerts, 'Microsoft.Insights/scheduledQueryRules').map(
      (r) => arrayItems(prop(r.body, 'properties.criteria.allOf')!)[0]!,
    );
    expect(queries.some((q) => /AuthenticationError/.test(q) && /ConnectionError/.test(q))).toBe(true);
    expect(
      queries.some(
        (q) => /remediation failed reason=/.test(q) && prop(q, 'threshold') === 'failureSpikeThreshold',
      ),
    ).toBe(true);
    const group = single(resourcesOfType(alerts, 'Microsoft.Insights/actionGroups'), 'action group');
    expect(prop(arrayItems(prop(group.body, 'properties.emailReceivers')!)[0]!, 'emailAddress')).toBe(
      'alertEmailAddress',
    );
    expect(main.params.find((p) => p.name === 'alertEmailAddress')?.defaultValue).toBeUndefined();
  });
});

describe('role assignments are least privilege, each on the one resource it is for', () => {
  const expected = [
    ['Microsoft.ServiceBus/namespaces', roles.serviceBusDataSender],
    ['Microsoft.ServiceBus/namespaces', roles.serviceBusDataReceiver],
    ['Microsoft.KeyVault/vaults', roles.keyVaultSecretsUser],
    ['Microsoft.Storage/storageAccounts', roles.storageTableDataContributor],
    ['Microsoft.Storage/storageAccounts', roles.storageBlobDataOwner],
    ['Microsoft.Insights/components', roles.monitoringMetricsPublisher],
  ];

  it('assigns exactly the roles the identity-based connections need, on resources of the right type', () => {
    const actual = assignments.map((a) => [a.scopeType, a.roleId]);
    expect(actual.sort()).toEqual([...expected].sort());
  });

  it('never assigns Owner, Contributor or a data-plane administrator role', () => {
    const broad = new Set<string>(Object.values(broadRoles));
    expect(assignments.filter((a) => broad.has(a.roleId))).toEqual([]);
    const guids = allFiles.flatMap(
      (f) => f.code.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [],
    );
    expect(guids.filter((g) => broad.has(g))).toEqual([]);
  });

  it('the one Data Owner role is Storage Blob on the host storage, with the reason written next to it', () => {
    const owners = assignments.filter((a) => a.roleId === roles.storageBlobDataOwner);
    expect(owners.map((a) => [a.file, a.scopeType])).toEqual([
      ['storage.bicep', 'Microsoft.Storage/storageAccounts'],
    ]);
    const source = readFileSync(path.join(infraDir, 'modules', 'storage.bicep'), 'utf8');
    expect(source).toMatch(
      /Functions host needs Storage Blob Data Owner[\s\S]*blob leases[\s\S]*deployment package/,
    );
  });

  it.each(assignments.map((a) => [`${a.file} ${a.symbol}`, a] as const))(
    '%s is scoped to its resource and named guid(scope, principal, role)',
    (_, a) => {
      expect(a.scopeType).toMatch(/^Microsoft\./);
      expect(a.nameArgs).toEqual([`${a.scopeSymbol}.id`, a.principalExpression, a.roleDefinitionExpression]);
      expect(a.principalExpression).toBe('principalId');
    },
  );

  it('every module with role assignments receives the principal of the identity the Function App runs as', () => {
    const identityModule = main.modules.find((m) => m.path === 'modules/identity.bicep')!;
    const fa = main.modules.find((m) => m.path === 'modules/functionApp.bicep')!;
    expect(fa.params.get('identityName')).toBe(`${identityModule.symbol}.outputs.name`);
    const withRoles = new Set(assignments.map((a) => a.file));
    for (const m of main.modules.filter((x) => withRoles.has(path.basename(x.path)))) {
      expect(m.params.get('principalId')).toBe(`${identityModule.symbol}.outputs.principalId`);
    }
    expect(withRoles.size).toBe(4);
  });

  it('each identity-based setting points at the resource that holds its role', () => {
    // setting -> [Function App module param naming the resource, module that creates it and holds the roles]
    const links: [string, string, string, string[]][] = [
      [
        'ServiceBusConnection__fullyQualifiedNamespace',
        'namespace',
        'serviceBus.bicep',
        [roles.serviceBusDataSender, roles.serviceBusDataReceiver],
      ],
      ['CLAWBACK_TABLES_ENDPOINT', 'storage', 'storage.bicep', [roles.storageTableDataContributor]],
      ['AzureWebJobsStorage__accountName', 'storage', 'storage.bicep', [roles.storageBlobDataOwner]],
      ['CLAWBACK_KEY_VAULT_URL', 'vault', 'keyVault.bicep', [roles.keyVaultSecretsUser]],
      [
        'APPLICATIONINSIGHTS_CONNECTION_STRING',
        'applicationInsights',
        'monitoring.bicep',
        [roles.monitoringMetricsPublisher],
      ],
    ];
    const fa = main.modules.find((m) => m.path === 'modules/functionApp.bicep')!;
    for (const [setting, existingSymbol, roleModule, roleIds] of links) {
      expect(appSettings.get(setting), setting).toMatch(
        new RegExp(`\\b${existingSymbol}\\.(name|properties)\\b`),
      );
      const existing = functionAppFile.resources.find((r) => r.symbol === existingSymbol && r.existing)!;
      const nameParam = prop(existing.body, 'name')!;
      const producer = main.modules.find((m) => path.basename(m.path) === roleModule)!;
      expect(fa.params.get(nameParam), setting).toBe(`${producer.symbol}.outputs.name`);
      const produced = moduleFile(roleModule);
      const outputValue = produced.outputs.find((o) => o.name === 'name')!.value;
      const scoped = assignments.filter(
        (a) => a.file === roleModule && `${a.scopeSymbol}.name` === outputValue,
      );
      expect(
        scoped.map((a) => a.roleId),
        setting,
      ).toEqual(expect.arrayContaining(roleIds));
      expect(existing.type.toLowerCase()).toBe(
        produced.resources.find((r) => `${r.symbol}.name` === outputValue)!.type.toLowerCase(),
      );
    }
  });
});

describe('parameters and outputs', () => {
  const secretish =
    /listKeys|listConnectionStrings|secret|password|connectionString|AccountKey|SharedAccessKey/i;

  it.each(allFiles.map((f) => [path.relative(infraDir, f.file), f] as const))(
    '%s: every parameter is described as Required. or Optional., matching whether it has a default',
    (_, file) => {
      for (const p of file.params) {
        const text = description(p);
        expect(text, p.name).toMatch(/^(Required|Optional)\. \S/);
        expect(text!.startsWith('Optional.'), `${p.name} default vs description`).toBe(
          p.defaultValue !== undefined,
        );
      }
    },
  );

  it.each(allFiles.map((f) => [path.relative(infraDir, f.file), f] as const))(
    '%s: no parameter default or output carries a secret, key or connection string',
    (_, file) => {
      for (const p of file.params) expect(p.defaultValue ?? '', p.name).not.toMatch(secretish);
      for (const o of file.outputs) expect(`${o.name} ${o.value}`, o.name).not.toMatch(secretish);
      for (const o of file.outputs) expect(description(o), o.name).toBeDefined();
    },
  );

  it('no template asks Azure for keys at all', () => {
    for (const f of allFiles)
      expect(f.code, f.file).not.toMatch(/\blist(Keys|ConnectionStrings|AccountSas|ServiceSas)\s*\(/);
  });

  it('every module outputs its name and resourceId', () => {
    for (const f of modules) {
      expect(
        f.outputs.map((o) => o.name),
        f.file,
      ).toEqual(expect.arrayContaining(['name', 'resourceId']));
    }
    expect(main.outputs.map((o) => o.name)).toEqual(expect.arrayContaining(['name', 'resourceId']));
  });

  it('main.bicepparam sets every required parameter of main.bicep and nothing main does not declare', () => {
    const text = stripComments(readFileSync(path.join(infraDir, 'main.bicepparam'), 'utf8'));
    expect(text).toMatch(/^using 'main\.bicep'/m);
    const set = [...text.matchAll(/^param\s+(\w+)\s*=/gm)].map((m) => m[1]!);
    const declared = main.params.map((p) => p.name);
    expect(set.filter((n) => !declared.includes(n))).toEqual([]);
    expect(
      main.params.filter((p) => p.defaultValue === undefined && !set.includes(p.name)).map((p) => p.name),
    ).toEqual([]);
  });

  it('every module main.bicep references exists and gets only parameters it declares, and all its required ones', () => {
    for (const m of main.modules) {
      const target = parseBicep(path.join(infraDir, m.path));
      const declared = target.params.map((p) => p.name);
      expect(
        [...m.params.keys()].filter((k) => !declared.includes(k)),
        m.path,
      ).toEqual([]);
      const required = target.params.filter((p) => p.defaultValue === undefined).map((p) => p.name);
      expect(
        required.filter((r) => !m.params.has(r)),
        m.path,
      ).toEqual([]);
    }
  });
});

describe('api versions', () => {
  // Resource types whose newest non-preview api-version is older than 2022.
  const latestStableBefore2022: Record<string, string> = {
    'microsoft.insights/metricalerts': '2018-03-01',
    'microsoft.insights/components': '2020-02-02',
  };

  it('are 2022 or newer and not previews (except where no newer stable version exists)', () => {
    const stale = allFiles.flatMap((f) =>
      f.resources
        .filter((r) => {
          if (/preview/i.test(r.apiVersion)) return true;
          const exception = latestStableBefore2022[r.type.toLowerCase()];
          if (exception) return r.apiVersion !== exception;
          return Number(r.apiVersion.slice(0, 4)) < 2022;
        })
        .map((r) => `${path.basename(f.file)} ${r.type}@${r.apiVersion}`),
    );
    expect(stale).toEqual([]);
  });
});

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
