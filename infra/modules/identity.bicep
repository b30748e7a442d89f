metadata name = 'Clawback managed identity'
metadata description = 'The one user-assigned identity the Function App uses for Service Bus, Storage, Key Vault and Application Insights.'

@description('Required. Name of the user-assigned managed identity.')
@minLength(3)
@maxLength(128)
param name string

@description('Optional. Azure region of the identity.')
param location string = resourceGroup().location

@description('Optional. Tags applied to the identity.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

@description('Name of the identity.')
output name string = identity.name

@description('Resource id of the identity.')
output resourceId string = identity.id

@description('Object (principal) id of the identity, the subject of its role assignments.')
output principalId string = identity.properties.principalId

@description('Client id of the identity (AZURE_CLIENT_ID and the *__clientId settings).')
output clientId string = identity.properties.clientId
