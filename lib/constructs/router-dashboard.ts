import { Duration } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  MathExpression,
  type IAlarm,
  type IWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { METRIC } from '../../functions/core/metric-names';
import { ADAPTERS, routerMetric, searchByDimension, type RouterMetricName } from '../router-metrics';
import type { Stage } from '../router-settings';

const WIDTH = 12;
const HEIGHT = 6;

/** The dashboard of a stage, `lean-router-<stage>`. */
export function dashboardName(stage: Stage): string {
  return `lean-router-${stage}`;
}

/** The widget the fallback-rate alarm sends the on-call engineer to. */
export const FALLBACKS_BY_REASON_TITLE = 'LEAN fallbacks by reason';

/** The lifecycle sync's widget titles (the tests find the widgets by them). */
export const OPEN_ORDERS_TITLE = 'Open orders (lifecycle sync, per run)';
export const BROKER_STATE_CHANGES_TITLE = 'Broker state changes by to_status';
export const ROUTE_DIVERGENCES_TITLE = 'Route divergences (LEAN id differs from Alpaca)';

/** The parity run's widget titles. */
export const PARITY_FILL_RATE_TITLE = 'Parity: fill rate, routed minus non-routed (pts), by strategy';
export const PARITY_SLIPPAGE_TITLE = 'Parity: median slippage, routed minus non-routed (bps), by strategy';
export const PARITY_STRATEGIES_TITLE = 'Parity: strategies reported, failing, check regressions';

/** One metric of a stage on a third-width graph, on an axis from 0 (to `max` when given). */
function singleMetricWidget(
  stage: Stage,
  title: string,
  metric: RouterMetricName,
  options: { readonly statistic: string; readonly period: Duration; readonly label: string; readonly max?: number },
): GraphWidget {
  const { statistic, period, label, max } = options;
  return new GraphWidget({
    title,
    width: 8,
    height: HEIGHT,
    leftYAxis: max === undefined ? { min: 0 } : { min: 0, max },
    left: [routerMetric(stage, metric, { statistic, period, label })],
  });
}

/** One health-check gauge (a value per run) per minute, on a fixed axis from 0 to `max`. */
function gaugeWidget(stage: Stage, title: string, metric: RouterMetricName, statistic: 'Maximum' | 'Minimum', max: number): GraphWidget {
  return singleMetricWidget(stage, title, metric, { statistic, period: Duration.minutes(1), label: title, max });
}

/** A stacked graph of one counter's sum per 5 minutes, one line per value of one of its dimensions (`reason` by default). */
function dimensionWidget(stage: Stage, title: string, metric: RouterMetricName, dimension = 'reason', width = WIDTH): GraphWidget {
  const period = Duration.minutes(5);
  return new GraphWidget({
    title,
    width,
    height: HEIGHT,
    stacked: true,
    left: [new MathExpression({ expression: searchByDimension(stage, metric, dimension, 'Sum', period), label: '', period })],
  });
}

/**
 * One line per strategy of a per-strategy parity difference, hourly (the run's period), around 0:
 * positive slippage is LEAN filling worse, negative fill rate is LEAN filling less.
 */
function perStrategyWidget(stage: Stage, title: string, metric: RouterMetricName): GraphWidget {
  const period = Duration.hours(1);
  return new GraphWidget({
    title,
    width: 8,
    height: HEIGHT,
    left: [new MathExpression({ expression: searchByDimension(stage, metric, 'strategy', 'Average', period), label: '', period })],
  });
}

/** Properties of the dashboard. */
export interface RouterDashboardProps {
  readonly stage: Stage;
  readonly alarms: readonly IAlarm[];
}

/**
 * The operators' dashboard: requests by adapter, fallbacks and gates by reason, submit latency
 * p50/p99 per adapter, the kill switch, LEAN's error rate, runner health, the lifecycle sync's open
 * orders, broker state changes and divergences, the parity run's differences per strategy and its
 * failing strategies, manual reviews, and the state of every alarm.
 */
export class RouterDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: RouterDashboardProps) {
    super(scope, id);
    const { stage } = props;
    const minute = Duration.minutes(1);
    const fiveMinutes = Duration.minutes(5);

