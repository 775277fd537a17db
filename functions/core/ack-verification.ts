import type { BrokerOrder } from './execution';
import { expectedNotional, type OrderRequest } from './order-request';

/** How a broker's acknowledgement differs from the order that was asked for. */
export type AckMismatch =
  | 'client_order_id_mismatch'
  | 'symbol_mismatch'
  | 'side_mismatch'
  | 'qty_mismatch'
  | 'notional_mismatch'
  | 'contract_violation';

/**
 * Compares what a broker (LEAN or Alpaca) says it placed with what was asked. An acknowledgement
 * carries an order id, so an order exists: any difference means nobody intended it as it is. It is
 * never a reason to send the order again, always a reason for review.
 */
export function verifyAck(order: OrderRequest, ack: BrokerOrder, notionalTolerance: number): AckMismatch[] {
  const mismatches: AckMismatch[] = [];
  if (ack.client_order_id !== order.client_order_id) mismatches.push('client_order_id_mismatch');
  // Exactly: the order's symbol is canonical (trimmed, upper case) and Alpaca echoes the symbol it
  // placed, so any other spelling, a missing symbol included, is another order than the one sent.
  if (ack.symbol !== order.symbol) mismatches.push('symbol_mismatch');
  // Alpaca's order always carries its side: an ack without one does not say which way it traded.
  if (ack.side !== order.side) mismatches.push('side_mismatch');
  // A missing ack qty reads as NaN, which equals no qty: a mismatch.
  if (order.qty !== undefined && Number(ack.qty) !== Number(order.qty)) mismatches.push('qty_mismatch');
  if (notionalUnacknowledged(order, ack) || notionalDeviation(order, ack) > notionalTolerance) mismatches.push('notional_mismatch');
  if ((ack.problems ?? []).length > 0) mismatches.push('contract_violation');
  return mismatches;
}

/** The mismatches in words, for `status_detail` and the log: the contract problems named one by one. */
export function describeMismatches(mismatches: readonly AckMismatch[], ack: BrokerOrder): string {
  return mismatches.map((mismatch) => (mismatch === 'contract_violation' ? `contract_violation (${(ack.problems ?? []).join('; ')})` : mismatch)).join(', ');
}

/**
 * A notional order whose ack states no notional: Alpaca echoes the notional of a notional order, so
 * an ack without one (a qty instead, or nothing) does not confirm the amount that was asked for.
 */
function notionalUnacknowledged(order: OrderRequest, ack: BrokerOrder): boolean {
  return order.notional !== undefined && ack.notional === undefined;
}

/**
 * How far the acknowledged notional is off the expected one, as a fraction of the expected one.
 * NaN, which exceeds no tolerance, when there is nothing to compare: no expected notional (no
 * price), none acknowledged (no ack qty, no price), or an expected notional that is not positive.
 */
function notionalDeviation(order: OrderRequest, ack: BrokerOrder): number {
  const expected = expectedNotional(order) ?? Number.NaN;
  if (!(expected > 0)) return Number.NaN;
  return Math.abs(acknowledgedNotional(order, ack) - expected) / expected;
}

/** The notional the ack states, or its qty at the acknowledged (else the order's) price; NaN without a qty or a price. */
function acknowledgedNotional(order: OrderRequest, ack: BrokerOrder): number {
  if (ack.notional !== undefined) return Number(ack.notional);
  const ackLimit = ack.raw.limit_price;
  // Runners echo limit_price as a string (Alpaca style) or a JSON number; both are the acknowledged price.
  const acknowledgedPrice = typeof ackLimit === 'number' || (typeof ackLimit === 'string' && ackLimit !== '') ? ackLimit : undefined;
  const price = acknowledgedPrice ?? order.limit_price ?? order.reference_price;
  // Number(undefined) is NaN.
  return Number(ack.qty) * Number(price);
}
