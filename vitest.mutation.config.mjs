/* global process */
import { defineConfig } from 'vitest/config';

import base from './vitest.config.mts';

// The tests mutation testing runs (stryker.config.mjs): test/shared/**, the domain's, the use cases' and the
// mail backends' own suites. A static mutant (module-level zod schemas) runs every test related to its file,
// so the slow whole-runtime suites of test/functions and test/e2e are left out.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    // MUTATION_TEST_TIMEOUT_MS, for a part whose mutants tend to make a wait never end (the Graph limiter,
    // paging, batch retries): the test then fails at this bound and counts as killed, where Stryker's own
    // timeout would also restart the test runner. Keep it well above the part's slowest test.
    ...(process.env.MUTATION_TEST_TIMEOUT_MS
      ? { testTimeout: Number(process.env.MUTATION_TEST_TIMEOUT_MS) }
      : {}),
    // The throttling test drives 20 s of paced 429s through the whole Graph backend: every Graph mutant
    // would run it. Its counts (never above 4 at once, every copy done) are also pinned by the
    // request-economy test's 500-copy mailbox, which runs in a second.
    exclude: [
      ...(base.test?.exclude ?? ['**/node_modules/**']),
      'test/shared/mail/graph/graphMailBackend.throttling.test.ts',
    ],
    include: [
      'test/shared/**/*.test.ts',
      // More for a run that needs them, e.g. MUTATE_TESTS='test/functions/ingestVerdict.test.ts'.
      ...(process.env.MUTATE_TESTS ? process.env.MUTATE_TESTS.split(',') : []),
    ],
  },
});
