import { describe, expect, it } from 'vitest';
import { describeMismatches, verifyAck } from '../../functions/core/ack-verification';
import type { BrokerOrder } from '../../functions/core/execution';
import type { OrderRequest } from '../../functions/core/order-request';
import { brokerOrder, order } from '../support/fakes';

const TOLERANCE = 0.01;
const limitOrder = order({ qty: '10', type: 'limit', limit_price: '100' });

/** An ack of `limitOrder` whose raw body carries `limit_price`, as the runner relays Alpaca's order. */
function ackWithLimitPrice(limitPrice: unknown): BrokerOrder {
  const ack = brokerOrder(limitOrder);
  return { ...ack, raw: { ...ack.raw, limit_price: limitPrice } };
}

describe('verifyAck', () => {
  it('finds nothing wrong with an exact acknowledgement', () => {
    expect(verifyAck(limitOrder, ackWithLimitPrice('100'), TOLERANCE)).toEqual([]);
  });

  it('accepts an ack that differs only by the qty with trailing zeros', () => {
    expect(verifyAck(order(), brokerOrder(order(), { qty: '10.000' }), TOLERANCE)).toEqual([]);
  });

  it.each([
    ['symbol', { symbol: 'AAPLX' }, 'symbol_mismatch'],
    ['side', { side: 'sell' }, 'side_mismatch'],
    ['qty', { qty: '100' }, 'qty_mismatch'],
    ['missing qty', { qty: undefined }, 'qty_mismatch'],
  ])('reports a %s mismatch', (_case, overrides, mismatch) => {
    expect(verifyAck(order(), brokerOrder(order(), overrides), TOLERANCE)).toEqual([mismatch]);
  });

  it('reports a qty mismatch and the notional mismatch it causes on a priced order', () => {
    const priced = order({ reference_price: '50' });

    expect(verifyAck(priced, brokerOrder(priced, { qty: '20' }), TOLERANCE)).toEqual(['qty_mismatch', 'notional_mismatch']);
  });

  it.each([
    ['a string', '102'],
    ['a number', 102],
  ])('reports a notional mismatch when the ack limit_price, given as %s, is 2% off', (_case, limitPrice) => {
    expect(verifyAck(limitOrder, ackWithLimitPrice(limitPrice), TOLERANCE)).toEqual(['notional_mismatch']);
  });

  it.each([
    ['0.5% above', '100.5'],
    ['0.5% below', '99.5'],
    ['exactly at the tolerance', '101'],
  ])('accepts an ack limit_price %s', (_case, limitPrice) => {
    expect(verifyAck(limitOrder, ackWithLimitPrice(limitPrice), TOLERANCE)).toEqual([]);
  });

  it('uses the configured tolerance, so a 2% difference passes under a 5% tolerance', () => {
    expect(verifyAck(limitOrder, ackWithLimitPrice('102'), 0.05)).toEqual([]);
  });

  it('reports a notional mismatch when the ack states a notional 2% off the expected one', () => {
    const priced = order({ reference_price: '100' });

    expect(verifyAck(priced, brokerOrder(priced, { notional: '1020' }), TOLERANCE)).toEqual(['notional_mismatch']);
  });
});

describe('verifyAck: fields as brokers spell them', () => {
  it('reports a client_order_id mismatch', () => {
    expect(verifyAck(order(), brokerOrder(order(), { client_order_id: 'ord-0002' }), TOLERANCE)).toEqual(['client_order_id_mismatch']);
  });

  it('flags symbol_mismatch when the ack symbol is the order’s in lower case', () => {
    const ack = brokerOrder(order(), { symbol: 'aapl' });

    const mismatches = verifyAck(order(), ack, TOLERANCE);

    expect(mismatches).toEqual(['symbol_mismatch']);
  });

  it('flags symbol_mismatch when the ack symbol has whitespace around it', () => {
    const ack = brokerOrder(order(), { symbol: ' AAPL\t' });

    const mismatches = verifyAck(order(), ack, TOLERANCE);

    expect(mismatches).toEqual(['symbol_mismatch']);
  });

  it('flags side_mismatch when the ack carries no side', () => {
    const ack = brokerOrder(order(), { side: undefined });

    const mismatches = verifyAck(order(), ack, TOLERANCE);

    expect(mismatches).toEqual(['side_mismatch']);
  });

  it('reports a symbol mismatch when the ack carries no symbol', () => {
    expect(verifyAck(order(), brokerOrder(order(), { symbol: undefined }), TOLERANCE)).toEqual(['symbol_mismatch']);
  });
});

