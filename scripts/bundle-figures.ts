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
 * The route bundle's size is also broken down by package (esbuild's metafile), and checked
 * against its budget: the script exits non-zero when the bundle is larger, and CI runs it.
 * Options (environment): BUNDLE_RUNS (default 9, at least 7).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build, type Metafile } from 'esbuild';
import { CONTROL_PARAMETER, controlParameterName, controlParameterPrefix } from '../functions/core/control-parameters';
import { BUNDLE_FILE, functionEntry, ROUTER_ENTRIES, ROUTER_NODE_OPTIONS, routerEsbuildOptions } from '../lib/router-bundling';
import { routerEnvironment } from '../lib/router-environment';
import { provenanceTableName } from '../functions/adapters/provenance-table';
import { routerSettingsFromContext } from '../lib/router-settings';
import { fmt, median } from './bench-stats';

const RUNS = Math.max(7, Number(process.env.BUNDLE_RUNS ?? 9));
/** The route bundle's budget, minified: past it the script fails, so the size is kept, not just measured. */
export const ROUTE_BUNDLE_BUDGET_KIB = 400;

const outdir = mkdtempSync(join(tmpdir(), 'lean-router-bundles-'));
try {
  const bundles: Record<string, string> = {};
  const metafiles: Record<string, Metafile> = {};
  for (const [name, entry] of Object.entries(ROUTER_ENTRIES)) {
    const outfile = join(outdir, name, BUNDLE_FILE);
    const result = await build({ ...routerEsbuildOptions(functionEntry(entry), outfile), metafile: true });
    bundles[name] = outfile;
    metafiles[name] = result.metafile;
    console.log(`${name.padEnd(12)} ${kib(outfile)} KiB minified (${BUNDLE_FILE}), source map ${kib(`${outfile}.map`)} KiB`);
  }
  const routeMeta = metafiles.route;
  if (routeMeta === undefined) throw new Error('no route metafile');
  console.log('\nroute bundle by package (KiB of minified output, 1 KiB and over):');
  for (const [name, bytes] of byPackage(routeMeta)) console.log(`  ${name.padEnd(40)} ${(bytes / 1024).toFixed(1)}`);

  const routeBundle = bundles.route;
  if (routeBundle === undefined) throw new Error('no route bundle');
  const env = importEnvironment();
  const empty = timeNode('', env);
  const imported = timeNode(`import(${JSON.stringify(routeBundle)})`, env);
  console.log(`\nroute import in a fresh node ${process.version} process, ${RUNS} runs, NODE_OPTIONS=${env.NODE_OPTIONS}:`);
  console.log(`  node -e "import('<route bundle>')"  ${summary(imported)}`);
  console.log(`  node -e ""                          ${summary(empty)}`);
  console.log(`  import share (median difference)    ${fmt(median(imported) - median(empty))}`);

  const routeKib = statSync(routeBundle).size / 1024;
  if (routeKib > ROUTE_BUNDLE_BUDGET_KIB) {
    console.error(`\nroute bundle ${routeKib.toFixed(1)} KiB is over its budget of ${ROUTE_BUNDLE_BUDGET_KIB} KiB`);
    process.exitCode = 1;
  } else {
    console.log(`\nroute bundle ${routeKib.toFixed(1)} KiB is within its budget of ${ROUTE_BUNDLE_BUDGET_KIB} KiB`);
  }
} finally {
  rmSync(outdir, { recursive: true, force: true });
}

/** Output bytes per npm package (scoped names whole), the repository's own files as `own code`; largest first. */
function byPackage(meta: Metafile): [string, number][] {
  const sizes = new Map<string, number>();
  for (const output of Object.values(meta.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? 'own code';
      sizes.set(name, (sizes.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...sizes].filter(([, bytes]) => bytes >= 1024).sort((a, b) => b[1] - a[1]);
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
