import { createRouterApp } from '../lib/router-app';
import { RouterSettingsError } from '../lib/router-settings';

// Context: stage (paper|live, default paper), leanRunnerUrl, executionAdapter, executionPolicy,
// executionSymbols, fallbackAdapter, alarmEmail, timings. See docs/operations.md, "Deploy".
try {
  createRouterApp().app.synth();
} catch (error) {
  if (!(error instanceof RouterSettingsError)) throw error;
  // A context mistake is the operator's to fix: one line, no stack trace.
  console.error(`lean-router: ${error.message}`);
  process.exit(1);
}
