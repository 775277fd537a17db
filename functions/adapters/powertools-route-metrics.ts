import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Adapter } from '../core/execution';
import type { RouteMetrics } from '../core/ports';
import type { CancelRoute } from '../core/provenance';

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
} as const;

/**
 * RouteMetrics on Powertools EMF. Dimensioned counters go out as single metrics so each carries
 * only its own bounded dimension (`adapter` or `reason`), never a symbol or an order id.
 */
export class PowertoolsRouteMetrics implements RouteMetrics {
  constructor(private readonly metrics: Metrics) {}

  brokerSubmit(adapter: Adapter, latencyMs: number): void {
    addSingleMetric(this.metrics, 'adapter', adapter, METRIC.requests);
    addSingleMetric(this.metrics, 'adapter', adapter, METRIC.submitLatency, MetricUnit.Milliseconds, latencyMs);
  }

  fallback(reason: string): void {
    this.metrics.addMetric(METRIC.fallback, MetricUnit.Count, 1);
    addSingleMetric(this.metrics, 'reason', reason, METRIC.fallbackReason);
  }

  gated(reason: string): void {
    addSingleMetric(this.metrics, 'reason', reason, METRIC.gated);
  }

  outcomeUnknown(): void {
    this.metrics.addMetric(METRIC.outcomeUnknown, MetricUnit.Count, 1);
  }

  provenanceWriteFailure(): void {
    this.metrics.addMetric(METRIC.provenanceWriteFailures, MetricUnit.Count, 1);
  }

  policyMisconfigured(): void {
    this.metrics.addMetric(METRIC.policyMisconfigured, MetricUnit.Count, 1);
  }

  leanAckMismatch(): void {
    this.metrics.addMetric(METRIC.leanAckMismatch, MetricUnit.Count, 1);
  }

  alpacaAckMismatch(): void {
    this.metrics.addMetric(METRIC.alpacaAckMismatch, MetricUnit.Count, 1);
  }

  killSwitchTrip(reason: string): void {
    addSingleMetric(this.metrics, 'reason', reason, METRIC.killSwitchTrips);
  }

  cancelRequested(route: CancelRoute): void {
    addSingleMetric(this.metrics, 'route', route, METRIC.cancelRequests);
  }
}

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/**
 * Emits one metric with its own dimension. A single metric flushes on addMetric and drops its
 * dimensions, so every value gets a fresh one; bounded dimensions only (a reason, an adapter).
 */
export function addSingleMetric(metrics: Metrics, dimension: string, value: string, metric: string, unit: Unit = MetricUnit.Count, amount = 1): void {
  const single = metrics.singleMetric();
  single.addDimension(dimension, value);
  single.addMetric(metric, unit, amount);
}
