import type {
  Adapter,
  AlpacaSubmitOutcome,
  BrokerOrder,
  FailureCertainty,
  LeanSubmitOutcome,
  LookupOutcome,
} from './execution';
import type { ControlSnapshot, KillSwitchTrip } from './control';
import type { CancelRoute } from './provenance';
import type { OrderRequest } from './order-request';

/** Per-call context passed to brokers. */
export interface BrokerCallContext {
  readonly correlationId: string;
  /** The longest this call may take, when the caller has a deadline; the adapter's own timeout applies when shorter. */
  readonly timeoutMs?: number;
}

/** The LEAN runner, contract v2. */
export interface LeanRunner {
  submit(order: OrderRequest, context: BrokerCallContext): Promise<LeanSubmitOutcome>;
  findByClientOrderId(clientOrderId: string, context: BrokerCallContext): Promise<LookupOutcome>;
}

/** Alpaca's Trading API v2, the subset the router uses. */
export interface AlpacaBroker {
  submit(order: OrderRequest, context: BrokerCallContext): Promise<AlpacaSubmitOutcome>;
  findByClientOrderId(clientOrderId: string, context: BrokerCallContext): Promise<LookupOutcome>;
}

/** One page of Alpaca's order list (`GET /v2/orders`), or why there is none. */
export type OrderListOutcome =
  | { readonly kind: 'page'; readonly orders: readonly BrokerOrder[] }
  /** 429: nothing may be asked before `retryAt` (from `X-RateLimit-Reset`); never retried at once. */
  | { readonly kind: 'rate_limited'; readonly retryAt: string }
  | { readonly kind: 'error'; readonly detail: string; readonly httpStatus?: number };

/** A query of Alpaca's order list, in Alpaca's own parameters: orders submitted after `after`, oldest first. */
export interface OrderListQuery {
  readonly status: 'open' | 'closed' | 'all';
  readonly after: string;
  readonly until?: string;
  readonly direction: 'asc' | 'desc';
  /** 1..500. */
  readonly limit: number;
}

/** Alpaca's order list, read in bulk by the lifecycle sync. */
export interface BrokerOrderList {
  listOrders(query: OrderListQuery, context: BrokerCallContext): Promise<OrderListOutcome>;
}

/** What a broker answered to a cancel. */
export type CancelOutcome =
  /** The broker took the request (Alpaca 204, LEAN's answer); the order may still fill before it is canceled. */
  | { readonly kind: 'requested'; readonly httpStatus: number; readonly order?: BrokerOrder }
  /** 422: the order is already final (filled, canceled, expired): nothing to cancel. */
  | { readonly kind: 'final'; readonly httpStatus: number; readonly detail: string }
  | { readonly kind: 'not_found'; readonly httpStatus: number }
  | { readonly kind: 'failed'; readonly detail: string; readonly httpStatus?: number; readonly certainty: FailureCertainty };

/** A broker that cancels an order by its broker order id (LEAN's `POST /v1/orders/{id}/cancel`, Alpaca's `DELETE /v2/orders/{id}`). */
export interface OrderCanceller {
  cancel(brokerOrderId: string, context: BrokerCallContext): Promise<CancelOutcome>;
}

/** The router's counters and timings; names and dimensions are the documented ones (docs/architecture.md). */
export interface RouteMetrics {
  /** `execution_requests_total{adapter}` and the submit latency of that adapter. */
  brokerSubmit(adapter: Adapter, latencyMs: number): void;
  /** `execution_fallback_total` and `execution_fallback_reason_total{reason}`. */
  fallback(reason: string): void;
  /** `execution_gated_total{reason}`. */
  gated(reason: string): void;
  /** `order_outcome_unknown_total`. */
  outcomeUnknown(): void;
  /** `provenance_write_failures_total`. */
  provenanceWriteFailure(): void;
  /** `policy_misconfigured_total`: orders routed away from LEAN because configuration is unsafe. */
  policyMisconfigured(): void;
  /** `lean_ack_mismatch_total`: LEAN placed something other than what was asked. */
  leanAckMismatch(): void;
  /** `alpaca_ack_mismatch_total`: Alpaca acknowledged something other than what was asked. */
  alpacaAckMismatch(): void;
  /** `kill_switch_trips_total{reason}`: this process turned the kill switch on. */
  killSwitchTrip(reason: string): void;
  /** `cancel_requests_total{route}`: one per cancel that asked a broker, by the route it took (`none` when no broker took it). */
  cancelRequested(route: CancelRoute): void;
  /**
   * `alpaca_rate_limited_total`: Alpaca answered 429 (its 200 requests a minute are shared with the
   * runner and the lifecycle sync). Counted, recorded on the row, never retried.
   */
  alpacaRateLimited(): void;
}

/** The runtime control values in SSM, and the trips the router and health-check write there. */
export interface ControlPlane {
  /** The control values, cached for the TTL; never throws (with nothing ever read, the kill switch counts as on). */
  read(): Promise<ControlSnapshot>;
  /** The control values straight from SSM, bypassing the cache; throws when SSM does not answer. */
  readFresh(): Promise<ControlSnapshot>;
  /** Turns the kill switch on with a reason; throws when SSM refuses the write. */
  tripKillSwitch(trip: KillSwitchTrip): Promise<void>;
  /** Puts one symbol in manual review; throws when SSM refuses the write. */
  putSymbolInReview(symbol: string, reason: string, setBy: string): Promise<void>;
}

/** Reads over the provenance rows' indexes, for the gates and the health-check. */
export interface FallbackHistory {
  /** How many orders of `symbol` created at or after `since` (ISO-8601) took route `alpaca_fallback`. */
  countFallbacks(symbol: string, since: string): Promise<number>;
}

/** Structured logging, satisfied by Powertools' Logger. */
export interface RouteLogger {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** Time, injectable so tests and benchmarks can read it. */
export interface Clock {
  /** Wall-clock time for rows and attempts. */
  now(): Date;
  /** Monotonic milliseconds for latencies. */
  monotonicMs(): number;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => new Date(),
  monotonicMs: () => performance.now(),
};
