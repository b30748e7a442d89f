metadata name = 'Clawback'
metadata description = 'Mailbox auto-remediation on Azure Functions Flex Consumption: Function App, Service Bus, Storage, Key Vault, monitoring and alerts, all reached with one user-assigned managed identity.'

targetScope = 'resourceGroup'

@description('Required. Short name the resource names are derived from (3-10 lower-case letters and digits).')
@minLength(3)
@maxLength(10)
param baseName string

@description('Optional. Azure region of every resource (Flex Consumption must be available there).')
param location string = resourceGroup().location

@description('Required. E-mail address that receives the alerts.')
@minLength(6)
@maxLength(254)
param alertEmailAddress string

@description('Optional. Tags applied to every resource.')
param tags object = {}

@description('Optional. Deliveries of one queue message before Service Bus dead-letters it. Must equal maxDeliveryCount in shared/bindings.ts.')
@minValue(1)
@maxValue(100)
param maxDeliveryCount int = 10

@description('Optional. Duplicate detection window of both queues (ISO 8601 duration).')
@minLength(4)
param duplicateDetectionHistoryTimeWindow string = 'PT10M'

@description('Optional. Upper bound of Function App instances; bounds the load put on Graph and EWS. Flex Consumption accepts 40 to 1000.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Optional. Memory of one Function App instance in MB (the sizes Flex Consumption offers).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Optional. Public network access of the Key Vault. Disabled needs a private endpoint and VNet integration that this template does not create.')
@allowed([
  'Enabled'
  'Disabled'
])
param keyVaultPublicNetworkAccess string = 'Enabled'

@description('Optional. Replication of the storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_LRS'

@description('Optional. Days logs are kept in Log Analytics.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Optional. Percentage of finished remediations that failed within 15 minutes that alerts.')
@minValue(1)
@maxValue(100)
param remediationFailurePercentThreshold int = 20

@description('Optional. Minutes a queue message may wait before a function picks it up.')
@minValue(1)
@maxValue(1440)
param backlogAgeMinutesThreshold int = 15

// Every name is known when the deployment starts, so role-assignment names, `existing` references and
// What-If need no module output.
var suffix = uniqueString(resourceGroup().id, baseName)
var compactName = toLower(replace(baseName, '-', ''))
var names = {
  identity: 'id-${baseName}'
  logAnalytics: 'log-${baseName}-${take(suffix, 6)}'
  applicationInsights: 'appi-${baseName}-${take(suffix, 6)}'
  storage: take('st${compactName}${suffix}', 24)
  serviceBus: 'sb-${baseName}-${take(suffix, 8)}'
  keyVault: take('kv-${compactName}-${suffix}', 24)
  functionApp: 'func-${baseName}-${take(suffix, 8)}'
  plan: 'plan-${baseName}-${take(suffix, 6)}'
}
var deploymentContainerName = 'app-package'

module identity 'modules/identity.bicep' = {
  name: '${deployment().name}-identity'
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: '${deployment().name}-monitoring'
  dependsOn: [
    identity
  ]
  params: {
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.applicationInsights
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
    identityName: names.identity
  }
}

module storage 'modules/storage.bicep' = {
  name: '${deployment().name}-storage'
  dependsOn: [
    identity
  ]
  params: {
    name: names.storage
    location: location
    tags: tags
    skuName: storageSkuName
    deploymentContainerName: deploymentContainerName
    identityName: names.identity
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsResourceId
  }
}

module serviceBus 'modules/serviceBus.bicep' = {
  name: '${deployment().name}-servicebus'
  dependsOn: [
    identity
  ]
  params: {
    name: names.serviceBus
    location: location
    tags: tags
    maxDeliveryCount: maxDeliveryCount
    duplicateDetectionHistoryTimeWindow: duplicateDetectionHistoryTimeWindow
    identityName: names.identity
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsResourceId
  }
}

module keyVault 'modules/keyVault.bicep' = {
  name: '${deployment().name}-keyvault'
  dependsOn: [
    identity
  ]
  params: {
    name: names.keyVault
    location: location
    tags: tags
    publicNetworkAccess: keyVaultPublicNetworkAccess
    identityName: names.identity
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsResourceId
  }
}

// Created after the role assignments its identity-based settings rely on.
module functionApp 'modules/functionApp.bicep' = {
  name: '${deployment().name}-functionapp'
  dependsOn: [
    identity
    storage
    serviceBus
    keyVault
  ]
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: tags
    identityName: names.identity
    storageAccountName: names.storage
    deploymentContainerName: deploymentContainerName
    serviceBusNamespaceName: names.serviceBus
    keyVaultName: names.keyVault
    applicationInsightsName: names.applicationInsights
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsResourceId
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
}

module alerts 'modules/alerts.bicep' = {
  name: '${deployment().name}-alerts'
  dependsOn: [
    serviceBus
    monitoring
  ]
  params: {
    namePrefix: 'clawback-${baseName}'
    location: location
    tags: tags
    alertEmailAddress: alertEmailAddress
    serviceBusNamespaceName: names.serviceBus
    applicationInsightsName: names.applicationInsights
    remediationFailurePercentThreshold: remediationFailurePercentThreshold
    backlogAgeMinutesThreshold: backlogAgeMinutesThreshold
  }
}

@description('Name of the Function App.')
output name string = functionApp.outputs.name

@description('Resource id of the Function App.')
output resourceId string = functionApp.outputs.resourceId

@description('Base URL of the HTTP API (append /api/verdicts, /api/health, ...).')
output functionAppUrl string = 'https://${functionApp.outputs.defaultHostName}'

@description('Name of the storage account with the Verdicts and Remediations tables.')
output storageAccountName string = storage.outputs.name

@description('Resource id of the storage account.')
output storageAccountResourceId string = storage.outputs.resourceId

@description('Name of the Key Vault for certificates and passwords.')
output keyVaultName string = keyVault.outputs.name

@description('Resource id of the Key Vault.')
output keyVaultResourceId string = keyVault.outputs.resourceId

@description('Name of the Service Bus namespace.')
output serviceBusNamespaceName string = serviceBus.outputs.name

@description('Resource id of the Service Bus namespace.')
output serviceBusNamespaceResourceId string = serviceBus.outputs.resourceId

@description('Client id of the managed identity the app runs as.')
output identityClientId string = identity.outputs.clientId

@description('Name of the Application Insights component.')
output applicationInsightsName string = monitoring.outputs.name

@description('Name of the action group that e-mails alerts.')
output actionGroupName string = alerts.outputs.name
