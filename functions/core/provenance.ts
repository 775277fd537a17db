import type { BreakerState } from './breaker';
import type { ControlSnapshot } from './control';
import type { Adapter, ExecutionAttempt, ExecutionRoute, FailureCertainty, LeanFailureReason, OrderStatus } from './execution';
import type { OrderRequest } from './order-request';
import type { StrategyEnablementMode, StrategyState } from './strategy-enablement';

/** What the policy, the control values and the gates looked like when the order was decided. */
export interface PolicySnapshot {
  readonly adapter: 'lean' | 'alpaca';
  readonly policy: 'all' | 'allowlist';
  readonly fallback: 'alpaca' | 'none';
  readonly symbols_count: number;
  /** Whether orders needed their strategy `enabled`; absent on rows written before strategies existed (read as `off`). */
  readonly strategy_enablement?: StrategyEnablementMode;
  /** With enablement `required` and a strategy_id: its `strategies/<id>` state as read, or `missing`. */
  readonly strategy_state?: StrategyState | 'missing';
  /** `environment`, or `parameter` when the SSM `policy` value overrode it. */
  readonly policy_source: 'environment' | 'parameter';
  /** The kill switch as the router saw it; unreadable or unavailable counts as `on`. */
  readonly kill_switch: 'on' | 'off';
  readonly kill_switch_reason?: string;
  /** Where the control values came from: `fresh`, `cached`, `last_known_good` or `unavailable`. */
  readonly control_source: ControlSnapshot['source'];
  /** When the control values this order used were read from SSM (ISO); absent when none were ever read, and on older rows. */
  readonly control_read_at?: string;
  /** This container's LEAN breaker: `closed`, `open` or `half_open`. */
  readonly breaker: BreakerState;
  /** Every gate that held for this order, in precedence order; the first one decided. */
  readonly gates: readonly string[];
  readonly misconfiguration: readonly string[];
}

/**
 * Written on the `pending` row before the fallback submit to Alpaca, so that whoever reads the row
 * later (reconciliation after a crash included) knows the router itself may have sent the order to
 * Alpaca, and whether LEAN's failure had already proved that LEAN placed nothing.
 */
export interface FallbackIntent {
  readonly reason: LeanFailureReason;
  /** `definite`: LEAN cannot have placed the order; `ambiguous`: it might have, late. */
  readonly lean_failure: FailureCertainty;
  readonly recorded_at: string;
}

/**
 * One order's provenance row, attribute names exactly as docs/order-api.md lists them.
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
  /** A random token written with the claim: the invocation holding it owns the `pending` row. */
  readonly claim_token?: string;
  readonly execution_expected_adapter: Adapter;
  readonly execution_adapter?: Adapter | 'none';
  readonly execution_route?: ExecutionRoute;
  /** Why the order took its route: the policy reason, the gate, the fallback or failure reason. */
  readonly execution_route_reason?: string;
  readonly execution_fallback_reason?: string;
  readonly execution_fallback_count: number;
  /** Present once the router decided to fall back to Alpaca, written before the fallback submit. */
  readonly execution_fallback_intent?: FallbackIntent;
  readonly execution_attempts: readonly ExecutionAttempt[];
  /** `late_ack` when an ambiguous LEAN failure turned out to have placed the order. */
  readonly execution_note?: string;
  readonly broker_order_id?: string;
  readonly raw_payload?: Record<string, unknown>;
  readonly policy_snapshot: PolicySnapshot;
  readonly correlation_id: string;
  readonly review_required: boolean;
  /**
   * False when the evidence cannot tell which broker path created the order (both LEAN and the
   * router's own fallback may have placed it); true on every other final row.
   */
  readonly route_verified?: boolean;
  /** Why the order was rejected, failed or is unknown, in words an operator can act on. */
  readonly status_detail?: string;
  /** The order's life at the broker after the submit, as the lifecycle sync last saw it. */
  readonly broker_status?: string;
  readonly filled_qty?: string;
  readonly filled_avg_price?: string;
  readonly filled_at?: string;
  readonly broker_updated_at?: string;
  /**
   * Present only while the broker order may still change (the sparse index of open orders): the
   * time the sync should read Alpaca's list from (the order's submission).
   */
  readonly open_since?: string;
  /** `open` exactly while `open_since` is present: the open-order index's partition key. */
  readonly open_partition?: 'open';
  /** Set when the id LEAN acknowledged is not the id Alpaca holds under this `client_order_id`. */
  readonly route_divergence?: RouteDivergence;
  /** When a caller first asked to cancel the order; written before any broker is asked. */
  readonly cancel_requested_at?: string;
  /**
   * Present only while a cancel is asking the brokers: its start (ISO time) and a token of its own,
   * `<time> <token>`. A second cancel meanwhile asks no broker; one older than the route timeout
   * belongs to an invocation that died, and the next cancel takes it over.
   */
  readonly cancel_in_flight?: string;
  /** The path the last cancel took: LEAN's for a LEAN order, Alpaca's otherwise or when LEAN was gated or failed. */
  readonly cancel_route?: CancelRoute;
  /** Why the cancel took its route: `placed_at_alpaca`, a gate, or LEAN's failure. */
  readonly cancel_route_reason?: string;
  /** Every broker cancel call, in order, across all cancel requests. */
  readonly cancel_attempts?: readonly CancelAttempt[];
  readonly created_at: string;
  readonly updated_at: string;
}

