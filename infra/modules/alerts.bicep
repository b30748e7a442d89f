metadata name = 'Clawback alerts'
metadata description = 'Action group (e-mail) and the alert rules an operator needs: dead-lettered messages, connectivity/authentication failures, and a spike of failed remediations.'

@description('Required. Prefix of the alert rule and action group names.')
@minLength(3)
@maxLength(40)
param namePrefix string

@description('Optional. Azure region of the log alert rules.')
param location string = resourceGroup().location

@description('Optional. Tags applied to the alert resources.')
param tags object = {}

@description('Required. E-mail address that receives the alerts.')
@minLength(6)
@maxLength(254)
param alertEmailAddress string

@description('Required. Name of the Service Bus namespace watched for dead-lettered messages.')
@minLength(6)
@maxLength(50)
param serviceBusNamespaceName string

@description('Required. Name of the Application Insights component the app logs to.')
@minLength(1)
@maxLength(260)
param applicationInsightsName string

@description('Optional. Failed remediations within 15 minutes that raise the failure-spike alert.')
@minValue(1)
@maxValue(100000)
param failureSpikeThreshold int = 25

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusNamespaceName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-ops'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: take(replace(namePrefix, '-', ''), 12)
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmailAddress
        useCommonAlertSchema: true
      }
    ]
  }
}

// A message is dead-lettered only after maxDeliveryCount failed deliveries or on expiry; each one is a
// verdict or a mailbox that was not remediated, so any is worth a look (`clawback` replays them).
resource deadLetterAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-dead-lettered'
  location: 'global'
  tags: tags
  properties: {
    description: 'Messages are in a Clawback dead-letter queue: a verdict or mailbox was not remediated.'
    severity: 1
    enabled: true
    scopes: [
      namespace.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'DeadletteredMessages'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          dimensions: [
            {
              name: 'EntityName'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Maximum'
        }
      ]
    }
    actions: [
      {
        actionGroupId: actionGroup.id
      }
    ]
  }
}

// Remediations that failed because Clawback could not sign in to, was refused by, or could not reach a
// mail backend, plus the host's own identity failures toward Service Bus, Storage and Key Vault.
resource connectivityAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-connectivity-auth'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: '${namePrefix}: connectivity or authentication failures'
    description: 'Clawback could not authenticate to or reach a mail backend, Service Bus, Storage or Key Vault.'
    severity: 1
    enabled: true
    scopes: [
      applicationInsights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: '''
union
  (traces
    | where message has "remediation failed"
    | extend reason = extract(@"reason=(\w+)", 1, message)
    | where reason in ("AuthenticationError", "PermissionError", "ConnectionError")),
  (traces
    | where severityLevel >= 3
    | where message has_any ("Unauthorized", "AuthorizationFailure", "AuthorizationPermissionMismatch", "CredentialUnavailableError", "AuthenticationFailedError")),
  (exceptions
    | where type has_any ("UnauthorizedAccessException", "AuthenticationFailedException", "CredentialUnavailableException", "ServiceBusException")
        or outerMessage has_any ("Unauthorized", "AuthorizationFailure", "AuthorizationPermissionMismatch"))
'''
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource failureSpikeAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-failure-spike'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: '${namePrefix}: spike of failed remediations'
    description: 'More remediations failed in 15 minutes than the threshold; see the Reason column of the Remediations table.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: '''
traces
| where message has "remediation failed reason="
'''
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: failureSpikeThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

@description('Name of the action group.')
output name string = actionGroup.name

@description('Resource id of the action group.')
output resourceId string = actionGroup.id
