import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    environment: 'node',
    pool: 'forks',
    // One worker more than cores (vitest's default is one fewer): the integration files spend much
    // of their time waiting on child processes, sockets and timers, and on two cores the default
    // of one worker ran every file in turn (3m41s against 2m41s for three).
    maxWorkers: availableParallelism() + 1,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    env: { POWERTOOLS_DEV: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      {
        // Unit and stack tests share nothing through module state, so a worker imports the SDK,
        // Powertools and aws-cdk-lib once for all its files instead of once per file (on two
        // cores: test/unit 24 s -> 7 s, test/infra 36 s -> 29 s).
        extends: true,
        test: { name: 'unit-and-infra', include: ['test/unit/**/*.test.ts', 'test/infra/**/*.test.ts'], isolate: false },
      },
      {
        // Integration tests bind loopback ports, run dynalite in-process and patch `http` (X-Ray):
        // each file gets a fresh process.
        extends: true,
        test: { name: 'integration', include: ['test/integration/**/*.test.ts'] },
      },
    ],
  },
});
