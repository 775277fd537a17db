// Vitest config used only by Stryker (`npm run test:mutation`): unit tests only.
// Reuses the main config so env/timeouts stay in sync; only `include` is narrowed.
// (Stryker's vitest runner forces pool=threads and disables coverage itself.)
import { defineConfig } from 'vitest/config';
import base from './vitest.config';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/unit/**/*.test.ts'],
  },
});
