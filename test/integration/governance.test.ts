import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbProvenanceStore } from '../../functions/adapters/dynamodb-provenance-store';
import { StaticAlpacaCredentials } from '../../functions/adapters/ssm-alpaca-credentials';
import { SsmControlPlane } from '../../functions/adapters/ssm-control-plane';
import { CONTROL_PARAMETER, controlParameterName, manualReviewParameterName } from '../../functions/core/control-parameters';
import { createLifecycleSyncHandler } from '../../functions/lifecycle-sync/lifecycle-sync-handler';
import type { OrderApi } from '../../functions/route/order-api';
import { startLocalParameterStore } from '../../lib/local/parameter-store';
import { pendingRow } from '../support/fakes';
import { baseEnv, marketOrder, SIM_CREDENTIALS, startRouterHarness, TEST_CONTROL_PREFIX, TEST_TABLE_NAME, type RouterHarness } from '../support/router-harness';

/**
 * Governance over real parts: the control values in the local Parameter Store (SSM JSON 1.1),
 * rows in dynalite, both simulators on loopback, and the real route, health-check and lifecycle sync handlers.
 */

const KILL_SWITCH = controlParameterName(TEST_CONTROL_PREFIX, CONTROL_PARAMETER.killSwitch);
const TTL_MS = 200;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The control values' maximum age the route handler defaults to: three TTLs. */
const MAX_AGE_MS = 3 * TTL_MS;
/** Longer than the control values' maximum age, so the next order waits for a new read of SSM. */
const afterMaxAge = () => sleep(MAX_AGE_MS + 60);
const failLeanSubmits = { submit: { mode: 'http_error', status: 502, taxonomy: 'upstream_error' } } as const;

let harness: RouterHarness;

beforeAll(async () => {
  harness = await startRouterHarness();
});

afterAll(async () => {
  await harness.close();
});

beforeEach(async () => {
  await harness.reset();
});

async function parameter(name: string, on: RouterHarness = harness): Promise<{ value: string | undefined; version: number | undefined }> {
  const out = await on.ssm.send(new GetParameterCommand({ Name: name }));
  return { value: out.Parameter?.Value, version: out.Parameter?.Version };
}

/** The kill switch as SSM holds it, plain or JSON form, read with the harness's own client. */
async function killSwitchState(on: RouterHarness = harness): Promise<{ state: string; reason?: string; set_by?: string }> {
  const { value } = await parameter(KILL_SWITCH, on);
  return value?.startsWith('{') ? (JSON.parse(value) as { state: string; reason?: string }) : { state: value ?? 'missing' };
}

/** Posts `count` orders while every LEAN submit fails (502), so each falls back; then LEAN answers again. Without `symbol`, each order has its own symbol, so none reaches manual review. */
async function fallBack(count: number, options: { symbol?: string; api?: OrderApi; on?: RouterHarness } = {}): Promise<void> {
  const on = options.on ?? harness;
  await on.lean.setFaults(failLeanSubmits);
  for (let i = 0; i < count; i += 1) {
    await on.post(marketOrder({ symbol: options.symbol ?? `F${i}` }), options.api === undefined ? {} : { api: options.api });
  }
  await on.lean.setFaults({});
}

