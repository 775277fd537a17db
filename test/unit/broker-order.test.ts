import { describe, expect, it } from 'vitest';
import { lookupOutcome, parseBrokerOrder } from '../../functions/adapters/broker-order';

/** An order object as Alpaca documents it (and as the runner relays it). */
const ALPACA_ORDER = {
  id: '61e69015-8549-4bfd-b9c3-01e75843f47d',
  client_order_id: 'ord-0001',
  status: 'accepted',
  symbol: 'AAPL',
  side: 'buy',
  qty: '10',
  notional: null,
  type: 'market',
  time_in_force: 'day',
  filled_qty: '0',
  filled_avg_price: null,
  filled_at: null,
  submitted_at: '2026-12-01T14:30:00.123456Z',
  updated_at: '2026-12-01T14:30:00.123456Z',
};

/** The same order once Alpaca filled it. */
const FILLED_ORDER = { ...ALPACA_ORDER, status: 'filled', filled_qty: '10', filled_avg_price: '187.42', filled_at: '2026-12-01T14:30:01.5Z', updated_at: '2026-12-01T14:30:01.5Z' };

describe('parseBrokerOrder', () => {
  it('reads a documented order with no problems and keeps the whole body', () => {
    const parsed = parseBrokerOrder(ALPACA_ORDER);

    expect(parsed).toEqual({
      ok: true,
      order: {
        id: ALPACA_ORDER.id,
        client_order_id: 'ord-0001',
        status: 'accepted',
        symbol: 'AAPL',
        side: 'buy',
        qty: '10',
        filled_qty: '0',
        submitted_at: '2026-12-01T14:30:00.123456Z',
        updated_at: '2026-12-01T14:30:00.123456Z',
        raw: ALPACA_ORDER,
      },
    });
  });

  it('reads the fill of a filled order: quantity, average price and when', () => {
    const parsed = parseBrokerOrder(FILLED_ORDER);

    expect(parsed).toMatchObject({ ok: true, order: { filled_qty: '10', filled_avg_price: '187.42', filled_at: '2026-12-01T14:30:01.5Z', updated_at: '2026-12-01T14:30:01.5Z' } });
  });

  it('leaves out the fill fields Alpaca answers null, without naming a problem', () => {
    const parsed = parseBrokerOrder(ALPACA_ORDER);

    expect(parsed.ok && [parsed.order.filled_avg_price, parsed.order.filled_at, parsed.order.problems]).toEqual([undefined, undefined, undefined]);
  });

  it('reads a runner answer without the life fields as an order with no problems', () => {
    const { filled_qty: _qty, filled_avg_price: _price, filled_at: _at, submitted_at: _submitted, updated_at: _updated, ...bare } = ALPACA_ORDER;

    const parsed = parseBrokerOrder(bare);

    expect(parsed.ok && parsed.order.problems).toBeUndefined();
  });

  it('reads a numeric fill price, as the LEAN contract allows', () => {
    expect(parseBrokerOrder({ ...FILLED_ORDER, filled_avg_price: 187.5 })).toMatchObject({ ok: true, order: { filled_avg_price: '187.5' } });
  });

  it('reads a timestamp with an offset and nanoseconds', () => {
    expect(parseBrokerOrder({ ...FILLED_ORDER, filled_at: '2026-12-01T09:30:01.123456789-05:00' })).toMatchObject({ ok: true, order: { filled_at: '2026-12-01T09:30:01.123456789-05:00' } });
  });

  it('reads a numeric qty, as the LEAN contract allows', () => {
    expect(parseBrokerOrder({ ...ALPACA_ORDER, qty: 10 })).toMatchObject({ ok: true, order: { qty: '10' } });
  });

  it.each([
    ['no id', { id: undefined }],
    ['a null id', { id: null }],
    ['an empty id', { id: '' }],
  ])('is no order with %s', (_case, patch) => {
    expect(parseBrokerOrder({ ...ALPACA_ORDER, ...patch })).toMatchObject({ ok: false, detail: expect.stringContaining('id') });
  });

  it.each([
    ['a numeric id', 42, '42'],
    ['an object id', { n: 1 }, '{"n":1}'],
  ])('is an order, with the id as text and a problem named, when it has %s', (_case, id, text) => {
    const parsed = parseBrokerOrder({ ...ALPACA_ORDER, id });

    expect(parsed).toMatchObject({ ok: true, order: { id: text, problems: [`id: ${text} is not a string`] } });
  });

  it.each([null, [], 'accepted', 7])('is no order when the body is %j', (body) => {
    expect(parseBrokerOrder(body)).toEqual({ ok: false, detail: 'body: not a JSON object' });
  });

  it.each([
    ['a status Alpaca does not document', { status: 'working' }, 'status: "working"'],
    ['no status', { status: undefined }, 'status: missing'],
    ['an empty qty', { qty: '' }, 'qty: "" must be a decimal string'],
    ['a negative numeric qty', { qty: -1 }, 'qty: -1'],
    ['a side that is neither buy nor sell', { side: 'short' }, 'side: "short"'],
    ['an undocumented type', { type: 'market_on_close' }, 'type: "market_on_close"'],
    ['an undocumented time_in_force', { time_in_force: 'gtd' }, 'time_in_force: "gtd"'],
    ['no client_order_id', { client_order_id: undefined }, 'client_order_id: missing'],
    ['a client_order_id over 128 characters', { client_order_id: 'x'.repeat(129) }, 'client_order_id: "xxx'],
    ['an empty symbol', { symbol: '' }, 'symbol: ""'],
    ['a filled_qty that is not a decimal', { filled_qty: 'ten' }, 'filled_qty: "ten" must be a decimal string'],
    ['a filled_avg_price of the wrong type', { filled_avg_price: true }, 'filled_avg_price: true'],
    ['a filled_at that is not a timestamp', { filled_at: 'yesterday' }, 'filled_at: "yesterday" must be an RFC 3339 timestamp'],
    ['a numeric submitted_at', { submitted_at: 1764599400 }, 'submitted_at: 1764599400'],
    ['an updated_at without a time zone', { updated_at: '2026-12-01T14:30:00' }, 'updated_at: "2026-12-01T14:30:00" must be an RFC 3339 timestamp'],
  ])('is an order with a problem named when it has %s', (_case, patch, problem) => {
    const parsed = parseBrokerOrder({ ...ALPACA_ORDER, ...patch });

    expect(parsed.ok).toBe(true);
    expect(parsed.ok && parsed.order.problems).toEqual([expect.stringContaining(problem)]);
  });

  it('leaves a fill field that broke the contract out of the order, so a bad fill is never written', () => {
    const parsed = parseBrokerOrder({ ...FILLED_ORDER, filled_qty: '-1', filled_avg_price: 'n/a' });

    expect(parsed.ok && [parsed.order.filled_qty, parsed.order.filled_avg_price]).toEqual([undefined, undefined]);
  });

  it('leaves a field that broke the contract out of the order, so it is never taken for the one asked', () => {
    const parsed = parseBrokerOrder({ ...ALPACA_ORDER, qty: '', status: 'working' });

    expect(parsed.ok && [parsed.order.qty, parsed.order.status]).toEqual([undefined, undefined]);
  });

  it.each(['new', 'partially_filled', 'filled', 'pending_new', 'accepted_for_bidding', 'held', 'rejected', 'canceled', 'expired'])('accepts the documented status %s', (status) => {
    const parsed = parseBrokerOrder({ ...ALPACA_ORDER, status });

    expect(parsed.ok && parsed.order.problems).toBeUndefined();
  });
});

