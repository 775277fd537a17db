import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LifecycleSyncHandler } from '../../functions/lifecycle-sync/lifecycle-sync-handler';
import { PLACED_BY_HEADER, startAlpacaSimulator, type AlpacaOrder } from '../../lib/local/alpaca-simulator';
import { marketOrder, SIM_CREDENTIALS, useRouterHarness, type RouterHarness } from '../support/router-harness';

let harness: RouterHarness;
let lifecycleSync: LifecycleSyncHandler;

useRouterHarness(
  (started) => {
    harness = started;
    lifecycleSync = harness.lifecycleSync();
  },
  { syncAfterReset: true },
);

const ALPACA_AUTH = { 'apca-api-key-id': SIM_CREDENTIALS.keyId, 'apca-api-secret-key': SIM_CREDENTIALS.secretKey };
const DIRECT_TO_ALPACA = { TRADING_EXECUTION_ADAPTER: 'alpaca' };

/** Posts a market order through the router (LEAN first, or Alpaca with `env`), expects 201 and answers its client order id. */
async function routed(overrides: Record<string, unknown> = {}, env?: Record<string, string>): Promise<string> {
  const body = marketOrder({ reference_price: '200', ...overrides });
  const answer = await harness.post(body, env ? { env } : {});
  expect(answer.status).toBe(201);
  return String(body.client_order_id);
}

/** Alpaca's order under `clientOrderId`, as the simulator holds it. */
function heldAtAlpaca(clientOrderId: string): AlpacaOrder | undefined {
  return [...harness.alpaca.orders.values()].find((order) => order.client_order_id === clientOrderId);
}