describe('kill switch', () => {
  it('gates orders to alpaca_gated once the maximum age has passed after it is switched on, and LEAN receives nothing', async () => {
    const api = harness.api();
    await harness.post(marketOrder(), { api });
    await harness.putControl(CONTROL_PARAMETER.killSwitch, 'on');
    await afterMaxAge();
    const leanSubmitsBefore = harness.lean.requestCount('submit');

    const order = marketOrder();
    const answer = await harness.post(order, { api });

    expect(answer.status).toBe(201);
    const row = await harness.readRow(String(order.client_order_id));
    expect(row).toMatchObject({ execution_route: 'alpaca_gated', execution_route_reason: 'kill_switch', execution_expected_adapter: 'lean' });
    expect(row?.policy_snapshot).toMatchObject({ kill_switch: 'on', gates: ['kill_switch'] });
    expect(harness.lean.requestCount('submit')).toBe(leanSubmitsBefore);
  });

  it('answers the first order after the TTL with the cached values, and the next order with the switch the background read saw', async () => {
    const api = harness.api();
    const first = marketOrder();
    await harness.post(first, { api });
    await harness.putControl(CONTROL_PARAMETER.killSwitch, 'on');
    await sleep(TTL_MS + 60);

    const cachedOrder = marketOrder();
    await harness.post(cachedOrder, { api });
    await sleep(100);
    const nextOrder = marketOrder();
    await harness.post(nextOrder, { api });

    const firstRow = await harness.readRow(String(first.client_order_id));
    const cachedRow = await harness.readRow(String(cachedOrder.client_order_id));
    const nextRow = await harness.readRow(String(nextOrder.client_order_id));
    expect(cachedRow).toMatchObject({ execution_route: 'lean', policy_snapshot: { kill_switch: 'off', control_source: 'cached', control_read_at: firstRow?.policy_snapshot.control_read_at } });
    expect(nextRow).toMatchObject({ execution_route: 'alpaca_gated', policy_snapshot: { kill_switch: 'on', control_source: 'cached' } });
  });

  it('routes to LEAN again once it is switched off', async () => {
    const api = harness.api();
    await harness.putControl(CONTROL_PARAMETER.killSwitch, 'on');
    await harness.post(marketOrder(), { api });
    await harness.putControl(CONTROL_PARAMETER.killSwitch, 'off');
    await afterMaxAge();

    const order = marketOrder();
    await harness.post(order, { api });

    expect(await harness.readRow(String(order.client_order_id))).toMatchObject({ execution_route: 'lean' });
  });

  it('treats an unknown value as on', async () => {
    await harness.putControl(CONTROL_PARAMETER.killSwitch, 'maybe');
    const order = marketOrder();

    await harness.post(order);

    const row = await harness.readRow(String(order.client_order_id));
    expect(row).toMatchObject({ execution_route: 'alpaca_gated', execution_route_reason: 'kill_switch' });
    expect(row?.policy_snapshot.kill_switch_reason).toContain('not on, off or the JSON form');
    expect(harness.lean.requestCount('submit')).toBe(0);
  });

  it('accepts the JSON form an automatic trip writes', async () => {
    await harness.putControl(CONTROL_PARAMETER.killSwitch, JSON.stringify({ state: 'on', reason: 'drill', set_by: 'ops', set_at: new Date().toISOString() }));
    const order = marketOrder();

    await harness.post(order);

    expect((await harness.readRow(String(order.client_order_id)))?.policy_snapshot).toMatchObject({ kill_switch: 'on', kill_switch_reason: 'drill' });
  });

  it('keeps the last known good values when SSM stops answering', async () => {
    const store = await startLocalParameterStore({ port: 0 });
    const ssm = new SSMClient({ region: 'us-east-1', endpoint: store.endpoint, credentials: { accessKeyId: 't', secretAccessKey: 't' }, maxAttempts: 1 });
    await new SsmControlPlane({ ssm, prefix: TEST_CONTROL_PREFIX, ttlMs: 0 }).setKillSwitch('off', 'test', 'test');
    const now = new Date().toISOString();
    await new SsmControlPlane({ ssm, prefix: TEST_CONTROL_PREFIX, ttlMs: 0 }).writeLeanHealth({ status: 'ok', checked_at: now, last_ok_at: now, latency_ms: 1 });
    const api = harness.api({ SSM_ENDPOINT: store.endpoint });
    await harness.post(marketOrder(), { api });
    await store.close();
    ssm.destroy();
    await afterMaxAge();

    const order = marketOrder();
    await harness.post(order, { api });

    const row = await harness.readRow(String(order.client_order_id));
    expect(row).toMatchObject({ execution_route: 'lean' });
    expect(row?.policy_snapshot).toMatchObject({ kill_switch: 'off', control_source: 'last_known_good' });
  });

  it('does not use LEAN at cold start when SSM has never answered', async () => {
    const order = marketOrder();

    await harness.post(order, { env: { SSM_ENDPOINT: 'http://127.0.0.1:9' } });

    const row = await harness.readRow(String(order.client_order_id));
    expect(row).toMatchObject({ status: 'accepted', execution_route: 'alpaca_gated', execution_route_reason: 'kill_switch' });
    expect(row?.policy_snapshot).toMatchObject({ kill_switch: 'on', control_source: 'unavailable' });
    expect(harness.lean.requestCount('submit')).toBe(0);
  });

  it('refuses and records a gated order when the fallback adapter is none', async () => {
    await harness.putControl(CONTROL_PARAMETER.killSwitch, 'on');
    const order = marketOrder();

    const answer = await harness.post(order, { env: { TRADING_EXECUTION_FALLBACK_ADAPTER: 'none' } });

    expect(answer.status).toBe(422);
    expect(answer.body.error).toBe('order_rejected');
    expect(await harness.readRow(String(order.client_order_id))).toMatchObject({ status: 'rejected', execution_route: 'none', execution_route_reason: 'kill_switch' });
    expect(harness.lean.requestCount('submit')).toBe(0);
    expect(harness.alpaca.requestCount('submit')).toBe(0);
  });
});

