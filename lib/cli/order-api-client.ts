import { randomUUID } from 'node:crypto';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { describeError } from '../../functions/core/objects';
import { stackName, type Stage } from '../stage-names';
import { isDeployedStage, type CliStage } from './stages';

/**
 * The operator CLI's one HTTP client: it calls the order API the way the scheduler does, so a
 * cancel from a terminal goes through the route function's rules and is written on the row, never
 * straight to a broker. A deployed stage's API takes only IAM callers, so those requests are
 * signed with SigV4 (service `execute-api`) using the standard AWS credential chain.
 */

/** AWS credentials as SigV4 needs them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Where credentials come from: the standard chain in use, static ones in tests. */
export type CredentialProvider = () => Promise<AwsCredentials>;

/** The order API of one stage, and how its requests are signed (never, for the local stack). */
export interface OrderApiTarget {
  /** The base URL: `https://<id>.execute-api.<region>.amazonaws.com/<stage>/` or npm start's loopback URL. */
  readonly url: string;
  /** Where the URL came from, for messages: `--api-url`, `LEAN_ROUTER_API_URL`, the stack output, `LOCAL_API_PORT`. */
  readonly from: string;
  readonly signing?: { readonly region: string; readonly credentials: CredentialProvider };
}

/** One answer of the order API: status, headers (lower-case names), and the body as JSON, or as text when it is not JSON. */
export interface OrderApiAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: { readonly json: unknown } | { readonly text: string };
}

/** The order API did not answer within the timeout: what the request did is not known. */
export class OrderApiTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer from the order API within ${timeoutMs / 1000} s`);
    this.name = 'OrderApiTimeout';
  }
}

/** A stage's order API could not be located; the message says where the CLI looked and what to pass instead. */
export class OrderApiNotFound extends Error {
  override readonly name = 'OrderApiNotFound';
}

/** The CloudFormation output that holds a deployed stage's order API URL. */
const API_URL_OUTPUT = 'ApiUrl';

/** npm start's order API port when `LOCAL_API_PORT` is not set (bin/local.ts). */
const DEFAULT_LOCAL_API_PORT = 3000;

/**
 * The order API of `stage`. Locally npm start's loopback port, unsigned. For a deployed stage:
 * `--api-url`, else `LEAN_ROUTER_API_URL`, else the `ApiUrl` output of the stage's stack, signed
 * for the region the URL names (or the configured region, for a custom domain).
 */
export async function orderApiTarget(
  stage: CliStage,
  apiUrl: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  options: { timeoutMs: number; credentials?: CredentialProvider },
): Promise<OrderApiTarget> {
  if (!isDeployedStage(stage)) {
    if (apiUrl !== undefined) return { url: apiUrl, from: '--api-url' };
    return { url: `http://127.0.0.1:${env.LOCAL_API_PORT || DEFAULT_LOCAL_API_PORT}`, from: 'LOCAL_API_PORT' };
  }
  const given = apiUrl !== undefined ? { url: apiUrl, from: '--api-url' } : env.LEAN_ROUTER_API_URL ? { url: env.LEAN_ROUTER_API_URL, from: 'LEAN_ROUTER_API_URL' } : undefined;
  const located = given ?? { url: await stackApiUrl(stage, options.timeoutMs), from: `the ${API_URL_OUTPUT} output of stack ${stackName(stage)}` };
  const region = executeApiRegion(located.url) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region === undefined || region === '') {
    throw new OrderApiNotFound(`${located.url} names no AWS region to sign for: set AWS_REGION`);
  }
  const credentials = options.credentials ?? (await import('@aws-sdk/credential-provider-node')).defaultProvider();
  return { ...located, signing: { region, credentials } };
}

/** The region in an `execute-api` host name, or `undefined` for any other host (a custom domain, loopback). */
export function executeApiRegion(url: string): string | undefined {
  return /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(new URL(url).hostname)?.[1];
}

