/**
 * `npm run bench:bundle`: the deployed size of each function's bundle and the time to import the
 * route bundle in a fresh `node` process.
 *
 * Both handlers are bundled with esbuild using the construct's own options (lib/router-bundling.ts),
 * into a temporary directory. Each timed run is `node -e "import('<bundle>')"` in a new process,
 * wall clock from spawn to exit, with the environment the route function gets on the paper stage
 * (routerEnvironment, plus NODE_OPTIONS as deployed) and AWS_REGION: the module init parses it and
 * builds its clients, which makes no network call. An empty `node -e ""` is timed the same way,
 * so the import's own share can be read off. One untimed warm-up run precedes each series.
 * Options (environment): BUNDLE_RUNS (default 9, at least 7).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build } from 'esbuild';
import { CONTROL_PARAMETER, controlParameterName, controlParameterPrefix } from '../functions/core/control-parameters';
import { BUNDLE_FILE, functionEntry, ROUTER_ENTRIES, ROUTER_NODE_OPTIONS, routerEsbuildOptions } from '../lib/router-bundling';
import { routerEnvironment } from '../lib/router-environment';
import { provenanceTableName } from '../functions/adapters/provenance-table';
import { routerSettingsFromContext } from '../lib/router-settings';
import { fmt, median } from './bench-stats';

const RUNS = Math.max(7, Number(process.env.BUNDLE_RUNS ?? 9));

const outdir = mkdtempSync(join(tmpdir(), 'lean-router-bundles-'));
try {
  const bundles: Record<string, string> = {};
  for (const [name, entry] of Object.entries(ROUTER_ENTRIES)) {
    const outfile = join(outdir, name, BUNDLE_FILE);
    await build(routerEsbuildOptions(functionEntry(entry), outfile));
    bundles[name] = outfile;
    console.log(`${name.padEnd(12)} ${kib(outfile)} KiB minified (${BUNDLE_FILE}), source map ${kib(`${outfile}.map`)} KiB`);
  }

  const routeBundle = bundles.route;
  if (routeBundle === undefined) throw new Error('no route bundle');
  const env = importEnvironment();
  const empty = timeNode('', env);
  const imported = timeNode(`import(${JSON.stringify(routeBundle)})`, env);
  console.log(`\nroute import in a fresh node ${process.version} process, ${RUNS} runs, NODE_OPTIONS=${env.NODE_OPTIONS}:`);
  console.log(`  node -e "import('<route bundle>')"  ${summary(imported)}`);
  console.log(`  node -e ""                          ${summary(empty)}`);
  console.log(`  import share (median difference)    ${fmt(median(imported) - median(empty))}`);
} finally {
  rmSync(outdir, { recursive: true, force: true });
}

/** The route function's paper environment (LEAN configured), as the stack gives it, plus what Lambda sets. */
function importEnvironment(): Record<string, string> {
  const stage = 'paper';
  const prefix = controlParameterPrefix(stage);
  const settings = routerSettingsFromContext(
    (key) => ({ stage, leanRunnerUrl: 'https://lean-runner.example.com', executionAdapter: 'lean', executionPolicy: 'all' })[key],
  );
  return {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    // Lambda runs nodejs22.x, where the SDK prints no such warning; on an older local node it would.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...routerEnvironment(settings, {
      tableName: provenanceTableName(stage),
      controlParameterPrefix: prefix,
      alpacaCredentialsParameter: controlParameterName(prefix, CONTROL_PARAMETER.alpacaCredentials),
    }),
    NODE_OPTIONS: ROUTER_NODE_OPTIONS,
  };
}

/** Wall-clock milliseconds of `node -e <code>` in fresh processes, after one untimed warm-up. */
function timeNode(code: string, env: Record<string, string>): number[] {
  const once = (): number => {
    const started = performance.now();
    const result = spawnSync(process.execPath, ['-e', code], { env, encoding: 'utf8' });
    const elapsed = performance.now() - started;
    if (result.status !== 0 || result.stderr.trim() !== '') {
      throw new Error(`node -e ${JSON.stringify(code)} exited ${result.status}: ${result.stderr.trim()}`);
    }
    return elapsed;
  };
  once();
  return Array.from({ length: RUNS }, once);
}

function summary(samples: readonly number[]): string {
  return `min ${fmt(Math.min(...samples))}, median ${fmt(median(samples))}, max ${fmt(Math.max(...samples))}`;
}

function kib(file: string): string {
  return (statSync(file).size / 1024).toFixed(1);
}
