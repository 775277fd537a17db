import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

/**
 * How every router function is bundled, defined once: `RouterFunction` turns it into the
 * `NodejsFunction` bundling options and `npm run bench:bundle` (scripts/bundle-figures.ts) into an
 * esbuild build, so the figures measure exactly what is deployed.
 */

/** The repository root: entries and the lock file are resolved from here, whatever the cwd. */
export const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The handler module of each function, under `functions/` (each exports `handler`). */
export const ROUTER_ENTRIES = {
  route: 'route/handler.ts',
  healthCheck: 'health-check/handler.ts',
  lifecycleSync: 'lifecycle-sync/handler.ts',
  parityRun: 'parity-run/handler.ts',
} as const;

/** A handler file under `functions/`, as an absolute path. */
export function functionEntry(relativePath: string): string {
  return fileURLToPath(new URL(`../functions/${relativePath}`, import.meta.url));
}

/**
 * The bundle is ESM (`index.mjs`). Some bundled dependencies are CommonJS and `require()` Node
 * built-ins; ESM has no `require`, so the banner defines one. The alias avoids clashing with a
 * `createRequire` import esbuild may hoist from the bundled code.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __leanRouterCreateRequire } from 'node:module'; const require = __leanRouterCreateRequire(import.meta.url);";

/** The file name `NodejsFunction` gives an ESM bundle; the handler is `index.handler`. */
export const BUNDLE_FILE = 'index.mjs';

/**
 * The fixed bundling options: minified ESM for node22 with source maps (without the sources), the
 * AWS SDK bundled (no external module: pinned versions, no dependency on the runtime's copy).
 */
export const ROUTER_BUNDLING = {
  target: 'node22',
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  externalModules: [],
} as const satisfies {
  target: string;
  mainFields: readonly string[];
  banner: string;
  minify: boolean;
  sourceMap: boolean;
  sourcesContent: boolean;
  externalModules: readonly string[];
};

/**
 * Packages the Lambda bundles replace, each with a module under the project root (relative, as
 * esbuild's `--alias` resolves it from the working directory, which is the project root for both
 * builds). The SDK clients' default credential chain (SSO, profile files, process, web identity,
 * container and instance metadata, about 130 KiB minified) becomes the environment provider alone:
 * in Lambda the role's credentials are always in the environment. `semver` (about 28 KiB, there for
 * one `gte` call by the X-Ray SDK) becomes that one comparison. Tests and the
 * local stack, which are not bundled, keep the packages.
 */
export const LAMBDA_MODULE_ALIASES = {
  '@aws-sdk/credential-provider-node': './functions/adapters/lambda-credentials.ts',
  semver: './functions/adapters/lambda-semver.ts',
} as const satisfies Record<string, string>;

/** `NODE_OPTIONS` of every function: stack traces in the logs point at the TypeScript sources. */
export const ROUTER_NODE_OPTIONS = '--enable-source-maps';

/**
 * The esbuild build `NodejsFunction` runs for {@link ROUTER_BUNDLING} and
 * {@link LAMBDA_MODULE_ALIASES} (it always adds `--bundle` and `--platform=node`, and runs in the
 * project root; `--log-level=error` matches the construct's log level).
 */
export function routerEsbuildOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: ROUTER_BUNDLING.target,
    mainFields: [...ROUTER_BUNDLING.mainFields],
    banner: { js: ROUTER_BUNDLING.banner },
    minify: ROUTER_BUNDLING.minify,
    sourcemap: ROUTER_BUNDLING.sourceMap,
    sourcesContent: ROUTER_BUNDLING.sourcesContent,
    external: [...ROUTER_BUNDLING.externalModules],
    alias: { ...LAMBDA_MODULE_ALIASES },
    absWorkingDir: PROJECT_ROOT,
    logLevel: 'error',
  };
}
