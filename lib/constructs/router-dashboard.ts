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
import { METRIC } from '../../functions/adapters/powertools-route-metrics';
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

/** One health-check gauge (a value per run) per minute, on a fixed axis from 0 to `max`. */
function gaugeWidget(stage: Stage, title: string, metric: RouterMetricName, statistic: 'Maximum' | 'Minimum', max: number): GraphWidget {
  return new GraphWidget({
    title,
    width: 8,
    height: HEIGHT,
    leftYAxis: { min: 0, max },
    left: [routerMetric(stage, metric, { statistic, period: Duration.minutes(1), label: title })],
  });
}

/** A stacked graph of one counter's sum per 5 minutes, one line per value of its `reason` dimension. */
function reasonWidget(stage: Stage, title: string, metric: RouterMetricName): GraphWidget {
  const period = Duration.minutes(5);
  return new GraphWidget({
    title,
    width: WIDTH,
    height: HEIGHT,
    stacked: true,
    left: [new MathExpression({ expression: searchByDimension(stage, metric, 'reason', 'Sum', period), label: '', period })],
  });
}

/** Properties of the dashboard. */
export interface RouterDashboardProps {
  readonly stage: Stage;
  readonly alarms: readonly IAlarm[];
}

/**
 * The operators' dashboard: requests by adapter, fallbacks and gates by reason, submit latency
 * p50/p99 per adapter, the kill switch, LEAN's error rate, runner health, manual reviews, and the
 * state of every alarm.
 */
export class RouterDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: RouterDashboardProps) {
    super(scope, id);
    const { stage } = props;
    const minute = Duration.minutes(1);
    const fiveMinutes = Duration.minutes(5);

    // Rows: traffic and latency; fallbacks and gates; the health-check's gauges; failures and alarms.
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
        reasonWidget(stage, FALLBACKS_BY_REASON_TITLE, METRIC.fallbackReason),
        reasonWidget(stage, 'LEAN gated by reason (kill_switch, runner_health_stale, symbol_manual_review, breaker_open)', METRIC.gated),
      ],
      [
        gaugeWidget(stage, 'Kill switch (1 = on, LEAN disabled)', METRIC.killSwitchState, 'Maximum', 1),
        gaugeWidget(stage, 'LEAN error rate (%)', METRIC.leanErrorRate, 'Maximum', 100),
        gaugeWidget(stage, 'Runner health (1 = /healthz ok)', METRIC.runnerHealth, 'Minimum', 1),
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
