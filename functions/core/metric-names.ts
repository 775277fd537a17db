/**
 * The names the router's metrics are published under, shared by the functions (Powertools EMF)
 * and the CDK app (alarms, dashboard). Constants only: the CDK app imports this module, so it must
 * not create a logger, a metrics buffer or anything else at import.
 */

/** The service name on every log line and metric (the `service` dimension). */
export const SERVICE_NAME = 'lean-router';

/** The one CloudWatch namespace of every router metric; alarms and the dashboard read it. */
export const METRICS_NAMESPACE = 'LeanRouter';

/** Metric names, exactly as alarms and the dashboard use them. */
export const METRIC = {
  requests: 'execution_requests_total',
  submitLatency: 'execution_submit_latency_ms',
  fallback: 'execution_fallback_total',
  fallbackReason: 'execution_fallback_reason_total',
  gated: 'execution_gated_total',
  outcomeUnknown: 'order_outcome_unknown_total',
  provenanceWriteFailures: 'provenance_write_failures_total',
  policyMisconfigured: 'policy_misconfigured_total',
  leanAckMismatch: 'lean_ack_mismatch_total',
  alpacaAckMismatch: 'alpaca_ack_mismatch_total',
  /** Emitted by whoever trips the kill switch (route or health-check), dimension `reason`. */
  killSwitchTrips: 'kill_switch_trips_total',
  /** Cancels that asked a broker, dimension `route` (`lean`, `alpaca`, `alpaca_gated`, `alpaca_fallback`, `none`). */
  cancelRequests: 'cancel_requests_total',
  /** Alpaca answered 429 (its 200 requests a minute are spent): counted, never retried. */
  alpacaRateLimited: 'alpaca_rate_limited_total',
  /** Health-check gauges, one value per run: 1 when the switch is on (or unreadable), else 0. */
  killSwitchState: 'kill_switch_state',
  /** 1 when the last probe of the runner's /healthz succeeded, else 0. */
  runnerHealth: 'runner_health',
  /** Percentage of LEAN submits in the window that failed (0-100); absent under the minimum volume. */
  leanErrorRate: 'lean_error_rate',
  symbolsInManualReview: 'symbols_in_manual_review',
  /** Rows left pending/unknown that the health-check resolved, dimension `status`. */
  reconciledOrders: 'reconciled_orders_total',
  /** Lifecycle sync gauge, one value per run: rows whose broker order is still open. */
  openOrders: 'open_orders',
  /** Rows whose broker state the lifecycle sync wrote, dimension `to_status`. */
  brokerStateChanges: 'broker_state_changes_total',
  /** LEAN's acknowledged id differs from Alpaca's under the same client_order_id; alarmed. */
  routeDivergence: 'route_divergence_total',
  /** Lifecycle sync steps that failed, dimension `step` (`store_read`, `list`, `store_write`). */
  lifecycleSyncFailures: 'lifecycle_sync_failures_total',
  /** Parity run gauges, one value per run: strategies reported, and those whose report did not pass. */
  parityStrategiesReported: 'parity_strategies_reported',
  parityStrategiesFailing: 'parity_strategies_failing',
  /** Parity checks that passed in a strategy's last stored report and fail now, one value per run (0 included); alarmed. */
  parityCheckRegressions: 'parity_check_regressions_total',
  /** Per strategy (dimension `strategy`), routed minus non-routed: fill rate in percentage points, median slippage in basis points. */
  parityFillRateDifference: 'parity_fill_rate_difference_pts',
  paritySlippageDifference: 'parity_median_slippage_difference_bps',
} as const;

/** A metric name the functions emit. */
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/**
 * The `reason` values `kill_switch_trips_total` is emitted with: the health-check's automatic trips
 * and the route's notional mismatch. The trips alarm sums exactly these (an alarm cannot SEARCH).
 */
export const KILL_SWITCH_TRIP_REASONS = ['lean_error_rate', 'runner_health_stale', 'notional_mismatch'] as const;

/**
 * Where metrics counted from API Gateway's access logs go: not the functions' EMF namespace, whose
 * metrics all carry the `service` and `stage` dimensions (a metric filter cannot add constant ones).
 */
export const ACCESS_LOG_METRICS_NAMESPACE = `${METRICS_NAMESPACE}/AccessLogs`;

/** Requests API Gateway refused with 429 (stage throttling), counted from the stage's access log as `<this>_<stage>`. */
export const API_THROTTLED_METRIC = 'api_throttled_total';
