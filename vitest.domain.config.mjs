/* global process */
import { defineConfig } from 'vitest/config';

import base from './vitest.config.mts';

// The domain modules' own fast tests: a static mutant (module-level zod schemas) runs every test
// related to its file, so the slow HTTP and Azurite suites are left out of mutation runs.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      'test/shared/**/*.test.ts',
      // More for a run that needs them, e.g. MUTATE_TESTS='test/functions/ingestVerdict.test.ts'.
      ...(process.env.MUTATE_TESTS ? process.env.MUTATE_TESTS.split(',') : []),
    ],
  },
});