/**
 * How a cancel reached a broker: `lean` (LEAN's cancel), `alpaca` (the order was placed at Alpaca),
 * `alpaca_gated` (a LEAN order, LEAN skipped by a gate), `alpaca_fallback` (LEAN's cancel failed),
 * `none` (no broker took it).
 */
export type CancelRoute = 'lean' | 'alpaca' | 'alpaca_gated' | 'alpaca_fallback' | 'none';

/** One broker cancel call, as recorded in `cancel_attempts`. */
export interface CancelAttempt {
  readonly adapter: Adapter;
  /** `requested`: the broker took it; `final`: nothing left to cancel; `not_found`; `failed`. */
  readonly outcome: 'requested' | 'final' | 'not_found' | 'failed';
  readonly broker_order_id: string;
  readonly http_status?: number;
  readonly detail?: string;
  readonly latency_ms: number;
  readonly started_at: string;
}

/** What a cancel writes on the row once the brokers answered. */
export interface CancelRecord {
  readonly cancel_route: CancelRoute;
  readonly cancel_route_reason: string;
  /** Appended to the row's `cancel_attempts`. */
  readonly attempts: readonly CancelAttempt[];
}

/** One cancel's hold on a row while it asks the brokers (see `cancel_in_flight`). */
export interface CancelClaim {
  /** When the cancel was asked for (ISO), kept as `cancel_requested_at` by the first request. */
  readonly requestedAt: string;
  /** `<requestedAt> <token>`: its own value lets an SDK retry of the same write pass its condition. */
  readonly inFlight: string;
  /** A claim that started before this (ISO) belongs to an invocation that can no longer be running. */
  readonly staleBefore: string;
}

/**
 * The cancel's side of the provenance table. The request is written before a broker is asked, so
 * no cancel reaches a broker untracked.
 */
export interface CancelStore {
  get(clientOrderId: string): Promise<ProvenanceRow | undefined>;
  /**
   * Claims the cancel: sets `cancel_requested_at` (kept when already set) and `cancel_in_flight` to
   * `claim.inFlight` while the row is `accepted` with a broker order id and no other cancel holds
   * it (none, or one that started before `claim.staleBefore`); returns the row as stored. Throws
   * ProvenanceConflictError when the row is not so: another cancel is asking the brokers, or the
   * order is not cancellable.
   */
  recordCancelRequest(clientOrderId: string, claim: CancelClaim, timeoutMs: number): Promise<ProvenanceRow>;
  /** Writes the route, appends the attempts and releases the claim (`cancel_in_flight`); returns the row as stored. */
  recordCancelOutcome(clientOrderId: string, record: CancelRecord, updatedAt: string, timeoutMs: number): Promise<ProvenanceRow>;
}

/** A LEAN-routed order whose acknowledged id differs from Alpaca's under the same `client_order_id`. */
export interface RouteDivergence {
  readonly lean_order_id: string;
  readonly alpaca_order_id: string;
  readonly detected_at: string;
}

