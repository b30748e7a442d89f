/* global process */
// Mutation testing (npm run mutation). Incremental: the result file is committed, so a fresh clone
// re-tests only the mutants whose code or tests changed since it was written.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.config.mts', related: true },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
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
      ],
  ignorePatterns: ['dist', 'reports', '.stryker-tmp', 'coverage', 'vitest-report.json'],
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
  concurrency: 2,
  timeoutMS: 60000,
  cleanTempDir: 'always',
};
