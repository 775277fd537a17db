import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbProvenanceStore } from '../../functions/adapters/dynamodb-provenance-store';
import { StaticAlpacaCredentials } from '../../functions/adapters/ssm-alpaca-credentials';
import type { ExecutionAttempt } from '../../functions/core/execution';
import type { FallbackIntent } from '../../functions/core/provenance';
import { createLifecycleSyncHandler } from '../../functions/lifecycle-sync/lifecycle-sync-handler';
import type { AlpacaFault } from '../../lib/local/alpaca-simulator';
import { order, pendingRow } from '../support/fakes';
import { baseEnv, marketOrder, placeAtAlpaca, proxyEvent, SIM_CREDENTIALS, startRouterHarness, TEST_TABLE_NAME, type RouterHarness } from '../support/router-harness';

/**
 * What the router may place and how it records it, when a broker's answer does not match what the
 * broker did: over dynalite, both simulators on loopback and the real handlers. Every test counts
 * the orders that exist at the Alpaca simulator, where the runner places its orders too.
 */

let harness: RouterHarness;

beforeAll(async () => {
  harness = await startRouterHarness();
});
afterAll(async () => {
  await harness?.close();
});
beforeEach(async () => {
  await harness.reset();
});

/** A definite LEAN failure: the runner's own 502 that proves the broker refused. */
const LEAN_UPSTREAM_ERROR = { submit: { mode: 'http_error', status: 502, taxonomy: 'upstream_error' } } as const;
const ALPACA_ONLY = { TRADING_EXECUTION_ADAPTER: 'alpaca' };
const STORE_TIMEOUT_MS = 2_000;

describe('a LEAN acknowledgement carrying an order id', () => {
  it('never falls back when LEAN answers 200 with an order id but a foreign client_order_id', async () => {
    await harness.lean.setFaults({ submit: { mode: 'foreign_client_order_id' } });
    const request = marketOrder();

    await harness.post(request);

    expect(await harness.readRow(String(request.client_order_id))).toMatchObject({ execution_route: 'lean', execution_fallback_count: 0, review_required: true });
    expect(harness.alpaca.ordersPlaced()).toBe(1);
    // The runner's submit alone: the router sent Alpaca none.
    expect(harness.alpaca.requestCount('submit')).toBe(1);
    expect((await harness.control.readFresh()).killSwitch.state).toBe('on');
  });

  it('never falls back when LEAN answers 200 with a numeric order id and a foreign client_order_id', async () => {
    await harness.lean.setFaults({ submit: { mode: 'foreign_client_order_id', numericId: true } });
    const request = marketOrder();

    await harness.post(request);

    const row = await harness.readRow(String(request.client_order_id));
    expect(row).toMatchObject({ execution_route: 'lean', execution_fallback_count: 0, review_required: true, broker_order_id: '1' });
    expect(row?.status_detail).toContain('id: 1 is not a string');
    expect(harness.alpaca.ordersPlaced()).toBe(1);
    expect(harness.alpaca.requestCount('submit')).toBe(1);
  });
});

describe('a fallback submit that placed the order but did not say so', () => {
  const placedThenLost: [string, AlpacaFault][] = [
    ['answers 500', { mode: 'http_error', status: 500, placeOrder: true }],
    ['hangs', { mode: 'hang', placeOrder: true }],
  ];

  it.each(placedThenLost)('records the fallback as alpaca_fallback when Alpaca places the fallback order and %s', async (_name, fault) => {
    await harness.lean.setFaults(LEAN_UPSTREAM_ERROR);
    await harness.alpaca.setFaults({ submit: fault });
    const request = marketOrder();

    await harness.post(request);

    const row = await harness.readRow(String(request.client_order_id));
    expect(row).toMatchObject({
      status: 'accepted',
      execution_route: 'alpaca_fallback',
      execution_adapter: 'alpaca',
      execution_fallback_count: 1,
      execution_fallback_reason: 'lean_submit_http_502',
      route_verified: true,
    });
    expect(row?.raw_payload).toMatchObject({ _execution_adapter: 'alpaca_fallback' });
    expect(harness.alpaca.ordersPlaced()).toBe(1);
    expect(harness.alpaca.requestCount('submit')).toBe(1);
  });
});

describe('a fallback Alpaca refuses after an ambiguous LEAN failure', () => {
  it('answers 202 unknown, not rejected, when Alpaca refuses the fallback after LEAN timed out: the runner may still place it', async () => {
    await harness.lean.setFaults({ submit: { mode: 'hang' } });
    await harness.alpaca.setFaults({ submit: { mode: 'http_error', status: 403, message: 'insufficient buying power' } });
    const request = marketOrder();

    const answer = await harness.post(request);

    expect(answer.status).toBe(202);
    expect(await harness.readRow(String(request.client_order_id))).toMatchObject({ status: 'unknown', execution_route: 'none', execution_fallback_count: 1, route_verified: false });
    expect(harness.alpaca.requestCount('submit')).toBe(1);
  });
});

describe('Alpaca acknowledgements are verified', () => {
  it('records an acknowledged rejection from Alpaca as rejected', async () => {
    await harness.alpaca.setFaults({ submit: { mode: 'rejected' } });
    const request = marketOrder();

    await harness.post(request, { env: ALPACA_ONLY });

    expect(await harness.readRow(String(request.client_order_id))).toMatchObject({ status: 'rejected' });
    expect(harness.alpaca.ordersPlaced()).toBe(0);
  });

  it('flags review when Alpaca acknowledges a different order than asked', async () => {
    await harness.alpaca.setFaults({ submit: { mode: 'wrong_order' } });
    const request = marketOrder();

    await harness.post(request, { env: ALPACA_ONLY });

    expect(await harness.readRow(String(request.client_order_id))).toMatchObject({ review_required: true });
    expect(harness.alpaca.ordersPlaced()).toBe(1);
    expect(harness.alpaca.requestCount('submit')).toBe(1);
  });
});