    // Rows: traffic and latency; fallbacks and gates; the health-check's gauges; the lifecycle sync; failures and alarms.
    const rows: IWidget[][] = [
      [
        new GraphWidget({
          title: 'Requests by adapter (broker submits)',
          width: WIDTH,
          height: HEIGHT,
          stacked: true,
          left: ADAPTERS.map((adapter) =>
            routerMetric(stage, METRIC.requests, { statistic: 'Sum', period: minute, dimensions: { adapter }, label: adapter }),
          ),
        }),
        new GraphWidget({
          title: 'Submit latency p50 / p99 by adapter (ms)',
          width: WIDTH,
          height: HEIGHT,
          left: ADAPTERS.flatMap((adapter) =>
            (['p50', 'p99'] as const).map((statistic) =>
              routerMetric(stage, METRIC.submitLatency, { statistic, period: minute, dimensions: { adapter }, label: `${adapter} ${statistic}` }),
            ),
          ),
        }),
      ],
      [
        // SEARCH finds every reason, including lean_submit_http_<status> values no list could name.
        dimensionWidget(stage, FALLBACKS_BY_REASON_TITLE, METRIC.fallbackReason),
        dimensionWidget(stage, 'LEAN gated by reason (kill_switch, runner_health_stale, strategy_not_enabled, symbol_manual_review, breaker_open)', METRIC.gated),
      ],
      [
        gaugeWidget(stage, 'Kill switch (1 = on, LEAN disabled)', METRIC.killSwitchState, 'Maximum', 1),
        gaugeWidget(stage, 'LEAN error rate (%)', METRIC.leanErrorRate, 'Maximum', 100),
        gaugeWidget(stage, 'Runner health (1 = /healthz ok)', METRIC.runnerHealth, 'Minimum', 1),
      ],
      [
        // Fills by route have no metric of their own: the broker states (filled among them) stand in.
        singleMetricWidget(stage, OPEN_ORDERS_TITLE, METRIC.openOrders, { statistic: 'Maximum', period: minute, label: 'open orders' }),
        dimensionWidget(stage, BROKER_STATE_CHANGES_TITLE, METRIC.brokerStateChanges, 'to_status', 8),
        singleMetricWidget(stage, ROUTE_DIVERGENCES_TITLE, METRIC.routeDivergence, { statistic: 'Sum', period: fiveMinutes, label: 'route divergences' }),
      ],
      [
        perStrategyWidget(stage, PARITY_FILL_RATE_TITLE, METRIC.parityFillRateDifference),
        perStrategyWidget(stage, PARITY_SLIPPAGE_TITLE, METRIC.paritySlippageDifference),
        new GraphWidget({
          title: PARITY_STRATEGIES_TITLE,
          width: 8,
          height: HEIGHT,
          leftYAxis: { min: 0 },
          left: [
            routerMetric(stage, METRIC.parityStrategiesReported, { statistic: 'Maximum', period: Duration.hours(1), label: 'strategies reported' }),
            routerMetric(stage, METRIC.parityStrategiesFailing, { statistic: 'Maximum', period: Duration.hours(1), label: 'strategies failing' }),
            routerMetric(stage, METRIC.parityCheckRegressions, { statistic: 'Sum', period: Duration.hours(1), label: 'check regressions' }),
          ],
        }),
      ],
      [
        new GraphWidget({
          title: 'Outcome unknown, provenance write failures, symbols in manual review',
          width: WIDTH,
          height: HEIGHT,
          left: [
            routerMetric(stage, METRIC.outcomeUnknown, { statistic: 'Sum', period: fiveMinutes, label: 'order outcome unknown' }),
            routerMetric(stage, METRIC.provenanceWriteFailures, { statistic: 'Sum', period: fiveMinutes, label: 'provenance write failures' }),
          ],
          right: [routerMetric(stage, METRIC.symbolsInManualReview, { statistic: 'Maximum', period: fiveMinutes, label: 'symbols in manual review' })],
        }),
        new AlarmStatusWidget({
          title: 'Alarms',
          width: WIDTH,
          height: HEIGHT,
          alarms: [...props.alarms],
        }),
      ],
    ];

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: dashboardName(stage),
      defaultInterval: Duration.hours(3),
      widgets: rows,
    });
  }
}
