export { raceAbort } from './abort.js';
export {
  isCertificateCurrent,
  loadCertificate,
  type LoadCertificateOptions,
  type LoadedCertificate,
} from './certificate.js';
export { CompositeSecretSource, type CompositeSecretSourceOptions } from './compositeSecretSource.js';
export { KeyVaultSecretSource, type KeyVaultSecretSourceOptions } from './keyVaultSecretSource.js';
export { LocalSecretSource, type LocalSecretSourceOptions } from './localSecretSource.js';
