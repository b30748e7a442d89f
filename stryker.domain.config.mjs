// Domain modules against their own tests (see vitest.domain.config.mjs). Not `--testFiles`:
// Stryker 9.6 then activates static mutants at run time, after the module was loaded, so every
// static mutant survives whatever the tests assert.
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  vitest: { ...base.vitest, configFile: 'vitest.domain.config.mjs' },
  incrementalFile: 'reports/mutation/parts/mutdomain.json',
  reporters: ['clear-text', 'progress', 'json'],
  concurrency: 1,
};