describe('runtime policy', () => {
  it('stops sending a symbol to LEAN once the allowlist in the policy parameter drops it, without a restart', async () => {
    const api = harness.api();
    await harness.putControl(CONTROL_PARAMETER.policy, JSON.stringify({ adapter: 'lean', policy: 'allowlist', symbols: ['AAPL', 'MSFT'] }));
    await harness.post(marketOrder({ symbol: 'MSFT' }), { api });
    expect(harness.lean.requestCount('submit')).toBe(1);
    await harness.putControl(CONTROL_PARAMETER.policy, JSON.stringify({ adapter: 'lean', policy: 'allowlist', symbols: ['AAPL'] }));
    await afterMaxAge();

    const order = marketOrder({ symbol: 'MSFT' });
    await harness.post(order, { api });

    const row = await harness.readRow(String(order.client_order_id));
    expect(row).toMatchObject({ execution_route: 'alpaca', execution_route_reason: 'symbol_not_allowlisted' });
    expect(row?.policy_snapshot).toMatchObject({ policy: 'allowlist', policy_source: 'parameter', symbols_count: 1 });
    expect(harness.lean.requestCount('submit')).toBe(1);
  });

  it('routes away from LEAN with the reason recorded when the policy parameter is invalid JSON', async () => {
    await harness.putControl(CONTROL_PARAMETER.policy, '{adapter: lean');
    const order = marketOrder();

    await harness.post(order);

    const row = await harness.readRow(String(order.client_order_id));
    expect(row).toMatchObject({ execution_route: 'alpaca', execution_route_reason: 'policy_misconfigured' });
    expect(row?.policy_snapshot.misconfiguration).toContain('policy parameter is not valid JSON');
    expect(harness.lean.requestCount('submit')).toBe(0);
  });
});

describe('notional mismatch', () => {
  it('trips the kill switch, flags the row and does not fall back when LEAN places a different quantity', async () => {
    await harness.lean.setFaults({ submit: { mode: 'qty_drift', qtyFactor: 2 } });
    const order = marketOrder({ qty: '5', reference_price: '100' });

    const answer = await harness.post(order);

    expect(answer.status).toBe(201);
    const row = await harness.readRow(String(order.client_order_id));
    expect(row).toMatchObject({ status: 'accepted', execution_route: 'lean', review_required: true });
    expect(row?.status_detail).toContain('qty_mismatch');
    expect(row?.execution_attempts.filter((attempt) => attempt.adapter === 'alpaca')).toEqual([]);
    // The one Alpaca submit is the runner's own placement of the order.
    expect(harness.alpaca.requestCount('submit')).toBe(1);
    expect(await killSwitchState()).toMatchObject({ state: 'on', reason: 'notional_mismatch', set_by: 'route' });
  });
});

describe('breaker', () => {
  const BREAKER_THRESHOLD = { TRADING_BREAKER_FAILURE_THRESHOLD: '3' };
  /** Short enough to wait out in a test; only the test that waits for it uses it. */
  const SHORT_COOLDOWN_MS = 300;

  it('opens after three consecutive LEAN failures and skips LEAN during the cool-down', async () => {
    // A cool-down no slow machine outlasts between the third failure and the next order.
    const api = harness.api({ ...BREAKER_THRESHOLD, TRADING_BREAKER_COOLDOWN_MS: '60000' });
    await fallBack(3, { api });

    const order = marketOrder();
    await harness.post(order, { api });

    expect(await harness.readRow(String(order.client_order_id))).toMatchObject({ execution_route: 'alpaca_gated', execution_route_reason: 'breaker_open' });
    expect(harness.lean.requestCount('submit')).toBe(3);
  });

  it('closes after a good trial once the cool-down has passed', async () => {
    const api = harness.api({ ...BREAKER_THRESHOLD, TRADING_BREAKER_COOLDOWN_MS: String(SHORT_COOLDOWN_MS) });
    await fallBack(3, { api });
    // Waiting longer than the cool-down is safe however slow the machine: it only waits more.
    await sleep(SHORT_COOLDOWN_MS + 50);

    const trial = marketOrder();
    await harness.post(trial, { api });
    const next = marketOrder();
    await harness.post(next, { api });

    // The snapshot records the breaker as the order found it: half open, and this order its trial.
    expect(await harness.readRow(String(trial.client_order_id))).toMatchObject({ execution_route: 'lean', policy_snapshot: { breaker: 'half_open' } });
    expect(await harness.readRow(String(next.client_order_id))).toMatchObject({ execution_route: 'lean' });
    expect((await harness.readRow(String(next.client_order_id)))?.policy_snapshot.breaker).toBe('closed');
  });
});

