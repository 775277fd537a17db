import { describe, expect, it } from 'vitest';
import { verifyAck } from '../../functions/core/ack-verification';
import type { BrokerOrder } from '../../functions/core/execution';
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

  it.each([
    ['the symbol in lower case', { symbol: 'aapl' }],
    ['the qty with trailing zeros', { qty: '10.000' }],
    ['no side at all', { side: undefined }],
  ])('accepts an ack that differs only by %s', (_case, overrides) => {
    expect(verifyAck(order(), brokerOrder(order(), overrides), TOLERANCE)).toEqual([]);
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
