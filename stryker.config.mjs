/* global process */
// Mutation testing (npm run mutation): the domain, the use cases and both mail backends, each mutant
// against the tests of test/shared/** (vitest.mutation.config.mjs). Incremental: the merged result
// file is committed, so a run from a fresh clone re-tests only the mutants whose code or tests changed.
//
// A part of the scope: MUTATE=<globs> MUTATION_PART=<name> npm run mutation writes
// reports/mutation/parts/<name>.json (Stryker's incremental file holds only the modules of its run,
// so parts keep files of their own); `node scripts/mutation-report.mjs --write` merges the parts.
//
// Not `--testFiles`: Stryker 9.6 then activates static mutants (module-level zod schemas) at run time,
// after the module has loaded, so every static mutant survives whatever the tests assert.
const part = process.env.MUTATION_PART;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.mjs', related: true },
  checkers: ['typescript'],
  // The checker type-checks shared/ only: with the tests and local/ in its program, every mutant
  // re-checked their dependants and the checker, not the tests, set the pace.
  tsconfigFile: 'tsconfig.mutation.json',
  coverageAnalysis: 'perTest',
  mutate: process.env.MUTATE
    ? process.env.MUTATE.split(',')
    : [
        'shared/verdicts/**/*.ts',
        'shared/recipients/**/*.ts',
        'shared/routing/**/*.ts',
        'shared/remediation/**/*.ts',
        'shared/app/**/*.ts',
        'shared/mail/graph/**/*.ts',
        'shared/mail/ews/**/*.ts',
        'shared/mail/mime.ts',
      ],
  ignorePatterns: ['dist', 'reports', '.stryker-tmp', 'coverage', 'vitest-report.json'],
  incremental: true,
  incrementalFile: part ? `reports/mutation/parts/${part}.json` : 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
  concurrency: 2,
  // Beyond the mutant's own run time (1.5 × its tests' time in the initial run): a mutant that makes a
  // call hang is stopped after 10 s more. Every timeout also restarts the test runner, so hang-prone
  // modules (the Graph limiter, paging and batch retries) set a part's pace; 15 s made the first Graph
  // part take over an hour for half its mutants.
  timeoutMS: 10000,
  cleanTempDir: 'always',
};
