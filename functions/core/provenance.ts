import type { BreakerState } from './breaker';
import type { ControlSnapshot } from './control';
import type { Adapter, ExecutionAttempt, ExecutionRoute, OrderStatus } from './execution';
import type { OrderRequest } from './order-request';

/** What the policy, the control values and the gates looked like when the order was decided. */
export interface PolicySnapshot {
  readonly adapter: 'lean' | 'alpaca';
  readonly policy: 'all' | 'allowlist';
  readonly fallback: 'alpaca' | 'none';
  readonly symbols_count: number;
  /** `environment`, or `parameter` when the SSM `policy` value overrode it. */
  readonly policy_source: 'environment' | 'parameter';
  /** The kill switch as the router saw it; unreadable or unavailable counts as `on`. */
  readonly kill_switch: 'on' | 'off';
  readonly kill_switch_reason?: string;
  /** Where the control values came from: `fresh`, `cached`, `last_known_good` or `unavailable`. */
  readonly control_source: ControlSnapshot['source'];
  /** This container's LEAN breaker: `closed`, `open` or `half_open`. */
  readonly breaker: BreakerState;
  /** Every gate that held for this order, in precedence order; the first one decided. */
  readonly gates: readonly string[];
  readonly misconfiguration: readonly string[];
}

/**
 * One order's provenance row, attribute names exactly as DESIGN.md gives them.
 * Route fields are absent while the row is `pending`.
 */
export interface ProvenanceRow {
  readonly client_order_id: string;
  readonly status: OrderStatus;
  readonly symbol: string;
  readonly side: OrderRequest['side'];
  readonly qty?: string;
  readonly notional?: string;
  readonly type: OrderRequest['type'];
  readonly time_in_force: OrderRequest['time_in_force'];
  readonly limit_price?: string;
  readonly stop_price?: string;
  readonly extended_hours?: boolean;
  readonly reference_price?: string;
  readonly strategy_id?: string;
  readonly request_hash: string;
  readonly execution_expected_adapter: Adapter;
  readonly execution_adapter?: Adapter | 'none';
  readonly execution_route?: ExecutionRoute;
  /** Why the order took its route: the policy reason, the gate, the fallback or failure reason. */
  readonly execution_route_reason?: string;
  readonly execution_fallback_reason?: string;
  readonly execution_fallback_count: number;
  readonly execution_attempts: readonly ExecutionAttempt[];
  /** `late_ack` when an ambiguous LEAN failure turned out to have placed the order. */
  readonly execution_note?: string;
  readonly broker_order_id?: string;
  readonly raw_payload?: Record<string, unknown>;
  readonly policy_snapshot: PolicySnapshot;
  readonly correlation_id: string;
  readonly review_required: boolean;
  /** Why the order was rejected, failed or is unknown, in words an operator can act on. */
  readonly status_detail?: string;
  readonly created_at: string;
  readonly updated_at: string;
}

/** Fields written when a `pending` row is finalized. */
export type RowOutcome = Pick<ProvenanceRow, 'status' | 'execution_fallback_count' | 'execution_attempts' | 'review_required'> &
  Partial<
    Pick<
      ProvenanceRow,
      | 'execution_adapter'
      | 'execution_route'
      | 'execution_route_reason'
      | 'execution_fallback_reason'
      | 'execution_note'
      | 'broker_order_id'
      | 'raw_payload'
      | 'status_detail'
    >
  >;

/** The answer to a claim: this invocation owns the order, or a row already exists. */
export type ClaimOutcome =
  | { readonly kind: 'claimed' }
  | { readonly kind: 'exists'; readonly row: ProvenanceRow };

/** Durable provenance; the only way core reads or writes rows. */
export interface ProvenanceStore {
  /** Writes the `pending` row unless one exists for the `client_order_id`. */
  claim(row: ProvenanceRow): Promise<ClaimOutcome>;
  /** Applies the outcome only while the row is still `pending`; returns the row as stored. */
  finalize(clientOrderId: string, outcome: RowOutcome, updatedAt: string): Promise<ProvenanceRow>;
  get(clientOrderId: string): Promise<ProvenanceRow | undefined>;
}

/** The store could not be reached or refused the call; nothing may be sent to a broker. */
export class ProvenanceUnavailableError extends Error {
  override readonly name = 'ProvenanceUnavailableError';
}

/** A finalize found the row no longer `pending` (another writer resolved it first). */
export class ProvenanceConflictError extends Error {
  override readonly name = 'ProvenanceConflictError';
}