/** The stage stack's `ApiUrl` output, by CloudFormation DescribeStacks in the configured account and region. */
async function stackApiUrl(stage: Stage, timeoutMs: number): Promise<string> {
  // Loaded only here: no other command needs CloudFormation.
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const client = new CloudFormationClient({});
  const name = stackName(stage);
  try {
    const out = await client.send(new DescribeStacksCommand({ StackName: name }), { abortSignal: AbortSignal.timeout(timeoutMs) });
    const url = out.Stacks?.[0]?.Outputs?.find((output) => output.OutputKey === API_URL_OUTPUT)?.OutputValue;
    if (url === undefined) throw new OrderApiNotFound(`stack ${name} has no ${API_URL_OUTPUT} output: pass --api-url or set LEAN_ROUTER_API_URL`);
    return url;
  } catch (error) {
    if (error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message)) {
      const region = (await client.config.region().catch(() => undefined)) ?? 'the configured region';
      throw new OrderApiNotFound(
        `no stack ${name} in ${region}: the ${stage} stage is not deployed in this account and region (check AWS_PROFILE / AWS_REGION), or pass --api-url / LEAN_ROUTER_API_URL`,
      );
    }
    // Missing credentials or region keep their own errors, which the CLI explains.
    if (!(error instanceof Error) || error.name === 'CredentialsProviderError' || /region is missing/i.test(error.message) || error instanceof OrderApiNotFound) throw error;
    throw new OrderApiNotFound(`CloudFormation DescribeStacks ${name} failed (${describeError(error)}): pass --api-url or set LEAN_ROUTER_API_URL to the stage's ApiUrl`);
  } finally {
    client.destroy();
  }
}

/**
 * `DELETE /orders/{client_order_id}` on `target`; resolves to whatever the API answered, error
 * statuses included. Rejects with `OrderApiTimeout` when no answer came within `timeoutMs`, and
 * with fetch's error when nothing answered at all.
 */
export function requestCancel(target: OrderApiTarget, clientOrderId: string, timeoutMs: number): Promise<OrderApiAnswer> {
  return send(target, 'DELETE', `orders/${encodeURIComponent(clientOrderId)}`, timeoutMs);
}

async function send(target: OrderApiTarget, method: string, path: string, timeoutMs: number): Promise<OrderApiAnswer> {
  const base = target.url.endsWith('/') ? target.url : `${target.url}/`;
  const url = new URL(path, base);
  // One id for the whole call, so the route function's logs can be found from the operator's side.
  const headers: Record<string, string> = { accept: 'application/json', 'x-correlation-id': `cli-${randomUUID()}` };
  const signed = target.signing === undefined ? headers : await sign(target.signing, method, url, headers);
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    // fetch sends Host itself, from the same URL the signature covered.
    const { host: _host, ...sent } = signed;
    const response = await fetch(url, { method, headers: sent, signal, redirect: 'manual' });
    const text = await response.text();
    return { status: response.status, headers: Object.fromEntries(response.headers), body: jsonOrText(text) };
  } catch (error) {
    if (signal.aborted) throw new OrderApiTimeout(timeoutMs);
    throw error;
  }
}

/** The request's headers with SigV4's added: Authorization, X-Amz-Date and, for temporary credentials, X-Amz-Security-Token. */
async function sign(signing: NonNullable<OrderApiTarget['signing']>, method: string, url: URL, headers: Record<string, string>): Promise<Record<string, string>> {
  const signer = new SignatureV4({ service: 'execute-api', region: signing.region, credentials: signing.credentials, sha256: Sha256 });
  const query: Record<string, string> = Object.fromEntries(url.searchParams);
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port === '' ? {} : { port: Number(url.port) }),
    path: url.pathname,
    query,
    headers: { ...headers, host: url.host },
  });
  return signed.headers;
}

function jsonOrText(text: string): OrderApiAnswer['body'] {
  try {
    return { json: JSON.parse(text) as unknown };
  } catch {
    return { text };
  }
}
