import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Integration tests bind loopback ports and run dynalite in-process; keep files isolated.
    pool: 'forks',
    // One worker more than cores (vitest's default is one fewer): the integration files spend much
    // of their time waiting on child processes, sockets and timers, and on two cores the default
    // of one worker ran every file in turn (3m41s against 2m41s for three).
    maxWorkers: availableParallelism() + 1,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    env: { POWERTOOLS_DEV: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