describe('lookupOutcome', () => {
  const answer = (status: number, body: unknown) => ({ kind: 'response' as const, status, headers: {}, body: JSON.stringify(body) });

  it('finds the order answered under the id asked', () => {
    expect(lookupOutcome(answer(200, ALPACA_ORDER), 'ord-0001')).toMatchObject({ kind: 'found', order: { id: ALPACA_ORDER.id } });
  });

  it('says not found on a 404', () => {
    expect(lookupOutcome(answer(404, { detail: 'order_not_found' }), 'ord-0001')).toEqual({ kind: 'not_found', httpStatus: 404 });
  });

  it('calls an order under another id an error, never a find', () => {
    expect(lookupOutcome(answer(200, { ...ALPACA_ORDER, client_order_id: 'other' }), 'ord-0001')).toMatchObject({ kind: 'error', detail: 'lookup answered another client_order_id (other)' });
  });

  it('calls an order without a client_order_id an error', () => {
    expect(lookupOutcome(answer(200, { ...ALPACA_ORDER, client_order_id: undefined }), 'ord-0001')).toMatchObject({ kind: 'error', detail: 'lookup answered another client_order_id (none)' });
  });

  it('calls a body without an order id an error', () => {
    expect(lookupOutcome(answer(200, { ...ALPACA_ORDER, id: undefined }), 'ord-0001')).toMatchObject({ kind: 'error', httpStatus: 200 });
  });
});
