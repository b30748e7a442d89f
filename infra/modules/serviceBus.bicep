metadata name = 'Clawback Service Bus'
metadata description = 'Standard namespace with local (SAS) auth off, the verdicts queue and the per-mailbox session queue remediations.'

@description('Required. Name of the Service Bus namespace (6-50 characters, globally unique).')
@minLength(6)
@maxLength(50)
param name string

@description('Optional. Azure region of the namespace.')
param location string = resourceGroup().location

@description('Optional. Tags applied to the namespace.')
param tags object = {}

@description('Optional. Deliveries of one message before Service Bus dead-letters it. The app reads the same number from shared/bindings.ts.')
@minValue(1)
@maxValue(100)
param maxDeliveryCount int = 10

@description('Optional. How long a message id is remembered to drop a duplicate send (ISO 8601 duration, 20 seconds to 7 days).')
@minLength(4)
param duplicateDetectionHistoryTimeWindow string = 'PT10M'

@description('Optional. How long an undelivered message lives before it is dead-lettered (ISO 8601 duration).')
@minLength(3)
param messageTimeToLive string = 'P14D'

@description('Required. Name of the user-assigned managed identity the Function App runs as.')
@minLength(3)
@maxLength(128)
param identityName string

@description('Required. Resource id of the Log Analytics workspace that receives the operational logs.')
@minLength(1)
param logAnalyticsWorkspaceId string

var dataSenderRoleId = subscriptionResourceId(
  'Microsoft.Authorization/roleDefinitions',
  '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
)
var dataReceiverRoleId = subscriptionResourceId(
  'Microsoft.Authorization/roleDefinitions',
  '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
)

resource namespace 'Microsoft.ServiceBus/namespaces@2026-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

// Queue names and session flags mirror shared/bindings.ts (`queues`); test/infra/ checks it.
resource verdictsQueue 'Microsoft.ServiceBus/namespaces/queues@2026-01-01' = {
  parent: namespace
  name: 'verdicts'
  properties: {
    requiresSession: false
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionHistoryTimeWindow
    maxDeliveryCount: maxDeliveryCount
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: messageTimeToLive
    lockDuration: 'PT1M'
    enablePartitioning: false
  }
}

// Session id = mailbox address: one mailbox is worked by one receiver at a time, in order.
resource remediationsQueue 'Microsoft.ServiceBus/namespaces/queues@2026-01-01' = {
  parent: namespace
  name: 'remediations'
  properties: {
    requiresSession: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionHistoryTimeWindow
    maxDeliveryCount: maxDeliveryCount
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: messageTimeToLive
    lockDuration: 'PT1M'
    enablePartitioning: false
  }
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: identityName
}

// Namespace and queue create/update/delete operations: who changed the queues the app depends on.
// 2021-05-01-preview is the newest version and the one that takes a scope; the linter prefers the
// 2016-09-01 stable version, whose schema only allows the name 'service' and has no metric categories.
#disable-next-line use-recent-api-versions
resource namespaceDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: namespace
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'OperationalLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

// Sender: ingestVerdict and fanOutVerdict enqueue, remediateMailbox schedules retries.
resource dataSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(namespace.id, identity.id, dataSenderRoleId)
  scope: namespace
  properties: {
    description: 'Clawback enqueues verdicts, remediations and scheduled retries.'
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: dataSenderRoleId
  }
}

// Receiver: the two queue triggers (including session receivers and the dead-letter replay).
resource dataReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(namespace.id, identity.id, dataReceiverRoleId)
  scope: namespace
  properties: {
    description: 'Clawback queue triggers receive verdicts and remediations.'
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: dataReceiverRoleId
  }
}

@description('Name of the namespace.')
output name string = namespace.name

@description('Resource id of the namespace.')
output resourceId string = namespace.id

@description('Names of the queues.')
output queueNames array = [
  verdictsQueue.name
  remediationsQueue.name
]
