import type { Adapter } from './execution';
import type { RoutingPolicy } from './config';
import type { OrderRequest } from './order-request';

/** Why the policy expects the adapter it expects; persisted as `execution_route_reason` when no gate or failure overrides it. */
export type PolicyReason =
  | 'policy_all'
  | 'symbol_allowlisted'
  | 'symbol_not_allowlisted'
  | 'adapter_alpaca'
  | 'policy_misconfigured'
  | 'notional_not_supported_by_lean';

/** The policy's answer for one order. */
export interface PolicyDecision {
  readonly expected: Adapter;
  readonly reason: PolicyReason;
}

/**
 * Resolves which adapter an order should use. Pure: the same policy and order always give the
 * same answer, and anything misconfigured answers Alpaca.
 */
export function resolveExpectedAdapter(
  routing: RoutingPolicy,
  misconfiguration: readonly string[],
  order: Pick<OrderRequest, 'symbol' | 'notional'>,
): PolicyDecision {
  if (misconfiguration.length > 0) return { expected: 'alpaca', reason: 'policy_misconfigured' };
  if (routing.adapter === 'alpaca') return { expected: 'alpaca', reason: 'adapter_alpaca' };
  const symbol = order.symbol.trim().toUpperCase();
  if (routing.policy === 'allowlist' && !routing.symbols.has(symbol)) {
    return { expected: 'alpaca', reason: 'symbol_not_allowlisted' };
  }
  // The LEAN contract carries a share quantity only; a dollar-notional order cannot be expressed.
  if (order.notional !== undefined) return { expected: 'alpaca', reason: 'notional_not_supported_by_lean' };
  return { expected: 'lean', reason: routing.policy === 'all' ? 'policy_all' : 'symbol_allowlisted' };
}
