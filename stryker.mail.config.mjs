/* global process */
// Both mail backends (shared/mail/graph, shared/mail/ews) against the tests of test/shared/** (the
// backends' own suites drive the real Graph SDK and ews-javascript-api against the sandbox servers),
// with their own incremental file. A mutant that makes a call hang is stopped after 15 s, not 60.
import domain from './stryker.domain.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...domain,
  mutate: process.env.MUTATE
    ? process.env.MUTATE.split(',')
    : ['shared/mail/graph/**/*.ts', 'shared/mail/ews/**/*.ts'],
  incrementalFile: 'reports/mutation/parts/mutmail.json',
  timeoutMS: 15000,
  concurrency: 2,
};
