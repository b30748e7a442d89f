export {
  type BatchRequest,
  type BatchResponse,
  type BatchResult,
  GraphBatchItemError,
  maxBatchItems,
  runBatch,
  type RunBatchOptions,
} from './batch.js';
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
export {
  folderDestinations,
  folderLabel,
  formatQuarantineLocation,
  parseQuarantineLocation,
  type QuarantineLocation,
  wellKnownFolders,
} from './locations.js';
export { graphMailboxConcurrency, graphMailboxLimiter, KeyedSemaphore } from './mailboxLimiter.js';
export {
  childFolderQuery,
  encodeQueryValue,
  fallbackFilter,
  groupByMailQuery,
  messageIdFilter,
  messageSearchQuery,
  odataString,
} from './odata.js';
