// @ts-check
/**
 * Mutation testing of functions/core against the unit tests (test/unit).
 * Run with `npm run test:mutation`; deliberately not part of `npm test` or CI.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
const config = {
  packageManager: 'npm',
  testRunner: 'vitest',
  vitest: {
    configFile: 'vitest.mutation.config.ts',
  },
  mutate: ['functions/core/**/*.ts'],
  // Keep the sandbox copy small: build output and local data are not needed to run unit tests.
  ignorePatterns: ['cdk.out', '.cdk.staging', 'coverage', 'reports', '.local-data'],
  coverageAnalysis: 'perTest',
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  concurrency: 2,
  incremental: false,
  // Report only: never fail the command on a low score.
  thresholds: { high: 80, low: 60, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};

export default config;
