metadata name = 'Clawback monitoring'
metadata description = 'Log Analytics workspace, workspace-based Application Insights with local (instrumentation key) auth off, and the saved queries that answer "what did Clawback do today".'

@description('Required. Name of the Log Analytics workspace.')
@minLength(4)
@maxLength(63)
param logAnalyticsName string

@description('Required. Name of the Application Insights component.')
@minLength(1)
@maxLength(260)
param applicationInsightsName string

@description('Optional. Azure region of the workspace and the component.')
param location string = resourceGroup().location

@description('Optional. Tags applied to the workspace and the component.')
param tags object = {}

@description('Optional. Days logs are kept (30 days are included in the ingestion price).')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

@description('Required. Name of the user-assigned managed identity the Function App sends telemetry as.')
@minLength(3)
@maxLength(128)
param identityName string

var metricsPublisherRoleId = subscriptionResourceId(
  'Microsoft.Authorization/roleDefinitions',
  '3913510d-42f4-4e42-8a64-420c390055eb'
)

// Workspace tables of workspace-based Application Insights (AppTraces, AppRequests). The wording matched
// here is what the app logs: shared/remediation/remediate.ts, functions/ingestVerdict.ts and the pull
// connectors ("pull connector failed source=<name>").
var savedQueries = [
  {
    name: 'clawback-today-verdicts'
    displayName: 'Clawback today: verdicts accepted'
    query: '''
AppTraces
| where TimeGenerated > startofday(now())
| where Message matches regex @"^verdict \S+ (accepted|was already accepted)"
| extend Repeat = Message has "already accepted"
| summarize Accepted = countif(not(Repeat)), Repeats = countif(Repeat) by bin(TimeGenerated, 1h)
| order by TimeGenerated asc
'''
  }
  {
    name: 'clawback-today-outcomes'
    displayName: 'Clawback today: remediations by outcome'
    query: '''
AppTraces
| where TimeGenerated > startofday(now())
| where Message startswith "remediation finished status=" or Message startswith "remediation failed reason="
| extend Outcome = iff(Message startswith "remediation failed", "failed", extract(@"status=(\w+)", 1, Message))
| summarize Rows = count() by Outcome
| order by Rows desc
'''
  }
  {
    name: 'clawback-today-failures'
    displayName: 'Clawback today: failed remediations by reason'
    query: '''
AppTraces
| where TimeGenerated > startofday(now())
| where Message startswith "remediation failed reason="
| extend Reason = extract(@"reason=(\w+)", 1, Message), Verdict = extract(@"verdict=(\S+)", 1, Message)
| summarize Failures = count(), Verdicts = dcount(Verdict), Example = take_any(Message) by Reason
| order by Failures desc
'''
  }
  {
    name: 'clawback-today-ingest'
    displayName: 'Clawback today: verdict posts by result code'
    query: '''
AppRequests
| where TimeGenerated > startofday(now())
| where Name == "ingestVerdict"
| summarize Requests = count(), P95Ms = percentile(DurationMs, 95) by ResultCode
| order by Requests desc
'''
  }
  {
    name: 'clawback-today-connectors'
    displayName: 'Clawback today: pull connector failures'
    query: '''
AppTraces
| where TimeGenerated > startofday(now())
| where Message startswith "pull connector failed source="
| extend Source = extract(@"source=(\S+)", 1, Message)
| summarize Failures = count(), arg_max(TimeGenerated, Message) by Source
'''
  }
  {
    name: 'clawback-today-backlog-age'
    displayName: 'Clawback today: queue message age at pick-up'
    query: '''
AppTraces
| where TimeGenerated > startofday(now())
| where Message startswith "Trigger Details:" and Message has "EnqueuedTimeUtc"
| extend Enqueued = todatetime(extract(@"EnqueuedTimeUtc: ([^,]+)", 1, Message))
| extend AgeSeconds = datetime_diff("second", TimeGenerated, Enqueued)
| summarize P50 = percentile(AgeSeconds, 50), P95 = percentile(AgeSeconds, 95), Max = max(AgeSeconds) by Function = OperationName, bin(TimeGenerated, 1h)
'''
  }
]

resource workspace 'Microsoft.OperationalInsights/workspaces@2026-03-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      disableLocalAuth: true
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource queries 'Microsoft.OperationalInsights/workspaces/savedSearches@2026-03-01' = [
  for q in savedQueries: {
    parent: workspace
    name: q.name
    properties: {
      category: 'Clawback'
      displayName: q.displayName
      query: q.query
    }
  }
]

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: identityName
}

// With local auth off, telemetry is accepted only from an identity holding this role on the component
// (APPLICATIONINSIGHTS_AUTHENTICATION_STRING names the identity).
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, identity.id, metricsPublisherRoleId)
  scope: applicationInsights
  properties: {
    description: 'Clawback sends its telemetry with Entra ID.'
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: metricsPublisherRoleId
  }
}

@description('Name of the Application Insights component.')
output name string = applicationInsights.name

@description('Resource id of the Application Insights component.')
output resourceId string = applicationInsights.id

@description('Name of the Log Analytics workspace.')
output logAnalyticsName string = workspace.name

@description('Resource id of the Log Analytics workspace.')
output logAnalyticsResourceId string = workspace.id