describe('manual review', () => {
  const reviewEnv = { TRADING_MANUAL_REVIEW_FALLBACKS: '3' };

  it('puts a symbol in review after three fallbacks and gates its next order with symbol_manual_review', async () => {
    const api = harness.api(reviewEnv);
    await fallBack(3, { symbol: 'MSFT', api });

    const order = marketOrder({ symbol: 'MSFT' });
    await harness.post(order, { api });

    expect(await harness.readRow(String(order.client_order_id))).toMatchObject({ execution_route: 'alpaca_gated', execution_route_reason: 'symbol_manual_review' });
    expect((await parameter(manualReviewParameterName(TEST_CONTROL_PREFIX, 'MSFT'))).value).toContain('repeated_fallback');
  });

  it('leaves other symbols on LEAN while one is in review', async () => {
    const api = harness.api(reviewEnv);
    await fallBack(3, { symbol: 'MSFT', api });
    expect((await harness.control.readFresh()).reviews.get('MSFT')?.state).toBe('review');

    const order = marketOrder({ symbol: 'AAPL' });
    await harness.post(order, { api });

    expect(await harness.readRow(String(order.client_order_id))).toMatchObject({ execution_route: 'lean' });
  });

  it('routes the symbol to LEAN again once an operator clears the review', async () => {
    const api = harness.api(reviewEnv);
    await fallBack(3, { symbol: 'MSFT', api });
    expect((await harness.control.readFresh()).reviews.get('MSFT')?.state).toBe('review');
    await harness.control.clearSymbolReview('MSFT');
    await afterMaxAge();

    const order = marketOrder({ symbol: 'MSFT' });
    await harness.post(order, { api });

    expect(await harness.readRow(String(order.client_order_id))).toMatchObject({ execution_route: 'lean' });
  });

  it('counts every one of three parallel fallbacks on one symbol', async () => {
    const api = harness.api(reviewEnv);
    await harness.lean.setFaults(failLeanSubmits);

    const answers = await Promise.all([0, 1, 2].map(() => harness.post(marketOrder({ symbol: 'NVDA' }), { api })));

    expect(answers.map((answer) => answer.body.execution_route)).toEqual(['alpaca_fallback', 'alpaca_fallback', 'alpaca_fallback']);
    expect((await harness.control.readFresh()).reviews.get('NVDA')?.state).toBe('review');
  });
});

