/**
 * `npm run bench`: the route bundle's size and import time (scripts/bundle-measure.ts), the
 * router's overhead over a direct broker submit and its AWS calls per order, the orders per second
 * `npm start` answers (scripts/bench-throughput.ts), then the governance figures
 * (scripts/bench-governance.ts), the lifecycle sync's Alpaca calls (scripts/bench-lifecycle.ts) and
 * the parity report's (scripts/bench-parity.ts); it ends with every figure that has a goal beside
 * its goal (scripts/bench-goals.ts).
 *
 * The hot path (scripts/bench-hot-path.ts) runs twice, each in a process of its own: with logs and
 * metrics off, then as deployed (Powertools at INFO, metrics on, their lines written to a
 * discarded standard output, as Lambda writes them to its log stream); the goal is held against
 * the deployed figures.
 * Options (environment): BENCH_ROUNDS (default 5), BENCH_ORDERS per round and path (default 300),
 * BUNDLE_RUNS (default 9), BENCH_ONLY=hot-path|throughput|bundle|governance|lifecycle|parity to run
 * one part.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TSX_LOADER } from '../lib/local/tsx-loader';
import { runGovernanceBench } from './bench-governance';
import { runLifecycleBench } from './bench-lifecycle';
import { runParityBench } from './bench-parity';
import { BENCH_GOALS } from './bench-goals';
import type { HotPathFigures } from './bench-hot-path';
import { fmt, median } from './bench-stats';
import { runThroughputBench, type ThroughputFigures } from './bench-throughput';
import { measureBundles, type BundleFigures } from './bundle-measure';

const BUNDLE_RUNS = Math.max(7, Number(process.env.BUNDLE_RUNS ?? 9));
const HOT_PATH_MODULE = fileURLToPath(new URL('./bench-hot-path.ts', import.meta.url));

const ONLY = process.env.BENCH_ONLY;
const runs = (part: string): boolean => ONLY === undefined || ONLY === part;

// The import timing first: it compares fresh processes against `node -e ""`, and the parts after it
// leave processes winding down (the throughput run's stack) that would weigh on it.
const bundle = runs('bundle') ? await runBundleBench() : undefined;
const hotPathQuiet = runs('hot-path') ? await hotPathIn('logs and metrics off', { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' }) : undefined;
const hotPath = runs('hot-path') ? await hotPathIn('as deployed', { POWERTOOLS_LOG_LEVEL: 'INFO', POWERTOOLS_METRICS_DISABLED: 'false' }) : undefined;
const throughput = runs('throughput') ? await runThroughputBench() : undefined;
if (runs('governance')) await runGovernanceBench();
if (runs('lifecycle')) await runLifecycleBench();
if (runs('parity')) await runParityBench();
printGoals(hotPath, hotPathQuiet, throughput, bundle);

/** The hot-path bench in a fresh process with `settings` over this environment; its stdout (the router's log and EMF lines) discarded. */
async function hotPathIn(label: string, settings: Readonly<Record<string, string>>): Promise<HotPathFigures> {
  process.stderr.write(`\nhot path, ${label}:\n`);
  const child = fork(HOT_PATH_MODULE, [], {
    execArgv: ['--import', TSX_LOADER],
    env: { ...process.env, ...settings },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let figures: HotPathFigures | undefined;
    child.once('message', (message) => {
      figures = message as HotPathFigures;
    });
    child.once('error', reject);
    child.once('exit', (code) => (figures !== undefined ? resolve(figures) : reject(new Error(`the hot-path bench (${label}) exited ${code} without figures`))));
  });
}

async function runBundleBench(): Promise<BundleFigures> {
  const figures = await measureBundles(BUNDLE_RUNS);
  const route = figures.sizes.find(({ name }) => name === 'route');
  console.log(`\nroute bundle: ${((route?.bytes ?? Number.NaN) / 1024).toFixed(1)} KiB minified; import in a fresh node process, ${BUNDLE_RUNS} runs each, NODE_OPTIONS=${figures.nodeOptions}:`);
  console.log(`  node -e "import('<route bundle>')"  median ${fmt(median(figures.importMs))}`);
  console.log(`  node -e ""                          median ${fmt(median(figures.emptyMs))}`);
  console.log(`  import share                        ${fmt(figures.importShareMs)}`);
  return figures;
}

/** Every figure that has a goal, beside it; parts not run this time are left out. */
function printGoals(hot: HotPathFigures | undefined, quiet: HotPathFigures | undefined, throughputFigures: ThroughputFigures | undefined, bundleFigures: BundleFigures | undefined): void {
  const rows: [string, string, string][] = [];
  if (hot !== undefined) {
    for (const route of ['alpaca', 'lean'] as const) {
      const p50 = hot.router[route].p50 / hot.floor[route].p50;
      const p99 = hot.router[route].p99 / hot.floor[route].p99;
      const quietP50 = quiet === undefined ? '' : `; logs and metrics off ${(quiet.router[route].p50 / quiet.floor[route].p50).toFixed(2)}`;
      rows.push([
        `router/floor p50, ${route === 'alpaca' ? 'Alpaca' : 'LEAN'} route`,
        `<= ${BENCH_GOALS.routerOverFloorP50.toFixed(2)}`,
        `${p50.toFixed(2)} as deployed (floor ${fmt(hot.floor[route].p50)}, router ${fmt(hot.router[route].p50)}; p99 ratio ${p99.toFixed(2)}${quietP50})`,
      ]);
    }
  }
  for (const { concurrency, ordersPerSecond, errors } of throughputFigures?.byConcurrency ?? []) {
    rows.push([
      `npm start orders/s, concurrency ${concurrency}`,
      concurrency === 32 ? `>= ${BENCH_GOALS.ordersPerSecondAt32}, 0 errors` : '',
      `${ordersPerSecond.toFixed(0)}, ${errors} error${errors === 1 ? '' : 's'}`,
    ]);
  }
  if (bundleFigures !== undefined) {
    const route = bundleFigures.sizes.find(({ name }) => name === 'route');
    rows.push(['route bundle, minified', `<= ${BENCH_GOALS.routeBundleKib} KiB`, `${((route?.bytes ?? Number.NaN) / 1024).toFixed(1)} KiB (CI's ceiling ${BENCH_GOALS.routeBundleCeilingKib} KiB)`]);
    rows.push(['route import beyond node -e ""', `<= ${BENCH_GOALS.routeImportMs} ms`, fmt(bundleFigures.importShareMs)]);
  }
  if (rows.length === 0) return;
  console.log('\nfigures against their goals:');
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, goal, measured] of rows) console.log(`  ${name.padEnd(width)}  goal ${goal.padEnd(18)}  measured ${measured}`);
}