describe('one deadline per order, every broker hanging', () => {
  /**
   * A 3 s route function whose call timeouts are the largest the budget allows: the slowest path
   * (2 x SSM 150 + 2 x DynamoDB 150 + LEAN 600 + lookups 300 + 300 + Alpaca 600 + lookup 300)
   * ends exactly where the 300 ms reserve for the final write begins.
   */
  const LARGEST_FITTING = {
    TRADING_ROUTE_TIMEOUT_MS: '3000',
    TRADING_FINALIZE_RESERVE_MS: '300',
    TRADING_SSM_TIMEOUT_MS: '150',
    TRADING_DYNAMODB_TIMEOUT_MS: '150',
    TRADING_LEAN_RUNNER_CONNECT_TIMEOUT_MS: '100',
    TRADING_LEAN_RUNNER_TIMEOUT_MS: '600',
    TRADING_LEAN_RUNNER_LOOKUP_TIMEOUT_MS: '300',
    TRADING_ALPACA_CONNECT_TIMEOUT_MS: '100',
    TRADING_ALPACA_TIMEOUT_MS: '600',
    TRADING_ALPACA_LOOKUP_TIMEOUT_MS: '300',
  };

  /** Every call of the slowest path hangs; the LEAN submit is ambiguous, so both lookups run and then the fallback. */
  async function hangEverywhere(): Promise<void> {
    await harness.lean.setFaults({ submit: { mode: 'hang' }, lookup: { mode: 'http_error', status: 404 } });
    await harness.alpaca.setFaults({ submit: { mode: 'hang' }, lookup: { mode: 'hang' } });
  }

  it('answers inside the route timeout at the largest configuration the budget allows, with a final row', async () => {
    await hangEverywhere();
    const api = harness.api(LARGEST_FITTING);
    const request = marketOrder();

    const started = performance.now();
    const answer = await harness.post(request, { api });
    const elapsedMs = performance.now() - started;

    expect(elapsedMs).toBeLessThan(3_000);
    expect(answer.status).toBe(202);
    expect(await harness.readRow(String(request.client_order_id))).toMatchObject({ status: 'unknown', execution_fallback_count: 1 });
  });

  it('answers inside what the invocation says is left, even when that is less than the configured timeout', async () => {
    await hangEverywhere();
    const api = harness.api(LARGEST_FITTING);
    const request = marketOrder();

    const started = performance.now();
    const result = await api(proxyEvent('POST', '/orders', JSON.stringify(request)), 1_200);
    const elapsedMs = performance.now() - started;

    expect(elapsedMs).toBeLessThan(1_200);
    expect(result.statusCode).toBe(202);
    expect((await harness.readRow(String(request.client_order_id)))?.status).not.toBe('pending');
  });
});

describe('reconciliation of a row whose invocation died during the fallback submit', () => {
  it('attributes a pending row to alpaca_fallback on reconciliation when the runner lookup proxies Alpaca', async () => {
    const id = String(marketOrder().client_order_id);
    const brokerOrderId = await placeAtAlpaca(harness.alpaca, order({ client_order_id: id, symbol: 'IBM' }));
    await writeRowAsLeftByDeadInvocation(id, 'IBM');
    const lifecycleSync = createLifecycleSyncHandler(baseEnv(harness), {
      dynamoDb: harness.dynamo.client(),
      ssm: harness.ssm,
      alpacaCredentials: new StaticAlpacaCredentials(SIM_CREDENTIALS),
    });

    await lifecycleSync();

    expect(await harness.readRow(id)).toMatchObject({
      status: 'accepted',
      execution_route: 'alpaca_fallback',
      execution_adapter: 'alpaca',
      execution_fallback_reason: 'lean_submit_http_502',
      execution_fallback_count: 1,
      route_verified: true,
      execution_note: 'reconciled',
      broker_order_id: brokerOrderId,
    });
  });
});

/**
 * The `pending` row of an invocation that died after recording its fallback intent (LEAN had failed
 * with a definite 502) and before the fallback submit answered, written through the store as the
 * route function writes it: the claim, then the intent with the attempts so far.
 */
async function writeRowAsLeftByDeadInvocation(clientOrderId: string, symbol: string): Promise<void> {
  const createdAt = new Date(Date.now() - 120_000);
  const claim = { clientOrderId, claimToken: 'token-of-the-dead-invocation' };
  const store = new DynamoDbProvenanceStore(harness.dynamo.client(), TEST_TABLE_NAME);
  await store.claim(
    { ...pendingRow({ client_order_id: clientOrderId, symbol, created_at: createdAt.toISOString(), correlation_id: 'died-mid-fallback' }), claim_token: claim.claimToken },
    STORE_TIMEOUT_MS,
  );
  const leanFailed: ExecutionAttempt = { adapter: 'lean', operation: 'submit', outcome: 'failed', reason: 'lean_submit_http_502', http_status: 502, latency_ms: 40, started_at: createdAt.toISOString() };
  const intent: FallbackIntent = { reason: 'lean_submit_http_502', lean_failure: 'definite', recorded_at: new Date(createdAt.getTime() + 50).toISOString() };
  await store.recordFallbackIntent(claim, intent, [leanFailed], STORE_TIMEOUT_MS);
}
