import { Duration } from 'aws-cdk-lib';
import type { Stage as ApiStage } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  Metric,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IRule } from 'aws-cdk-lib/aws-events';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, LogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Topic, type ITopic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { PROVENANCE_TABLE } from '../../functions/adapters/provenance-table';
import { CONTROL_PARAMETER, controlParameterName } from '../../functions/core/control-parameters';
import { ACCESS_LOG_METRICS_NAMESPACE, API_THROTTLED_METRIC, KILL_SWITCH_TRIP_REASONS, METRIC } from '../../functions/core/metric-names';
import { routerMetric } from '../router-metrics';
import { alarmNamePrefix, type Stage } from '../stage-names';
import type { ControlParameters } from './control-parameters';
import { dashboardName, FALLBACKS_BY_REASON_TITLE } from './router-dashboard';

/** LEAN fallbacks above this share of LEAN submits (percent) over {@link FALLBACK_RATE_WINDOW} alarm. */
const FALLBACK_RATE_THRESHOLD_PERCENT = 15;
const FALLBACK_RATE_WINDOW = Duration.minutes(15);
/** Consecutive failed probes (one a minute) before the runner alarm: the router's staleness limit. */
const RUNNER_UNHEALTHY_MINUTES = 3;
/**
 * A function scheduled each minute runs 5 times in this window; fewer than
 * {@link MIN_SCHEDULED_RUNS} is a schedule that stopped (or mostly stopped) running.
 */
const SCHEDULED_RUNS_WINDOW = Duration.minutes(5);
const MIN_SCHEDULED_RUNS = 3;
/** The minute functions' cadence, as {@link scheduleAlarms} reads it. */
const EVERY_MINUTE: ScheduleCadence = { every: 'every minute', window: SCHEDULED_RUNS_WINDOW, minRuns: MIN_SCHEDULED_RUNS };
/**
 * The parity run's: hourly, so a window of two hours holds two runs, and none at all means the
 * schedule stopped (one late run does not page). Regressions are summed over the run's period, so
 * the alarm stays on until the next run reports.
 */
const PARITY_RUN_CADENCE: ScheduleCadence = { every: 'every hour', window: Duration.hours(2), minRuns: 1 };
const PARITY_REGRESSION_PERIOD = Duration.hours(1);
/**
 * The order API's 4xx alarm: at least this many 4xx answers and this share of all requests over
 * {@link API_4XX_WINDOW}. A scheduler's occasional 409 (a replayed or in-flight order) or 404 stays
 * below it; a caller whose every order is refused (403 signature or policy, 400 schema) does not.
 */
const API_4XX_MIN_COUNT = 5;
const API_4XX_RATE_PERCENT = 20;
const API_4XX_WINDOW = Duration.minutes(15);

/** What the alarms need to know about the rest of the stack, for metrics and runbook commands. */
export interface RouterAlarmsProps {
  readonly stage: Stage;
  readonly tableName: string;
  readonly parameters: ControlParameters;
  readonly apiStage: ApiStage;
  readonly accessLogGroupName: string;
  readonly route: MonitoredFunction;
  readonly healthCheck: ScheduledFunction;
  readonly lifecycleSync: ScheduledFunction;
  readonly parityRun: ScheduledFunction;
  /** Only with a runner configured is its health alarmed (missing data counts as unhealthy). */
  readonly leanRunnerUrl?: string;
  readonly alarmEmail?: string;
  /** An existing topic every alarm also notifies (alarm and recovery). */
  readonly alarmTopicArn?: string;
}

/** A function run by an EventBridge schedule: its rule's delivery is alarmed too. */
export interface ScheduledFunction extends MonitoredFunction {
  readonly schedule: IRule;
}

/** A function the alarms watch, and where its logs are. */
export interface MonitoredFunction {
  readonly function: IFunction;
  readonly logGroupName: string;
}

/** One alarm's definition before it is wired to the topic. */
interface AlarmSpec {
  readonly id: string;
  readonly metric: IMetric;
  readonly threshold: number;
  readonly comparisonOperator: ComparisonOperator;
  readonly evaluationPeriods?: number;
  readonly datapointsToAlarm?: number;
  readonly treatMissingData?: TreatMissingData;
  /** What it means, the first thing to do, the exact command. */
  readonly description: string;
}