describe('verifyAck: notional orders', () => {
  const notionalOrder = order({ qty: undefined, notional: '1000' });

  it('does not ask a notional order’s ack for a qty', () => {
    expect(verifyAck(notionalOrder, brokerOrder(notionalOrder), TOLERANCE)).toEqual([]);
  });

  it('reports a notional mismatch when the ack’s notional is 2% off the order’s', () => {
    expect(verifyAck(notionalOrder, brokerOrder(notionalOrder, { notional: '1020' }), TOLERANCE)).toEqual(['notional_mismatch']);
  });

  it('flags notional_mismatch when a notional order is acknowledged without a notional', () => {
    const ack = brokerOrder(notionalOrder, { notional: undefined });

    const mismatches = verifyAck(notionalOrder, ack, TOLERANCE);

    expect(mismatches).toEqual(['notional_mismatch']);
  });

  it('flags notional_mismatch when a notional order is acknowledged with only a qty worth its notional', () => {
    const priced = order({ qty: undefined, notional: '1000', reference_price: '100' });
    const ack = brokerOrder(priced, { notional: undefined, qty: '10' });

    const mismatches = verifyAck(priced, ack, TOLERANCE);

    expect(mismatches).toEqual(['notional_mismatch']);
  });
});

describe('verifyAck: the acknowledged price', () => {
  it.each([
    ['an empty string', ''],
    ['null', null],
    ['a boolean', true],
  ])('falls back to the order’s limit price when the ack limit_price is %s', (_case, limitPrice) => {
    expect(verifyAck(limitOrder, ackWithLimitPrice(limitPrice), TOLERANCE)).toEqual([]);
  });

  it('prices a market order’s ack at the order’s reference price', () => {
    const priced = order({ reference_price: '100' });

    expect(verifyAck(priced, brokerOrder(priced, { qty: '10.2' }), TOLERANCE)).toEqual(['qty_mismatch', 'notional_mismatch']);
  });

  it('cannot check the notional of a market order without a reference price, whatever the ack states', () => {
    expect(verifyAck(order(), brokerOrder(order(), { notional: '999999' }), TOLERANCE)).toEqual([]);
  });

  it('does not divide by an expected notional of zero', () => {
    const zeroPriced: OrderRequest = { ...order(), reference_price: '0' };

    expect(verifyAck(zeroPriced, brokerOrder(zeroPriced, { notional: '5' }), TOLERANCE)).toEqual([]);
  });
});

describe('verifyAck: contract problems', () => {
  it('reports a contract violation when the ack lists problems', () => {
    expect(verifyAck(order(), brokerOrder(order(), { problems: ['status: missing'] }), TOLERANCE)).toEqual(['contract_violation']);
  });

  it('reports no contract violation for an empty problem list', () => {
    expect(verifyAck(order(), brokerOrder(order(), { problems: [] }), TOLERANCE)).toEqual([]);
  });
});

describe('describeMismatches', () => {
  it('lists the mismatches comma-separated', () => {
    expect(describeMismatches(['symbol_mismatch', 'qty_mismatch'], brokerOrder(order()))).toBe('symbol_mismatch, qty_mismatch');
  });

  it('names every contract problem, separated by semicolons', () => {
    const ack = brokerOrder(order(), { problems: ['status: missing', 'side: "hold" is not buy or sell'] });

    expect(describeMismatches(['side_mismatch', 'contract_violation'], ack)).toBe('side_mismatch, contract_violation (status: missing; side: "hold" is not buy or sell)');
  });

  it('names no problems when the ack lists none', () => {
    expect(describeMismatches(['contract_violation'], brokerOrder(order()))).toBe('contract_violation ()');
  });
});
