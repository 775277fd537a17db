import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_FILE, functionEntry, PROJECT_ROOT, ROUTER_ENTRIES, routerEsbuildOptions } from '../../lib/router-bundling';
import { paperRouteEnvironment } from '../../lib/paper-route-environment';

const run = promisify(execFile);

/** The SDK's node credential chain: every package only its default provider brings in. */
const NODE_CHAIN_PACKAGE =
  /node_modules\/@(?:aws-sdk\/credential-provider-(?:node|ini|sso|process|web-identity|login|http)|smithy\/credential-provider-imds)\//;

/** The only module in any function's bundle that may require `semver`: it calls `semver.gte` alone, all the stand-in offers. */
const SEMVER_CALLERS = ['node_modules/aws-xray-sdk-core/dist/lib/patchers/aws_p.js'];

/** Every module of a bundle that requires `semver`, with what the requirement resolved to. */
function semverRequirers(meta: Metafile): [string, string | undefined][] {
  return Object.entries(meta.inputs).flatMap(([path, { imports }]) => {
    const semver = imports.find(({ original }) => original === 'semver');
    return semver === undefined ? [] : [[path, semver.path] as [string, string]];
  });
}

/** Builds the clients the functions use, as a bundle would, and prints what their credentials resolve to. */
const CREDENTIALS_PROBE = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SSMClient } from '@aws-sdk/client-ssm';
for (const client of [new DynamoDBClient({}), new SSMClient({})]) {
  try {
    const credentials = await client.config.credentials();
    console.log(credentials.accessKeyId + ' ' + credentials.sessionToken);
  } catch (error) {
    console.log('error: ' + error.message);
  }
}
`;

/** What Lambda puts in every function's environment: the region and the execution role's credentials. */
const LAMBDA_ENVIRONMENT = {
  PATH: process.env.PATH ?? '',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'ASIAROLEKEY',
  AWS_SECRET_ACCESS_KEY: 'role-secret',
  AWS_SESSION_TOKEN: 'role-session',
  // Lambda runs nodejs22.x, where the SDK prints no such warning; on an older local node it would.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  POWERTOOLS_DEV: 'true',
};

const outdir = mkdtempSync(join(tmpdir(), 'lean-router-credentials-'));
const routeBundle = join(outdir, 'route', BUNDLE_FILE);
const probeBundle = join(outdir, 'probe', BUNDLE_FILE);
type FunctionName = keyof typeof ROUTER_ENTRIES;
const FUNCTION_NAMES = Object.keys(ROUTER_ENTRIES) as FunctionName[];
/** Each function's bundle, built once: the route's written (it is imported below), the others' only analysed. */
const metas = new Map<FunctionName, Metafile>();
let routeMeta: Metafile;

beforeAll(async () => {
  const bundleOf = async (name: FunctionName): Promise<void> => {
    const outfile = name === 'route' ? routeBundle : join(outdir, name, BUNDLE_FILE);
    const { metafile } = await build({ ...routerEsbuildOptions(functionEntry(ROUTER_ENTRIES[name]), outfile), metafile: true, write: name === 'route' });
    metas.set(name, metafile);
  };
  await Promise.all([
    ...FUNCTION_NAMES.map(bundleOf),
    build({
      ...routerEsbuildOptions('', probeBundle),
      entryPoints: undefined,
      stdin: { contents: CREDENTIALS_PROBE, resolveDir: PROJECT_ROOT, sourcefile: 'credentials-probe.ts', loader: 'ts' },
    }),
  ]);
  routeMeta = metas.get('route') as Metafile;
}, 60_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** The route function's paper environment, as the stack gives it, plus what Lambda sets. */
function routeEnvironment(): Record<string, string> {
  return { ...LAMBDA_ENVIRONMENT, ...paperRouteEnvironment() };
}

async function runProbe(env: Record<string, string>): Promise<string[]> {
  const { stdout } = await run(process.execPath, [probeBundle], { env });
  return stdout.trim().split('\n');
}

describe('the Lambda bundles', () => {
  it('leave the SDK node credential chain out of the route bundle', () => {
    const inputs = Object.keys(routeMeta.inputs);
    expect(inputs.some((input) => input.includes('functions/adapters/lambda-credentials.ts'))).toBe(true);
    expect(inputs.filter((input) => NODE_CHAIN_PACKAGE.test(input))).toEqual([]);
  });

  it.each(FUNCTION_NAMES)("give semver's one caller in the %s bundle the one-comparison stand-in instead of the package", (name) => {
    const meta = metas.get(name) as Metafile;

    expect(semverRequirers(meta)).toEqual(SEMVER_CALLERS.map((caller) => [caller, 'functions/adapters/lambda-semver.ts']));
    expect(Object.keys(meta.inputs).filter((input) => input.includes('node_modules/semver/'))).toEqual([]);
  });

  it('import the route handler in a fresh node process with the Lambda environment', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import(${JSON.stringify(routeBundle)}); console.log(typeof m.handler);`],
      { env: routeEnvironment() },
    );
    expect(stdout.trim()).toBe('function');
  });

  it("resolve every client's credentials to the role's credentials in the environment", async () => {
    expect(await runProbe(LAMBDA_ENVIRONMENT)).toEqual(['ASIAROLEKEY role-session', 'ASIAROLEKEY role-session']);
  });

  it('fail with a message naming AWS Lambda when the environment holds no credentials', async () => {
    const { AWS_ACCESS_KEY_ID: _key, AWS_SECRET_ACCESS_KEY: _secret, AWS_SESSION_TOKEN: _token, ...withoutCredentials } = LAMBDA_ENVIRONMENT;
    const lines = await runProbe(withoutCredentials);
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/^error: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set: this bundle is for AWS Lambda/);
  });
});
