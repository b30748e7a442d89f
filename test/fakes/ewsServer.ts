// The fake EWS server lives in the built tree so the local runtime can serve it as the on-premises sandbox.
export * from '../../local/onprem/server.js';
