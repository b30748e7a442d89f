metadata name = 'Clawback storage'
metadata description = 'Storage account for the Functions host, the Flex Consumption deployment package and the result tables. Shared keys are off; everything is reached with Entra ID.'

@description('Required. Name of the storage account (3-24 lower-case letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Optional. Azure region of the storage account.')
param location string = resourceGroup().location

@description('Optional. Tags applied to the storage account.')
param tags object = {}

@description('Optional. Replication of the storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_LRS'

@description('Required. Blob container the Flex Consumption plan deploys the app package from.')
@minLength(3)
@maxLength(63)
param deploymentContainerName string

@description('Required. Name of the user-assigned managed identity the Function App runs as.')
@minLength(3)
@maxLength(128)
param identityName string

@description('Required. Resource id of the Log Analytics workspace that receives the table access logs.')
@minLength(1)
param logAnalyticsWorkspaceId string

// The names come from shared/bindings.ts (`tables`); test/infra/ keeps them equal.
var tableNames = [
  'Verdicts'
  'Remediations'
  'Deliveries'
  'VerdictEvents'
  'RemediatedCopies'
  'Configuration'
  'Audit'
  'SourceCursors'
]

var tableDataContributorRoleId = subscriptionResourceId(
  'Microsoft.Authorization/roleDefinitions',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
)
var blobDataOwnerRoleId = subscriptionResourceId(
  'Microsoft.Authorization/roleDefinitions',
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
)

resource account 'Microsoft.Storage/storageAccounts@2026-09-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      // Flex Consumption without VNet integration reaches storage over its public endpoint.
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2026-09-01' = {
  parent: account
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-09-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2026-09-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2026-09-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: identityName
}

// Who read, wrote or deleted which result row: the audit trail of the tables an operator relies on.
// 2021-05-01-preview is the newest version and the one that takes a scope; the linter prefers the
// 2016-09-01 stable version, whose schema only allows the name 'service' and has no metric categories.
#disable-next-line use-recent-api-versions
resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: tableService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'StorageRead'
        enabled: true
      }
      {
        category: 'StorageWrite'
        enabled: true
      }
      {
        category: 'StorageDelete'
        enabled: true
      }
    ]
  }
}

resource tableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, identity.id, tableDataContributorRoleId)
  scope: account
  properties: {
    description: 'Clawback reads and writes its result and configuration tables.'
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: tableDataContributorRoleId
  }
}

// Documented exception to "no Data Owner": the Functions host needs Storage Blob Data Owner on its
// AzureWebJobsStorage account for blob leases (singleton and listener locks), its function keys in the
// azure-webjobs-secrets container, and to read the Flex Consumption deployment package. No queue role:
// nothing here uses Storage queues (Service Bus carries the messages).
resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, identity.id, blobDataOwnerRoleId)
  scope: account
  properties: {
    description: 'Functions host storage: blob leases, function keys and the deployment package.'
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: blobDataOwnerRoleId
  }
}

@description('Name of the storage account.')
output name string = account.name

@description('Resource id of the storage account.')
output resourceId string = account.id

@description('Name of the deployment package container.')
output deploymentContainerName string = deploymentContainer.name

@description('Names of the result tables.')
output tableNames array = tableNames
