// The strict parser lives next to the fake EWS server it serves, in the built tree.
export * from '../../../local/onprem/xml.js';
