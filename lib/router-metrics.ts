import { Duration } from 'aws-cdk-lib';
import { Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS_NAMESPACE, SERVICE_NAME, type MetricName } from '../functions/core/metric-names';
import { adapterSchema } from '../functions/core/config';
import type { Adapter } from '../functions/core/execution';
import type { Stage } from './router-settings';

/** A metric name the functions emit (see METRIC in functions/core/metric-names.ts). */
export type RouterMetricName = MetricName;

/** The adapters `execution_requests_total` and `execution_submit_latency_ms` are dimensioned by. */
export const ADAPTERS: readonly Adapter[] = adapterSchema.options;

/**
 * One router metric of a stage as Powertools publishes it: namespace `LeanRouter`, the `service`
 * and `stage` dimensions on every metric, plus the metric's own bounded dimension (`adapter` or
 * `reason`) when it has one. CloudWatch matches the whole dimension set, so all must be given exactly.
 */
export function routerMetric(
  stage: Stage,
  name: RouterMetricName,
  options: { readonly dimensions?: Readonly<Record<string, string>> } & Omit<MetricOptions, 'dimensionsMap'> = {},
): Metric {
  const { dimensions, ...rest } = options;
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: SERVICE_NAME, stage, ...dimensions },
    period: Duration.minutes(1),
    ...rest,
  });
}

/**
 * A CloudWatch SEARCH over every value of one dimension of a stage's router metric, e.g. every
 * fallback reason including `lean_submit_http_<status>` values no list could enumerate.
 */
export function searchByDimension(stage: Stage, name: RouterMetricName, dimension: string, statistic: string, period: Duration): string {
  return `SEARCH('{${METRICS_NAMESPACE},${dimension},service,stage} MetricName="${name}" service="${SERVICE_NAME}" stage="${stage}"', '${statistic}', ${period.toSeconds()})`;
}
