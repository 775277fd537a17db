import { DeleteParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LEAN_TOKEN_UNAVAILABLE_REASON, LeanRunnerClient } from '../../functions/adapters/lean-runner-client';
import { StaticLeanRunnerToken, type LeanRunnerTokenProvider } from '../../functions/adapters/lean-runner-token';
import type { OrderRequest } from '../../functions/core/order-request';
import { startLeanRunnerSimulator, type LeanRunnerSimulator } from '../../lib/local/lean-runner-simulator';
import { marketOrder, SIM_CREDENTIALS, startRouterHarness, TEST_CONTROL_PREFIX, type RouterHarness } from '../support/router-harness';

const TOKEN = 'sim-runner-token-3f2e1d';
const TOKEN_PARAMETER = `${TEST_CONTROL_PREFIX}lean-runner-token`;
const CONTEXT = { correlationId: 'corr-auth-1' };

let harness: RouterHarness;
/** A runner that requires the token, placing its orders at the harness's Alpaca simulator. */
let runner: LeanRunnerSimulator;

beforeAll(async () => {
  harness = await startRouterHarness();
  runner = await startLeanRunnerSimulator({ alpacaUrl: harness.alpaca.url, alpacaKeyId: SIM_CREDENTIALS.keyId, alpacaSecretKey: SIM_CREDENTIALS.secretKey, token: TOKEN });
});
afterAll(async () => {
  await runner?.close();
  await harness?.close();
});
beforeEach(async () => {
  await harness.reset();
  await runner.reset();
  await harness.ssm.send(new DeleteParameterCommand({ Name: TOKEN_PARAMETER })).catch(() => undefined);
});

function client(token?: LeanRunnerTokenProvider): LeanRunnerClient {
  return new LeanRunnerClient({ baseUrl: runner.url, connectTimeoutMs: 200, submitTimeoutMs: 1_000, lookupTimeoutMs: 500, ...(token === undefined ? {} : { token }) });
}

function request(): OrderRequest {
  return marketOrder() as unknown as OrderRequest;
}

async function putToken(type: 'SecureString' | 'String', value = TOKEN): Promise<void> {
  await harness.ssm.send(new PutParameterCommand({ Name: TOKEN_PARAMETER, Value: value, Type: type, Overwrite: true }));
}

/** The route handler's environment pointing it at the token-requiring runner, with the token parameter named. */
function withRunner(): Record<string, string> {
  return { TRADING_LEAN_RUNNER_URL: runner.url, LEAN_RUNNER_TOKEN_PARAMETER: TOKEN_PARAMETER };
}

