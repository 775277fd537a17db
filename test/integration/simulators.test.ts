import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { startAlpacaSimulator, type AlpacaSimulator } from '../../lib/local/alpaca-simulator';
import { startLeanRunnerSimulator, type LeanRunnerSimulator } from '../../lib/local/lean-runner-simulator';
import { useSimulatorPair } from '../support/simulator-pair';

const CREDENTIALS = { keyId: 'sim-test-key', secretKey: 'sim-test-secret' };
const AUTH = { 'APCA-API-KEY-ID': CREDENTIALS.keyId, 'APCA-API-SECRET-KEY': CREDENTIALS.secretKey };

let alpaca: AlpacaSimulator;
let lean: LeanRunnerSimulator;

useSimulatorPair({ credentials: CREDENTIALS, alpacaTimeoutMs: 300 }, (pair) => {
  ({ alpaca, lean } = pair);
});

interface Reply {
  readonly status: number;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

/** One HTTP exchange; `json` is `{}` when the body is empty or not JSON. */
async function call(url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown; timeoutMs?: number } = {}): Promise<Reply> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
    signal: AbortSignal.timeout(init.timeoutMs ?? 5000),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Left empty: the test reads `text`.
  }
  return { status: response.status, text, json };
}

/** The network error code behind a failed fetch (ECONNREFUSED, UND_ERR_SOCKET, ...), or the error name. */
async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return cause?.code ?? (error as Error).name;
  }
  return 'answered';
}

let sequence = 0;
function clientOrderId(): string {
  sequence += 1;
  return `sim-${Date.now().toString(36)}-${sequence}`;
}

function alpacaOrder(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { symbol: 'AAPL', qty: '10', side: 'buy', type: 'market', time_in_force: 'day', client_order_id: clientOrderId(), ...overrides };
}

function submitToAlpaca(body: unknown, headers: Record<string, string> = AUTH, url: string = alpaca.url): Promise<Reply> {
  return call(`${url}/v2/orders`, { method: 'POST', headers, body });
}

function leanSubmitBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { symbol: 'AAPL', side: 'buy', qty: 10, order_type: 'market', time_in_force: 'day', extra_params: { client_order_id: clientOrderId() }, ...overrides };
}