describe('health-check', () => {
  const rateEnv = { TRADING_LEAN_ERROR_RATE_MIN_VOLUME: '3', TRADING_LEAN_ERROR_RATE_THRESHOLD: '0.25' };

  /** A fresh table per test: the error rate reads every row in the window. */
  let checkHarness: RouterHarness;
  beforeEach(async () => {
    checkHarness = await startRouterHarness();
    return () => checkHarness.close();
  });

  const failLeanOrders = (count: number) => fallBack(count, { on: checkHarness });
  const checkKillSwitch = () => killSwitchState(checkHarness);

  it('trips the kill switch with a reason when the LEAN error rate is over the threshold', async () => {
    await failLeanOrders(3);

    const report = await checkHarness.healthCheck(rateEnv)();

    expect(report.tripped).toBe('lean_error_rate');
    expect(await checkKillSwitch()).toMatchObject({ state: 'on', reason: 'lean_error_rate', set_by: 'health-check' });
  });

  it('does not trip under the minimum volume', async () => {
    await failLeanOrders(2);

    const report = await checkHarness.healthCheck(rateEnv)();

    expect(report.errorRate).toBeUndefined();
    expect(await checkKillSwitch()).toMatchObject({ state: 'off' });
  });

  it('trips on stale runner health', async () => {
    const longAgo = new Date(Date.now() - 10 * 60_000).toISOString();
    await checkHarness.control.writeLeanHealth({ status: 'down', checked_at: longAgo, last_ok_at: longAgo, latency_ms: null });
    await checkHarness.lean.setFaults({ health: { mode: 'http_error', status: 503 } });

    const report = await checkHarness.healthCheck({ TRADING_RUNNER_HEALTH_STALE_MS: '60000' })();

    expect(report).toMatchObject({ runner: 'down', tripped: 'runner_health_stale' });
    expect(await checkKillSwitch()).toMatchObject({ state: 'on', reason: 'runner_health_stale' });
  });

  it('records a healthy probe in lean-health', async () => {
    await checkHarness.healthCheck()();

    const health = (await checkHarness.control.readFresh()).leanHealth;

    expect(health).toMatchObject({ status: 'ok' });
    expect(Date.now() - Date.parse(health?.last_ok_at ?? '')).toBeLessThan(5_000);
  });

  it('keeps a trip on after LEAN recovers', async () => {
    await failLeanOrders(3);
    const check = checkHarness.healthCheck(rateEnv);
    await check();
    for (let i = 0; i < 20; i += 1) await checkHarness.post(marketOrder());

    const report = await check();

    expect(report.killSwitch).toBe('on');
    expect(await checkKillSwitch()).toMatchObject({ state: 'on', reason: 'lean_error_rate' });
  });

  it('never rewrites a switch that is already on', async () => {
    await checkHarness.putControl(CONTROL_PARAMETER.killSwitch, 'on');
    const before = await checkHarness.ssm.send(new GetParameterCommand({ Name: KILL_SWITCH }));
    await failLeanOrders(3);

    const report = await checkHarness.healthCheck(rateEnv)();

    const after = await checkHarness.ssm.send(new GetParameterCommand({ Name: KILL_SWITCH }));
    expect(report.tripped).toBeUndefined();
    expect(after.Parameter).toMatchObject({ Value: 'on', Version: before.Parameter?.Version });
  });

  it('leaves a pending row to the lifecycle sync, however old', async () => {
    const id = await rowLeftPendingByDeadInvocation(checkHarness);

    await checkHarness.healthCheck()();

    expect((await checkHarness.readRow(id))?.status).toBe('pending');
  });
});

/** The row a route invocation claimed two minutes ago for an IBM order, expecting Alpaca, before it died; answers its client order id. */
async function rowLeftPendingByDeadInvocation(on: RouterHarness): Promise<string> {
  const id = String(marketOrder({ symbol: 'IBM' }).client_order_id);
  const twoMinutesAgo = new Date(Date.now() - 120_000).toISOString();
  const claimed = pendingRow({ client_order_id: id, symbol: 'IBM', execution_expected_adapter: 'alpaca', correlation_id: 'died-mid-flight', created_at: twoMinutesAgo });
  await new DynamoDbProvenanceStore(on.dynamo.client(), TEST_TABLE_NAME).claim({ ...claimed, policy_snapshot: { ...claimed.policy_snapshot, adapter: 'alpaca' } }, 5_000);
  return id;
}

describe('lifecycle sync reconciliation', () => {
  it('resolves a pending row whose order exists at Alpaca to accepted', async () => {
    const id = await rowLeftPendingByDeadInvocation(harness);
    const placed = await fetch(`${harness.alpaca.url}/v2/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'apca-api-key-id': SIM_CREDENTIALS.keyId, 'apca-api-secret-key': SIM_CREDENTIALS.secretKey },
      body: JSON.stringify({ symbol: 'IBM', qty: '10', side: 'buy', type: 'market', time_in_force: 'day', client_order_id: id }),
    });
    const brokerOrder = (await placed.json()) as { id: string };
    const lifecycleSync = createLifecycleSyncHandler(baseEnv(harness), {
      dynamoDb: harness.dynamo.client(),
      ssm: harness.ssm,
      alpacaCredentials: new StaticAlpacaCredentials(SIM_CREDENTIALS),
    });

    const report = await lifecycleSync();

    expect(report.reconciled).toEqual([{ client_order_id: id, status: 'accepted' }]);
    expect(await harness.readRow(id)).toMatchObject({
      status: 'accepted',
      execution_route: 'alpaca',
      broker_order_id: brokerOrder.id,
      execution_note: 'reconciled',
    });
  });
});
