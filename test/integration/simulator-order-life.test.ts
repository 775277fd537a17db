import { describe, expect, it, vi } from 'vitest';
import { startAlpacaSimulator, type AlpacaOrder, type AlpacaSimulator } from '../../lib/local/alpaca-simulator';
import type { LeanRunnerSimulator } from '../../lib/local/lean-runner-simulator';
import { useSimulatorPair } from '../support/simulator-pair';

const CREDENTIALS = { keyId: 'life-test-key', secretKey: 'life-test-secret' };
const AUTH = { 'APCA-API-KEY-ID': CREDENTIALS.keyId, 'APCA-API-SECRET-KEY': CREDENTIALS.secretKey };

let alpaca: AlpacaSimulator;
let lean: LeanRunnerSimulator;

useSimulatorPair({ credentials: CREDENTIALS, alpacaTimeoutMs: 1000 }, (pair) => {
  ({ alpaca, lean } = pair);
});

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON; undefined for an empty body. */
  readonly body: unknown;
}

/** One HTTP exchange with Alpaca's credentials (the runner ignores them). */
async function call(url: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<Reply> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...AUTH, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    signal: init.signal ?? AbortSignal.timeout(5000),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

/** A request the simulator is expected to hang on: `settled` says how it ended once `abandon` drops it. */
function hangingCall(url: string, method: string): { settled: Promise<string>; abandon: () => void } {
  const controller = new AbortController();
  const settled = call(url, { method, signal: controller.signal }).then(
    () => 'answered',
    () => 'abandoned',
  );
  return { settled, abandon: () => controller.abort() };
}

let sequence = 0;
async function submit(overrides: Record<string, unknown> = {}): Promise<AlpacaOrder> {
  sequence += 1;
  const order = { symbol: 'AAPL', qty: '10', side: 'buy', type: 'market', time_in_force: 'day', client_order_id: `life-${sequence}`, ...overrides };
  const reply = await call(`${alpaca.url}/v2/orders`, { method: 'POST', body: order });
  expect(reply.status).toBe(200);
  return reply.body as AlpacaOrder;
}

async function orderAt(id: string): Promise<AlpacaOrder> {
  return (await call(`${alpaca.url}/v2/orders/${id}`)).body as AlpacaOrder;
}

function cancelAtAlpaca(id: string): Promise<Reply> {
  return call(`${alpaca.url}/v2/orders/${id}`, { method: 'DELETE' });
}

function cancelThroughLean(id: string): Promise<Reply> {
  return call(`${lean.url}/v1/orders/${id}/cancel`, { method: 'POST' });
}

function list(query: string): Promise<Reply> {
  return call(`${alpaca.url}/v2/orders?${query}`);
}

function ids(reply: Reply): string[] {
  return (reply.body as AlpacaOrder[]).map((order) => order.id);
}

describe("an Alpaca simulator order's life", () => {
  it('answers every Alpaca order field, null where it does not apply, symbol upper-cased and decimals canonical', async () => {
    const order = await submit({ symbol: 'aapl', qty: '10.50', type: 'limit', limit_price: '187.200', time_in_force: 'gtc' });

    expect(Object.keys(order).sort()).toEqual(
      [
        'id', 'client_order_id', 'created_at', 'updated_at', 'submitted_at', 'filled_at', 'expired_at', 'canceled_at', 'failed_at', 'replaced_at',
        'replaced_by', 'replaces', 'asset_id', 'symbol', 'asset_class', 'notional', 'qty', 'filled_qty', 'filled_avg_price', 'order_class',
        'order_type', 'type', 'side', 'time_in_force', 'limit_price', 'stop_price', 'status', 'extended_hours', 'legs', 'trail_percent',
        'trail_price', 'hwm', 'position_intent',
      ].sort(),
    );
    expect(order).toMatchObject({
      symbol: 'AAPL',
      qty: '10.5',
      limit_price: '187.2',
      notional: null,
      filled_at: null,
      expired_at: null,
      canceled_at: null,
      failed_at: null,
      replaced_at: null,
      replaced_by: null,
      replaces: null,
      legs: null,
      trail_percent: null,
      trail_price: null,
      hwm: null,
      order_class: '',
      position_intent: 'buy_to_open',
    });
    expect(order.submitted_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
  });

  it('gives every order of a symbol the same asset_id and other symbols another', async () => {
    const first = await submit();
    const second = await submit();
    const other = await submit({ symbol: 'MSFT' });

    expect(first.asset_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(second.asset_id).toBe(first.asset_id);
    expect(other.asset_id).not.toBe(first.asset_id);
  });

  it('leaves an order as submitted while nothing steps it', async () => {
    const placed = await submit();

    expect(await orderAt(placed.id)).toEqual(placed);
  });

  it('fills a market buy at the configured price plus the slippage', async () => {
    alpaca.setMarket({ prices: { AAPL: '187.20' }, slippageBps: 5 });
    const placed = await submit({ side: 'buy' });

    alpaca.step();

    const order = await orderAt(placed.id);
    expect(order).toMatchObject({ status: 'filled', filled_qty: '10', filled_avg_price: '187.2936' });
    expect(order.filled_at).toBe(order.updated_at);
  });

  it('fills a market sell at the configured price minus the slippage', async () => {
    alpaca.setMarket({ prices: { AAPL: '187.20' }, slippageBps: 5 });
    const placed = await submit({ side: 'sell' });

    alpaca.step();

    expect(await orderAt(placed.id)).toMatchObject({ status: 'filled', filled_avg_price: '187.1064', position_intent: 'sell_to_close' });
  });

  it('fills a symbol without a configured price at 100', async () => {
    const placed = await submit({ symbol: 'MSFT' });

    alpaca.step();

    expect(await orderAt(placed.id)).toMatchObject({ status: 'filled', filled_avg_price: '100' });
  });

  it('fills half first, partially_filled, then the rest, filled, on the next step', async () => {
    alpaca.setMarket({ partial: true });
    const placed = await submit({ qty: '10' });

    alpaca.step();
    const partly = await orderAt(placed.id);
    alpaca.step();
    const fully = await orderAt(placed.id);

    expect(partly).toMatchObject({ status: 'partially_filled', filled_qty: '5', filled_at: null });
    expect(fully).toMatchObject({ status: 'filled', filled_qty: '10' });
  });

  it('averages the prices of a partial fill over both steps', async () => {
    alpaca.setMarket({ partial: true, prices: { AAPL: '100' } });
    const placed = await submit({ qty: '10' });
    alpaca.step();
    alpaca.setMarket({ partial: true, prices: { AAPL: '110' } });

    alpaca.step();

    expect(await orderAt(placed.id)).toMatchObject({ status: 'filled', filled_avg_price: '105' });
  });

  it('fills a notional order for the quantity its notional buys', async () => {
    const placed = await submit({ qty: undefined, notional: '150' });

    alpaca.step();

    expect(await orderAt(placed.id)).toMatchObject({ status: 'filled', qty: null, notional: '150', filled_qty: '1.5', filled_avg_price: '100' });
  });

  it('rests a limit buy as new while the price is above its limit', async () => {
    alpaca.setMarket({ prices: { AAPL: '187.20' } });
    const placed = await submit({ type: 'limit', limit_price: '180' });

    const changed = alpaca.step();

    expect(changed.map((order) => order.status)).toEqual(['new']);
    expect(await orderAt(placed.id)).toMatchObject({ status: 'new', filled_qty: '0', filled_avg_price: null });
  });

  it('fills a resting limit buy once the price crosses its limit, never above the limit', async () => {
    alpaca.setMarket({ prices: { AAPL: '187.20' }, slippageBps: 10 });
    const placed = await submit({ type: 'limit', limit_price: '180' });
    alpaca.step();
    alpaca.setMarket({ prices: { AAPL: '179.99' }, slippageBps: 10 });

    alpaca.step();

    expect(await orderAt(placed.id)).toMatchObject({ status: 'filled', filled_avg_price: '180' });
  });

  it('fills a stop sell once the price falls to its stop', async () => {
    const placed = await submit({ side: 'sell', type: 'stop', stop_price: '95' });
    alpaca.step();
    alpaca.setMarket({ prices: { AAPL: '95' } });

    alpaca.step();

    expect(await orderAt(placed.id)).toMatchObject({ status: 'filled', filled_avg_price: '95' });
  });

  it('expires open day orders at the end of the day and leaves gtc ones open', async () => {
    alpaca.setMarket({ prices: { AAPL: '200' } });
    const day = await submit({ type: 'limit', limit_price: '150', time_in_force: 'day' });
    const gtc = await submit({ type: 'limit', limit_price: '150', time_in_force: 'gtc' });

    const reply = await call(`${alpaca.url}/_sim/end-of-day`, { method: 'POST' });

    expect((reply.body as { expired: AlpacaOrder[] }).expired.map((order) => order.id)).toEqual([day.id]);
    const expired = await orderAt(day.id);
    expect(expired).toMatchObject({ status: 'expired', filled_qty: '0' });
    expect(expired.expired_at).toBe(expired.updated_at);
    expect((await orderAt(gtc.id)).status).toBe('accepted');
  });

  it('expires a partially filled day order at the end of the day, keeping what filled', async () => {
    alpaca.setMarket({ partial: true });
    const placed = await submit({ time_in_force: 'day' });
    alpaca.step();

    const expired = alpaca.endDay();

    expect(expired.map((order) => [order.id, order.status, order.filled_qty])).toEqual([[placed.id, 'expired', '5']]);
  });

  it('stamps failed_at on an order it rejects', async () => {
    await alpaca.setFaults({ submit: { mode: 'rejected' } });

    const rejected = await submit();

    expect(rejected.status).toBe('rejected');
    expect(rejected.failed_at).toBe(rejected.created_at);
  });

  it('moves updated_at forward on every change and never submitted_at', async () => {
    alpaca.setMarket({ partial: true });
    const placed = await submit();

    alpaca.step();
    const partly = await orderAt(placed.id);
    alpaca.step();
    const fully = await orderAt(placed.id);

    expect(placed.updated_at < partly.updated_at && partly.updated_at < fully.updated_at).toBe(true);
    expect([partly.submitted_at, fully.submitted_at]).toEqual([placed.submitted_at, placed.submitted_at]);
  });

  it('takes its steps by itself once fillDelayMs has passed, seen by the next request', async () => {
    alpaca.setMarket({ fillDelayMs: 0, partial: true });
    const placed = await submit();

    expect(placed.status).toBe('accepted');
    expect(await orderAt(placed.id)).toMatchObject({ status: 'filled', filled_qty: '10' });
  });

  it('takes the market over its admin route, normalized, and shows it in its state', async () => {
    const reply = await call(`${alpaca.url}/_sim/market`, { method: 'POST', body: { prices: { aapl: 187.2 }, slippageBps: 5 } });
    const state = await call(`${alpaca.url}/_sim/state`);

    const market = { prices: { AAPL: '187.2' }, defaultPrice: '100', slippageBps: 5, partial: false };
    expect(reply).toMatchObject({ status: 200, body: market });
    expect(state.body).toMatchObject({ market });
  });

  it('refuses a market with an unknown key with 400 naming it', async () => {
    const reply = await call(`${alpaca.url}/_sim/market`, { method: 'POST', body: { fillPrice: { AAPL: '187.20' } } });

    expect(reply.status).toBe(400);
    expect((reply.body as { message: string }).message).toContain('fillPrice');
  });

  it('refuses a price that is not a positive decimal with 400 naming the symbol', async () => {
    const reply = await call(`${alpaca.url}/_sim/market`, { method: 'POST', body: { prices: { AAPL: '-3' } } });

    expect(reply.status).toBe(400);
    expect((reply.body as { message: string }).message).toContain('AAPL');
  });

  it('steps every open order over its admin route and answers those that changed', async () => {
    const open = await submit();
    const canceled = await submit();
    await cancelAtAlpaca(canceled.id);

    const reply = await call(`${alpaca.url}/_sim/step`, { method: 'POST' });

    expect((reply.body as { changed: AlpacaOrder[] }).changed.map((order) => [order.id, order.status])).toEqual([[open.id, 'filled']]);
  });

  it('fills one order over its admin route, and answers 422 once it is filled', async () => {
    const placed = await submit({ type: 'limit', limit_price: '90' });

    const first = await call(`${alpaca.url}/_sim/fill`, { method: 'POST', body: { id: placed.id } });
    const again = await call(`${alpaca.url}/_sim/fill`, { method: 'POST', body: { id: placed.id } });

    expect(first).toMatchObject({ status: 200, body: { id: placed.id, status: 'filled', filled_avg_price: '90' } });
    expect(again).toMatchObject({ status: 422, body: { code: 42210000, message: 'order is already in "filled" state' } });
  });

  it('restores the starting market on reset', async () => {
    alpaca.setMarket({ prices: { AAPL: '187.20' }, fillDelayMs: 0 });

    await alpaca.reset();

    expect((await call(`${alpaca.url}/_sim/state`)).body).toMatchObject({ market: { prices: {}, defaultPrice: '100', slippageBps: 0, partial: false } });
  });

  it('starts with the market it was given and keeps it across a reset', async () => {
    const filling = await startAlpacaSimulator({ ...CREDENTIALS, market: { fillDelayMs: 0 } });
    try {
      await filling.reset();
      const placed = (await call(`${filling.url}/v2/orders`, { method: 'POST', body: { symbol: 'AAPL', qty: '1', side: 'buy', type: 'market', time_in_force: 'day' } }))
        .body as AlpacaOrder;

      expect(filling.orders.get(placed.id)?.status).toBe('filled');
    } finally {
      await filling.close();
    }
  });
});

describe('cancel at the Alpaca simulator', () => {
  it('cancels an open order with 204 and no body, stamping canceled_at and updated_at', async () => {
    const placed = await submit();

    const reply = await cancelAtAlpaca(placed.id);

    expect(reply).toMatchObject({ status: 204, body: undefined });
    const canceled = await orderAt(placed.id);
    expect(canceled.status).toBe('canceled');
    expect(canceled.canceled_at).toBe(canceled.updated_at);
    expect(canceled.updated_at > placed.updated_at).toBe(true);
  });

  it('cancels a partially filled order, keeping what filled', async () => {
    alpaca.setMarket({ partial: true });
    const placed = await submit();
    alpaca.step();

    await cancelAtAlpaca(placed.id);

    expect(await orderAt(placed.id)).toMatchObject({ status: 'canceled', filled_qty: '5' });
  });

  it('refuses to cancel a filled order with 422 and leaves it filled', async () => {
    const placed = await submit();
    alpaca.step();

    const reply = await cancelAtAlpaca(placed.id);

    expect(reply).toMatchObject({ status: 422, body: { code: 42210000, message: 'order is already in "filled" state' } });
    expect((await orderAt(placed.id)).status).toBe('filled');
  });

  it('answers 404 to a cancel of an unknown id', async () => {
    const reply = await cancelAtAlpaca('6f1b4c0e-0000-4000-8000-000000000000');

    expect(reply).toMatchObject({ status: 404, body: { code: 40410000, message: 'order not found' } });
  });

  it.each([
    ['leaves the order open while a cancel hangs', { mode: 'hang' }, 'accepted'],
    ['cancels the order first and then hangs under hang with cancelOrder', { mode: 'hang', cancelOrder: true }, 'canceled'],
  ] as const)('%s', async (_behaviour, fault, status) => {
    const placed = await submit();
    await alpaca.setFaults({ cancel: fault });

    const cancel = hangingCall(`${alpaca.url}/v2/orders/${placed.id}`, 'DELETE');
    await vi.waitFor(() => expect(alpaca.requestCount('cancel')).toBe(1));

    expect(alpaca.orders.get(placed.id)?.status).toBe(status);
    cancel.abandon();
    expect(await cancel.settled).toBe('abandoned');
  });

  it("answers an http_error cancel with its status in Alpaca's error shape and leaves the order open", async () => {
    const placed = await submit();
    await alpaca.setFaults({ cancel: { mode: 'http_error', status: 503 } });

    const reply = await cancelAtAlpaca(placed.id);

    expect(reply).toMatchObject({ status: 503, body: { code: 50300000, message: 'simulated failure' } });
    expect((await orderAt(placed.id)).status).toBe('accepted');
  });

  it('fills the order just before the cancel lands under already_filled: 422, and the order filled', async () => {
    const placed = await submit();
    await alpaca.setFaults({ cancel: { mode: 'already_filled' } });

    const reply = await cancelAtAlpaca(placed.id);

    expect(reply).toMatchObject({ status: 422, body: { message: 'order is already in "filled" state' } });
    expect(await orderAt(placed.id)).toMatchObject({ status: 'filled', filled_qty: '10' });
  });

  it('refuses cancelOrder on already_filled with 400 naming cancelOrder', async () => {
    const reply = await call(`${alpaca.url}/_sim/faults`, { method: 'POST', body: { cancel: { mode: 'already_filled', cancelOrder: true } } });

    expect(reply.status).toBe(400);
    expect((reply.body as { message: string }).message).toContain('cancelOrder');
  });
});

describe('cancel through the LEAN runner simulator', () => {
  it('cancels the same Alpaca order and answers it canceled, marked as LEAN', async () => {
    const placed = await submit();

    const reply = await cancelThroughLean(placed.id);

    expect(reply).toMatchObject({ status: 200, body: { id: placed.id, status: 'canceled', _execution_adapter: 'lean' } });
    expect(alpaca.orders.get(placed.id)?.status).toBe('canceled');
    expect(alpaca.requestCount('cancel')).toBe(1);
  });

  it("answers 422 lean_cancel_failed with Alpaca's message for a filled order", async () => {
    const placed = await submit();
    alpaca.fill(placed.id);

    const reply = await cancelThroughLean(placed.id);

    expect(reply).toMatchObject({ status: 422, body: { detail: 'lean_cancel_failed:upstream_error:order is already in "filled" state' } });
  });

  it('answers 404 order_not_found for an id Alpaca does not know', async () => {
    const reply = await cancelThroughLean('6f1b4c0e-0000-4000-8000-000000000000');

    expect(reply).toMatchObject({ status: 404, body: { detail: 'order_not_found' } });
  });

  it('asks Alpaca nothing while its cancel hangs', async () => {
    const placed = await submit();
    await lean.setFaults({ cancel: { mode: 'hang' } });

    const cancel = hangingCall(`${lean.url}/v1/orders/${placed.id}/cancel`, 'POST');
    await vi.waitFor(() => expect(lean.requestCount('cancel')).toBe(1));

    expect(alpaca.requestCount('cancel')).toBe(0);
    cancel.abandon();
    expect(await cancel.settled).toBe('abandoned');
  });

  it('answers an http_error cancel with its status and taxonomy without asking Alpaca', async () => {
    const placed = await submit();
    await lean.setFaults({ cancel: { mode: 'http_error', status: 503, taxonomy: 'network_timeout', message: 'broker unreachable' } });

    const reply = await cancelThroughLean(placed.id);

    expect(reply).toMatchObject({ status: 503, body: { detail: 'lean_cancel_failed:network_timeout:broker unreachable' } });
    expect(alpaca.requestCount('cancel')).toBe(0);
    expect((await orderAt(placed.id)).status).toBe('accepted');
  });

  it('cancels at Alpaca before answering 502 under http_error with cancelOrder', async () => {
    const placed = await submit();
    await lean.setFaults({ cancel: { mode: 'http_error', cancelOrder: true } });

    const reply = await cancelThroughLean(placed.id);

    expect(reply).toMatchObject({ status: 502, body: { detail: 'lean_cancel_failed:upstream_error:simulated failure' } });
    expect((await orderAt(placed.id)).status).toBe('canceled');
  });

  it('answers 422 and leaves the order filled at Alpaca under already_filled', async () => {
    const placed = await submit();
    await lean.setFaults({ cancel: { mode: 'already_filled' } });

    const reply = await cancelThroughLean(placed.id);

    expect(reply.status).toBe(422);
    expect(await orderAt(placed.id)).toMatchObject({ status: 'filled', filled_qty: '10' });
  });
});

describe('listing orders at the Alpaca simulator', () => {
  it('lists open and closed orders together under status=all', async () => {
    const open = await submit({ type: 'limit', limit_price: '50' });
    const filled = await submit();
    alpaca.step();

    const reply = await list('status=all');

    expect(ids(reply)).toEqual([filled.id, open.id]);
  });

  it('lists only orders submitted after `after`, exclusive', async () => {
    const first = await submit();
    const second = await submit();
    const third = await submit();

    const reply = await list(`status=all&direction=asc&after=${encodeURIComponent(first.submitted_at)}`);

    expect(ids(reply)).toEqual([second.id, third.id]);
  });

  it('lists only orders submitted before `until`, exclusive', async () => {
    const first = await submit();
    const second = await submit();
    await submit();

    const reply = await list(`status=all&direction=asc&until=${encodeURIComponent(second.submitted_at)}`);

    expect(ids(reply)).toEqual([first.id]);
  });

  it('lists oldest first under direction=asc', async () => {
    const first = await submit();
    const second = await submit();

    const reply = await list('direction=asc');

    expect(ids(reply)).toEqual([first.id, second.id]);
  });

  it('answers 50 orders when no limit is given', async () => {
    for (let placed = 0; placed < 51; placed += 1) await submit();

    const reply = await list('status=all');

    expect(ids(reply)).toHaveLength(50);
  });

  it('answers at most `limit` orders, the newest by default', async () => {
    await submit();
    const second = await submit();
    const third = await submit();

    const reply = await list('limit=2');

    expect(ids(reply)).toEqual([third.id, second.id]);
  });

  it("refuses a limit above 500 with 422 in Alpaca's error shape", async () => {
    const reply = await list('limit=501');

    expect(reply).toMatchObject({ status: 422, body: { code: 42210000, message: 'invalid limit, limit must be between 1 and 500' } });
  });

  it('refuses an `after` that is not a timestamp with 422 naming it', async () => {
    const reply = await list('after=yesterday');

    expect(reply.status).toBe(422);
    expect((reply.body as { message: string }).message).toContain('after');
  });

  it('filters by a comma list of symbols, in any case', async () => {
    const apple = await submit({ symbol: 'AAPL' });
    await submit({ symbol: 'MSFT' });
    const spy = await submit({ symbol: 'SPY' });

    const reply = await list('symbols=aapl,SPY&direction=asc');

    expect(ids(reply)).toEqual([apple.id, spy.id]);
  });

  it('filters by side', async () => {
    await submit({ side: 'buy' });
    const sell = await submit({ side: 'sell' });

    const reply = await list('side=sell');

    expect(ids(reply)).toEqual([sell.id]);
  });

  it('pages through every order exactly once by `after` with direction=asc', async () => {
    const placed: string[] = [];
    for (let count = 0; count < 5; count += 1) placed.push((await submit()).id);

    const seen: string[] = [];
    let after = '1970-01-01T00:00:00Z';
    // Bounded, so an `after` that stopped moving fails here instead of looping.
    for (let page = 0; page < placed.length; page += 1) {
      const orders = (await list(`status=all&direction=asc&limit=2&after=${encodeURIComponent(after)}`)).body as AlpacaOrder[];
      if (orders.length === 0) break;
      seen.push(...orders.map((order) => order.id));
      after = orders.at(-1)?.submitted_at ?? after;
    }

    expect(seen).toEqual(placed);
  });

  it('answers the next `calls` list calls 429 with X-RateLimit headers, then lists again', async () => {
    await alpaca.setFaults({ list: { mode: 'rate_limited', calls: 2, resetInSeconds: 30 } });
    const before = Math.floor(Date.now() / 1000);

    const first = await list('status=all');
    const second = await list('status=all');
    const third = await list('status=all');

    expect([first.status, second.status, third.status]).toEqual([429, 429, 200]);
    expect(first.body).toEqual({ code: 42910000, message: 'rate limit exceeded' });
    expect(first.headers.get('x-ratelimit-limit')).toBe('200');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(before + 30);
  });

  it('carries X-RateLimit headers on every answer, refusals included', async () => {
    const answers = [await list('status=all'), await call(`${alpaca.url}/v2/orders/unknown`), await call(`${alpaca.url}/v2/nothing-here`)];

    for (const answer of answers) {
      expect(answer.headers.get('x-ratelimit-limit')).toBe('200');
      expect(Number(answer.headers.get('x-ratelimit-remaining'))).toBeLessThan(200);
      expect(Number(answer.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    }
  });

  it('never answers a list while it hangs', async () => {
    await alpaca.setFaults({ list: { mode: 'hang' } });

    const listing = hangingCall(`${alpaca.url}/v2/orders`, 'GET');
    await vi.waitFor(() => expect(alpaca.requestCount('list')).toBe(1));

    listing.abandon();
    expect(await listing.settled).toBe('abandoned');
  });

  it("answers a list http_error with its status in Alpaca's error shape", async () => {
    await alpaca.setFaults({ list: { mode: 'http_error', status: 502 } });

    const reply = await list('status=all');

    expect(reply).toMatchObject({ status: 502, body: { code: 50200000 } });
  });

  it('counts list calls in its state, rate-limited ones included', async () => {
    await alpaca.setFaults({ list: { mode: 'rate_limited' } });
    await list('status=all');
    await list('status=all');

    const state = await call(`${alpaca.url}/_sim/state`);

    expect(state.body).toMatchObject({ requests: { list: 2 } });
  });

  it('refuses calls or resetInSeconds on a list fault other than rate_limited with 400', async () => {
    const reply = await call(`${alpaca.url}/_sim/faults`, { method: 'POST', body: { list: { mode: 'hang', calls: 2 } } });

    expect(reply.status).toBe(400);
    expect((reply.body as { message: string }).message).toContain('calls');
  });
});
