export {
  cloudEndpoints,
  getGraphTokenProvider,
  type GraphCloud,
  type GraphEndpoints,
  graphScope,
  type GraphTokenProvider,
  type GraphTokenProviderOptions,
  isPublicAuthority,
  resolveGraphEndpoints,
} from './credentials.js';
export { type GraphErrorContext, GraphTimeoutError, parseRetryAfter, translateGraphError } from './errors.js';
export { createGraphMailBackend, GraphMailBackend, type GraphMailBackendDeps } from './graphMailBackend.js';
export { graphMailboxLimiter, KeyedSemaphore } from './mailboxLimiter.js';
export {
  encodeQueryValue,
  fallbackFilter,
  messageIdFilter,
  messageSearchQuery,
  odataString,
} from './odata.js';
