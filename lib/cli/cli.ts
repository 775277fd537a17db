/**
 * The operator CLI as code uses it: `runCli` with injectable output, and the status summary.
 * bin/lean-router.ts imports run-cli.ts directly, so help, the version and usage errors load
 * nothing the summary needs.
 */
export { runCli, type CliCommand, type CliEnv, type CliIo, type CliRequest } from './run-cli';
export { describeControl } from './status-report';
