import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, describe, expect, it } from 'vitest';
import { executeApiRegion, OrderApiTimeout, orderApiTarget, requestCancel, type AwsCredentials } from '../../lib/cli/order-api-client';

/**
 * How `lean-router cancel` calls the order API: a deployed stage's request signed with SigV4 for
 * `execute-api`, the local stack's unsigned, each against a loopback server that records it.
 */

const CREDENTIALS: AwsCredentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' };
const staticCredentials = (credentials: AwsCredentials) => () => Promise.resolve(credentials);
const TIMEOUT_MS = 5_000;

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A loopback server that records each request and answers 202 with an empty receipt, or never when `hang`. */
async function recordingServer(options: { hang?: boolean } = {}): Promise<{ url: string; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  server = createServer((request, response) => {
    requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    if (options.hang) return;
    response.writeHead(202, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ client_order_id: 'abc' }));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** Signs the recorded request again, over the headers it says it signed, at the time it says it was signed. */
async function expectedAuthorization(recorded: Recorded, url: string, region: string): Promise<string | undefined> {
  const signedNames = /SignedHeaders=([^,]+)/.exec(String(recorded.headers.authorization))?.[1]?.split(';') ?? [];
  const headers = Object.fromEntries(signedNames.map((name) => [name, String(recorded.headers[name])]));
  const amzDate = String(recorded.headers['x-amz-date']);
  const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  const { hostname, port } = new URL(url);
  const signer = new SignatureV4({ service: 'execute-api', region, credentials: CREDENTIALS, sha256: Sha256 });
  const signed = await signer.sign({ method: recorded.method, protocol: 'http:', hostname, port: Number(port), path: recorded.url, query: {}, headers }, { signingDate });
  return signed.headers.authorization;
}

describe("lean-router cancel's order API client", () => {
  it("signs a deployed stage's cancel with SigV4: an Authorization header scoped to execute-api, and X-Amz-Date", async () => {
    const api = await recordingServer();
    const target = await orderApiTarget('paper', `${api.url}/prod/`, { AWS_REGION: 'eu-west-2' }, { timeoutMs: TIMEOUT_MS, credentials: staticCredentials(CREDENTIALS) });

    await requestCancel(target, 'abc', TIMEOUT_MS);

    const [recorded] = api.requests;
    expect(recorded?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-2\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*\bhost\b[a-z0-9;-]*x-amz-date[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(recorded?.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
  });

  it('sends a signature that verifies over the request as received: DELETE on the API stage path', async () => {
    const api = await recordingServer();
    const target = await orderApiTarget('paper', `${api.url}/prod/`, { AWS_REGION: 'eu-west-2' }, { timeoutMs: TIMEOUT_MS, credentials: staticCredentials(CREDENTIALS) });

    await requestCancel(target, 'abc:1', TIMEOUT_MS);

    const recorded = api.requests[0]!;
    expect(recorded).toMatchObject({ method: 'DELETE', url: '/prod/orders/abc%3A1' });
    expect(recorded.headers.authorization).toBe(await expectedAuthorization(recorded, api.url, 'eu-west-2'));
  });

  it('adds the session token of temporary credentials as X-Amz-Security-Token', async () => {
    const api = await recordingServer();
    const credentials = staticCredentials({ ...CREDENTIALS, sessionToken: 'session-token' });
    const target = await orderApiTarget('live', api.url, { AWS_REGION: 'us-east-1' }, { timeoutMs: TIMEOUT_MS, credentials });

    await requestCancel(target, 'abc', TIMEOUT_MS);

    expect(api.requests[0]?.headers['x-amz-security-token']).toBe('session-token');
  });

  it('takes the deployed API URL from LEAN_ROUTER_API_URL when --api-url is not given', async () => {
    const api = await recordingServer();
    const target = await orderApiTarget('paper', undefined, { LEAN_ROUTER_API_URL: `${api.url}/prod`, AWS_REGION: 'us-east-1' }, { timeoutMs: TIMEOUT_MS, credentials: staticCredentials(CREDENTIALS) });

    await requestCancel(target, 'abc', TIMEOUT_MS);

    expect(target.from).toBe('LEAN_ROUTER_API_URL');
    expect(api.requests[0]?.url).toBe('/prod/orders/abc');
  });

  it("sends the local stack's cancel unsigned to 127.0.0.1 on LOCAL_API_PORT", async () => {
    const api = await recordingServer();
    const target = await orderApiTarget('local', undefined, { LOCAL_API_PORT: new URL(api.url).port, LEAN_ROUTER_API_URL: 'https://elsewhere.example' }, { timeoutMs: TIMEOUT_MS });

    const answer = await requestCancel(target, 'abc', TIMEOUT_MS);

    expect(answer).toMatchObject({ status: 202, body: { json: { client_order_id: 'abc' } } });
    expect(api.requests[0]).toMatchObject({ method: 'DELETE', url: '/orders/abc' });
    expect(api.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('gives up with OrderApiTimeout when the order API does not answer in time', async () => {
    const api = await recordingServer({ hang: true });
    const target = await orderApiTarget('local', api.url, {}, { timeoutMs: TIMEOUT_MS });

    await expect(requestCancel(target, 'abc', 200)).rejects.toBeInstanceOf(OrderApiTimeout);
  });

  it.each([
    ['https://abc123.execute-api.eu-west-2.amazonaws.com/prod/', 'eu-west-2'],
    ['https://orders.example.com/', undefined],
    ['http://127.0.0.1:3000', undefined],
  ])('reads the region to sign for from the host of %s: %s', (url, region) => {
    expect(executeApiRegion(url)).toBe(region);
  });
});
