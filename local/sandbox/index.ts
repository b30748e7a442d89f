export {
  type AppCertificate,
  createAppCertificate,
  createDevCertificateAuthority,
  type DevCertificateAuthority,
  issueServerCertificate,
} from './certificates.js';
export { startSandboxTenant } from './server.js';
export {
  defaultAppPermissions,
  defaultPublicAuthorityHost,
  type FaultResponse,
  type FaultRule,
  type FaultStatusResponse,
  type SandboxApp,
  type SandboxFolderState,
  type SandboxForward,
  type SandboxGroup,
  type SandboxMailbox,
  type SandboxMailboxState,
  type SandboxMessage,
  type SandboxMessageState,
  type SandboxRequestRecord,
  type SandboxTenant,
  type SandboxTenantOptions,
} from './types.js';
