import {
  appSettings,
  type ArmTemplate,
  flatten,
  get,
  inlineVariables,
  type Json,
  moduleParameter,
  ofType,
  type Placed,
  resourceIdType,
  text,
} from './arm.js';

/*
 * Each guard reads the compiled template and returns what is wrong with it, one line per problem. The
 * tests run every guard on the real template (no problems) and on copies broken on purpose (a problem).
 */

const identityType = 'Microsoft.ManagedIdentity/userAssignedIdentities';

function single(placed: Placed[], type: string, problems: string[]): Placed | undefined {
  const found = ofType(placed, type);
  if (found.length !== 1) problems.push(`expected one ${type}, found ${found.length}`);
  return found[0];
}

/** Every connection uses the managed identity: no connection strings, no shared keys, no local auth. */
export function identityOnlyProblems(main: ArmTemplate): string[] {
  const problems: string[] = [];
  const placed = flatten(main);
  const expect = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  for (const { resource: r } of ofType(placed, 'Microsoft.Storage/storageAccounts')) {
    expect(get(r, 'properties.allowSharedKeyAccess') === false, 'storage allows shared key access');
    expect(get(r, 'properties.defaultToOAuthAuthentication') === true, 'storage does not default to Entra');
  }
  for (const { resource: r } of ofType(placed, 'Microsoft.ServiceBus/namespaces'))
    expect(get(r, 'properties.disableLocalAuth') === true, 'Service Bus allows SAS (local) auth');
  for (const { resource: r } of ofType(placed, 'Microsoft.Insights/components'))
    expect(
      get(r, 'properties.DisableLocalAuth') === true,
      'Application Insights accepts instrumentation keys',
    );
  for (const { resource: r } of ofType(placed, 'Microsoft.OperationalInsights/workspaces'))
    expect(get(r, 'properties.features.disableLocalAuth') === true, 'Log Analytics allows shared keys');
  for (const { resource: r } of ofType(placed, 'Microsoft.KeyVault/vaults'))
    expect(get(r, 'properties.enableRbacAuthorization') === true, 'Key Vault uses access policies, not RBAC');

  const site = single(placed, 'Microsoft.Web/sites', problems)?.resource;
  if (site) {
    expect(
      get(site, 'identity.type') === 'UserAssigned',
      'the site does not run as the user-assigned identity',
    );
    expect(
      get(site, 'properties.functionAppConfig.deployment.storage.authentication.type') ===
        'UserAssignedIdentity',
      'the deployment package is not read with the managed identity',
    );
    const settings = appSettings(site);
    for (const name of ['AzureWebJobsStorage', 'ServiceBusConnection', 'CLAWBACK_TABLES_CONNECTION'])
      expect(!settings.has(name), `app setting ${name} is a connection string`);
    for (const [name, value] of settings) {
      expect(
        !/AccountKey=|SharedAccessKey|listKeys\(|listConnectionStrings\(/i.test(value),
        `${name} holds a key`,
      );
    }
    const prefixes = new Set(
      [...settings.keys()]
        .filter((n) => /__(fullyQualifiedNamespace|accountName)$/.test(n))
        .map((n) => n.split('__')[0]!),
    );
    for (const prefix of prefixes) {
      expect(
        settings.get(`${prefix}__credential`) === 'managedidentity',
        `${prefix} does not use the managed identity`,
      );
      expect(
        /reference\(resourceId\('Microsoft\.ManagedIdentity\/userAssignedIdentities'.*\)\.clientId\]$/.test(
          settings.get(`${prefix}__clientId`) ?? '',
        ),
        `${prefix}__clientId is not the client id of the user-assigned identity`,
      );
    }
    expect(
      /Authorization=AAD/.test(settings.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING') ?? ''),
      'telemetry is not sent with Entra ID',
    );
  }
  for (const { resource: r } of ofType(placed, 'Microsoft.Web/sites/basicPublishingCredentialsPolicies'))
    expect(get(r, 'properties.allow') === false, `basic publishing (${r.name}) is allowed`);
  expect(
    ofType(placed, 'Microsoft.Web/sites/basicPublishingCredentialsPolicies').length === 2,
    'ftp and scm basic publishing are not both switched off',
  );
  expect(
    !/\blist(Keys|ConnectionStrings|AccountSas|ServiceSas)\(/.test(JSON.stringify(main)),
    'the template asks Azure for keys',
  );
  return problems;
}

/** Built-in role ids (learn.microsoft.com/azure/role-based-access-control/built-in-roles) -> the one scope type. */
export const neededRoles: Record<string, { role: string; scope: string }> = {
  '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39': {
    role: 'Azure Service Bus Data Sender',
    scope: 'Microsoft.ServiceBus/namespaces',
  },
  '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0': {
    role: 'Azure Service Bus Data Receiver',
    scope: 'Microsoft.ServiceBus/namespaces',
  },
  '4633458b-17de-408a-b874-0445c86b69e6': {
    role: 'Key Vault Secrets User',
    scope: 'Microsoft.KeyVault/vaults',
  },
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': {
    role: 'Storage Table Data Contributor',
    scope: 'Microsoft.Storage/storageAccounts',
  },
  // The documented exception: the Functions host needs it on AzureWebJobsStorage (leases, keys, package).
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': {
    role: 'Storage Blob Data Owner',
    scope: 'Microsoft.Storage/storageAccounts',
  },
  '3913510d-42f4-4e42-8a64-420c390055eb': {
    role: 'Monitoring Metrics Publisher',
    scope: 'Microsoft.Insights/components',
  },
};

/** Exactly the roles the identity-based connections need, each on the one resource it is for. */
export function leastPrivilegeProblems(main: ArmTemplate): string[] {
  const problems: string[] = [];
  const seen: string[] = [];
  for (const { module, template, resource: r } of ofType(
    flatten(main),
    'Microsoft.Authorization/roleAssignments',
  )) {
    const where = `${module}/${r.name}`;
    const definition = inlineVariables(text(r, 'properties.roleDefinitionId'), template);
    const roleId =
      /^\[subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', '([0-9a-f-]{36})'\)\]$/.exec(
        definition,
      )?.[1];
    const needed = roleId ? neededRoles[roleId] : undefined;
    if (!needed) {
      problems.push(`${where}: role ${roleId ?? definition} is not one Clawback needs`);
      continue;
    }
    const scopeType = resourceIdType(r.scope);
    if (scopeType !== needed.scope)
      problems.push(`${where}: ${needed.role} is scoped to ${r.scope ?? 'the resource group'}`);
    seen.push(roleId!);
    const principal = text(r, 'properties.principalId');
    if (
      !principal.startsWith(`[reference(resourceId('${identityType}'`) ||
      !principal.endsWith('.principalId]')
    )
      problems.push(`${where}: the principal is not the Function App's user-assigned identity`);
    if (get(r, 'properties.principalType') !== 'ServicePrincipal')
      problems.push(`${where}: principalType is not ServicePrincipal`);
    // Computable when the deployment starts: guid(scope, identity, role) of names, no runtime values.
    const name = inlineVariables(r.name, template);
    if (/reference\(|list\w*\(|\.outputs\./.test(name))
      problems.push(`${where}: the name needs a runtime value`);
    const scopeInner = (r.scope ?? '').slice(1, -1);
    if (
      !name.startsWith(`[guid(${scopeInner}, resourceId('${identityType}'`) ||
      !name.includes(definition.slice(1, -1))
    )
      problems.push(`${where}: the name is not guid(scope, identity, role)`);
    for (const parameter of [...name.matchAll(/parameters\('(\w+)'\)/g)].map((m) => m[1]!)) {
      const passed = moduleParameter(main, module, parameter) ?? '';
      if (/reference\(/.test(passed))
        problems.push(`${where}: ${parameter} is a module output, not known at start`);
    }
  }
  for (const roleId of Object.keys(neededRoles)) {
    const count = seen.filter((s) => s === roleId).length;
    if (count !== 1) problems.push(`${neededRoles[roleId]!.role} is assigned ${count} times`);
  }
  return problems;
}

/** TLS 1.2 at least and HTTPS only, wherever the resource lets us say so. */
export function tlsProblems(main: ArmTemplate): string[] {
  const problems: string[] = [];
  const placed = flatten(main);
  const expect = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  for (const { resource: r } of ofType(placed, 'Microsoft.Storage/storageAccounts')) {
    expect(get(r, 'properties.minimumTlsVersion') === 'TLS1_2', 'storage accepts TLS below 1.2');
    expect(get(r, 'properties.supportsHttpsTrafficOnly') === true, 'storage accepts plain HTTP');
    expect(get(r, 'properties.allowBlobPublicAccess') === false, 'storage allows public blobs');
  }
  for (const { resource: r } of ofType(placed, 'Microsoft.ServiceBus/namespaces'))
    expect(get(r, 'properties.minimumTlsVersion') === '1.2', 'Service Bus accepts TLS below 1.2');
  const site = single(placed, 'Microsoft.Web/sites', problems)?.resource;
  if (site) {
    expect(get(site, 'properties.httpsOnly') === true, 'the Function App accepts plain HTTP');
    expect(
      get(site, 'properties.siteConfig.minTlsVersion') === '1.2',
      'the Function App accepts TLS below 1.2',
    );
    expect(
      get(site, 'properties.siteConfig.scmMinTlsVersion') === '1.2',
      'the deployment endpoint accepts TLS below 1.2',
    );
    expect(get(site, 'properties.siteConfig.ftpsState') === 'Disabled', 'the Function App accepts FTP');
  }
  return problems;
}

/** Resource type -> the log categories that must reach Log Analytics. */
export const neededDiagnostics: Record<string, string[]> = {
  'Microsoft.KeyVault/vaults': ['AuditEvent'],
  'Microsoft.Web/sites': ['FunctionAppLogs'],
  'Microsoft.ServiceBus/namespaces': ['OperationalLogs'],
  'Microsoft.Storage/storageAccounts/tableServices': ['StorageRead', 'StorageWrite', 'StorageDelete'],
};

export function diagnosticsProblems(main: ArmTemplate): string[] {
  const problems: string[] = [];
  const settings = ofType(flatten(main), 'Microsoft.Insights/diagnosticSettings');
  for (const [type, categories] of Object.entries(neededDiagnostics)) {
    const forType = settings.filter((s) => resourceIdType(s.resource.scope) === type);
    if (forType.length === 0) {
      problems.push(`no diagnostic setting for ${type}`);
      continue;
    }
    for (const { module, resource: r } of forType) {
      const enabled = ((get(r, 'properties.logs') ?? []) as { category?: string; enabled?: boolean }[])
        .filter((l) => l.enabled === true)
        .map((l) => l.category);
      for (const category of categories)
        if (!enabled.includes(category)) problems.push(`${type}: log category ${category} is not sent`);
      const workspace = text(r, 'properties.workspaceId');
      const passed = /^\[parameters\('(\w+)'\)\]$/.exec(workspace)?.[1];
      const value = passed ? (moduleParameter(main, module, passed) ?? '') : '';
      if (!/-monitoring'.*\.outputs\.logAnalyticsResourceId\.value/.test(value))
        problems.push(`${type}: logs do not go to the Log Analytics workspace of the monitoring module`);
    }
  }
  return problems;
}

interface AlertExpectations {
  /** Queue name -> the function its messages trigger. */
  queueFunctions: Record<string, string>;
  ingestFunction: string;
  /** Log lines the alerts match, as the code writes them. */
  remediationFailed: string;
  remediationFinished: string;
  pullConnectorFailed: string;
}

type Criterion = Record<string, Json>;

export function alertProblems(main: ArmTemplate, expected: AlertExpectations): string[] {
  const problems: string[] = [];
  const placed = flatten(main);
  const groups = ofType(placed, 'Microsoft.Insights/actionGroups');
  const emails = groups.flatMap((g) =>
    ((get(g.resource, 'properties.emailReceivers') ?? []) as { emailAddress?: string }[]).map(
      (e) => e.emailAddress,
    ),
  );
  if (!emails.includes("[parameters('alertEmailAddress')]"))
    problems.push('no action group e-mails alertEmailAddress');
  const rules = [
    ...ofType(placed, 'Microsoft.Insights/metricAlerts'),
    ...ofType(placed, 'Microsoft.Insights/scheduledQueryRules'),
  ];
  const live = rules.filter(({ resource: r }) => {
    const actions = JSON.stringify(get(r, 'properties.actions') ?? null);
    const wired = actions.includes("resourceId('Microsoft.Insights/actionGroups'");
    if (get(r, 'properties.enabled') !== true) problems.push(`${r.name} is disabled`);
    if (!wired) problems.push(`${r.name} notifies nobody`);
    return get(r, 'properties.enabled') === true && wired;
  });
  const criteria = (r: Placed) => (get(r.resource, 'properties.criteria.allOf') ?? []) as Criterion[];
  const metric = (name: string, entity: string, threshold: (t: Json) => boolean) =>
    live.some((r) =>
      criteria(r).some(
        (c) =>
          c.metricName === name &&
          c.operator === 'GreaterThan' &&
          threshold(c.threshold!) &&
          JSON.stringify(c.dimensions ?? []).includes(`"${entity}"`),
      ),
    );
  const query = (test: (q: string) => boolean) =>
    live.some((r) => criteria(r).some((c) => typeof c.query === 'string' && test(c.query)));

  if (!metric('DeadletteredMessages', '*', (t) => t === 0))
    problems.push('no alert on any dead-lettered message');
  for (const queue of Object.keys(expected.queueFunctions))
    if (!metric('ActiveMessages', queue, () => true))
      problems.push(`no alert on the ${queue} backlog length`);
  if (
    !query(
      (q) =>
        q.includes('Trigger Details:') &&
        q.includes('EnqueuedTimeUtc') &&
        Object.values(expected.queueFunctions).every((f) => q.includes(`"${f}"`)),
    )
  )
    problems.push('no alert on the age of both queues’ messages');
  if (
    !query(
      (q) =>
        q.includes('requests') && q.includes(`"${expected.ingestFunction}"`) && /resultCode\) >= 500/.test(q),
    )
  )
    problems.push('no alert on the ingest 5xx rate');
  if (
    !query(
      (q) =>
        q.includes(expected.remediationFailed) &&
        q.includes(expected.remediationFinished) &&
        q.includes('FailedPercent'),
    )
  )
    problems.push('no alert on the remediation failure rate');
  if (!query((q) => q.includes(expected.pullConnectorFailed)))
    problems.push('no alert on a failing pull connector');
  return problems;
}
