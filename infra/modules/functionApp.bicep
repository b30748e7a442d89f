metadata name = 'Clawback Function App'
metadata description = 'Flex Consumption plan and Function App (Node 22) running as the user-assigned identity; every connection is identity-based.'

@description('Required. Name of the Function App (globally unique host name <name>.azurewebsites.net).')
@minLength(2)
@maxLength(60)
param name string

@description('Required. Name of the Flex Consumption plan.')
@minLength(1)
@maxLength(60)
param planName string

@description('Optional. Azure region of the plan and the app.')
param location string = resourceGroup().location

@description('Optional. Tags applied to the plan and the app.')
param tags object = {}

@description('Required. Name of the user-assigned managed identity the app runs as.')
@minLength(3)
@maxLength(128)
param identityName string

@description('Required. Name of the storage account holding the host data, the deployment package and the tables.')
@minLength(3)
@maxLength(24)
param storageAccountName string

@description('Required. Blob container the plan deploys the app package from.')
@minLength(3)
@maxLength(63)
param deploymentContainerName string

@description('Required. Name of the Service Bus namespace.')
@minLength(6)
@maxLength(50)
param serviceBusNamespaceName string

@description('Required. Name of the Key Vault.')
@minLength(3)
@maxLength(24)
param keyVaultName string

@description('Required. Name of the Application Insights component.')
@minLength(1)
@maxLength(260)
param applicationInsightsName string

@description('Optional. Upper bound of instances the app scales out to; bounds the load put on Graph and EWS. Flex Consumption accepts 40 to 1000.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Required. Resource id of the Log Analytics workspace that receives the Function App logs.')
@minLength(1)
param logAnalyticsWorkspaceId string

@description('Optional. Memory of one instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: identityName
}

resource storage 'Microsoft.Storage/storageAccounts@2026-09-01' existing = {
  name: storageAccountName
}

resource namespace 'Microsoft.ServiceBus/namespaces@2026-01-01' existing = {
  name: serviceBusNamespaceName
}

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' existing = {
  name: keyVaultName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // Flex Consumption takes the runtime from functionAppConfig and rejects or ignores
      // FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION and WEBSITE_RUN_FROM_PACKAGE here.
      appSettings: [
        {
          name: 'CLAWBACK_RUNTIME'
          value: 'azure'
        }
        {
          name: 'AZURE_CLIENT_ID'
          value: identity.properties.clientId
        }
        {
          name: 'AzureWebJobsStorage__accountName'
          value: storage.name
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identity.properties.clientId
        }
        {
          name: 'ServiceBusConnection__fullyQualifiedNamespace'
          value: split(split(namespace.properties.serviceBusEndpoint, '/')[2], ':')[0]
        }
        {
          name: 'ServiceBusConnection__credential'
          value: 'managedidentity'
        }
        {
          name: 'ServiceBusConnection__clientId'
          value: identity.properties.clientId
        }
        {
          name: 'CLAWBACK_TABLES_ENDPOINT'
          value: 'https://${storage.name}.table.${environment().suffixes.storage}'
        }
        {
          name: 'CLAWBACK_KEY_VAULT_URL'
          value: vault.properties.vaultUri
        }
        {
          // Not a secret: it names the component; with local auth off only Entra-authenticated telemetry is accepted.
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: applicationInsights.properties.ConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identity.properties.clientId};Authorization=AAD'
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// Host and function logs (FunctionAppLogs) next to the other resources' logs in the same workspace.
// 2021-05-01-preview is the newest version and the one that takes a scope; the linter prefers the
// 2016-09-01 stable version, whose schema only allows the name 'service' and has no metric categories.
#disable-next-line use-recent-api-versions
resource siteDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: site
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
  }
}

// `az functionapp deployment source config-zip` deploys with the caller's Entra sign-in; basic (user
// name / password) publishing stays off.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

@description('Name of the Function App.')
output name string = site.name

@description('Resource id of the Function App.')
output resourceId string = site.id

@description('Default host name of the Function App.')
output defaultHostName string = site.properties.defaultHostName

@description('Name of the Flex Consumption plan.')
output planName string = plan.name

@description('Resource id of the Flex Consumption plan.')
output planResourceId string = plan.id
