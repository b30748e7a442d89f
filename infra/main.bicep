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

@description('Optional. Upper bound of Function App instances; bounds the load put on Graph and EWS.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Optional. Memory of one Function App instance in MB.')
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

@description('Optional. Failed remediations within 15 minutes that raise the failure-spike alert.')
@minValue(1)
@maxValue(100000)
param failureSpikeThreshold int = 25

var suffix = uniqueString(resourceGroup().id, baseName)
var compactName = toLower(replace(baseName, '-', ''))
var deploymentContainerName = 'app-package'

module identity 'modules/identity.bicep' = {
  name: '${deployment().name}-identity'
  params: {
    name: 'id-${baseName}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: '${deployment().name}-monitoring'
  params: {
    logAnalyticsName: 'log-${baseName}-${take(suffix, 6)}'
    applicationInsightsName: 'appi-${baseName}-${take(suffix, 6)}'
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
    principalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: '${deployment().name}-storage'
  params: {
    name: take('st${compactName}${suffix}', 24)
    location: location
    tags: tags
    skuName: storageSkuName
    deploymentContainerName: deploymentContainerName
    principalId: identity.outputs.principalId
  }
}

module serviceBus 'modules/serviceBus.bicep' = {
  name: '${deployment().name}-servicebus'
  params: {
    name: 'sb-${baseName}-${take(suffix, 8)}'
    location: location
    tags: tags
    maxDeliveryCount: maxDeliveryCount
    duplicateDetectionHistoryTimeWindow: duplicateDetectionHistoryTimeWindow
    principalId: identity.outputs.principalId
  }
}

module keyVault 'modules/keyVault.bicep' = {
  name: '${deployment().name}-keyvault'
  params: {
    name: take('kv-${compactName}-${suffix}', 24)
    location: location
    tags: tags
    publicNetworkAccess: keyVaultPublicNetworkAccess
    principalId: identity.outputs.principalId
  }
}

// Takes every other resource by its module's output, so it is created after the role assignments its
// identity-based settings rely on.
module functionApp 'modules/functionApp.bicep' = {
  name: '${deployment().name}-functionapp'
  params: {
    name: 'func-${baseName}-${take(suffix, 8)}'
    planName: 'plan-${baseName}-${take(suffix, 6)}'
    location: location
    tags: tags
    identityName: identity.outputs.name
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    serviceBusNamespaceName: serviceBus.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.name
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
}

module alerts 'modules/alerts.bicep' = {
  name: '${deployment().name}-alerts'
  params: {
    namePrefix: 'clawback-${baseName}'
    location: location
    tags: tags
    alertEmailAddress: alertEmailAddress
    serviceBusNamespaceName: serviceBus.outputs.name
    applicationInsightsName: monitoring.outputs.name
    failureSpikeThreshold: failureSpikeThreshold
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
