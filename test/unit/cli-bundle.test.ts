import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCliBundle, CLI_BUNDLE_DIR, CLI_BUNDLE_ENTRY } from '../../lib/cli/cli-bundle';
import { PROJECT_ROOT } from '../../lib/router-bundling';

/**
 * `npx lean-router` runs the checked-in build under dist/: it must be what the sources build
 * today, and load with the runtime dependencies alone (`npm ci --omit=dev`).
 */

const PACKAGE = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; dependencies: Record<string, string> };
const DIST = join(PROJECT_ROOT, CLI_BUNDLE_DIR);

function checkedIn(): Map<string, string> {
  return new Map(readdirSync(DIST).map((name) => [name, readFileSync(join(DIST, name), 'utf8')]));
}

describe('the checked-in CLI build', () => {
  it('is byte for byte what npm run build:cli builds from the sources now', async () => {
    const built = await buildCliBundle();

    const expected = new Map([...built].map(([name, contents]) => [name, Buffer.from(contents).toString('utf8')]));
    expect(checkedIn(), 'dist/ is stale: run npm run build:cli').toEqual(expected);
  }, 30_000);

  it('is what package.json names as the lean-router command, executable', () => {
    expect(PACKAGE.bin['lean-router']).toBe(CLI_BUNDLE_ENTRY);
    expect(statSync(join(PROJECT_ROOT, CLI_BUNDLE_ENTRY)).mode & 0o111).not.toBe(0);
    expect(readFileSync(join(PROJECT_ROOT, CLI_BUNDLE_ENTRY), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('imports nothing but Node built-ins, its own files and runtime dependencies', () => {
    const specifiers = [...checkedIn().values()].flatMap((source) => [...source.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm)].map((match) => match[1] ?? match[2] ?? ''));
    const packageOf = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

    const foreign = specifiers.filter(
      (specifier) => !specifier.startsWith('./') && !specifier.startsWith('node:') && !builtinModules.includes(specifier) && !(packageOf(specifier) in PACKAGE.dependencies),
    );

    expect(specifiers.length).toBeGreaterThan(0);
    expect(foreign).toEqual([]);
  });
});