function submitToLean(body: Record<string, unknown> = leanSubmitBody(), timeoutMs?: number): Promise<Reply> {
  const id = (body.extra_params as { client_order_id?: string } | undefined)?.client_order_id ?? 'none';
  return call(`${lean.url}/v1/orders/submit`, {
    method: 'POST',
    headers: { 'Idempotency-Key': id, 'X-Correlation-ID': `corr-${id}` },
    body,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
}

describe('the Alpaca simulator', () => {
  it('accepts a market order and answers an Alpaca order object with status accepted', async () => {
    const order = alpacaOrder();

    const reply = await submitToAlpaca(order);

    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({
      client_order_id: order.client_order_id,
      asset_class: 'us_equity',
      symbol: 'AAPL',
      side: 'buy',
      type: 'market',
      order_type: 'market',
      time_in_force: 'day',
      qty: '10',
      notional: null,
      filled_qty: '0',
      limit_price: null,
      stop_price: null,
      status: 'accepted',
      extended_hours: false,
    });
    expect(reply.json.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(String(reply.json.submitted_at))).not.toBeNaN();
    expect(alpaca.orders.get(String(reply.json.id))?.client_order_id).toBe(order.client_order_id);
  });

  it('stores quantities and prices sent as numbers as decimal strings', async () => {
    const reply = await submitToAlpaca(alpacaOrder({ qty: 2.5, type: 'limit', limit_price: 101.25 }));

    expect(reply.json).toMatchObject({ qty: '2.5', limit_price: '101.25' });
  });

  it('accepts a notional order and leaves qty null', async () => {
    const reply = await submitToAlpaca(alpacaOrder({ qty: undefined, notional: '150.5' }));

    expect(reply.json).toMatchObject({ qty: null, notional: '150.5' });
  });

  it('generates a client_order_id when the order has none', async () => {
    const reply = await submitToAlpaca(alpacaOrder({ client_order_id: undefined }));

    expect(reply.status).toBe(200);
    expect(reply.json.client_order_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a second order with the same client_order_id with 422', async () => {
    const order = alpacaOrder();
    await submitToAlpaca(order);

    const reply = await submitToAlpaca(order);

    expect(reply.status).toBe(422);
    expect(reply.json).toEqual({ code: 40010001, message: 'client_order_id must be unique' });
    expect(alpaca.orders.size).toBe(1);
  });

  it('refuses a limit order without limit_price with 422 naming the field', async () => {
    const reply = await submitToAlpaca(alpacaOrder({ type: 'limit' }));

    expect(reply.status).toBe(422);
    expect(reply.json.code).toBe(40010001);
    expect(reply.json.message).toContain('limit_price');
  });

  it('refuses an order with both qty and notional with 422', async () => {
    const reply = await submitToAlpaca(alpacaOrder({ notional: '100' }));

    expect(reply.status).toBe(422);
    expect(reply.json.message).toContain('qty or notional');
  });

  it('refuses a client_order_id over 128 characters with 422', async () => {
    const reply = await submitToAlpaca(alpacaOrder({ client_order_id: 'x'.repeat(129) }));

    expect(reply.status).toBe(422);
    expect(reply.json.message).toContain('client_order_id');
    expect(alpaca.orders.size).toBe(0);
  });

  it('refuses wrong credentials with 401 and still counts the request', async () => {
    const reply = await submitToAlpaca(alpacaOrder(), { ...AUTH, 'APCA-API-SECRET-KEY': 'wrong' });

    expect(reply.status).toBe(401);
    expect(reply.json).toEqual({ code: 40110000, message: 'request is not authorized' });
    expect(alpaca.requestCount('submit')).toBe(1);
    expect(alpaca.orders.size).toBe(0);
  });

  it('finds an order by client_order_id', async () => {
    const order = alpacaOrder();
    const placed = await submitToAlpaca(order);

    const reply = await call(`${alpaca.url}/v2/orders:by_client_order_id?client_order_id=${String(order.client_order_id)}`, { headers: AUTH });

    expect(reply.status).toBe(200);
    expect(reply.json.id).toBe(placed.json.id);
    expect(alpaca.requestCount('lookup')).toBe(1);
  });

  it("answers 404 in Alpaca's error shape for an unknown client_order_id", async () => {
    const reply = await call(`${alpaca.url}/v2/orders:by_client_order_id?client_order_id=nope`, { headers: AUTH });

    expect(reply.status).toBe(404);
    expect(reply.json).toEqual({ code: 40410000, message: 'order not found' });
  });

  it('reads an order by id', async () => {
    const placed = await submitToAlpaca(alpacaOrder());

    const reply = await call(`${alpaca.url}/v2/orders/${String(placed.json.id)}`, { headers: AUTH });

    expect(reply.json).toEqual(placed.json);
    expect(alpaca.requestCount('get')).toBe(1);
  });

  it('cancels an order with 204 and shows it canceled afterwards', async () => {
    const placed = await submitToAlpaca(alpacaOrder());

    const reply = await call(`${alpaca.url}/v2/orders/${String(placed.json.id)}`, { method: 'DELETE', headers: AUTH });

    expect(reply.status).toBe(204);
    expect(alpaca.orders.get(String(placed.json.id))?.status).toBe('canceled');
    expect(alpaca.requestCount('cancel')).toBe(1);
  });

  it('lists open orders newest first and leaves canceled ones to status=closed', async () => {
    const first = await submitToAlpaca(alpacaOrder());
    const second = await submitToAlpaca(alpacaOrder());
    const third = await submitToAlpaca(alpacaOrder());
    await call(`${alpaca.url}/v2/orders/${String(first.json.id)}`, { method: 'DELETE', headers: AUTH });

    const open = await call(`${alpaca.url}/v2/orders?status=open`, { headers: AUTH });
    const closed = await call(`${alpaca.url}/v2/orders?status=closed`, { headers: AUTH });

    expect((JSON.parse(open.text) as { id: string }[]).map((o) => o.id)).toEqual([third.json.id, second.json.id]);
    expect((JSON.parse(closed.text) as { id: string }[]).map((o) => o.id)).toEqual([first.json.id]);
  });

  it("answers a submit http_error fault with its status in Alpaca's error shape and creates no order", async () => {
    await alpaca.setFaults({ submit: { mode: 'http_error', status: 403, message: 'insufficient buying power' } });

    const reply = await submitToAlpaca(alpacaOrder());

    expect(reply.status).toBe(403);
    expect(reply.json).toEqual({ code: 40300000, message: 'insufficient buying power' });
    expect(alpaca.orders.size).toBe(0);
    expect(alpaca.requestCount('submit')).toBe(1);
  });

  it('answers an invalid_json fault with 200 and a body that is not JSON, creating no order', async () => {
    await alpaca.setFaults({ submit: { mode: 'invalid_json' } });

    const reply = await submitToAlpaca(alpacaOrder());

    expect(reply.status).toBe(200);
    expect(() => JSON.parse(reply.text) as unknown).toThrow();
    expect(alpaca.orders.size).toBe(0);
  });

  it('delays a submit by the fault latency and then places the order', async () => {
    await alpaca.setFaults({ submit: { mode: 'ok', latencyMs: 150 } });
    const started = performance.now();

    const reply = await submitToAlpaca(alpacaOrder());

    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(reply.status).toBe(200);
    expect(alpaca.orders.size).toBe(1);
  });

  it('leaves a hung lookup unanswered until reset drops the connection', async () => {
    await alpaca.setFaults({ lookup: { mode: 'hang' } });
    const pending = failure(call(`${alpaca.url}/v2/orders:by_client_order_id?client_order_id=x`, { headers: AUTH }));
    await vi.waitFor(() => expect(alpaca.requestCount('lookup')).toBe(1));

    await alpaca.reset();

    expect(await pending).not.toBe('answered');
  });

  it('refuses connections while down and answers again on the same url once up', async () => {
    const url = alpaca.url;
    await alpaca.setFaults({ down: true });

    expect(await failure(call(`${url}/v2/orders/x`, { headers: AUTH }))).toBe('ECONNREFUSED');

    await alpaca.setFaults({ down: false });
    expect(alpaca.url).toBe(url);
    expect((await call(`${url}/v2/orders/x`, { headers: AUTH })).status).toBe(404);
  });

  it('takes faults and answers state over the admin routes, without auth and without counting them', async () => {
    const set = await call(`${alpaca.url}/_sim/faults`, { method: 'POST', body: { submit: { mode: 'http_error', status: 500 } } });
    await submitToAlpaca(alpacaOrder());

    const state = await call(`${alpaca.url}/_sim/state`);

    expect(set.json).toEqual({ submit: { mode: 'http_error', status: 500 } });
    expect(state.json).toMatchObject({ requests: { submit: 1, lookup: 0, get: 0, cancel: 0 }, orders: 0, faults: { submit: { mode: 'http_error' } } });
  });

  it('refuses a misspelled fault with 400 naming the problem', async () => {
    const reply = await call(`${alpaca.url}/_sim/faults`, { method: 'POST', body: { submit: { mdoe: 'hang' } } });

    expect(reply.status).toBe(400);
    expect(reply.json.message).toContain('mdoe');
  });

  it('clears orders, counters and faults on reset', async () => {
    await submitToAlpaca(alpacaOrder());
    await alpaca.setFaults({ submit: { mode: 'http_error' } });

    const reply = await call(`${alpaca.url}/_sim/reset`, { method: 'POST' });

    expect(reply.json).toMatchObject({ requests: { submit: 0 }, orders: 0, faults: {} });
    expect(alpaca.orders.size).toBe(0);
    expect((await submitToAlpaca(alpacaOrder())).status).toBe(200);
  });

  it('places the order and then answers 500 under http_error with placeOrder', async () => {
    await alpaca.setFaults({ submit: { mode: 'http_error', status: 500, placeOrder: true } });
    const order = alpacaOrder();

    const reply = await submitToAlpaca(order);

    expect(reply.status).toBe(500);
    expect(reply.json).toEqual({ code: 50000000, message: 'simulated failure' });
    expect([...alpaca.orders.values()].map((o) => o.client_order_id)).toEqual([order.client_order_id]);
    expect(alpaca.ordersPlaced()).toBe(1);
  });

  it('places the order and then never answers under hang with placeOrder', async () => {
    await alpaca.setFaults({ submit: { mode: 'hang', placeOrder: true } });
    const order = alpacaOrder();

    expect(await failure(call(`${alpaca.url}/v2/orders`, { method: 'POST', headers: AUTH, body: order, timeoutMs: 300 }))).toBe('TimeoutError');
    expect([...alpaca.orders.values()].map((o) => o.client_order_id)).toEqual([order.client_order_id]);
  });

  it('finds by client_order_id an order placed under a placeOrder fault', async () => {
    await alpaca.setFaults({ submit: { mode: 'http_error', status: 500, placeOrder: true } });
    const order = alpacaOrder();
    await submitToAlpaca(order);

    const reply = await call(`${alpaca.url}/v2/orders:by_client_order_id?client_order_id=${String(order.client_order_id)}`, { headers: AUTH });

    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ client_order_id: order.client_order_id, status: 'accepted' });
  });

  it('answers 200 with status rejected under rejected, keeping the order rejected and counting it as not placed', async () => {
    await alpaca.setFaults({ submit: { mode: 'rejected' } });
    const order = alpacaOrder();

    const reply = await submitToAlpaca(order);

    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ client_order_id: order.client_order_id, symbol: 'AAPL', qty: '10', status: 'rejected' });
    expect(alpaca.orders.get(String(reply.json.id))?.status).toBe('rejected');
    expect(alpaca.ordersPlaced()).toBe(0);
  });

  it('refuses to cancel a rejected order with 422', async () => {
    await alpaca.setFaults({ submit: { mode: 'rejected' } });
    const placed = await submitToAlpaca(alpacaOrder());

    const reply = await call(`${alpaca.url}/v2/orders/${String(placed.json.id)}`, { method: 'DELETE', headers: AUTH });

    expect(reply.status).toBe(422);
    expect(reply.json.message).toBe('order is already in "rejected" state');
  });

  it('places and answers another symbol, twice the qty and another client_order_id under wrong_order', async () => {
    await alpaca.setFaults({ submit: { mode: 'wrong_order' } });
    const order = alpacaOrder();

    const reply = await submitToAlpaca(order);

    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ symbol: 'SPY', qty: '20', status: 'accepted' });
    expect(reply.json.client_order_id).not.toBe(order.client_order_id);
    expect([...alpaca.orders.values()]).toEqual([reply.json]);
    expect(alpaca.ordersPlaced()).toBe(1);
  });

  it('leaves nothing under the client_order_id asked after a wrong_order submit', async () => {
    await alpaca.setFaults({ submit: { mode: 'wrong_order' } });
    const order = alpacaOrder();
    await submitToAlpaca(order);

    const reply = await call(`${alpaca.url}/v2/orders:by_client_order_id?client_order_id=${String(order.client_order_id)}`, { headers: AUTH });

    expect(reply.status).toBe(404);
  });

  it('doubles the notional and swaps SPY for QQQ under wrong_order', async () => {
    await alpaca.setFaults({ submit: { mode: 'wrong_order' } });

    const reply = await submitToAlpaca(alpacaOrder({ symbol: 'SPY', qty: undefined, notional: '150.5' }));

    expect(reply.json).toMatchObject({ symbol: 'QQQ', qty: null, notional: '301' });
  });

  it('refuses placeOrder with a mode it does not apply to with 400 naming placeOrder', async () => {
    const reply = await call(`${alpaca.url}/_sim/faults`, { method: 'POST', body: { submit: { mode: 'rejected', placeOrder: true } } });

    expect(reply.status).toBe(400);
    expect(reply.json.message).toContain('placeOrder');
  });

  it('refuses placeOrder on a lookup fault with 400 naming it', async () => {
    const reply = await call(`${alpaca.url}/_sim/faults`, { method: 'POST', body: { lookup: { mode: 'http_error', placeOrder: true } } });

    expect(reply.status).toBe(400);
    expect(reply.json.message).toContain('placeOrder');
  });

  it('counts placed orders in its state, canceled ones included and rejected ones not', async () => {
    const canceled = await submitToAlpaca(alpacaOrder());
    await call(`${alpaca.url}/v2/orders/${String(canceled.json.id)}`, { method: 'DELETE', headers: AUTH });
    await submitToAlpaca(alpacaOrder());
    await alpaca.setFaults({ submit: { mode: 'rejected' } });
    await submitToAlpaca(alpacaOrder());

    const state = await call(`${alpaca.url}/_sim/state`);

    expect(state.json).toMatchObject({ orders: 3, orders_placed: 2 });
  });

  it('goes down through the admin route after answering it', async () => {
    const reply = await call(`${alpaca.url}/_sim/faults`, { method: 'POST', body: { down: true } });

    expect(reply.json).toEqual({ down: true });
    await vi.waitFor(async () => expect(await failure(call(`${alpaca.url}/_sim/state`))).toBe('ECONNREFUSED'));
    await alpaca.setFaults({});
  });
});

