/**
 * Stands in for `semver` in the Lambda bundles only: the bundler aliases that package to this module
 * (LAMBDA_MODULE_ALIASES in lib/router-bundling.ts), and nothing imports it directly. In every bundle
 * its one caller is the X-Ray SDK's AWS SDK v2 patcher (through Powertools Tracer), which calls
 * `semver.gte` once; the package brings its whole range grammar, about 28 KiB minified and compiled
 * at every cold start, for that one comparison. A test keeps the callers to that one, so a new
 * dependency wanting more of semver fails the tests, not a cold start.
 */

/** A version as semver.org defines it (an optional leading `v`, build metadata ignored). */
const VERSION = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

interface ParsedVersion {
  readonly release: readonly [number, number, number];
  readonly prerelease: readonly string[];
}

function parse(version: string): ParsedVersion {
  const match = VERSION.exec(version.trim());
  if (match === null) throw new TypeError(`Invalid Version: ${version}`);
  const [, major = '', minor = '', patch = '', prerelease] = match;
  return { release: [Number(major), Number(minor), Number(patch)], prerelease: prerelease === undefined ? [] : prerelease.split('.') };
}

/** semver.org's precedence of two pre-release identifiers: numeric ones numerically and below alphanumeric ones. */
function compareIdentifiers(a: string, b: string): number {
  const aNumeric = /^\d+$/.test(a);
  const bNumeric = /^\d+$/.test(b);
  if (aNumeric && bNumeric) return Math.sign(Number(a) - Number(b));
  if (aNumeric !== bNumeric) return aNumeric ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** semver.org's precedence: the release numbers, then a pre-release below its release, then identifier by identifier. */
function compare(a: ParsedVersion, b: ParsedVersion): number {
  for (let i = 0; i < 3; i += 1) {
    const difference = Math.sign((a.release[i] ?? 0) - (b.release[i] ?? 0));
    if (difference !== 0) return difference;
  }
  if (a.prerelease.length === 0 || b.prerelease.length === 0) return Math.sign(b.prerelease.length - a.prerelease.length);
  for (let i = 0; i < Math.max(a.prerelease.length, b.prerelease.length); i += 1) {
    const x = a.prerelease[i];
    const y = b.prerelease[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const difference = compareIdentifiers(x, y);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** Whether `version` is greater than or equal to `other`, as `semver.gte` answers; throws a TypeError on an invalid version, as it does. */
export function gte(version: string, other: string): boolean {
  return compare(parse(version), parse(other)) >= 0;
}
