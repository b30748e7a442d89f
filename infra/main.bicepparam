using 'main.bicep'

// Lower-case letters and digits; the resource names are derived from it.
param baseName = 'clawback'

param alertEmailAddress = 'soc@contoso.com'

param tags = {
  workload: 'clawback'
}

// Everything else keeps its default; uncomment to change.
// param maximumInstanceCount = 40
// param remediationFailurePercentThreshold = 20
// param storageSkuName = 'Standard_ZRS'
