import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { orderBody } from '../support/fakes';
import { marketOrder, startRouterHarness, type RouterHarness } from '../support/router-harness';

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

/** A loopback port with nothing listening, so connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the spec: LEAN is forced to fail', () => {
  it('falls back to Alpaca and records alpaca_fallback with the marker in the row read back from DynamoDB', async () => {
    await harness.lean.setFaults({ submit: { mode: 'http_error', status: 502, taxonomy: 'upstream_error', message: 'broker refused' } });
    const order = marketOrder();

    const answer = await harness.post(order);

    expect(answer.status).toBe(201);
    const row = await harness.readRow(String(order.client_order_id));
    expect(row?.status).toBe('accepted');
    expect(row?.execution_route).toBe('alpaca_fallback');
    expect(row?.execution_expected_adapter).toBe('lean');
    expect(row?.execution_adapter).toBe('alpaca');
    expect(row?.execution_fallback_reason).toBe('lean_submit_http_502');
    expect(row?.execution_fallback_count).toBe(1);
    expect(row?.raw_payload).toMatchObject({ _execution_adapter: 'alpaca_fallback', _execution_fallback_reason: 'lean_submit_http_502' });
    expect(harness.alpaca.requestCount('submit')).toBe(1);
  });
});

describe('routing', () => {
  it('routes to LEAN when LEAN accepts, and LEAN places exactly one order at Alpaca', async () => {
    const order = marketOrder();

    const answer = await harness.post(order);

    expect(answer.status).toBe(201);
    const row = await harness.readRow(String(order.client_order_id));
    expect(row).toMatchObject({ status: 'accepted', execution_route: 'lean', execution_adapter: 'lean', execution_route_reason: 'policy_all' });
    expect(row?.raw_payload).toMatchObject({ _execution_adapter: 'lean', client_order_id: order.client_order_id });
    expect(row?.broker_order_id).toBe(answer.body.broker_order_id);
    expect(harness.lean.requestCount('submit')).toBe(1);
    expect(harness.alpaca.requestCount('submit')).toBe(1);
  });

  it('sends LEAN the client_order_id as Idempotency-Key and in extra_params', async () => {
    const order = marketOrder();

    await harness.post(order, { headers: { 'X-Correlation-ID': 'corr-123' } });

    const submit = harness.lean.lastSubmit();
    expect(submit?.headers['idempotency-key']).toBe(order.client_order_id);
    expect(submit?.headers['x-correlation-id']).toBe('corr-123');
    expect(submit?.body).toMatchObject({ qty: 10, order_type: 'market', extra_params: { client_order_id: order.client_order_id } });
  });

  it('routes a symbol outside the allowlist straight to Alpaca without calling LEAN', async () => {
    const order = marketOrder({ symbol: 'aapl' });

    const answer = await harness.post(order, { env: { TRADING_EXECUTION_ADAPTER_POLICY: 'allowlist', TRADING_EXECUTION_ADAPTER_SYMBOLS: 'msft, spy' } });

    expect(answer.status).toBe(201);
    const row = await harness.readRow(String(order.client_order_id));
    expect(row).toMatchObject({ execution_route: 'alpaca', execution_expected_adapter: 'alpaca', execution_route_reason: 'symbol_not_allowlisted' });
    expect(row?.raw_payload).toMatchObject({ _execution_adapter: 'alpaca' });
    expect(harness.lean.requestCount('submit')).toBe(0);
  });

  it('routes a misconfigured router to Alpaca and records why', async () => {
    const order = marketOrder();

    await harness.post(order, { env: { TRADING_EXECUTION_ADAPTER: 'leen' } });

    const row = await harness.readRow(String(order.client_order_id));
    expect(row).toMatchObject({ execution_route: 'alpaca', execution_route_reason: 'policy_misconfigured' });
    expect(row?.policy_snapshot.misconfiguration.join(' ')).toContain('TRADING_EXECUTION_ADAPTER');
    expect(harness.lean.requestCount('submit')).toBe(0);
  });
});

describe('definite LEAN failures', () => {
  it('falls back at once, without lookups, when LEAN refuses connections', async () => {
    await harness.lean.setFaults({ down: true });
    const order = marketOrder();

    try {
      const answer = await harness.post(order);

      expect(answer.status).toBe(201);
      const row = await harness.readRow(String(order.client_order_id));
      expect(row).toMatchObject({ execution_route: 'alpaca_fallback', execution_fallback_reason: 'lean_submit_network_error' });
      expect(row?.execution_attempts.map((a) => `${a.adapter}:${a.operation}:${a.outcome}`)).toEqual(['lean:submit:failed', 'alpaca:submit:accepted']);
    } finally {
      await harness.lean.setFaults({ down: false });
    }
  });

  it('refuses and records the order when LEAN fails and the fallback adapter is none', async () => {
    await harness.lean.setFaults({ submit: { mode: 'http_error', status: 502, taxonomy: 'upstream_auth' } });
    const order = marketOrder();

    const answer = await harness.post(order, { env: { TRADING_EXECUTION_FALLBACK_ADAPTER: 'none' } });

    expect(answer.status).toBe(502);
    expect(answer.body.error).toBe('order_failed');
    expect(await harness.readRow(String(order.client_order_id))).toMatchObject({ status: 'failed', execution_route: 'none' });
    expect(harness.alpaca.requestCount('submit')).toBe(0);
  });
});

describe('ambiguous LEAN failures', () => {
  it('reports a LEAN hang as lean_submit_timeout, never as a network error, and falls back once both lookups find nothing', async () => {
    await harness.lean.setFaults({ submit: { mode: 'hang' } });
    const order = marketOrder();

    const answer = await harness.post(order);

    expect(answer.status).toBe(201);
    const row = await harness.readRow(String(order.client_order_id));
    expect(row).toMatchObject({ execution_route: 'alpaca_fallback', execution_fallback_reason: 'lean_submit_timeout' });
    expect(harness.alpaca.requestCount('submit')).toBe(1);
  });

  it('adopts the order and sends Alpaca no submit when LEAN accepts and then hangs past the timeout', async () => {
    await harness.lean.setFaults({ submit: { mode: 'accept_then_hang' } });
    const order = marketOrder();

    const answer = await harness.post(order);

    expect(answer.status).toBe(201);
    const row = await harness.readRow(String(order.client_order_id));
    expect(row).toMatchObject({ status: 'accepted', execution_route: 'lean', execution_note: 'late_ack', execution_fallback_count: 0 });
    // The one submit Alpaca saw came from the runner; the router sent none.
    expect(harness.alpaca.requestCount('submit')).toBe(1);
    expect(harness.alpaca.orders.size).toBe(1);
  });

  it('falls back after invalid JSON from LEAN only once the runner and Alpaca lookups find nothing', async () => {
    await harness.lean.setFaults({ submit: { mode: 'invalid_json' } });
    const order = marketOrder();

    const answer = await harness.post(order);

    expect(answer.status).toBe(201);
    const row = await harness.readRow(String(order.client_order_id));
    expect(row?.execution_attempts.map((a) => `${a.adapter}:${a.operation}:${a.outcome}`)).toEqual([
      'lean:submit:failed',
      'lean:lookup:not_found',
      'alpaca:lookup:not_found',
      'alpaca:submit:accepted',
    ]);
    expect(row).toMatchObject({ execution_route: 'alpaca_fallback', execution_fallback_reason: 'lean_submit_invalid_json' });
  });

  it('adopts an order that LEAN placed before answering invalid JSON instead of submitting it again', async () => {
    await harness.lean.setFaults({ submit: { mode: 'invalid_json', placeOrder: true } });
    const order = marketOrder();

    await harness.post(order);

    expect(await harness.readRow(String(order.client_order_id))).toMatchObject({ execution_route: 'lean', execution_note: 'late_ack' });
    expect(harness.alpaca.requestCount('submit')).toBe(1);
  });

  it('records unknown, answers 202 and submits nothing to Alpaca when neither lookup answers', async () => {
    await harness.lean.setFaults({ submit: { mode: 'hang' }, lookup: { mode: 'http_error', status: 500 } });
    await harness.alpaca.setFaults({ lookup: { mode: 'hang' } });
    const order = marketOrder();

    const answer = await harness.post(order);

    expect(answer.status).toBe(202);
    expect(answer.body.status).toBe('unknown');
    expect(await harness.readRow(String(order.client_order_id))).toMatchObject({ status: 'unknown', execution_route: 'none' });
    expect(harness.alpaca.requestCount('submit')).toBe(0);
  });

  // A LEAN acknowledgement of a different quantity: test/integration/governance.test.ts, 'notional mismatch'.
});

describe('Alpaca answers', () => {
  it('records a business rejection (403) as rejected with 422, not as a LEAN-style failure', async () => {
    await harness.alpaca.setFaults({ submit: { mode: 'http_error', status: 403, message: 'insufficient buying power' } });
    const order = marketOrder();

    const answer = await harness.post(order, { env: { TRADING_EXECUTION_ADAPTER: 'alpaca' } });

    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({ error: 'order_rejected' });
    expect(String(answer.body.message)).toContain('insufficient buying power');
    expect(await harness.readRow(String(order.client_order_id))).toMatchObject({ status: 'rejected', execution_route: 'none' });
  });
});

describe('idempotency', () => {
  it('answers the same request twice with one broker order and a replay', async () => {
    const order = marketOrder();

    const first = await harness.post(order);
    const second = await harness.post(order);

    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.headers['idempotent-replay']).toBe('true');
    expect(second.body.broker_order_id).toBe(first.body.broker_order_id);
    expect(harness.alpaca.orders.size).toBe(1);
    expect(harness.lean.requestCount('submit')).toBe(1);
  });

  it('refuses a different body under the same client_order_id with 409', async () => {
    const order = marketOrder();
    await harness.post(order);

    const answer = await harness.post({ ...order, qty: '11' });

    expect(answer.status).toBe(409);
    expect(answer.body.error).toBe('client_order_id_conflict');
    expect(harness.lean.requestCount('submit')).toBe(1);
  });
});

describe('provenance first', () => {
  it('answers 503 and calls no broker when DynamoDB is unreachable', async () => {
    const port = await closedPort();

    const answer = await harness.post(marketOrder(), { env: { DYNAMODB_ENDPOINT: `http://127.0.0.1:${port}` } });

    expect(answer.status).toBe(503);
    expect(answer.body.error).toBe('provenance_unavailable');
    expect(harness.lean.requestCount('submit')).toBe(0);
    expect(harness.alpaca.requestCount('submit')).toBe(0);
  });

  it('serves the stored row on GET /orders/{client_order_id}', async () => {
    const order = marketOrder();
    await harness.post(order);

    const answer = await harness.get(String(order.client_order_id));

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ client_order_id: order.client_order_id, execution_route: 'lean', status: 'accepted' });
  });
});

describe('bad input changes nothing', () => {
  const valid = orderBody({ client_order_id: 'bad-input', qty: '1' });
  const { client_order_id: _omitted, ...withoutId } = valid;
  const cases: [string, { body?: unknown; raw?: string }, number, string][] = [
    ['a missing client_order_id', { body: withoutId }, 400, 'client_order_id'],
    ['an unknown field', { body: { ...valid, venue: 'x' } }, 400, 'venue'],
    ['a zero qty', { body: { ...valid, qty: '0' } }, 400, 'qty'],
    ['a negative qty', { body: { ...valid, qty: -1 } }, 400, 'qty'],
    ['a limit order without a price', { body: { ...valid, type: 'limit' } }, 400, 'limit_price'],
    ['a 129-character client_order_id', { body: { ...valid, client_order_id: 'x'.repeat(129) } }, 400, 'client_order_id'],
    ['a body that is not JSON', { raw: '{"client_order_id": ' }, 400, 'JSON'],
    ['a body over 16 KiB', { raw: JSON.stringify({ ...valid, strategy_id: 'x'.repeat(17 * 1024) }) }, 413, '16384'],
  ];

  it.each(cases)('answers %s with a 4xx naming the problem, writes no row and calls no broker', async (_name, input, status, mentions) => {
    const before = await harness.rowCount();

    const answer = await harness.post(input.body, input.raw === undefined ? {} : { raw: input.raw });

    expect(answer.status).toBe(status);
    expect(JSON.stringify(answer.body)).toContain(mentions);
    expect(await harness.rowCount()).toBe(before);
    expect(harness.lean.requestCount('submit')).toBe(0);
    expect(harness.alpaca.requestCount('submit')).toBe(0);
  });
});
