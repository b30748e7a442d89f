metadata name = 'Clawback alerts'
metadata description = 'Action group (e-mail) and the alert rules an operator of a security service needs: queue backlog length and age, dead-lettered messages, ingest 5xx rate, remediation failure rate, connectivity/authentication failures and failing pull connectors.'

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

@description('Required. Name of the Service Bus namespace whose queues are watched.')
@minLength(6)
@maxLength(50)
param serviceBusNamespaceName string

@description('Required. Name of the Application Insights component the app logs to.')
@minLength(1)
@maxLength(260)
param applicationInsightsName string

@description('Optional. Active messages that the verdicts queue stays above for 30 minutes before it alerts.')
@minValue(1)
param verdictsBacklogThreshold int = 500

@description('Optional. Active messages that the remediations queue stays above for 30 minutes before it alerts (one message per recipient mailbox, so a large campaign is legitimately long).')
@minValue(1)
param remediationsBacklogThreshold int = 20000

@description('Optional. Minutes a queue message may wait before a function picks it up.')
@minValue(1)
@maxValue(1440)
param backlogAgeMinutesThreshold int = 15

@description('Optional. Percentage of POST /api/verdicts answered with 5xx within 15 minutes that alerts.')
@minValue(1)
@maxValue(100)
param ingest5xxPercentThreshold int = 5

@description('Optional. Percentage of finished remediations that failed within 15 minutes that alerts.')
@minValue(1)
@maxValue(100)
param remediationFailurePercentThreshold int = 20

@description('Optional. Finished remediations in 15 minutes below which the failure rate is not judged.')
@minValue(1)
param remediationFailureMinimumRows int = 20

// Queue name -> function that receives it (shared/bindings.ts and functions/*.ts; test/infra/ checks).
var watchedQueues = [
  {
    queue: 'verdicts'
    function: 'fanOutVerdict'
    backlogThreshold: verdictsBacklogThreshold
  }
  {
    queue: 'remediations'
    function: 'remediateMailbox'
    backlogThreshold: remediationsBacklogThreshold
  }
]

resource namespace 'Microsoft.ServiceBus/namespaces@2026-01-01' existing = {
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
resource deadLetterAlert 'Microsoft.Insights/metricAlerts@2026-01-01' = {
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

// The minimum over 30 minutes stays above the threshold only when the queue is not draining: a burst that
// is worked off does not alert, a stalled consumer does.
resource backlogLengthAlerts 'Microsoft.Insights/metricAlerts@2026-01-01' = [
  for q in watchedQueues: {
    name: '${namePrefix}-${q.queue}-backlog-length'
    location: 'global'
    tags: tags
    properties: {
      description: 'The ${q.queue} queue has held more than ${q.backlogThreshold} active messages for 30 minutes: ${q.function} is not keeping up or not running.'
      severity: 2
      enabled: true
      scopes: [
        namespace.id
      ]
      evaluationFrequency: 'PT5M'
      windowSize: 'PT30M'
      autoMitigate: true
      criteria: {
        'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
        allOf: [
          {
            criterionType: 'StaticThresholdCriterion'
            name: 'ActiveMessages'
            metricNamespace: 'Microsoft.ServiceBus/namespaces'
            metricName: 'ActiveMessages'
            dimensions: [
              {
                name: 'EntityName'
                operator: 'Include'
                values: [
                  q.queue
                ]
              }
            ]
            operator: 'GreaterThan'
            threshold: q.backlogThreshold
            timeAggregation: 'Minimum'
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
]

// The Functions host logs "Trigger Details: ... EnqueuedTimeUtc: <time> ..." for every Service Bus
// invocation; its distance to the log time is how long the message waited in the queue.
resource backlogAgeAlert 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: '${namePrefix}-backlog-age'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: '${namePrefix}: queue messages wait too long'
    description: 'A verdicts or remediations message waited more than ${backlogAgeMinutesThreshold} minutes before a function picked it up.'
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
| where message startswith "Trigger Details:" and message has "EnqueuedTimeUtc"
| extend enqueued = todatetime(extract(@"EnqueuedTimeUtc: ([^,]+)", 1, message))
| where isnotnull(enqueued)
| extend queue = case(operation_Name == "fanOutVerdict", "verdicts", operation_Name == "remediateMailbox", "remediations", operation_Name)
| summarize AgeMinutes = max(datetime_diff("second", timestamp, enqueued)) / 60.0 by queue
'''
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'AgeMinutes'
          dimensions: [
            {
              name: 'queue'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: backlogAgeMinutesThreshold
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

resource ingest5xxAlert 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: '${namePrefix}-ingest-5xx'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: '${namePrefix}: verdict posts fail with 5xx'
    description: 'More than ${ingest5xxPercentThreshold}% of POST /api/verdicts got a 5xx in 15 minutes: the security platform\'s verdicts are not being accepted.'
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
requests
| where operation_Name == "ingestVerdict"
| summarize total = count(), failed = countif(toint(resultCode) >= 500)
| where total > 0
| extend FailedPercent = 100.0 * failed / total
'''
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'FailedPercent'
          operator: 'GreaterThan'
          threshold: ingest5xxPercentThreshold
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

// shared/remediation/remediate.ts logs "remediation failed reason=<Reason> ..." or "remediation finished
// status=<status> ..." once per row; keep the wording.
resource remediationFailureRateAlert 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: '${namePrefix}-remediation-failure-rate'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: '${namePrefix}: remediations failing'
    description: 'More than ${remediationFailurePercentThreshold}% of finished remediations failed in 15 minutes; see the Reason column of the Remediations table.'
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
          // Multi-line strings do not interpolate; the placeholder is filled in with replace().
          query: replace(
            '''
traces
| where message startswith "remediation failed reason=" or message startswith "remediation finished status="
| summarize finished = count(), failed = countif(message startswith "remediation failed reason=")
| where finished >= {minimumRows}
| extend FailedPercent = 100.0 * failed / finished
''',
            '{minimumRows}',
            string(remediationFailureMinimumRows)
          )
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'FailedPercent'
          operator: 'GreaterThan'
          threshold: remediationFailurePercentThreshold
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

// Remediations that failed because Clawback could not sign in to, was refused by, or could not reach a
// mail backend, plus the host's own identity failures toward Service Bus, Storage and Key Vault.
resource connectivityAlert 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
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

// A pull connector that fails (auth, 5xx, throttling) logs "pull connector failed source=<name> ..." on
// each run and keeps its cursor; one alert per source while it keeps failing (SPEC §9).
resource pullConnectorAlert 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = {
  name: '${namePrefix}-pull-connector-failed'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: '${namePrefix}: a pull connector is failing'
    description: 'A pull connector (Proofpoint TAP, Cisco Secure Endpoint, Defender) failed; its verdicts are not being ingested until it recovers.'
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
traces
| where message startswith "pull connector failed source="
| extend source = extract(@"source=(\S+)", 1, message)
'''
          timeAggregation: 'Count'
          dimensions: [
            {
              name: 'source'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
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

@description('Name of the action group.')
output name string = actionGroup.name

@description('Resource id of the action group.')
output resourceId string = actionGroup.id
