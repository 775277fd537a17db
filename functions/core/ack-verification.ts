import type { BrokerOrder } from './execution';
import { expectedNotional, type OrderRequest } from './order-request';

/** How a LEAN acknowledgement differs from the order that was asked for. */
export type AckMismatch = 'symbol_mismatch' | 'side_mismatch' | 'qty_mismatch' | 'notional_mismatch';

/**
 * Compares what LEAN says it placed with what was asked. Any difference means an order exists
 * that nobody intended: it is never a reason to fall back, always a reason for review.
 */
export function verifyLeanAck(order: OrderRequest, ack: BrokerOrder, notionalTolerance: number): AckMismatch[] {
  const mismatches: AckMismatch[] = [];
  if (ack.symbol.trim().toUpperCase() !== order.symbol) mismatches.push('symbol_mismatch');
  if (ack.side !== undefined && ack.side !== order.side) mismatches.push('side_mismatch');
  if (order.qty !== undefined && (ack.qty === undefined || Number(ack.qty) !== Number(order.qty))) {
    mismatches.push('qty_mismatch');
  }
  const expected = expectedNotional(order);
  const acknowledged = acknowledgedNotional(order, ack);
  if (expected !== undefined && acknowledged !== undefined && expected > 0) {
    if (Math.abs(acknowledged - expected) / expected > notionalTolerance) mismatches.push('notional_mismatch');
  }
  return mismatches;
}

function acknowledgedNotional(order: OrderRequest, ack: BrokerOrder): number | undefined {
  if (ack.notional !== undefined) return Number(ack.notional);
  const ackLimit = ack.raw.limit_price;
  // Runners echo limit_price as a string (Alpaca style) or a JSON number; both are the acknowledged price.
  const acknowledgedPrice = typeof ackLimit === 'number' || (typeof ackLimit === 'string' && ackLimit !== '') ? ackLimit : undefined;
  const price = acknowledgedPrice ?? order.limit_price ?? order.reference_price;
  if (ack.qty === undefined || price === undefined) return undefined;
  return Number(ack.qty) * Number(price);
}
