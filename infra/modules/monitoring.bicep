metadata name = 'Clawback monitoring'
metadata description = 'Log Analytics workspace and workspace-based Application Insights with local (instrumentation key) auth off; the app sends telemetry with its managed identity.'

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

@description('Required. Principal id of the Function App\'s user-assigned managed identity.')
@minLength(36)
@maxLength(36)
param principalId string

var metricsPublisherRoleId = subscriptionResourceId(
  'Microsoft.Authorization/roleDefinitions',
  '3913510d-42f4-4e42-8a64-420c390055eb'
)

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
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

// With local auth off, telemetry is accepted only from an identity holding this role on the component
// (APPLICATIONINSIGHTS_AUTHENTICATION_STRING names the identity).
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, principalId, metricsPublisherRoleId)
  scope: applicationInsights
  properties: {
    description: 'Clawback sends its telemetry with Entra ID.'
    principalId: principalId
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