describe('the LEAN runner simulator with a token', () => {
  it.each([
    ['no authorization header', {}, 'unauthorized:missing bearer token'],
    ['a wrong bearer token', { authorization: 'Bearer not-the-token' }, 'unauthorized:wrong bearer token'],
    ['the token without the Bearer scheme', { authorization: TOKEN }, 'unauthorized:wrong bearer token'],
  ])('refuses a submit with %s: 401 with a JSON detail, counted as no submit, nothing placed', async (_case, headers, detail) => {
    const response = await fetch(`${runner.url}/v1/orders/submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ symbol: 'AAPL', side: 'buy', qty: 1, order_type: 'market', time_in_force: 'day', extra_params: { client_order_id: 'auth-refused-1' } }),
    });

    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ detail });
    expect(runner.requestCount('submit')).toBe(0);
    expect(runner.lastSubmit()).toBeUndefined();
    expect(harness.alpaca.requestCount('submit')).toBe(0);
  });

  it('refuses a health probe without the token', async () => {
    const response = await fetch(`${runner.url}/healthz`);

    expect(response.status).toBe(401);
    expect(runner.requestCount('health')).toBe(0);
  });
});

describe('the LEAN runner client with a token provider', () => {
  it('sends authorization: Bearer <token> on a submit, and the order reaches Alpaca through the runner', async () => {
    const outcome = await client(new StaticLeanRunnerToken(TOKEN)).submit(request(), CONTEXT);

    expect(outcome.kind).toBe('accepted');
    expect(runner.lastSubmit()?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(harness.alpaca.requestCount('submit')).toBe(1);
  });

  it('sends the token on a lookup, a cancel and a probe', async () => {
    const lean = client(new StaticLeanRunnerToken(TOKEN));
    const order = request();
    const placed = await lean.submit(order, CONTEXT);
    if (placed.kind !== 'accepted') throw new Error(`submit failed: ${JSON.stringify(placed)}`);

    await expect(lean.findByClientOrderId(order.client_order_id, CONTEXT)).resolves.toMatchObject({ kind: 'found' });
    await expect(lean.cancel(placed.order.id, CONTEXT)).resolves.toMatchObject({ kind: 'requested' });
    await expect(lean.probe()).resolves.toMatchObject({ ok: true });
  });

  it('is refused by the runner without a token provider (lean_submit_http_401, definite)', async () => {
    const outcome = await client().submit(request(), CONTEXT);

    expect(outcome).toMatchObject({ kind: 'failed', failure: { reason: 'lean_submit_http_401', certainty: 'definite' } });
  });

  it('sends nothing and fails definite when the token cannot be read', async () => {
    const unreadable: LeanRunnerTokenProvider = { get: () => Promise.reject(Object.assign(new Error('nope'), { name: 'ThrottlingException' })) };

    const outcome = await client(unreadable).submit(request(), CONTEXT);

    expect(outcome).toEqual({
      kind: 'failed',
      failure: { reason: LEAN_TOKEN_UNAVAILABLE_REASON, certainty: 'definite', detail: 'the LEAN runner token could not be read (ThrottlingException); nothing was sent' },
    });
    expect(runner.requestCount('submit')).toBe(0);
  });

  it('gives up on a token read that outlasts the call, having sent nothing', async () => {
    const stalled: LeanRunnerTokenProvider = { get: () => new Promise(() => undefined) };
    const lean = new LeanRunnerClient({ baseUrl: runner.url, connectTimeoutMs: 50, submitTimeoutMs: 100, lookupTimeoutMs: 100, token: stalled });

    const outcome = await lean.submit(request(), CONTEXT);

    expect(outcome).toMatchObject({ kind: 'failed', failure: { reason: LEAN_TOKEN_UNAVAILABLE_REASON, certainty: 'definite' } });
    expect(runner.requestCount('submit')).toBe(0);
  });

  it('sends a token at hand without waiting on a read: the call goes out even while a read would stall', async () => {
    const cachedWhileReadStalls: LeanRunnerTokenProvider = { get: () => new Promise(() => undefined), cachedToken: () => TOKEN };
    const lean = new LeanRunnerClient({ baseUrl: runner.url, connectTimeoutMs: 200, submitTimeoutMs: 1_000, lookupTimeoutMs: 500, token: cachedWhileReadStalls });

    const outcome = await lean.submit(request(), CONTEXT);

    expect(outcome.kind).toBe('accepted');
    expect(runner.lastSubmit()?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('reads the token when none is at hand, and sends it', async () => {
    const readOnly: LeanRunnerTokenProvider = { get: () => Promise.resolve(TOKEN), cachedToken: () => undefined };

    const outcome = await client(readOnly).submit(request(), CONTEXT);

    expect(outcome.kind).toBe('accepted');
    expect(runner.lastSubmit()?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('reports a probe unhealthy, without calling the runner, when the token cannot be read', async () => {
    const unreadable: LeanRunnerTokenProvider = { get: () => Promise.reject(new Error('nope')) };

    const probe = await client(unreadable).probe();

    expect(probe).toMatchObject({ ok: false, detail: 'the LEAN runner token could not be read (Error); nothing was sent' });
    expect(runner.requestCount('health')).toBe(0);
  });
});

describe('the router with LEAN_RUNNER_TOKEN_PARAMETER', () => {
  it('reads the token from the SecureString and the order reaches LEAN', async () => {
    await putToken('SecureString');
    const order = marketOrder();

    const answer = await harness.post(order, { env: withRunner() });

    expect(answer.status).toBe(201);
    const row = await harness.readRow(String(order.client_order_id));
    expect(row).toMatchObject({ status: 'accepted', execution_route: 'lean', execution_adapter: 'lean' });
    expect(runner.requestCount('submit')).toBe(1);
    expect(runner.lastSubmit()?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('falls back to Alpaca, with the reason on the row, when the token parameter does not exist', async () => {
    const order = marketOrder();

    const answer = await harness.post(order, { env: withRunner() });

    expect(answer.status).toBe(201);
    const row = await harness.readRow(String(order.client_order_id));
    expect(row).toMatchObject({ status: 'accepted', execution_route: 'alpaca_fallback', execution_fallback_reason: LEAN_TOKEN_UNAVAILABLE_REASON });
    expect(row?.raw_payload).toMatchObject({ _execution_fallback_reason: LEAN_TOKEN_UNAVAILABLE_REASON });
    expect(runner.requestCount('submit')).toBe(0);
    expect(harness.alpaca.requestCount('submit')).toBe(1);
  });

  it('falls back to Alpaca, sending LEAN nothing, when the token is stored as a plain String', async () => {
    await putToken('String');
    const order = marketOrder();

    await harness.post(order, { env: withRunner() });

    const row = await harness.readRow(String(order.client_order_id));
    expect(row).toMatchObject({ execution_route: 'alpaca_fallback', execution_fallback_reason: LEAN_TOKEN_UNAVAILABLE_REASON });
    expect(runner.requestCount('submit')).toBe(0);
  });
});
