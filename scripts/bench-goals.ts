/**
 * The figures the router is held to on this machine, in one place: `npm run bench` prints each
 * measured figure beside its goal, and `npm run bench:bundle` fails when the route bundle passes
 * its budget.
 */
export const BENCH_GOALS = {
  /** Router p50 over floor p50, on either route. */
  routerOverFloorP50: 1.05,
  /** The route bundle, minified, in KiB. */
  routeBundleKib: 400,
  /** Importing the route bundle in a fresh process, beyond `node -e ""`, in ms. */
  routeImportMs: 80,
  /** Orders per second `npm start` answers at concurrency 32, with no error. */
  ordersPerSecondAt32: 400,
} as const;
