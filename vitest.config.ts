import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Integration tests bind loopback ports and run dynalite in-process; keep files isolated.
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 30_000,
    env: { POWERTOOLS_DEV: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
