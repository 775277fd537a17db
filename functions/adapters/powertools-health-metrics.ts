import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { HealthMetrics } from '../core/health-check';
import { addSingleMetric, METRIC } from './powertools-route-metrics';

/** The health-check's gauges on Powertools EMF; one value per run, so alarms can read each minute. */
export class PowertoolsHealthMetrics implements HealthMetrics {
  constructor(private readonly metrics: Metrics) {}

  killSwitchState(on: boolean): void {
    this.metrics.addMetric(METRIC.killSwitchState, MetricUnit.Count, on ? 1 : 0);
  }

  runnerHealth(ok: boolean): void {
    this.metrics.addMetric(METRIC.runnerHealth, MetricUnit.Count, ok ? 1 : 0);
  }

  leanErrorRate(percent: number): void {
    this.metrics.addMetric(METRIC.leanErrorRate, MetricUnit.Percent, percent);
  }

  symbolsInManualReview(count: number): void {
    this.metrics.addMetric(METRIC.symbolsInManualReview, MetricUnit.Count, count);
  }

  killSwitchTrip(reason: string): void {
    addSingleMetric(this.metrics, 'reason', reason, METRIC.killSwitchTrips);
  }
}
