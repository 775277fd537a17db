import { describe, expect, it } from 'vitest';
import { canonicalDecimal, expectedNotional, hashOrderRequest, orderRequestSchema, parseOrderRequest, type FieldIssue } from '../../functions/core/order-request';
import { order, orderBody } from '../support/fakes';

/** The issues of a body that must be rejected; fails the test if it was accepted. */
function issuesOf(body: unknown): readonly FieldIssue[] {
  const result = parseOrderRequest(body);
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.order)}`);
  return result.issues;
}

function fieldsOf(body: unknown): string[] {
  return issuesOf(body).map((issue) => issue.field);
}

function withoutField(field: string): Record<string, unknown> {
  const { [field]: _removed, ...rest } = orderBody();
  return rest;
}

describe('parseOrderRequest normalization', () => {
  it('accepts a minimal market order unchanged', () => {
    const result = parseOrderRequest(orderBody());

    expect(result).toEqual({ ok: true, order: orderBody() });
  });

  it.each([
    [' aapl ', 'AAPL'],
    ['brk.b', 'BRK.B'],
    ['\tMsFt\n', 'MSFT'],
  ])('upper-cases and trims the symbol %j to %j', (symbol, expected) => {
    expect(order({ symbol }).symbol).toBe(expected);
  });

  it.each<[string | number, string]>([
    ['01.500', '1.5'],
    ['10.000', '10'],
    ['0.10', '0.1'],
    [' 7 ', '7'],
    ['000123.456000', '123.456'],
    [10, '10'],
    [1.5, '1.5'],
    [0.25, '0.25'],
  ])('normalizes the qty %j to the canonical decimal string %j', (qty, expected) => {
    expect(order({ qty }).qty).toBe(expected);
  });

  it.each([
    ['0.05', '0.05'],
    ['1.005', '1.005'],
    ['0.0500', '0.05'],
    ['10.00100', '10.001'],
    ['100', '100'],
    ['0.5', '0.5'],
  ])('keeps the inner zeros of the qty %j, dropping only trailing ones: %j', (qty, expected) => {
    expect(order({ qty }).qty).toBe(expected);
  });

  it.each([
    ['15 integer digits', '123456789012345', '123456789012345'],
    ['9 fractional digits', '0.123456789', '0.123456789'],
    ['15 integer and 9 fractional digits', '999999999999999.999999999', '999999999999999.999999999'],
  ])('accepts a qty of %s', (_case, qty, expected) => {
    expect(order({ qty }).qty).toBe(expected);
  });

  it('canonicalizes every price field, not only qty', () => {
    const parsed = order({ type: 'stop_limit', limit_price: '0100.50', stop_price: 99.0, reference_price: '100.000' });

    expect(parsed).toMatchObject({ limit_price: '100.5', stop_price: '99', reference_price: '100' });
  });

  it('accepts a fractional qty on a market day order', () => {
    expect(order({ qty: '0.5' }).qty).toBe('0.5');
  });

  it('accepts a qty whose fraction is only zeros on a limit order, as the whole number', () => {
    expect(order({ qty: '10.00', type: 'limit', limit_price: '5' }).qty).toBe('10');
  });

  it.each([
    ['a limit day order', { type: 'limit', limit_price: '10', time_in_force: 'day' }],
    ['a limit gtc order', { type: 'limit', limit_price: '10', time_in_force: 'gtc' }],
  ])('accepts extended_hours true on %s', (_case, overrides) => {
    expect(order({ ...overrides, extended_hours: true }).extended_hours).toBe(true);
  });

  it('accepts extended_hours false on any order', () => {
    expect(order({ type: 'stop', stop_price: '10', time_in_force: 'ioc', extended_hours: false }).extended_hours).toBe(false);
  });

  it('accepts a notional market day order without qty', () => {
    const parsed = order({ qty: undefined, notional: '250.00' });

    expect(parsed.notional).toBe('250');
    expect(parsed.qty).toBeUndefined();
  });
});

describe('parseOrderRequest rejections', () => {
  it.each(['client_order_id', 'symbol', 'side', 'type', 'time_in_force'])('reports the missing required field %s by name', (field) => {
    expect(fieldsOf(withoutField(field))).toContain(field);
  });

  it('names every unknown field of one body in a single issue', () => {
    const issues = issuesOf(orderBody({ account: 'x', venue: 'y' }));

    expect(issues).toEqual([{ field: 'account,venue', message: 'unknown field' }]);
  });

  it('reports an unknown field by its name with the message "unknown field"', () => {
    const issues = issuesOf(orderBody({ account: 'x' }));

    expect(issues).toContainEqual({ field: 'account', message: 'unknown field' });
  });

  it.each([
    ['"0"', '0'],
    ['"0.000"', '0.000'],
    ['0', 0],
    ['"-1"', '-1'],
    ['-5', -5],
    ['"abc"', 'abc'],
    ['"1e3"', '1e3'],
    ['"1.2.3"', '1.2.3'],
    ['"1."', '1.'],
    ['".5"', '.5'],
    ['"1,5"', '1,5'],
    ['"x1"', 'x1'],
    ['"1x"', '1x'],
    ['with 16 integer digits', '1234567890123456'],
    ['with 10 fractional digits', '0.1234567891'],
  ])('rejects the qty %s on the qty field', (_label, qty) => {
    expect(fieldsOf(orderBody({ qty }))).toEqual(['qty']);
  });

  it.each([
    ['not a positive decimal', 'abc', 'must be a positive decimal (up to 15 integer and 9 fractional digits)'],
    ['zero', '0.00', 'must be greater than zero'],
  ])('says why a qty that is %s is refused', (_case, qty, message) => {
    expect(issuesOf(orderBody({ qty }))).toEqual([{ field: 'qty', message }]);
  });

  it.each([
    ['both qty and notional', orderBody({ qty: '1', notional: '100' })],
    ['neither qty nor notional', withoutField('qty')],
  ])('rejects an order with %s on the qty field, saying exactly one is required', (_case, body) => {
    expect(issuesOf(body)).toEqual([{ field: 'qty', message: 'exactly one of qty or notional is required' }]);
  });

  it.each([
    ['a limit order without limit_price', { type: 'limit' }, 'limit_price', 'is required for limit orders'],
    ['a stop_limit order without limit_price', { type: 'stop_limit', stop_price: '90' }, 'limit_price', 'is required for stop_limit orders'],
    ['a stop order without stop_price', { type: 'stop' }, 'stop_price', 'is required for stop orders'],
    ['a stop_limit order without stop_price', { type: 'stop_limit', limit_price: '90' }, 'stop_price', 'is required for stop_limit orders'],
    ['a market order with limit_price', { limit_price: '100' }, 'limit_price', 'is not allowed for market orders'],
    ['a stop order with limit_price', { type: 'stop', stop_price: '90', limit_price: '100' }, 'limit_price', 'is not allowed for stop orders'],
    ['a market order with stop_price', { stop_price: '100' }, 'stop_price', 'is not allowed for market orders'],
    ['a limit order with stop_price', { type: 'limit', limit_price: '90', stop_price: '100' }, 'stop_price', 'is not allowed for limit orders'],
    ['a notional limit order', { qty: undefined, notional: '100', type: 'limit', limit_price: '10' }, 'notional', 'is only allowed for market orders with time_in_force day'],
    ['a notional gtc order', { qty: undefined, notional: '100', time_in_force: 'gtc' }, 'notional', 'is only allowed for market orders with time_in_force day'],
  ])('rejects %s on the %s field, saying why', (_case, overrides, field, message) => {
    expect(issuesOf(orderBody(overrides))).toEqual([{ field, message }]);
  });

  it.each([
    ['a fractional qty on a limit order', { qty: '1.5', type: 'limit', limit_price: '10' }],
    ['a fractional qty on a market gtc order', { qty: '0.5', time_in_force: 'gtc' }],
    ['a fractional numeric qty on a stop order', { qty: 2.25, type: 'stop', stop_price: '10' }],
  ])('rejects %s on the qty field', (_case, overrides) => {
    expect(issuesOf(orderBody(overrides))).toEqual([
      { field: 'qty', message: 'must be a whole number except for market orders with time_in_force day' },
    ]);
  });

  it.each([
    ['a market order', {}],
    ['a stop order', { type: 'stop', stop_price: '10' }],
    ['a stop_limit order', { type: 'stop_limit', stop_price: '10', limit_price: '10' }],
    ['a limit ioc order', { type: 'limit', limit_price: '10', time_in_force: 'ioc' }],
    ['a limit opg order', { type: 'limit', limit_price: '10', time_in_force: 'opg' }],
  ])('rejects extended_hours true on %s on the extended_hours field', (_case, overrides) => {
    expect(issuesOf(orderBody({ ...overrides, extended_hours: true }))).toEqual([
      { field: 'extended_hours', message: 'is only allowed for limit orders with time_in_force day or gtc' },
    ]);
  });

  it.each([
    ['a dotless i that upper-cases to I', 'ıbm'],
    ['a long s that upper-cases to S', 'ſpy'],
    ['a ligature that upper-cases to FF', '\ufb00'],
    ['full-width letters', 'ＡＡＰＬ'],
    ['a letter with a diacritic', 'ÄAPL'],
    ['a no-break space that trim() removes', '\u00a0AAPL'],
    ['a byte order mark that trim() removes', 'AAPL\ufeff'],
    ['a character before the ticker', '$AAPL'],
    ['a character after the ticker', 'AAPL?'],
    ['a leading digit', '1AAPL'],
    ['a space inside', 'BRK B'],
    ['22 characters', 'A'.repeat(22)],
  ])('rejects a symbol with %s on the symbol field', (_case, symbol) => {
    expect(issuesOf(orderBody({ symbol }))).toEqual([
      { field: 'symbol', message: 'must be a ticker symbol of ASCII letters, digits, . / - such as AAPL or BRK.B' },
    ]);
  });

  it.each([
    ['21 characters', 'A'.repeat(21), 'A'.repeat(21)],
    ['a slash and a dash', 'btc/usd-x', 'BTC/USD-X'],
    ['digits after the first letter', 'x9z', 'X9Z'],
    ['a single letter', 'f', 'F'],
  ])('accepts a symbol of %s', (_case, symbol, expected) => {
    expect(order({ symbol }).symbol).toBe(expected);
  });

  it.each([
    ['129 characters long', 'a'.repeat(129)],
    ['empty', ''],
    ['containing a space', 'ord 1'],
    ['containing a slash', 'ord/1'],
    ['containing a non-ASCII letter', 'ordé'],
  ])('rejects a client_order_id %s on the client_order_id field, naming the characters allowed', (_case, client_order_id) => {
    expect(issuesOf(orderBody({ client_order_id }))).toEqual([
      { field: 'client_order_id', message: 'must be 1-128 characters of A-Z a-z 0-9 . _ : -' },
    ]);
  });

  it('accepts a client_order_id of exactly 128 allowed characters', () => {
    const id = 'A-z0.9_:'.repeat(16);

    expect(order({ client_order_id: id }).client_order_id).toBe(id);
  });

  it.each([
    ['null', null],
    ['an array', [orderBody()]],
    ['a string', 'buy 10 AAPL'],
    ['a number', 42],
  ])('rejects %s as a body with the field "(body)"', (_case, body) => {
    expect(fieldsOf(body)).toEqual(['(body)']);
  });

  it('reports every problem of a body at once', () => {
    const fields = fieldsOf({ client_order_id: 'ok-1', symbol: '???', side: 'hold', qty: '-1', type: 'market', time_in_force: 'day' });

    expect(fields).toEqual(expect.arrayContaining(['symbol', 'side', 'qty']));
  });
});

describe('parseOrderRequest: Alpaca’s sub-penny rule on limit_price and stop_price', () => {
  const SUB_PENNY = 'must be in whole cents at or above 1 (at most 2 decimals), or at most 4 decimals below 1';
  /** A body whose type requires `field`, priced at `price` there. */
  const pricedAt = (field: string, price: string | number): Record<string, unknown> =>
    field === 'limit_price' ? orderBody({ type: 'limit', limit_price: price }) : orderBody({ type: 'stop', stop_price: price });
  const FIELDS = ['limit_price', 'stop_price'];

  it.each(
    FIELDS.flatMap((field) => [
      [field, '10.51', '10.51', '2 decimals at or above 1'],
      [field, '1.01', '1.01', '2 decimals just above 1'],
      [field, '10.500', '10.5', 'trailing zeros past 2 decimals, 10.5 in canonical form'],
      [field, '0.1234', '0.1234', '4 decimals below 1'],
      [field, '0.9999', '0.9999', '4 decimals just below 1'],
    ]),
  )('accepts the %s %j as %j: %s', (field, price, canonical) => {
    const result = parseOrderRequest(pricedAt(field, price));

    expect(result).toMatchObject({ ok: true, order: { [field]: canonical } });
  });

  it.each(
    FIELDS.flatMap((field): [string, string | number, string][] => [
      [field, '10.505', '3 decimals at or above 1'],
      [field, '1.001', '3 decimals just above 1'],
      [field, 10.505, '3 decimals in a JSON number'],
      [field, '0.12345', '5 decimals below 1'],
    ]),
  )('rejects the %s %j on that field, naming the sub-penny rule: %s', (field, price) => {
    const issues = issuesOf(pricedAt(field, price));

    expect(issues).toEqual([{ field, message: SUB_PENNY }]);
  });
});

describe('orderRequestSchema', () => {
  it.each([
    ['a qty that is not a decimal', { qty: 'abc' }],
    ['a zero qty', { qty: '0' }],
    ['both qty and notional', { notional: '100' }],
    ['a limit order without limit_price', { type: 'limit' }],
    ['a market order with limit_price', { limit_price: '100' }],
    ['a stop order without stop_price', { type: 'stop' }],
    ['a market order with stop_price', { stop_price: '100' }],
    ['a notional gtc order', { qty: undefined, notional: '100', time_in_force: 'gtc' }],
    ['a fractional qty on a limit order', { qty: '1.5', type: 'limit', limit_price: '10' }],
    ['extended_hours on a market order', { extended_hours: true }],
    ['a sub-penny limit_price', { type: 'limit', limit_price: '10.505' }],
  ])('reports its own rule broken by %s as a zod custom issue', (_case, overrides) => {
    const result = orderRequestSchema.safeParse(orderBody(overrides));

    expect(result.error?.issues.map((issue) => issue.code)).toEqual(['custom']);
  });
});

describe('hashOrderRequest', () => {
  it('gives equal hashes for bodies that differ only in spelling', () => {
    const canonical = order({ symbol: 'AAPL', qty: '15', type: 'limit', limit_price: '100' });
    const spelled = parseOrderRequest({
      limit_price: 100.0,
      type: 'limit',
      qty: '015.000',
      symbol: ' aapl ',
      side: 'buy',
      time_in_force: 'day',
      client_order_id: 'ord-0001',
    });
    if (!spelled.ok) throw new Error('fixture must be valid');

    expect(hashOrderRequest(spelled.order)).toBe(hashOrderRequest(canonical));
  });

  it('does not depend on the order of the keys in the object', () => {
    const parsed = order({ strategy_id: 'momentum' });
    const reversed = Object.fromEntries(Object.entries(parsed).reverse()) as typeof parsed;

    expect(hashOrderRequest(reversed)).toBe(hashOrderRequest(parsed));
  });

  it('ignores an optional field present with the value undefined', () => {
    const parsed = order();

    expect(hashOrderRequest({ ...parsed, strategy_id: undefined })).toBe(hashOrderRequest(parsed));
  });

  it('is a SHA-256 hex digest', () => {
    expect(hashOrderRequest(order())).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['qty', { qty: '11' }],
    ['side', { side: 'sell' }],
    ['symbol', { symbol: 'MSFT' }],
    ['client_order_id', { client_order_id: 'ord-0002' }],
    ['time_in_force', { time_in_force: 'gtc' }],
    ['an optional strategy_id', { strategy_id: 'momentum' }],
  ])('gives a different hash when the %s differs', (_field, overrides) => {
    expect(hashOrderRequest(order(overrides))).not.toBe(hashOrderRequest(order()));
  });
});

describe('canonicalDecimal', () => {
  it('refuses text that is not a decimal, naming it', () => {
    expect(() => canonicalDecimal('1e3')).toThrow('not a decimal: 1e3');
  });
});

describe('expectedNotional', () => {
  it.each([
    ['the notional itself', { qty: undefined, notional: '250.5' }, 250.5],
    ['qty times limit_price', { qty: '10', type: 'limit', limit_price: '12.5' }, 125],
    ['qty times reference_price', { qty: '4', reference_price: '20' }, 80],
    ['qty times limit_price, ignoring reference_price', { qty: '2', type: 'limit', limit_price: '10', reference_price: '99' }, 20],
  ])('is %s', (_case, overrides, expected) => {
    expect(expectedNotional(order(overrides))).toBe(expected);
  });

  it('is undefined for an order that carries neither qty nor notional', () => {
    expect(expectedNotional({ ...order({ reference_price: '20' }), qty: undefined })).toBeUndefined();
  });

  it('is undefined for a qty market order without a reference price', () => {
    expect(expectedNotional(order())).toBeUndefined();
  });
});
