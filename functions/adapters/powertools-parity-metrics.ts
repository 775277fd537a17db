import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { ParityMetrics } from '../core/parity-run';
import { addSingleMetric, METRIC } from './powertools-route-metrics';

/**
 * The parity run's metrics on Powertools EMF. The run's totals carry only `service` and `stage`;
 * the differences carry `strategy` too: a strategy is a desk's book, not an order, and the run
 * reports at most `TRADING_PARITY_MAX_STRATEGIES` of them, which bounds the dimension's values.
 */
export class PowertoolsParityMetrics implements ParityMetrics {
  constructor(private readonly metrics: Metrics) {}

  strategiesReported(count: number): void {
    this.metrics.addMetric(METRIC.parityStrategiesReported, MetricUnit.Count, count);
  }

  strategiesFailing(count: number): void {
    this.metrics.addMetric(METRIC.parityStrategiesFailing, MetricUnit.Count, count);
  }

  checkRegressions(count: number): void {
    this.metrics.addMetric(METRIC.parityCheckRegressions, MetricUnit.Count, count);
  }

  differences(strategyId: string, fillRatePoints: number | null, medianSlippageBps: number | null): void {
    if (fillRatePoints !== null) addSingleMetric(this.metrics, 'strategy', strategyId, METRIC.parityFillRateDifference, MetricUnit.NoUnit, fillRatePoints);
    if (medianSlippageBps !== null) addSingleMetric(this.metrics, 'strategy', strategyId, METRIC.paritySlippageDifference, MetricUnit.NoUnit, medianSlippageBps);
  }
}