describe('the LEAN runner simulator', () => {
  it("places the order at Alpaca with the caller's client_order_id and answers it with the v2 markers", async () => {
    const body = leanSubmitBody();
    const id = (body.extra_params as { client_order_id: string }).client_order_id;

    const reply = await submitToLean(body);

    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({
      client_order_id: id,
      symbol: 'AAPL',
      qty: '10',
      status: 'accepted',
      _execution_adapter: 'lean',
      _lean_contract_version: 'v2',
      _lean_audit: { correlation_id: `corr-${id}`, idempotency_key: id },
    });
    expect([...alpaca.orders.values()].map((o) => o.client_order_id)).toEqual([id]);
    expect(reply.json.id).toBe([...alpaca.orders.keys()][0]);
  });

  it('passes limit and stop prices to Alpaca as strings', async () => {
    const reply = await submitToLean(leanSubmitBody({ order_type: 'stop_limit', limit_price: 101.5, stop_price: 100 }));

    expect(reply.json).toMatchObject({ type: 'stop_limit', limit_price: '101.5', stop_price: '100' });
  });

  it("records the last submit's headers and body", async () => {
    const body = leanSubmitBody();

    await submitToLean(body);

    const last = lean.lastSubmit();
    expect(last?.headers['idempotency-key']).toBe((body.extra_params as { client_order_id: string }).client_order_id);
    expect(last?.body).toEqual(body);
  });

  it('answers the existing order, and places nothing new, when Alpaca already has the client_order_id', async () => {
    const body = leanSubmitBody();
    const first = await submitToLean(body);

    const second = await submitToLean(body);

    expect(second.status).toBe(200);
    expect(second.json.id).toBe(first.json.id);
    expect(alpaca.orders.size).toBe(1);
    expect(alpaca.requestCount('lookup')).toBe(1);
  });

  it('answers 502 contract_missing_required_field naming the missing field', async () => {
    const { qty: _qty, ...withoutQty } = leanSubmitBody();

    const reply = await submitToLean(withoutQty);

    expect(reply.status).toBe(502);
    expect(reply.json).toEqual({ detail: 'lean_submit_failed:contract_missing_required_field:qty' });
    expect(alpaca.requestCount('submit')).toBe(0);
  });

  it('answers 502 contract_invalid_order_type for an order type outside the contract', async () => {
    const reply = await submitToLean(leanSubmitBody({ order_type: 'trailing_stop' }));

    expect(reply.status).toBe(502);
    expect(reply.json.detail).toBe('lean_submit_failed:contract_invalid_order_type:trailing_stop');
  });

  it('answers 502 upstream_auth when Alpaca refuses its credentials', async () => {
    const misconfigured = await startLeanRunnerSimulator({ alpacaUrl: alpaca.url, alpacaKeyId: 'wrong', alpacaSecretKey: 'wrong' });
    try {
      const reply = await call(`${misconfigured.url}/v1/orders/submit`, { method: 'POST', body: leanSubmitBody() });

      expect(reply.status).toBe(502);
      expect(reply.json.detail).toBe('lean_submit_failed:upstream_auth:request is not authorized');
    } finally {
      await misconfigured.close();
    }
  });

  it("answers 502 upstream_error with Alpaca's message when Alpaca rejects the order", async () => {
    await alpaca.setFaults({ submit: { mode: 'http_error', status: 403, message: 'insufficient buying power' } });

    const reply = await submitToLean();

    expect(reply.status).toBe(502);
    expect(reply.json.detail).toBe('lean_submit_failed:upstream_error:insufficient buying power');
  });

  it('answers 502 network_timeout, not upstream_error, when Alpaca answers the submit 5xx: the order may exist', async () => {
    await alpaca.setFaults({ submit: { mode: 'http_error', status: 500, message: 'internal error' } });

    const reply = await submitToLean();

    expect([reply.status, reply.json.detail]).toEqual([502, 'lean_submit_failed:network_timeout:internal error']);
  });

  it('answers 502 network_timeout when Alpaca answers the submit 200 with a body that is not JSON', async () => {
    await alpaca.setFaults({ submit: { mode: 'invalid_json' } });

    const reply = await submitToLean();

    expect([reply.status, reply.json.detail]).toEqual([502, 'lean_submit_failed:network_timeout:Alpaca answered a body that is not JSON']);
  });

  it('answers 502 network_timeout when Alpaca does not answer in time', async () => {
    await alpaca.setFaults({ submit: { mode: 'hang' } });

    const reply = await submitToLean();

    expect(reply.status).toBe(502);
    expect(reply.json.detail).toMatch(/^lean_submit_failed:network_timeout:/);
  });

  it('answers 502 network_timeout when Alpaca refuses connections', async () => {
    await alpaca.setFaults({ down: true });

    const reply = await submitToLean();

    expect(reply.status).toBe(502);
    expect(reply.json.detail).toMatch(/^lean_submit_failed:network_timeout:.*ECONNREFUSED/);
  });

  it('answers an http_error fault with its status and taxonomy and places nothing', async () => {
    await lean.setFaults({ submit: { mode: 'http_error', status: 502, taxonomy: 'upstream_auth', message: 'bad key' } });

    const reply = await submitToLean();

    expect(reply.status).toBe(502);
    expect(reply.json).toEqual({ detail: 'lean_submit_failed:upstream_auth:bad key' });
    expect(alpaca.requestCount('submit')).toBe(0);
  });

  it('places the order before answering an http_error fault when placeOrder is set', async () => {
    await lean.setFaults({ submit: { mode: 'http_error', placeOrder: true } });

    const reply = await submitToLean();

    expect(reply.status).toBe(502);
    expect(reply.json.detail).toBe('lean_submit_failed:upstream_error:simulated failure');
    expect(alpaca.orders.size).toBe(1);
  });

  it('answers invalid_json with 200 and a body that is not JSON, placing nothing', async () => {
    await lean.setFaults({ submit: { mode: 'invalid_json' } });

    const reply = await submitToLean();

    expect(reply.status).toBe(200);
    expect(() => JSON.parse(reply.text) as unknown).toThrow();
    expect(alpaca.requestCount('submit')).toBe(0);
  });

  it('never answers and places nothing under hang', async () => {
    await lean.setFaults({ submit: { mode: 'hang' } });

    expect(await failure(submitToLean(leanSubmitBody(), 300))).toBe('TimeoutError');
    expect(lean.requestCount('submit')).toBe(1);
    expect(alpaca.requestCount('submit')).toBe(0);
  });

  it('places the order at Alpaca and then never answers under accept_then_hang', async () => {
    await lean.setFaults({ submit: { mode: 'accept_then_hang' } });

    expect(await failure(submitToLean(leanSubmitBody(), 300))).toBe('TimeoutError');
    expect(alpaca.orders.size).toBe(1);
  });

  it('places qty times qtyFactor and answers that drifted qty under qty_drift', async () => {
    await lean.setFaults({ submit: { mode: 'qty_drift', qtyFactor: 3 } });

    const reply = await submitToLean(leanSubmitBody({ qty: 0.1 }));

    expect(reply.status).toBe(200);
    expect(reply.json.qty).toBe('0.3');
    expect([...alpaca.orders.values()][0]?.qty).toBe('0.3');
  });

  it('answers 200 without id and status under missing_fields, placing nothing', async () => {
    await lean.setFaults({ submit: { mode: 'missing_fields' } });

    const reply = await submitToLean();

    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ symbol: 'AAPL', qty: '10', _execution_adapter: 'lean' });
    expect(reply.json).not.toHaveProperty('id');
    expect(reply.json).not.toHaveProperty('status');
    expect(alpaca.orders.size).toBe(0);
  });

  it("places the order under a client_order_id of its own and answers that order under foreign_client_order_id", async () => {
    await lean.setFaults({ submit: { mode: 'foreign_client_order_id' } });
    const body = leanSubmitBody();
    const asked = (body.extra_params as { client_order_id: string }).client_order_id;

    const reply = await submitToLean(body);

    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ symbol: 'AAPL', qty: '10', status: 'accepted', _execution_adapter: 'lean' });
    expect(reply.json.client_order_id).not.toBe(asked);
    expect([...alpaca.orders.values()].map((o) => [o.id, o.client_order_id])).toEqual([[reply.json.id, reply.json.client_order_id]]);
  });

  it("finds nothing by the caller's client_order_id after a foreign_client_order_id submit", async () => {
    await lean.setFaults({ submit: { mode: 'foreign_client_order_id' } });
    const body = leanSubmitBody();
    await submitToLean(body);

    const reply = await call(`${lean.url}/v1/orders/client/${(body.extra_params as { client_order_id: string }).client_order_id}`);

    expect(reply.status).toBe(404);
  });

  it('delays the answer by latencyMs after the order is already placed', async () => {
    await lean.setFaults({ submit: { mode: 'ok', latencyMs: 1000 } });

    const pending = submitToLean();

    await vi.waitFor(() => expect(alpaca.orders.size).toBe(1), { timeout: 500 });
    expect((await pending).status).toBe(200);
  });

  it('finds an order by client_order_id through Alpaca, marked as LEAN', async () => {
    const body = leanSubmitBody();
    const placed = await submitToLean(body);

    const reply = await call(`${lean.url}/v1/orders/client/${(body.extra_params as { client_order_id: string }).client_order_id}`);

    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ id: placed.json.id, _execution_adapter: 'lean' });
    expect(lean.requestCount('lookup')).toBe(1);
  });

  it('finds by client_order_id an order placed at Alpaca without it, as a runner proxying Alpaca does', async () => {
    const order = alpacaOrder();
    const placed = await submitToAlpaca(order);

    const reply = await call(`${lean.url}/v1/orders/client/${String(order.client_order_id)}`);

    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ id: placed.json.id, client_order_id: order.client_order_id, _execution_adapter: 'lean' });
    expect(lean.requestCount('submit')).toBe(0);
  });

  it('answers 404 order_not_found for an unknown client_order_id', async () => {
    const reply = await call(`${lean.url}/v1/orders/client/nope`);

    expect(reply.status).toBe(404);
    expect(reply.json).toEqual({ detail: 'order_not_found' });
  });

  it('answers a lookup http_error fault with its status without asking Alpaca', async () => {
    await lean.setFaults({ lookup: { mode: 'http_error', status: 503 } });

    const reply = await call(`${lean.url}/v1/orders/client/anything`);

    expect(reply.status).toBe(503);
    expect(alpaca.requestCount('lookup')).toBe(0);
    expect(lean.requestCount('lookup')).toBe(1);
  });

  it('reads an order by id through Alpaca', async () => {
    const placed = await submitToLean();

    const reply = await call(`${lean.url}/v1/orders/${String(placed.json.id)}`);

    expect(reply.json).toMatchObject({ id: placed.json.id, _execution_adapter: 'lean' });
    expect(lean.requestCount('get')).toBe(1);
  });

  it('cancels an order through Alpaca and answers it canceled', async () => {
    const placed = await submitToLean();

    const reply = await call(`${lean.url}/v1/orders/${String(placed.json.id)}/cancel`, { method: 'POST' });

    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ id: placed.json.id, status: 'canceled' });
    expect(alpaca.requestCount('cancel')).toBe(1);
  });

  it('lists orders by status through Alpaca', async () => {
    const placed = await submitToLean();

    const reply = await call(`${lean.url}/v1/orders?status=open`);

    expect(JSON.parse(reply.text)).toEqual([expect.objectContaining({ id: placed.json.id, _execution_adapter: 'lean' })]);
    expect(lean.requestCount('list')).toBe(1);
  });

  it('answers healthz with status ok and contract v2', async () => {
    const reply = await call(`${lean.url}/healthz`);

    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ status: 'ok', contract_version: 'v2', broker: 'alpaca' });
  });

  it('answers a health http_error fault with 503 by default', async () => {
    await lean.setFaults({ health: { mode: 'http_error' } });

    const reply = await call(`${lean.url}/healthz`);

    expect(reply.status).toBe(503);
    expect(lean.requestCount('health')).toBe(1);
  });

  it('refuses connections while down and comes back on the same url', async () => {
    await lean.setFaults({ down: true });

    expect(await failure(call(`${lean.url}/healthz`))).toBe('ECONNREFUSED');

    await lean.setFaults({ down: false });
    expect((await call(`${lean.url}/healthz`)).status).toBe(200);
  });

  it('takes faults over the admin route and plays them', async () => {
    await call(`${lean.url}/_sim/faults`, { method: 'POST', body: { submit: { mode: 'http_error', status: 500, taxonomy: 'network_timeout' } } });

    const reply = await submitToLean();

    expect(reply.status).toBe(500);
    expect(reply.json.detail).toMatch(/^lean_submit_failed:network_timeout:/);
  });

  it('clears counters, faults and the last submit on reset through the admin route', async () => {
    await lean.setFaults({ submit: { mode: 'invalid_json' } });
    await submitToLean();

    const reply = await call(`${lean.url}/_sim/reset`, { method: 'POST' });

    expect(reply.json).toMatchObject({ requests: { submit: 0 }, faults: {} });
    expect(lean.lastSubmit()).toBeUndefined();
    expect((await submitToLean()).status).toBe(200);
  });
});

