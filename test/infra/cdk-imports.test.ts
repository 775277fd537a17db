import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/router-bundling';

/** Runtime packages the CDK app must never load: they create loggers, metrics buffers and sockets at import. */
const RUNTIME_PACKAGES = [/^@aws-lambda-powertools\//, /^undici(\/|$)/];

/** The import graph of the CDK app's entry: every project module it reaches and every package it imports. */
let graph: Metafile;

beforeAll(async () => {
  const result = await build({
    entryPoints: [join(PROJECT_ROOT, 'lib/router-app.ts')],
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  graph = result.metafile;
}, 30_000);

const projectModules = () => Object.keys(graph.inputs);
const importedPackages = () =>
  Object.values(graph.inputs).flatMap((input) => input.imports.filter((entry) => entry.external === true).map((entry) => entry.path));

describe('what the CDK app imports', () => {
  it('reaches the constructs and the side-effect-free core modules it shares names with', () => {
    expect(projectModules()).toEqual(expect.arrayContaining(['lib/lean-router-stack.ts', 'functions/core/metric-names.ts', 'functions/core/config.ts']));
  });

  it('loads no function module that creates a Logger or Metrics at import', () => {
    const withSideEffects = projectModules().filter((path) => /new (Logger|Metrics)\(/.test(readFileSync(join(PROJECT_ROOT, path), 'utf8')));

    expect(withSideEffects).toEqual([]);
    expect(projectModules()).not.toContain('functions/adapters/observability.ts');
  });

  it('imports no Powertools or undici package, directly or through a function module', () => {
    const runtime = importedPackages().filter((path) => RUNTIME_PACKAGES.some((pattern) => pattern.test(path)));

    expect(runtime).toEqual([]);
  });

  it('loads no HTTP client of the functions', () => {
    expect(projectModules().filter((path) => /^functions\/adapters\/(alpaca-client|lean-runner-client|http-exchange)\.ts$/.test(path))).toEqual([]);
  });
});