/** What the lifecycle sync writes on a row: the broker's state, never older than what the row holds. */
export interface BrokerState {
  readonly broker_status: string;
  /** Decimal text, "0" before any fill. */
  readonly filled_qty: string;
  readonly filled_avg_price?: string;
  readonly filled_at?: string;
  readonly broker_updated_at: string;
  /** False once the status is final (filled, canceled, expired, rejected, replaced...): the row leaves the open-order index. */
  readonly open: boolean;
  /**
   * The broker's own submission time (UTC, milliseconds), when it gave one: while the order is
   * open it replaces the row's `open_since`, so later listings start from the broker's clock.
   */
  readonly submitted_at?: string;
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
      | 'route_verified'
    >
  >;

/** The answer to a claim: this invocation owns the order, or a row already exists. */
export type ClaimOutcome =
  | { readonly kind: 'claimed' }
  | { readonly kind: 'exists'; readonly row: ProvenanceRow };

/** The claim a write belongs to: the row's key and the token written with its claim. */
export interface ClaimRef {
  readonly clientOrderId: string;
  readonly claimToken: string;
}

/**
 * Durable provenance; the only way core reads or writes rows. Every call takes the longest it may
 * wait, SDK retries included (`timeoutMs`), so no write can outlast the order's deadline.
 */
export interface ProvenanceStore {
  /** Writes the `pending` row (with its `claim_token`) unless one exists for the `client_order_id`. */
  claim(row: ProvenanceRow, timeoutMs: number): Promise<ClaimOutcome>;
  /**
   * Records the fallback intent and the attempts so far, only while the row is `pending` and
   * still holds this claim; throws when it cannot, and then nothing may be sent to Alpaca.
   */
  recordFallbackIntent(claim: ClaimRef, intent: FallbackIntent, attempts: readonly ExecutionAttempt[], timeoutMs: number): Promise<void>;
  /**
   * Applies the outcome and `updated_at` only while the row is `pending` and holds this claim.
   * Nothing is read back: the caller holds the pending row and the outcome, which make the final row.
   */
  finalize(claim: ClaimRef, outcome: RowOutcome, updatedAt: string, timeoutMs: number): Promise<void>;
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

/**
 * The attributes of an open order the lifecycle sync reads besides its keys: what the open-orders
 * index projects, so the sync never reads the whole row.
 */
export const OPEN_ORDER_FIELDS = [
  'broker_order_id',
  'execution_adapter',
  'execution_route',
  'execution_expected_adapter',
  'execution_fallback_reason',
  'strategy_id',
  'broker_status',
  'filled_qty',
  'filled_avg_price',
  'broker_updated_at',
  'route_divergence',
] as const satisfies readonly (keyof ProvenanceRow)[];

/** An order whose broker state may still change, as the open-order listing returns it. */
export type OpenOrder = Pick<ProvenanceRow, 'client_order_id' | (typeof OPEN_ORDER_FIELDS)[number]> & { readonly open_since: string };

/** `stale`: the row already holds a broker state as new or newer, or is gone; nothing was written. */
export type BrokerStateWrite = 'recorded' | 'stale';

/**
 * The lifecycle sync's side of the provenance table. An `accepted` row with a broker order id is
 * open from its finalize until a broker state with `open: false` is recorded on it.
 */
export interface OpenOrderStore {
  /** Open orders, oldest `open_since` first, at most `limit` of them; one index query, never a scan. */
  listOpenOrders(limit: number, timeoutMs?: number): Promise<OpenOrder[]>;
  /**
   * Writes the broker state unless the row holds one updated as late or later (then `stale`);
   * sets `route_divergence` only if the row has none; a closed state takes the row out of the open orders.
   * `state.broker_updated_at` must be UTC with nine fraction digits (as `brokerStateOf` writes it),
   * the one form in which the store's string comparison orders instants.
   */
  recordBrokerState(clientOrderId: string, state: BrokerState, divergence: RouteDivergence | undefined, updatedAt: string, timeoutMs?: number): Promise<BrokerStateWrite>;
}