describe('starting and stopping', () => {
  it('closes with a hung request still open, destroying its connection', async () => {
    const runner = await startLeanRunnerSimulator({ alpacaUrl: alpaca.url, alpacaKeyId: 'k', alpacaSecretKey: 's' });
    await runner.setFaults({ health: { mode: 'hang' } });
    const pending = failure(call(`${runner.url}/healthz`));
    await vi.waitFor(() => expect(runner.requestCount('health')).toBe(1));

    await runner.close();

    expect(await pending).not.toBe('answered');
    expect(await failure(call(`${runner.url}/healthz`))).toBe('ECONNREFUSED');
  });

  it('keeps its orders in its file across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alpaca-sim-'));
    const file = join(dir, 'orders.json');
    try {
      const first = await startAlpacaSimulator({ ...CREDENTIALS, file });
      const placed = await submitToAlpaca(alpacaOrder(), AUTH, first.url);
      await first.close();

      const second = await startAlpacaSimulator({ ...CREDENTIALS, file });
      try {
        expect(second.orders.get(String(placed.json.id))).toEqual(placed.json);
        expect(second.ordersPlaced()).toBe(1);
        expect((await submitToAlpaca({ ...alpacaOrder(), client_order_id: placed.json.client_order_id }, AUTH, second.url)).status).toBe(422);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('has an order in its file before the submit answers, so a kill while it hangs loses nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alpaca-sim-'));
    const file = join(dir, 'orders.json');
    const first = await startAlpacaSimulator({ ...CREDENTIALS, file });
    await first.setFaults({ submit: { mode: 'hang', placeOrder: true } });
    const order = alpacaOrder();
    const hung = failure(submitToAlpaca(order, AUTH, first.url));
    try {
      await vi.waitFor(() => expect(first.ordersPlaced()).toBe(1));

      // Started while the first still hangs: it stands in for the process started after a kill.
      const second = await startAlpacaSimulator({ ...CREDENTIALS, file });
      await second.close();

      expect([...second.orders.values()].map((o) => o.client_order_id)).toEqual([order.client_order_id]);
    } finally {
      await first.close();
      await hung;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects with a message naming the port when the port is already taken', async () => {
    const port = Number(new URL(alpaca.url).port);

    await expect(startAlpacaSimulator({ ...CREDENTIALS, port })).rejects.toThrow(`Alpaca simulator cannot listen on 127.0.0.1:${port}: port ${port} is already in use`);
  });
});