/** Posts one admin request to a simulator's own `/_sim` routes. */
async function admin(url: string, path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/_sim${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("the Alpaca simulator's market for orders placed through LEAN", () => {
  it('fills a LEAN-routed order with leanSlippageBps on top of slippageBps, and a direct one without', async () => {
    harness.alpaca.setMarket({ prices: { AAPL: '200' }, slippageBps: 5, leanSlippageBps: 20 });
    const throughLean = await routed();
    const direct = await routed({}, DIRECT_TO_ALPACA);
    harness.alpaca.step();

    await lifecycleSync();

    const [leanRow, directRow] = [await harness.readRow(throughLean), await harness.readRow(direct)];
    expect([leanRow?.execution_route, leanRow?.filled_avg_price]).toEqual(['lean', '200.5']);
    expect([directRow?.execution_route, directRow?.filled_avg_price]).toEqual(['alpaca', '200.1']);
  });

  it('fills LEAN-routed and direct orders alike by default', async () => {
    harness.alpaca.setMarket({ prices: { AAPL: '200' }, slippageBps: 5 });
    const throughLean = await routed();
    const direct = await routed({}, DIRECT_TO_ALPACA);

    harness.alpaca.step();

    expect([heldAtAlpaca(throughLean)?.filled_avg_price, heldAtAlpaca(direct)?.filled_avg_price]).toEqual(['200.1', '200.1']);
  });

  it('leaves the LEAN orders the fill rate holds back unfilled and expires them at the end of the day, direct ones all filled', async () => {
    harness.alpaca.setMarket({ leanFillRate: 0.5 });
    const throughLean = [await routed(), await routed(), await routed(), await routed()];
    const direct = [await routed({}, DIRECT_TO_ALPACA), await routed({}, DIRECT_TO_ALPACA)];
    harness.alpaca.step();
    harness.alpaca.endDay();

    await lifecycleSync();

    const statuses = async (ids: string[]) => Promise.all(ids.map(async (id) => (await harness.readRow(id))?.broker_status));
    expect(await statuses(throughLean)).toEqual(['filled', 'expired', 'filled', 'expired']);
    expect(await statuses(direct)).toEqual(['filled', 'filled']);
  });

  it('tells the orders the LEAN runner placed from those sent to Alpaca directly', async () => {
    const throughLean = await routed();
    const direct = await routed({}, DIRECT_TO_ALPACA);

    const placedByLean = [throughLean, direct].map((id) => harness.alpaca.placedByLean(heldAtAlpaca(id)?.id ?? ''));

    expect(placedByLean).toEqual([true, false]);
  });

  it('takes leanSlippageBps and leanFillRate over its admin route and restores the defaults on reset', async () => {
    const set = await admin(harness.alpaca.url, '/market', { leanSlippageBps: 25, leanFillRate: 0.8 });

    await harness.alpaca.reset();

    const state = (await (await fetch(`${harness.alpaca.url}/_sim/state`)).json()) as { market: unknown };
    expect(set).toMatchObject({ status: 200, body: { leanSlippageBps: 25, leanFillRate: 0.8 } });
    expect(state.market).toMatchObject({ leanSlippageBps: 0, leanFillRate: 1 });
  });

  it('refuses a fill rate above 1 over its admin route with 400 naming it', async () => {
    const refused = await admin(harness.alpaca.url, '/market', { leanFillRate: 2 });

    expect(refused.status).toBe(400);
    expect(String(refused.body.message)).toContain('leanFillRate');
  });

  it('keeps which orders LEAN placed, and their rank, across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alpaca-sim-'));
    const file = join(dir, 'orders.json');
    const market = { prices: { AAPL: '200' }, leanSlippageBps: 20, leanFillRate: 0.5 };
    try {
      const first = await startAlpacaSimulator({ ...SIM_CREDENTIALS, file, market });
      const ids: string[] = [];
      for (const n of [1, 2]) {
        const response = await fetch(`${first.url}/v2/orders`, {
          method: 'POST',
          headers: { ...ALPACA_AUTH, 'content-type': 'application/json', [PLACED_BY_HEADER]: 'lean' },
          body: JSON.stringify({ symbol: 'AAPL', qty: '1', side: 'buy', type: 'market', time_in_force: 'day', client_order_id: `restart-${n}` }),
        });
        ids.push(((await response.json()) as AlpacaOrder).id);
      }
      await first.close();

      const second = await startAlpacaSimulator({ ...SIM_CREDENTIALS, file, market });
      second.step();
      await second.close();

      expect(ids.map((id) => [second.orders.get(id)?.status, second.orders.get(id)?.filled_avg_price])).toEqual([
        ['filled', '200.4'],
        ['new', null],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("the LEAN runner simulator's divergent_id submit", () => {
  it('places the order at Alpaca under the caller client_order_id and answers an id Alpaca does not hold under it', async () => {
    await harness.lean.setFaults({ submit: { mode: 'divergent_id' } });
    const clientOrderId = `divergent-${Date.now()}`;

    const response = await fetch(`${harness.lean.url}/v1/orders/submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ symbol: 'AAPL', side: 'buy', qty: 10, order_type: 'market', time_in_force: 'day', extra_params: { client_order_id: clientOrderId } }),
    });
    const answered = (await response.json()) as Record<string, unknown>;

    const held = heldAtAlpaca(clientOrderId);
    expect(response.status).toBe(200);
    expect(held).toBeDefined();
    expect(answered).toMatchObject({ client_order_id: clientOrderId, symbol: 'AAPL', side: 'buy', qty: '10' });
    expect(answered.id).toEqual(expect.any(String));
    expect(answered.id).not.toBe(held?.id);
  });

  it('is accepted by the router on route lean without review, and the lifecycle sync records route_divergence', async () => {
    await harness.lean.setFaults({ submit: { mode: 'divergent_id' } });
    const id = await routed();
    const accepted = await harness.readRow(id);
    harness.alpaca.step();

    const report = await lifecycleSync();

    const alpacaId = heldAtAlpaca(id)?.id;
    expect(accepted).toMatchObject({ status: 'accepted', execution_route: 'lean', execution_fallback_count: 0 });
    expect(accepted?.review_required ?? false).toBe(false);
    expect(report.divergences).toBe(1);
    expect((await harness.readRow(id))?.route_divergence).toMatchObject({ lean_order_id: accepted?.broker_order_id, alpaca_order_id: alpacaId });
  });

  it('refuses numericId with divergent_id over its admin route with 400 naming it', async () => {
    const refused = await admin(harness.lean.url, '/faults', { submit: { mode: 'divergent_id', numericId: true } });

    expect(refused.status).toBe(400);
    expect(String(refused.body.message)).toContain('numericId');
  });

  it('answers the id Alpaca holds again once healed', async () => {
    await harness.lean.setFaults({ submit: { mode: 'divergent_id' } });
    await admin(harness.lean.url, '/faults', {});
    const id = await routed();

    expect((await harness.readRow(id))?.broker_order_id).toBe(heldAtAlpaca(id)?.id);
  });
});
