/**
 * Builds every function's bundle with the construct's own options (lib/router-bundling.ts) and
 * times importing the route bundle in fresh `node` processes: the figures `npm run bench:bundle`
 * and `npm run bench` print.
 *
 * Each timed run is `node -e "import('<bundle>')"` in a new process, wall clock from spawn to exit,
 * with the environment the route function gets on the paper stage (routerEnvironment, plus
 * NODE_OPTIONS as deployed) and AWS_REGION: the module init parses it and builds its clients,
 * which makes no network call. An empty `node -e ""` is timed the same way, interleaved with the
 * imports so both see the same machine load, and the import's share is the difference of the
 * medians. One untimed warm-up run of each precedes the series.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build, type Metafile } from 'esbuild';
import { BUNDLE_FILE, functionEntry, ROUTER_ENTRIES, ROUTER_NODE_OPTIONS, routerEsbuildOptions } from '../lib/router-bundling';
import { paperRouteEnvironment } from '../lib/paper-route-environment';
import { median } from './bench-stats';

/** One function's bundle: minified size and its source map's, in bytes. */
export interface BundleSize {
  readonly name: keyof typeof ROUTER_ENTRIES;
  readonly bytes: number;
  readonly sourceMapBytes: number;
}

/** What {@link measureBundles} found. */
export interface BundleFigures {
  readonly sizes: readonly BundleSize[];
  /** The route bundle's bytes per npm package (the repository's files as `own code`), largest first. */
  readonly routeByPackage: readonly (readonly [string, number])[];
  /** Wall-clock ms of each timed `node -e "import('<route bundle>')"`. */
  readonly importMs: readonly number[];
  /** Wall-clock ms of each timed `node -e ""`. */
  readonly emptyMs: readonly number[];
  /** The median import beyond the median empty process, in ms. */
  readonly importShareMs: number;
  /** The `NODE_OPTIONS` the timed processes ran with (as deployed). */
  readonly nodeOptions: string;
}

/** Builds the four bundles into a temporary directory, measures them, and removes the directory. */
export async function measureBundles(runs: number): Promise<BundleFigures> {
  const outdir = mkdtempSync(join(tmpdir(), 'lean-router-bundles-'));
  try {
    const sizes: BundleSize[] = [];
    let routeMeta: Metafile | undefined;
    let routeBundle: string | undefined;
    for (const [name, entry] of Object.entries(ROUTER_ENTRIES) as [keyof typeof ROUTER_ENTRIES, string][]) {
      const outfile = join(outdir, name, BUNDLE_FILE);
      const result = await build({ ...routerEsbuildOptions(functionEntry(entry), outfile), metafile: true });
      sizes.push({ name, bytes: statSync(outfile).size, sourceMapBytes: statSync(`${outfile}.map`).size });
      if (name === 'route') {
        routeMeta = result.metafile;
        routeBundle = outfile;
      }
    }
    if (routeMeta === undefined || routeBundle === undefined) throw new Error('the route bundle was not built');
    const env = importEnvironment();
    const { importMs, emptyMs } = timeImports(routeBundle, env, runs);
    return {
      sizes,
      routeByPackage: byPackage(routeMeta),
      importMs,
      emptyMs,
      importShareMs: median(importMs) - median(emptyMs),
      nodeOptions: env.NODE_OPTIONS ?? '',
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
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
  return [...sizes].sort((a, b) => b[1] - a[1]);
}

/** The route function's paper environment, plus what Lambda sets. */
function importEnvironment(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    // Lambda runs nodejs22.x, where the SDK prints no such warning; on an older local node it would.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...paperRouteEnvironment(),
    NODE_OPTIONS: ROUTER_NODE_OPTIONS,
  };
}

/** Alternating fresh processes: the import of `bundle`, then an empty one, `runs` times each after a warm-up. */
function timeImports(bundle: string, env: Record<string, string>, runs: number): { importMs: number[]; emptyMs: number[] } {
  const once = (code: string): number => {
    const started = performance.now();
    const result = spawnSync(process.execPath, ['-e', code], { env, encoding: 'utf8' });
    const elapsed = performance.now() - started;
    if (result.status !== 0 || result.stderr.trim() !== '') {
      throw new Error(`node -e ${JSON.stringify(code)} exited ${result.status}: ${result.stderr.trim()}`);
    }
    return elapsed;
  };
  const importCode = `import(${JSON.stringify(bundle)})`;
  once(importCode);
  once('');
  const importMs: number[] = [];
  const emptyMs: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    importMs.push(once(importCode));
    emptyMs.push(once(''));
  }
  return { importMs, emptyMs };
}
