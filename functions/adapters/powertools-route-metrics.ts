import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Adapter } from '../core/execution';
import type { RouteMetrics } from '../core/ports';
import type { CancelRoute } from '../core/provenance';
import { METRIC } from '../core/metric-names';

/** Metric names, exactly as alarms and the dashboard use them (defined with no runtime dependency in core). */
export { METRIC };

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

  alpacaRateLimited(): void {
    this.metrics.addMetric(METRIC.alpacaRateLimited, MetricUnit.Count, 1);
  }
}

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** One single-metric instance per parent Metrics, built on first use and reused for every value. */
const singles = new WeakMap<Metrics, Metrics>();

/**
 * Emits one metric with its own dimension; bounded dimensions only (a reason, an adapter). A
 * single metric flushes on addMetric and the flush clears its dimensions, so one instance per
 * parent serves every value: building one per value cost a Metrics object and a Console on the hot
 * path. It copies the parent's namespace and default dimensions once, which this code sets only
 * at construction.
 */
export function addSingleMetric(metrics: Metrics, dimension: string, value: string, metric: string, unit: Unit = MetricUnit.Count, amount = 1): void {
  let single = singles.get(metrics);
  if (single === undefined) {
    single = metrics.singleMetric();
    singles.set(metrics, single);
  }
  single.addDimension(dimension, value);
  try {
    single.addMetric(metric, unit, amount);
  } catch (error) {
    // A refused metric never flushed: its dimension must not ride on the next value.
    single.clearDimensions();
    throw error;
  }
}