/**
 * Every alarm of the router, each with a description an on-call engineer can act on, all notifying
 * one SNS topic (alarm and recovery), with an optional email subscription.
 */
export class RouterAlarms extends Construct {
  readonly topic: Topic;
  /** Every topic an alarm notifies: {@link topic}, and the one from `alarmTopicArn` when given. */
  readonly subscribers: readonly ITopic[];
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: RouterAlarmsProps) {
    super(scope, id);
    const { stage, parameters, tableName } = props;

    // TLS only (AwsSolutions-SNS3). Not encrypted at rest: notifications carry alarm names, states
    // and runbook text, no order data or secrets, and CloudWatch cannot publish to a topic under
    // the AWS managed aws/sns key (the AwsSolutions pack has no rule requiring it).
    this.topic = new Topic(this, 'Topic', {
      displayName: `lean-router ${stage} alarms`,
      enforceSSL: true,
    });
    if (props.alarmEmail !== undefined) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.subscribers = [this.topic, ...(props.alarmTopicArn === undefined ? [] : [Topic.fromTopicArn(this, 'SubscriberTopic', props.alarmTopicArn)])];

    const killSwitchOn = `aws ssm put-parameter --name ${parameters.killSwitchName} --value on --type String --overwrite`;
    const killSwitchOff = `aws ssm put-parameter --name ${parameters.killSwitchName} --value off --type String --overwrite`;
    const tail = (logGroupName: string, filter?: string) =>
      `aws logs tail ${logGroupName} --since 15m${filter === undefined ? '' : ` --filter-pattern '${filter}'`}`;
    const rowsWithStatus = (status: string) =>
      `aws dynamodb query --table-name ${tableName} --index-name ${PROVENANCE_TABLE.indexes.byStatus.name} --key-condition-expression '#s = :s' --expression-attribute-names '{"#s":"status"}' --expression-attribute-values '{":s":{"S":"${status}"}}'`;

    throttledRequestsFilter(this, stage, props.accessLogGroupName);

    const specs: AlarmSpec[] = [
      {
        id: 'LeanFallbackRate',
        metric: new MathExpression({
          expression: 'IF(FILL(lean, 0) > 0, 100 * FILL(fallbacks, 0) / FILL(lean, 0), 0)',
          usingMetrics: {
            fallbacks: routerMetric(stage, METRIC.fallback, { statistic: 'Sum', period: FALLBACK_RATE_WINDOW }),
            lean: routerMetric(stage, METRIC.requests, { statistic: 'Sum', period: FALLBACK_RATE_WINDOW, dimensions: { adapter: 'lean' } }),
          },
          period: FALLBACK_RATE_WINDOW,
          label: 'LEAN fallbacks (% of LEAN submits)',
        }),
        threshold: FALLBACK_RATE_THRESHOLD_PERCENT,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: [
          `More than ${FALLBACK_RATE_THRESHOLD_PERCENT}% of LEAN submits fell back to Alpaca over ${FALLBACK_RATE_WINDOW.toMinutes()} minutes: LEAN is failing (timeouts, HTTP errors, invalid answers) and orders are paying the fallback path.`,
          `First: see which reason dominates on the dashboard ${dashboardName(stage)} (${FALLBACKS_BY_REASON_TITLE}), or: ${tail(props.route.logGroupName, '"route_attribution"')}.`,
          `If LEAN does not recover, take it out of the path: ${killSwitchOn}`,
        ].join(' '),
      },
      {
        id: 'KillSwitchEngaged',
        metric: routerMetric(stage, METRIC.killSwitchState, { statistic: 'Maximum' }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        description: [
          'The kill switch is on (or unreadable): LEAN is disabled and every order goes to Alpaca, or is refused where the fallback adapter is none.',
          `First: read who set it and why (automatic trips write reason, set_by, set_at): aws ssm get-parameter --name ${parameters.killSwitchName} --query Parameter.Value --output text.`,
          `An automatic trip is latched: fix the cause, then turn LEAN back on: ${killSwitchOff}`,
        ].join(' '),
      },
      ...(props.leanRunnerUrl === undefined
        ? []
        : [
            {
              id: 'RunnerUnhealthy',
              metric: routerMetric(stage, METRIC.runnerHealth, { statistic: 'Minimum' }),
              threshold: 1,
              comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
              evaluationPeriods: RUNNER_UNHEALTHY_MINUTES,
              datapointsToAlarm: RUNNER_UNHEALTHY_MINUTES,
              // No data means the health-check is not reporting: treat that as unhealthy too.
              treatMissingData: TreatMissingData.BREACHING,
              description: [
                `The LEAN runner failed its /healthz probe for ${RUNNER_UNHEALTHY_MINUTES} minutes in a row, or the health-check stopped reporting: the router gates LEAN (runner_health_stale) and the health-check trips the kill switch.`,
                `First: curl -sS ${props.leanRunnerUrl.replace(/\/+$/, '')}/healthz ; then aws ssm get-parameter --name ${parameters.leanHealthName} --query Parameter.Value --output text ; then ${tail(props.healthCheck.logGroupName)}`,
              ].join(' '),
            },
          ]),
      {
        id: 'OrderOutcomeUnknown',
        metric: routerMetric(stage, METRIC.outcomeUnknown, { statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: [
          'An order ended with status unknown: LEAN may have placed it and neither LEAN nor Alpaca answered the lookup. The caller got 202. Do NOT resend it.',
          'First: list the rows, then look each client_order_id up at the runner and at Alpaca; the lifecycle sync reconciles them when the brokers answer.',
          rowsWithStatus('unknown'),
        ].join(' '),
      },
      {
        id: 'ProvenanceWriteFailures',
        metric: routerMetric(stage, METRIC.provenanceWriteFailures, { statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: [
          'A provenance row could not be written. A failed claim refused the order (503 provenance_unavailable, nothing sent); a failed finalize left a row pending while a broker may hold the order.',
          `First: check DynamoDB (throttling, errors) and the route logs: ${tail(props.route.logGroupName, 'provenance')} ; then list rows left pending:`,
          rowsWithStatus('pending'),
        ].join(' '),
      },
      {
        id: 'SymbolsInManualReview',
        metric: routerMetric(stage, METRIC.symbolsInManualReview, { statistic: 'Maximum' }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        description: [
          'At least one symbol is in manual review after repeated LEAN fallbacks: LEAN is gated for it (symbol_manual_review) until an operator clears it.',
          `First: list them: aws ssm get-parameters-by-path --path ${parameters.manualReviewPath} ; look at that symbol's recent rows (index ${PROVENANCE_TABLE.indexes.bySymbol.name}).`,
          `When LEAN handles the symbol again, clear the review (its fallback count restarts then): aws ssm put-parameter --name ${parameters.manualReviewPath}/<SYMBOL> --value cleared --type String --overwrite (a / in a symbol is written _, e.g. BTC_USD)`,
        ].join(' '),
      },
      {
        id: 'Api5xx',
        metric: props.apiStage.metricServerError({ statistic: 'Sum', period: Duration.minutes(5) }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: [
          'The order API answered 5xx: 502 order_failed (no broker accepted the order), 503 provenance_unavailable (DynamoDB unreachable, nothing sent), or a function error or timeout.',
          `First: find the requests: ${tail(props.accessLogGroupName, '{ $.status = "5*" }')} ; then the route function's logs: ${tail(props.route.logGroupName)}`,
        ].join(' '),
      },
      {
        id: 'RouteDivergence',
        metric: routerMetric(stage, METRIC.routeDivergence, { statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: [
          'The lifecycle sync found an order whose LEAN-acknowledged order id differs from the order Alpaca holds for its client_order_id: the runner and the broker disagree about which order was placed, and the row records both ids (route_divergence). Do NOT resend the order.',
          `First: find the orders: ${tail(props.lifecycleSync.logGroupName, '"route_divergence"')} ; then read each row: aws dynamodb get-item --table-name ${tableName} --key '{"${PROVENANCE_TABLE.partitionKey}":{"S":"<client_order_id>"}}' and compare both ids at the runner and at Alpaca.`,
          `If the runner keeps placing orders Alpaca does not know, take LEAN out of the path: ${killSwitchOn}`,
        ].join(' '),
      },
      ...scheduleAlarms('HealthCheck', 'health-check', props.healthCheck, tail, {
        stopped: 'the kill switch and runner-health gauges stop (the kill-switch-engaged and runner-unhealthy alarms go quiet or breach), lean-health goes stale so routers gate LEAN (runner_health_stale), and no automatic trip can happen.',
      }),
      ...scheduleAlarms('LifecycleSync', 'lifecycle sync', props.lifecycleSync, tail, {
        stopped: 'rows left pending or unknown are not reconciled, open orders keep their last broker state (fills and cancels are not recorded) and divergences go unseen. Routing is not affected.',
      }),
      {
        id: 'ParityCheckRegressed',
        metric: routerMetric(stage, METRIC.parityCheckRegressions, { statistic: 'Sum', period: PARITY_REGRESSION_PERIOD }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: [
          "A parity check that passed in a strategy's last stored report fails in this hour's report: LEAN's orders of that strategy no longer execute like Alpaca's (fill rate, slippage), a cohort fell under its minimum orders, or an order has divergent LEAN/Alpaca ids. Routing is not changed by this alarm.",
          `First: find the strategy and check: aws logs tail ${props.parityRun.logGroupName} --since 2h --filter-pattern '"parity_check_failed"' ; then the whole report: npx lean-router parity --stage ${stage} --strategy <strategy_id>.`,
          `The stored report: aws ssm get-parameter --name ${controlParameterName(parameters.prefix, CONTROL_PARAMETER.parity)}/<strategy_id> --query Parameter.Value --output text. If LEAN must stop for that strategy: npx lean-router strategy block <strategy_id> --stage ${stage} --reason "parity regressed".`,
        ].join(' '),
      },
      ...scheduleAlarms(
        'ParityRun',
        'parity run',
        props.parityRun,
        tail,
        { stopped: "the strategies' stored parity reports and the parity metrics go stale, and a check turning from pass to fail is not alarmed. Routing is not affected." },
        PARITY_RUN_CADENCE,
      ),
      {
        id: 'Api4xx',
        metric: new MathExpression({
          expression: `IF(FILL(errors, 0) >= ${API_4XX_MIN_COUNT} AND FILL(requests, 0) > 0, 100 * FILL(errors, 0) / FILL(requests, 0), 0)`,
          usingMetrics: {
            errors: props.apiStage.metricClientError({ statistic: 'Sum', period: API_4XX_WINDOW }),
            requests: props.apiStage.metricCount({ statistic: 'Sum', period: API_4XX_WINDOW }),
          },
          period: API_4XX_WINDOW,
          label: `API 4xx (% of requests, from ${API_4XX_MIN_COUNT} answers)`,
        }),
        threshold: API_4XX_RATE_PERCENT,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        description: [
          `At least ${API_4XX_MIN_COUNT} order API answers were 4xx, ${API_4XX_RATE_PERCENT}% or more of all requests over ${API_4XX_WINDOW.toMinutes()} minutes: a caller is being refused (403: unsigned, wrong principal or resource policy; 400: body fails the schema; 409: resent client_order_ids; 429: throttled). An occasional 409 or 404 stays below this.`,
          `First: group the refusals by status and caller: ${tail(props.accessLogGroupName, '{ $.status = "4*" }')} (fields status, errorType, userArn, resourcePath).`,
        ].join(' '),
      },
      {
        id: 'ApiThrottled',
        metric: new Metric({ namespace: ACCESS_LOG_METRICS_NAMESPACE, metricName: apiThrottledMetricName(stage), statistic: 'Sum', period: Duration.minutes(5) }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: [
          'API Gateway answered 429: the stage throttle refused orders before they reached the route function (no row, no broker call). The caller must retry with the same client_order_id.',
          `First: see who sent how much: ${tail(props.accessLogGroupName, '{ $.status = "429" }')} ; compare with the stage throttle: aws apigateway get-stage --rest-api-id <id> --stage-name ${stage} --query methodSettings`,
        ].join(' '),
      },
      {
        id: 'LeanAckMismatch',
        metric: routerMetric(stage, METRIC.leanAckMismatch, { statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: [
          'LEAN acknowledged an order that differs from the one asked (symbol, side, qty or notional): the order exists at the broker, the row is flagged review_required, nothing was resent, and a notional mismatch trips the kill switch. Do NOT resend the order.',
          `First: find the orders: ${tail(props.route.logGroupName, '"review_required"')} ; read each row (aws dynamodb get-item --table-name ${tableName} --key '{"${PROVENANCE_TABLE.partitionKey}":{"S":"<client_order_id>"}}') and compare it with the order at Alpaca; correct the position by hand if needed.`,
        ].join(' '),
      },
      {
        id: 'PolicyMisconfigured',
        metric: routerMetric(stage, METRIC.policyMisconfigured, { statistic: 'Sum', period: Duration.minutes(5) }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: [
          'An order was routed under a misconfigured policy (invalid policy override or environment): the router ran non-LEAN (Alpaca, or refused where the fallback is none) instead of guessing.',
          `First: read the override: aws ssm get-parameter --name ${parameters.policyName} --query Parameter.Value --output text ; fix it (JSON {adapter, policy, symbols, fallback, strategy_enablement}) or delete it to return to the deployed environment: aws ssm delete-parameter --name ${parameters.policyName} ; the route logs say which: ${tail(props.route.logGroupName, '"misconfigur"')}`,
        ].join(' '),
      },
      {
        id: 'KillSwitchTripped',
        metric: new MathExpression({
          expression: KILL_SWITCH_TRIP_REASONS.map((_, index) => `FILL(trip${index}, 0)`).join(' + '),
          usingMetrics: Object.fromEntries(
            KILL_SWITCH_TRIP_REASONS.map((reason, index) => [`trip${index}`, routerMetric(stage, METRIC.killSwitchTrips, { statistic: 'Sum', dimensions: { reason } })]),
          ),
          period: Duration.minutes(1),
          label: 'Kill switch trips (every reason)',
        }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: [
          `The router tripped the kill switch itself (${KILL_SWITCH_TRIP_REASONS.join(', ')}): LEAN is off for every order and stays off (latched) until an operator turns it back on.`,
          `First: read the reason and detail: aws ssm get-parameter --name ${parameters.killSwitchName} --query Parameter.Value --output text ; fix the cause, then: ${killSwitchOff}`,
        ].join(' '),
      },
      ...functionAlarms('Route', props.route, tail, {
        errors: 'The route function failed outside its own error handling (init failure, timeout, out of memory): an order may have been left pending.',
        throttles: 'Lambda throttled the route function: the account or region ran out of concurrency and orders were refused before routing.',
      }),
      ...functionAlarms('HealthCheck', props.healthCheck, tail, {
        errors: 'The health-check failed: the gauges stop, lean-health goes stale and the router gates LEAN after the staleness limit.',
        throttles: 'Lambda throttled the health-check function: the account or region ran out of concurrency and health-check runs were skipped.',
      }),
      ...functionAlarms('LifecycleSync', props.lifecycleSync, tail, {
        errors: 'The lifecycle sync failed outside its own error handling (init failure, timeout, out of memory): rows left pending or unknown were not reconciled and broker state changes of open orders were not recorded this run; the next run starts over from the unresolved and open rows.',
        throttles: 'Lambda throttled the lifecycle sync: the account or region ran out of concurrency and sync runs were skipped.',
      }),
    ];

    for (const spec of specs) {
      const alarm = new Alarm(this, spec.id, {
        alarmName: `${alarmNamePrefix(stage)}${kebab(spec.id)}`,
        alarmDescription: spec.description,
        metric: spec.metric,
        threshold: spec.threshold,
        comparisonOperator: spec.comparisonOperator,
        evaluationPeriods: spec.evaluationPeriods ?? 1,
        datapointsToAlarm: spec.datapointsToAlarm ?? spec.evaluationPeriods ?? 1,
        treatMissingData: spec.treatMissingData ?? TreatMissingData.NOT_BREACHING,
      });
      for (const subscriber of this.subscribers) {
        alarm.addAlarmAction(new SnsAction(subscriber));
        alarm.addOkAction(new SnsAction(subscriber));
      }
      this.alarms.push(alarm);
    }
  }
}

/**
 * The stage's 429 count, `api_throttled_total_<stage>`: a metric filter cannot add a constant
 * dimension, and the access log line carries no stage, so the stage is in the name.
 */
function apiThrottledMetricName(stage: Stage): string {
  return `${API_THROTTLED_METRIC}_${stage}`;
}

/**
 * Counts the stage's 429 answers from its access log: API Gateway publishes no 429 metric of its
 * own, only 4XXError, which mixes throttling with refused callers.
 */
function throttledRequestsFilter(scope: Construct, stage: Stage, accessLogGroupName: string): MetricFilter {
  return new MetricFilter(scope, 'ApiThrottledFilter', {
    logGroup: LogGroup.fromLogGroupName(scope, 'AccessLogGroup', accessLogGroupName),
    filterPattern: FilterPattern.stringValue('$.status', '=', '429'),
    metricNamespace: ACCESS_LOG_METRICS_NAMESPACE,
    metricName: apiThrottledMetricName(stage),
    metricValue: '1',
  });
}

/** How often a scheduled function runs, and how few runs over `window` mean it stopped. */
interface ScheduleCadence {
  /** In words, e.g. `every minute`. */
  readonly every: string;
  readonly window: Duration;
  readonly minRuns: number;
}

/** A window in words: `5 minutes`, `2 hours`. */
function windowWords(window: Duration): string {
  const minutes = window.toMinutes();
  return minutes % 60 === 0 ? `${minutes / 60} hour${minutes === 60 ? '' : 's'}` : `${minutes} minutes`;
}

/**
 * A scheduled function that stopped running (fewer runs than its schedule, missing data breaching)
 * and a schedule that failed to deliver (EventBridge `FailedInvocations` of its rule).
 */
function scheduleAlarms(
  id: string,
  what: string,
  fn: ScheduledFunction,
  tail: (logGroupName: string, filter?: string) => string,
  meaning: { readonly stopped: string },
  cadence: ScheduleCadence = EVERY_MINUTE,
): AlarmSpec[] {
  const runs = cadence.minRuns === 1 ? 'not once' : `fewer than ${cadence.minRuns} times`;
  return [
    {
      id: `${id}NotRunning`,
      metric: fn.function.metricInvocations({ statistic: 'Sum', period: cadence.window }),
      threshold: cadence.minRuns,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      // No data is no invocation: that is exactly what this alarm is for.
      treatMissingData: TreatMissingData.BREACHING,
      description: [
        `The ${what}, scheduled ${cadence.every}, ran ${runs} in ${windowWords(cadence.window)}: ${meaning.stopped}`,
        `First: find its schedule: aws events list-rule-names-by-target --target-arn ${fn.function.functionArn} ; if the rule is missing or disabled, enable it (aws events enable-rule --name <rule>) or redeploy the stack.`,
        `Otherwise read why runs fail to start: ${tail(fn.logGroupName)}`,
      ].join(' '),
    },
    {
      id: `${id}ScheduleFailed`,
      metric: new Metric({ namespace: 'AWS/Events', metricName: 'FailedInvocations', dimensionsMap: { RuleName: fn.schedule.ruleName }, statistic: 'Sum', period: cadence.window }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      description: [
        `EventBridge failed to invoke the ${what} from its schedule (permission removed, function deleted or throttled beyond the event's age): those runs are lost, the next ones may be too.`,
        `First: check the rule's target and the function's resource policy: aws events list-targets-by-rule --rule ${fn.schedule.ruleName} ; aws lambda get-policy --function-name ${fn.function.functionName} ; redeploying the stack restores both.`,
      ].join(' '),
    },
  ];
}

/** Errors and Throttles of one function; `meaning` says what each means for the router. */
function functionAlarms(
  id: string,
  fn: MonitoredFunction,
  tail: (logGroupName: string, filter?: string) => string,
  meaning: { readonly errors: string; readonly throttles: string },
): AlarmSpec[] {
  const period = Duration.minutes(5);
  return [
    {
      id: `${id}Errors`,
      metric: fn.function.metricErrors({ statistic: 'Sum', period }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      description: `${meaning.errors} First: ${tail(fn.logGroupName, '?ERROR ?"Task timed out" ?"Runtime."')}`,
    },
    {
      id: `${id}Throttles`,
      metric: fn.function.metricThrottles({ statistic: 'Sum', period }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      description: [
        meaning.throttles,
        `First: find what is using the concurrency: aws lambda get-account-settings ; aws cloudwatch get-metric-statistics --namespace AWS/Lambda --metric-name ConcurrentExecutions --statistics Maximum --period 60 --start-time $(date -u -d '-30 min' +%FT%TZ) --end-time $(date -u +%FT%TZ)`,
      ].join(' '),
    },
  ];
}

function kebab(id: string): string {
  return id
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([a-z])(\d)/g, '$1-$2')
    .toLowerCase();
}
