import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { queues, routes } from '../../shared/bindings.js';
import {
  type ArmResource,
  type ArmTemplate,
  copyOf,
  flatten,
  get,
  inlineVariables,
  loadCompiled,
  moduleDeployment,
  ofType,
  repoRoot,
  text,
  the,
  without,
} from './arm.js';
import {
  alertProblems,
  diagnosticsProblems,
  identityOnlyProblems,
  leastPrivilegeProblems,
  tlsProblems,
} from './guards.js';

/*
 * Every guard passes on the compiled template and rejects a copy broken in the way it guards against:
 * a check that cannot fail proves nothing.
 */

const { main } = loadCompiled();

/** Queue -> function, read from the registrations in functions/*.ts (not a second copy of them). */
function queueFunctions(): Record<string, string> {
  const out: Record<string, string> = {};
  const dir = path.join(repoRoot, 'functions');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    for (const m of text.matchAll(/app\.serviceBusQueue\('(\w+)',\s*\{\s*queueName:\s*queues\.(\w+)\.name/g))
      out[queues[m[2] as keyof typeof queues].name] = m[1]!;
  }
  return out;
}
const expectations = {
  queueFunctions: queueFunctions(),
  ingestFunction: 'ingestVerdict',
  remediationFailed: 'remediation failed reason=',
  remediationFinished: 'remediation finished status=',
  pullConnectorFailed: 'pull connector failed source=',
};

/** What is broken, the problem the guard must report, how to break it. */
type Breaker = [string, RegExp, (t: ArmTemplate) => unknown];
const props = (r: ArmResource) => r.properties as Record<string, unknown>;
const settingsOf = (t: ArmTemplate) =>
  get(the(t, 'Microsoft.Web/sites'), 'properties.siteConfig.appSettings') as {
    name: string;
    value: string;
  }[];
const roleOf = (t: ArmTemplate, module: string, roleId: string) =>
  ofType(flatten(t), 'Microsoft.Authorization/roleAssignments').find(
    (x) =>
      x.module === module &&
      inlineVariables(text(x.resource, 'properties.roleDefinitionId'), x.template).includes(roleId),
  )!.resource;
const p = (r: ArmResource) => r.properties;
const moduleTemplate = (t: ArmTemplate, module: string) =>
  (moduleDeployment(t, module).properties as { template: ArmTemplate }).template;
const variable = (t: ArmTemplate, module: string, name: string) => moduleTemplate(t, module).variables![name];

function rejects(guard: (t: ArmTemplate) => string[], breakers: Breaker[]) {
  it('the compiled template passes', () => expect(guard(main)).toEqual([]));
  it.each(breakers)('rejects a copy with %s', (_, problem, breakIt) => {
    const copy = copyOf(main);
    breakIt(copy);
    expect(guard(copy)).toContainEqual(expect.stringMatching(problem));
  });
}

describe('the alerts are tied to what the code registers and logs', () => {
  it('knows the function of each queue and the ingest function', () => {
    expect(Object.keys(expectations.queueFunctions).sort()).toEqual(
      Object.values(queues)
        .map((q) => q.name)
        .sort(),
    );
    expect(routes).toHaveProperty(expectations.ingestFunction);
  });

  it('matches the remediation log lines shared/remediation/record.ts writes', () => {
    const source = readFileSync(path.join(repoRoot, 'shared/remediation/record.ts'), 'utf8');
    expect(source).toContain(`\`${expectations.remediationFailed}\${`);
    expect(source).toContain(`\`${expectations.remediationFinished}\${`);
  });
});

describe('identity-only connections: no connection strings, shared keys or local auth', () => {
  rejects(identityOnlyProblems, [
    [
      'storage shared keys on',
      /shared key access/,
      (t) => (props(the(t, 'Microsoft.Storage/storageAccounts')).allowSharedKeyAccess = true),
    ],
    [
      'Service Bus SAS on',
      /SAS/,
      (t) => (props(the(t, 'Microsoft.ServiceBus/namespaces')).disableLocalAuth = false),
    ],
    [
      'instrumentation keys on',
      /instrumentation keys/,
      (t) => (props(the(t, 'Microsoft.Insights/components')).DisableLocalAuth = false),
    ],
    [
      'Log Analytics shared keys on',
      /Log Analytics allows shared keys/,
      (t) =>
        ((
          props(the(t, 'Microsoft.OperationalInsights/workspaces')).features as Record<string, unknown>
        ).disableLocalAuth = false),
    ],
    [
      'Key Vault access policies',
      /access policies/,
      (t) => (props(the(t, 'Microsoft.KeyVault/vaults')).enableRbacAuthorization = false),
    ],
    [
      'a connection string app setting',
      /AzureWebJobsStorage is a connection string/,
      (t) =>
        settingsOf(t).push({
          name: 'AzureWebJobsStorage',
          value:
            "[format('DefaultEndpointsProtocol=https;AccountKey={0}', listKeys(resourceId('Microsoft.Storage/storageAccounts', 'x'), '2025-06-01').keys[0].value)]",
        }),
    ],
    [
      'Service Bus reached without the identity',
      /ServiceBusConnection does not use the managed identity/,
      (t) =>
        (settingsOf(t).find((s) => s.name === 'ServiceBusConnection__credential')!.value =
          'connectionstring'),
    ],
    [
      'storage reached with another client id',
      /AzureWebJobsStorage__clientId is not the client id/,
      (t) =>
        (settingsOf(t).find((s) => s.name === 'AzureWebJobsStorage__clientId')!.value =
          '00000000-0000-0000-0000-000000000000'),
    ],
    [
      'basic publishing left on',
      /basic publishing/,
      (t) => without(t, 'Microsoft.Web/sites/basicPublishingCredentialsPolicies'),
    ],
  ]);
});

describe('least-privilege roles, each scoped to the one resource, named from values known at start', () => {
  const serviceBusSender = '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39';
  const tableContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3';
  rejects(leastPrivilegeProblems, [
    [
      'Service Bus Data Owner instead of Sender',
      /090c5cfd-751d-490a-894a-3ce6f1109419 is not one Clawback needs/,
      (t) =>
        (moduleTemplate(t, 'servicebus').variables!.dataSenderRoleId =
          "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '090c5cfd-751d-490a-894a-3ce6f1109419')]"),
    ],
    [
      'Contributor on the resource group',
      /b24988ac-6180-42a0-ab88-20f7382dd24c is not one Clawback needs/,
      (t) => {
        const r = roleOf(t, 'storage', tableContributor);
        delete r.scope;
        p(r)!.roleDefinitionId =
          "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b24988ac-6180-42a0-ab88-20f7382dd24c')]";
      },
    ],
    [
      'a role scoped to the resource group',
      /Data Sender is scoped to the resource group/,
      (t) => delete roleOf(t, 'servicebus', serviceBusSender).scope,
    ],
    [
      'a role scoped to a resource of the wrong type',
      /Table Data Contributor is scoped to .*KeyVault/,
      (t) =>
        (roleOf(t, 'storage', tableContributor).scope = "[resourceId('Microsoft.KeyVault/vaults', 'x')]"),
    ],
    [
      'a missing role',
      /Key Vault Secrets User is assigned 0 times/,
      (t) => without(t, 'Microsoft.Authorization/roleAssignments', 'keyvault'),
    ],
    [
      'a name that needs a runtime value',
      /the name needs a runtime value/,
      (t) => {
        const r = roleOf(t, 'storage', tableContributor);
        r.name = r.name.replace(
          /resourceId\('Microsoft\.ManagedIdentity\/userAssignedIdentities', parameters\('identityName'\)\)/,
          "reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('identityName')), '2024-11-30').principalId",
        );
      },
    ],
    [
      'a module given the identity name as a module output',
      /identityName is a module output, not known at start/,
      (t) =>
        ((
          moduleDeployment(t, 'storage').properties as { parameters: Record<string, unknown> }
        ).parameters.identityName = {
          value:
            "[reference(resourceId('Microsoft.Resources/deployments', format('{0}-identity', deployment().name)), '2025-04-01').outputs.name.value]",
        }),
    ],
    [
      'another principal',
      /not the Function App's user-assigned identity/,
      (t) =>
        (p(roleOf(t, 'keyvault', '4633458b-17de-408a-b874-0445c86b69e6'))!.principalId =
          "[parameters('principalId')]"),
    ],
  ]);
});

describe('TLS 1.2 and HTTPS only', () => {
  rejects(tlsProblems, [
    [
      'storage TLS 1.0',
      /storage accepts TLS below 1.2/,
      (t) => (props(the(t, 'Microsoft.Storage/storageAccounts')).minimumTlsVersion = 'TLS1_0'),
    ],
    [
      'storage over HTTP',
      /storage accepts plain HTTP/,
      (t) => (props(the(t, 'Microsoft.Storage/storageAccounts')).supportsHttpsTrafficOnly = false),
    ],
    [
      'public blobs',
      /public blobs/,
      (t) => (props(the(t, 'Microsoft.Storage/storageAccounts')).allowBlobPublicAccess = true),
    ],
    [
      'Service Bus TLS 1.1',
      /Service Bus accepts TLS below 1.2/,
      (t) => (props(the(t, 'Microsoft.ServiceBus/namespaces')).minimumTlsVersion = '1.1'),
    ],
    [
      'the site over HTTP',
      /Function App accepts plain HTTP/,
      (t) => (props(the(t, 'Microsoft.Web/sites')).httpsOnly = false),
    ],
    [
      'the site on TLS 1.0',
      /Function App accepts TLS below 1.2/,
      (t) =>
        ((props(the(t, 'Microsoft.Web/sites')).siteConfig as Record<string, unknown>).minTlsVersion = '1.0'),
    ],
    [
      'the deployment endpoint on TLS 1.1',
      /deployment endpoint accepts TLS below 1.2/,
      (t) =>
        ((props(the(t, 'Microsoft.Web/sites')).siteConfig as Record<string, unknown>).scmMinTlsVersion =
          '1.1'),
    ],
    [
      'FTP on',
      /accepts FTP/,
      (t) =>
        ((props(the(t, 'Microsoft.Web/sites')).siteConfig as Record<string, unknown>).ftpsState =
          'AllAllowed'),
    ],
  ]);
});

describe('diagnostic settings send every audit and operational log to Log Analytics', () => {
  const logs = (t: ArmTemplate, module: string) =>
    get(the(t, 'Microsoft.Insights/diagnosticSettings', module), 'properties.logs') as {
      category: string;
      enabled: boolean;
    }[];
  rejects(diagnosticsProblems, [
    [
      'no Key Vault diagnostics',
      /no diagnostic setting for Microsoft.KeyVault\/vaults/,
      (t) => without(t, 'Microsoft.Insights/diagnosticSettings', 'keyvault'),
    ],
    [
      'no Function App diagnostics',
      /no diagnostic setting for Microsoft.Web\/sites/,
      (t) => without(t, 'Microsoft.Insights/diagnosticSettings', 'functionapp'),
    ],
    [
      'Service Bus operational logs off',
      /OperationalLogs is not sent/,
      (t) => (logs(t, 'servicebus')[0]!.enabled = false),
    ],
    ['storage table deletes not logged', /StorageDelete is not sent/, (t) => logs(t, 'storage').splice(2, 1)],
    [
      'logs to another workspace',
      /KeyVault.*do not go to the Log Analytics workspace/,
      (t) =>
        ((
          moduleDeployment(t, 'keyvault').properties as { parameters: Record<string, unknown> }
        ).parameters.logAnalyticsWorkspaceId = {
          value:
            '/subscriptions/x/resourceGroups/y/providers/Microsoft.OperationalInsights/workspaces/elsewhere',
        }),
    ],
  ]);
});

describe('alerts cover backlog, dead letters, ingest 5xx, remediation failures and pull connectors', () => {
  const guard = (t: ArmTemplate) => alertProblems(t, expectations);
  const rule = (t: ArmTemplate, suffix: string) =>
    ofType(flatten(t), 'Microsoft.Insights/scheduledQueryRules')
      .map((x) => x.resource)
      .find((r) => r.name.includes(`-${suffix}'`))!;
  const metricAlert = (t: ArmTemplate, suffix: string) =>
    ofType(flatten(t), 'Microsoft.Insights/metricAlerts')
      .map((x) => x.resource)
      .find((r) => r.name.includes(`-${suffix}'`))!;
  const watched = (t: ArmTemplate) => variable(t, 'alerts', 'watchedQueues') as { queue: string }[];
  rejects(guard, [
    [
      'no dead-letter alert',
      /no alert on any dead-lettered message/,
      (t) => (metricAlert(t, 'dead-lettered').type = 'Microsoft.Insights/unknown'),
    ],
    [
      'only the verdicts backlog watched',
      /no alert on the remediations backlog length/,
      (t) => watched(t).splice(1, 1),
    ],
    [
      'the backlog age alert disabled',
      /backlog-age.* is disabled/,
      (t) => (p(rule(t, 'backlog-age'))!.enabled = false),
    ],
    [
      'the ingest 5xx alert notifying nobody',
      /ingest-5xx.* notifies nobody/,
      (t) => (p(rule(t, 'ingest-5xx'))!.actions = { actionGroups: [] }),
    ],
    [
      'the failure-rate alert matching other wording',
      /no alert on the remediation failure rate/,
      (t) => {
        const c = (
          get(rule(t, 'remediation-failure-rate'), 'properties.criteria.allOf') as { query: string }[]
        )[0]!;
        c.query = c.query.replaceAll('remediation failed reason=', 'remediation error');
      },
    ],
    [
      'no pull connector alert',
      /no alert on a failing pull connector/,
      (t) => (rule(t, 'pull-connector-failed').type = 'Microsoft.Insights/unknown'),
    ],
    [
      'alerts e-mailed to a fixed address',
      /no action group e-mails alertEmailAddress/,
      (t) =>
        ((
          get(the(t, 'Microsoft.Insights/actionGroups'), 'properties.emailReceivers') as {
            emailAddress: string;
          }[]
        )[0]!.emailAddress = 'someone@example.com'),
    ],
  ]);
});
