/**
 * `npm run bench:bundle`: the deployed size of each function's bundle, the route bundle by package,
 * and the time to import it in a fresh `node` process against `node -e ""` (scripts/bundle-measure.ts).
 * Exits 1 when the route bundle is larger than its ceiling (BENCH_GOALS.routeBundleCeilingKib), so
 * the size is kept, not just measured: CI (.ci/run) runs it. Options (environment): BUNDLE_RUNS
 * (default 9, at least 7).
 */
import { BENCH_GOALS } from './bench-goals';
import { fmt, median } from './bench-stats';
import { measureBundles } from './bundle-measure';

const RUNS = Math.max(7, Number(process.env.BUNDLE_RUNS ?? 9));
const kib = (bytes: number): string => (bytes / 1024).toFixed(1);

const figures = await measureBundles(RUNS);
for (const { name, bytes, sourceMapBytes } of figures.sizes) {
  console.log(`${name.padEnd(13)} ${kib(bytes)} KiB minified, source map ${kib(sourceMapBytes)} KiB`);
}
console.log('\nroute bundle by package (KiB of minified output, 1 KiB and over):');
for (const [name, bytes] of figures.routeByPackage.filter(([, bytes]) => bytes >= 1024)) console.log(`  ${name.padEnd(40)} ${kib(bytes)}`);

const summary = (samples: readonly number[]): string =>
  `min ${fmt(Math.min(...samples))}, median ${fmt(median(samples))}, max ${fmt(Math.max(...samples))}`;
console.log(`\nroute import in a fresh node ${process.version} process, ${RUNS} runs each, NODE_OPTIONS=${figures.nodeOptions}:`);
console.log(`  node -e "import('<route bundle>')"  ${summary(figures.importMs)}`);
console.log(`  node -e ""                          ${summary(figures.emptyMs)}`);
console.log(`  import share (median difference)    ${fmt(figures.importShareMs)} (goal ${BENCH_GOALS.routeImportMs} ms)`);

const route = figures.sizes.find(({ name }) => name === 'route');
if (route === undefined) throw new Error('no route bundle');
const routeKib = route.bytes / 1024;
const { routeBundleKib: goal, routeBundleCeilingKib: ceiling } = BENCH_GOALS;
const againstGoal = routeKib > goal ? `over its goal of ${goal} KiB by ${(routeKib - goal).toFixed(1)} KiB` : `within its goal of ${goal} KiB`;
if (routeKib > ceiling) {
  console.error(`\nroute bundle ${routeKib.toFixed(1)} KiB is over its ceiling of ${ceiling} KiB (and ${againstGoal})`);
  process.exitCode = 1;
} else {
  console.log(`\nroute bundle ${routeKib.toFixed(1)} KiB is within its ceiling of ${ceiling} KiB (and ${againstGoal})`);
}
