import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { LifecycleMetrics, LifecycleSyncFailureStep } from '../core/lifecycle-sync';
import { addSingleMetric, METRIC } from './powertools-route-metrics';

/** The lifecycle sync's metrics on Powertools EMF; dimensions are a status or a step, never an order id. */
export class PowertoolsLifecycleMetrics implements LifecycleMetrics {
  constructor(private readonly metrics: Metrics) {}

  openOrders(count: number): void {
    this.metrics.addMetric(METRIC.openOrders, MetricUnit.Count, count);
  }

  brokerStateChanged(toStatus: string): void {
    addSingleMetric(this.metrics, 'to_status', toStatus, METRIC.brokerStateChanges);
  }

  routeDivergence(): void {
    this.metrics.addMetric(METRIC.routeDivergence, MetricUnit.Count, 1);
  }

  syncFailure(step: LifecycleSyncFailureStep): void {
    addSingleMetric(this.metrics, 'step', step, METRIC.lifecycleSyncFailures);
  }

  reconciled(status: string): void {
    addSingleMetric(this.metrics, 'status', status, METRIC.reconciledOrders);
  }

  alpacaRateLimited(): void {
    this.metrics.addMetric(METRIC.alpacaRateLimited, MetricUnit.Count, 1);
  }
}
