import { describe, expect, it } from 'vitest';
import { alpacaCancelOutcome, alpacaOrderBody, orderListOutcome, rateLimitRetryAt } from '../../functions/adapters/alpaca-client';
import { classifyTransportError, endpointUrl, type HttpExchange, type TransportFailure } from '../../functions/adapters/http-exchange';
import { httpFailure, leanCancelOutcome, leanSubmitBody } from '../../functions/adapters/lean-runner-client';
import { order } from '../support/fakes';

/** An Error carrying a Node/undici error code, as the socket layer throws it. */
function codedError(code: string, message = `${code} happened`): Error {
  return Object.assign(new Error(message), { code });
}

function classify(error: unknown, deadlineExpired = false): Pick<TransportFailure, 'kind' | 'certainty'> {
  const { kind, certainty } = classifyTransportError(error, deadlineExpired, 400);
  return { kind, certainty };
}

describe('classifyTransportError', () => {
  it('calls an expired deadline an ambiguous timeout', () => {
    expect(classify(new DOMException('This operation was aborted', 'AbortError'), true)).toEqual({ kind: 'timeout', certainty: 'ambiguous' });
  });

  it('calls an expired deadline a timeout even when the error carries a network code', () => {
    expect(classify(codedError('ECONNRESET'), true).kind).toBe('timeout');
  });

  it('names the deadline in the detail of a timeout', () => {
    expect(classifyTransportError(new Error('aborted'), true, 400).detail).toContain('400 ms');
  });

  it.each<[string, TransportFailure['kind'], TransportFailure['certainty']]>([
    ['ECONNREFUSED', 'network_error', 'definite'],
    ['ENOTFOUND', 'network_error', 'definite'],
    ['EAI_AGAIN', 'network_error', 'definite'],
    ['EHOSTUNREACH', 'network_error', 'definite'],
    ['UND_ERR_CONNECT_TIMEOUT', 'timeout', 'definite'],
    ['ECONNRESET', 'network_error', 'ambiguous'],
    ['EPIPE', 'network_error', 'ambiguous'],
    ['UND_ERR_SOCKET', 'network_error', 'ambiguous'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout', 'ambiguous'],
    ['UND_ERR_BODY_TIMEOUT', 'timeout', 'ambiguous'],
  ])('classifies %s as %s, %s', (code, kind, certainty) => {
    expect(classify(codedError(code))).toEqual({ kind, certainty });
  });

  it('treats an error without a code as an ambiguous network error', () => {
    expect(classify(new Error('socket hang up'))).toEqual({ kind: 'network_error', certainty: 'ambiguous' });
  });

  it('treats a thrown non-Error as an ambiguous network error', () => {
    expect(classify('boom')).toEqual({ kind: 'network_error', certainty: 'ambiguous' });
  });

  it('finds a code nested in the cause chain', () => {
    const error = new TypeError('fetch failed', { cause: new Error('connect failed', { cause: codedError('ECONNREFUSED') }) });

    expect(classify(error)).toEqual({ kind: 'network_error', certainty: 'definite' });
  });

  it("finds a code in an AggregateError's errors", () => {
    const error = new AggregateError([codedError('ECONNREFUSED'), codedError('ECONNREFUSED')], 'all addresses failed');

    expect(classify(error)).toEqual({ kind: 'network_error', certainty: 'definite' });
  });

  it("finds a timeout code in an AggregateError's errors nested in a cause", () => {
    const error = new Error('request failed', { cause: new AggregateError([codedError('UND_ERR_CONNECT_TIMEOUT')]) });

    expect(classify(error)).toEqual({ kind: 'timeout', certainty: 'definite' });
  });

  it('puts the code and the message in the detail', () => {
    expect(classifyTransportError(codedError('ECONNRESET', 'read ECONNRESET'), false, 400).detail).toBe('ECONNRESET: read ECONNRESET');
  });
});

describe('httpFailure (LEAN submit answered non-2xx)', () => {
  const leanDetail = (taxonomy: string) => JSON.stringify({ detail: `lean_submit_failed:${taxonomy}:broker said no` });

  it.each([400, 401, 404, 409, 422, 429])('calls HTTP %i definite with reason lean_submit_http_<status>', (status) => {
    expect(httpFailure(status, '{"detail":"bad request"}')).toMatchObject({
      reason: `lean_submit_http_${status}`,
      certainty: 'definite',
      httpStatus: status,
    });
  });

  it('calls a 502 whose taxonomy is network_timeout ambiguous', () => {
    expect(httpFailure(502, leanDetail('network_timeout'))).toMatchObject({ reason: 'lean_submit_http_502', certainty: 'ambiguous' });
  });

  it.each(['contract_invalid_order_type', 'contract_missing_required_field', 'upstream_auth', 'upstream_error'])(
    'calls a 502 with taxonomy %s definite',
    (taxonomy) => {
      expect(httpFailure(502, leanDetail(taxonomy))).toMatchObject({ reason: 'lean_submit_http_502', certainty: 'definite' });
    },
  );

  it('calls a 502 with a taxonomy it does not know ambiguous', () => {
    expect(httpFailure(502, leanDetail('something_new')).certainty).toBe('ambiguous');
  });

  it.each([
    [500, '{"detail":"internal error"}'],
    [502, '<html>Bad Gateway</html>'],
    [503, ''],
    [504, '{"message":"Endpoint request timed out"}'],
  ])('calls HTTP %i without a taxonomy ambiguous', (status, body) => {
    expect(httpFailure(status, body)).toMatchObject({ reason: `lean_submit_http_${status}`, certainty: 'ambiguous', httpStatus: status });
  });

  it("keeps the runner's detail for the row", () => {
    expect(httpFailure(502, leanDetail('upstream_auth')).detail).toBe('lean_submit_failed:upstream_auth:broker said no');
  });
});

describe('leanSubmitBody', () => {
  it('sends quantities and prices as numbers with client_order_id in extra_params', () => {
    const body = leanSubmitBody(order({ qty: '15', type: 'stop_limit', limit_price: '101.25', stop_price: '100', strategy_id: 'mom-1' }));

    expect(body).toEqual({
      symbol: 'AAPL',
      side: 'buy',
      qty: 15,
      order_type: 'stop_limit',
      time_in_force: 'day',
      limit_price: 101.25,
      stop_price: 100,
      extra_params: { client_order_id: 'ord-0001', strategy_id: 'mom-1' },
    });
  });

  it('omits prices a market order does not have', () => {
    expect(Object.keys(leanSubmitBody(order())).sort()).toEqual(['extra_params', 'order_type', 'qty', 'side', 'symbol', 'time_in_force']);
  });

  it('carries extended_hours when the order sets it', () => {
    expect(leanSubmitBody(order({ type: 'limit', limit_price: '10', extended_hours: true })).extended_hours).toBe(true);
  });
});

describe('alpacaOrderBody', () => {
  it('sends quantities and prices as strings with client_order_id at the top level', () => {
    const body = alpacaOrderBody(order({ qty: '15', type: 'limit', limit_price: '101.25', extended_hours: false }));

    expect(body).toEqual({
      symbol: 'AAPL',
      side: 'buy',
      type: 'limit',
      time_in_force: 'day',
      client_order_id: 'ord-0001',
      qty: '15',
      limit_price: '101.25',
      extended_hours: false,
    });
  });

  it('omits undefined fields instead of sending them', () => {
    const body = alpacaOrderBody(order({ qty: undefined, notional: '250' }));

    expect(body).toEqual({ symbol: 'AAPL', side: 'buy', type: 'market', time_in_force: 'day', client_order_id: 'ord-0001', notional: '250' });
  });

  it('does not forward router-only fields to Alpaca', () => {
    const body = alpacaOrderBody(order({ strategy_id: 'mom-1', reference_price: '100' }));

    expect(body).not.toHaveProperty('strategy_id');
    expect(body).not.toHaveProperty('reference_price');
  });
});

describe('endpointUrl', () => {
  it('keeps the path prefix of a base URL published under a stage', () => {
    expect(endpointUrl('https://runner.example/prod', '/v1/orders/submit').href).toBe('https://runner.example/prod/v1/orders/submit');
  });

  it('does not double the slash when the base URL ends with one', () => {
    expect(endpointUrl('https://runner.example/prod/', '/v1/orders/submit').href).toBe('https://runner.example/prod/v1/orders/submit');
  });

  it('joins onto a bare host', () => {
    expect(endpointUrl('http://127.0.0.1:8090', '/v2/orders').href).toBe('http://127.0.0.1:8090/v2/orders');
  });
});

/** An HTTP answer as `exchange` returns it. */
function response(status: number, body = '', headers: Record<string, string> = {}): HttpExchange {
  return { kind: 'response', status, headers, body };
}

const NOW_MS = Date.parse('2026-12-02T10:00:00.000Z');

describe('rateLimitRetryAt', () => {
  it('reads X-RateLimit-Reset as epoch seconds', () => {
    expect(rateLimitRetryAt('1796205630', NOW_MS)).toBe('2026-12-02T10:00:30.000Z');
  });

  it('waits a minute when the header is absent', () => {
    expect(rateLimitRetryAt(undefined, NOW_MS)).toBe('2026-12-02T10:01:00.000Z');
  });

  it.each(['', 'soon', '-5'])('waits a minute when the header reads %j', (reset) => {
    expect(rateLimitRetryAt(reset, NOW_MS)).toBe('2026-12-02T10:01:00.000Z');
  });

  it('reads the first of repeated headers', () => {
    expect(rateLimitRetryAt(['1796205630', '1796205690'], NOW_MS)).toBe('2026-12-02T10:00:30.000Z');
  });
});

describe('orderListOutcome (Alpaca GET /v2/orders answered)', () => {
  it('answers rate_limited with a minute to wait when a 429 lacks X-RateLimit-Reset', () => {
    expect(orderListOutcome(response(429, '{"message":"rate limit exceeded"}'), NOW_MS)).toEqual({ kind: 'rate_limited', retryAt: '2026-12-02T10:01:00.000Z' });
  });

  it('calls a body that is not a JSON array an error', () => {
    expect(orderListOutcome(response(200, '{"orders":[]}'), NOW_MS)).toMatchObject({ kind: 'error', httpStatus: 200 });
  });

  it('calls a page holding something without an id an error naming its place', () => {
    expect(orderListOutcome(response(200, '[{"id":"a","client_order_id":"c","status":"new","symbol":"AAPL"},{"status":"new"}]'), NOW_MS)).toMatchObject({
      kind: 'error',
      detail: expect.stringContaining('orders[1]: id'),
    });
  });

  it('keeps an order with a bad field on the page, its problem named', () => {
    const outcome = orderListOutcome(response(200, '[{"id":"a","client_order_id":"c","status":"new","symbol":"AAPL","filled_qty":"x"}]'), NOW_MS);

    expect(outcome).toMatchObject({ kind: 'page', orders: [{ id: 'a', problems: [expect.stringContaining('filled_qty')] }] });
  });
});

describe('alpacaCancelOutcome (Alpaca DELETE /v2/orders/{id} answered)', () => {
  it.each([401, 403, 429])('calls HTTP %i a definite failure: the request itself was refused', (status) => {
    expect(alpacaCancelOutcome(response(status, '{"message":"no"}'))).toEqual({ kind: 'failed', certainty: 'definite', httpStatus: status, detail: 'no' });
  });

  it.each([500, 502, 503])('calls HTTP %i an ambiguous failure: the cancel may have landed', (status) => {
    expect(alpacaCancelOutcome(response(status))).toMatchObject({ kind: 'failed', certainty: 'ambiguous', httpStatus: status });
  });

  it('keeps the order of a 200 that carries one', () => {
    expect(alpacaCancelOutcome(response(200, '{"id":"a","client_order_id":"c","status":"pending_cancel","symbol":"AAPL"}'))).toMatchObject({
      kind: 'requested',
      order: { id: 'a', status: 'pending_cancel' },
    });
  });
});

describe('leanCancelOutcome (runner POST /v1/orders/{id}/cancel answered)', () => {
  const leanDetail = (taxonomy: string) => JSON.stringify({ detail: `lean_cancel_failed:${taxonomy}:broker said no` });

  it.each(['upstream_auth', 'upstream_error', 'contract_missing_required_field'])('calls a 502 with taxonomy %s definite', (taxonomy) => {
    expect(leanCancelOutcome(response(502, leanDetail(taxonomy)))).toMatchObject({ kind: 'failed', certainty: 'definite', httpStatus: 502 });
  });

  it('calls a 502 whose taxonomy is network_timeout ambiguous', () => {
    expect(leanCancelOutcome(response(502, leanDetail('network_timeout')))).toMatchObject({ kind: 'failed', certainty: 'ambiguous' });
  });

  it('calls a 5xx without a taxonomy ambiguous', () => {
    expect(leanCancelOutcome(response(504, '{"message":"Endpoint request timed out"}'))).toMatchObject({ kind: 'failed', certainty: 'ambiguous', httpStatus: 504 });
  });

  it("keeps the runner's detail of a relayed 422 for the row", () => {
    expect(leanCancelOutcome(response(422, JSON.stringify({ detail: 'lean_cancel_failed:upstream_error:order is already in "filled" state' })))).toEqual({
      kind: 'final',
      httpStatus: 422,
      detail: 'lean_cancel_failed:upstream_error:order is already in "filled" state',
    });
  });

  it('takes a 200 whose body is not an order as a requested cancel without one', () => {
    expect(leanCancelOutcome(response(200, 'ok'))).toEqual({ kind: 'requested', httpStatus: 200 });
  });
});
