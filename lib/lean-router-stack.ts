import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ControlParameters } from './constructs/control-parameters';
import { HealthCheck } from './constructs/health-check';
import { LifecycleSync } from './constructs/lifecycle-sync';
import { OrderApi } from './constructs/order-api';
import { ParityRun } from './constructs/parity-run';
import { ProvenanceTable } from './constructs/provenance-table';
import { RouteFunction } from './constructs/route-function';
import { RouterAlarms } from './constructs/router-alarms';
import { RouterDashboard } from './constructs/router-dashboard';
import { ScheduledFailures } from './constructs/scheduled-failures';
import { routerEnvironment } from './router-environment';
import { LEAN_RUNNER_TOKEN_VARIABLE } from '../functions/core/config';
import { provenanceTableName } from '../functions/adapters/provenance-table';
import { orderApiCallers, requireAlarmSubscriber, type RouterSettings } from './router-settings';

/** Properties of the router stack. */
export interface LeanRouterStackProps extends StackProps {
  readonly settings: RouterSettings;
}

/**
 * The whole router in one stack: the order API, the route, health-check, lifecycle sync and parity run functions, the
 * provenance table, the control parameters, alarms and a dashboard. Live stages keep their table
 * and logs when the stack is deleted.
 */
export class LeanRouterStack extends Stack {
  readonly settings: RouterSettings;
  readonly provenance: ProvenanceTable;
  readonly parameters: ControlParameters;
  readonly route: RouteFunction;
  readonly healthCheck: HealthCheck;
  readonly lifecycleSync: LifecycleSync;
  readonly parityRun: ParityRun;
  /** The scheduled functions' failed or dropped runs, and their alarm. */
  readonly scheduledFailures: ScheduledFailures;
  readonly orderApi: OrderApi;
  readonly alarms: RouterAlarms;
  readonly dashboard: RouterDashboard;

  constructor(scope: Construct, id: string, props: LeanRouterStackProps) {
    super(scope, id, {
      description: `lean-router ${props.settings.stage}: order router (LEAN runner first, bounded fallback to Alpaca)`,
      ...props,
    });
    const { settings } = props;
    requireAlarmSubscriber(settings);
    this.settings = settings;
    const live = settings.stage === 'live';
    const logs = {
      logRetention: live ? RetentionDays.ONE_YEAR : RetentionDays.ONE_MONTH,
      logRemovalPolicy: live ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    };

    this.provenance = new ProvenanceTable(this, 'Provenance', { tableName: provenanceTableName(settings.stage), live });
    this.parameters = new ControlParameters(this, 'ControlParameters', { settings, ...logs });

    const environment = routerEnvironment(settings, {
      tableName: this.provenance.table.tableName,
      controlParameterPrefix: this.parameters.prefix,
      alpacaCredentialsParameter: this.parameters.alpacaCredentialsName,
    });
    const grants = { stage: settings.stage, environment, provenance: this.provenance, parameters: this.parameters, ...logs };
    this.route = new RouteFunction(this, 'Route', grants);
    const callers = orderApiCallers(settings);
    this.orderApi = new OrderApi(this, 'OrderApi', {
      stage: settings.stage,
      routeFunction: this.route.function,
      ...(callers === undefined ? {} : { callers }),
      ...logs,
    });
    this.scheduledFailures = new ScheduledFailures(this, 'ScheduledFailures', { stage: settings.stage });
    this.healthCheck = new HealthCheck(this, 'HealthCheck', { ...grants, failures: this.scheduledFailures.queue });
    // Reads only the table and the Alpaca keys, no control value: no dependency on the parameters.
    this.lifecycleSync = new LifecycleSync(this, 'LifecycleSync', { ...grants, failures: this.scheduledFailures.queue });
    // Reads the table's by-route index and its own parity/ folder; it creates its parameters itself.
    this.parityRun = new ParityRun(this, 'ParityRun', { ...grants, failures: this.scheduledFailures.queue });
    // The control values exist before either function can run (a missing kill switch reads as on).
    this.route.node.addDependency(this.parameters);
    // Every function that calls the runner reads its token (RouterFunction grants the parameter; the key's decrypt is here).
    if (environment[LEAN_RUNNER_TOKEN_VARIABLE] !== undefined) {
      for (const reader of [this.route, this.healthCheck, this.lifecycleSync]) this.parameters.grantSecretDecrypt(reader.role, 'leanRunnerToken');
    }
    this.healthCheck.node.addDependency(this.parameters);

    this.alarms = new RouterAlarms(this, 'Alarms', {
      stage: settings.stage,
      tableName: this.provenance.table.tableName,
      parameters: this.parameters,
      apiStage: this.orderApi.stage,
      accessLogGroupName: this.orderApi.accessLogGroupName,
      route: this.route,
      healthCheck: this.healthCheck,
      lifecycleSync: this.lifecycleSync,
      parityRun: this.parityRun,
      ...(settings.leanRunnerUrl === undefined ? {} : { leanRunnerUrl: settings.leanRunnerUrl }),
      ...(settings.alarmEmail === undefined ? {} : { alarmEmail: settings.alarmEmail }),
      ...(settings.alarmTopicArn === undefined ? {} : { alarmTopicArn: settings.alarmTopicArn }),
    });
    for (const topic of this.alarms.subscribers) this.scheduledFailures.notify(topic);
    this.alarms.alarms.push(this.scheduledFailures.alarm);
    this.dashboard = new RouterDashboard(this, 'Dashboard', { stage: settings.stage, alarms: this.alarms.alarms });

    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('ApiUrl', this.orderApi.url, 'Order API base URL (IAM/SigV4): POST orders, GET orders/{client_order_id}');
    output('ProvenanceTableName', this.provenance.table.tableName, 'DynamoDB provenance table');
    output('KillSwitchParameter', this.parameters.killSwitchName, 'SSM kill switch: on/off');
    output('PolicyParameter', this.parameters.policyName, 'SSM routing policy override JSON, put only by operators (absent: the deployed environment rules)');
    output('LeanHealthParameter', this.parameters.leanHealthName, 'SSM last runner probe (health-check)');
    output('ManualReviewParameterPath', this.parameters.manualReviewPath, 'SSM folder: one parameter per symbol in manual review');
    output('AlpacaCredentialsParameter', this.parameters.alpacaCredentialsName, 'SSM SecureString with the Alpaca keys (created out of band)');
    output('SecretsKeyAlias', this.parameters.secretsKeyAlias, 'KMS key of the SecureStrings: put them with --key-id <this alias>');
    output('AlarmTopicArn', this.alarms.topic.topicArn, 'SNS topic of every alarm');
    output('RouteLogGroup', this.route.logGroupName, 'Route function logs (one route_attribution line per order)');
    output('HealthCheckLogGroup', this.healthCheck.logGroupName, 'Health-check logs');
    output('LifecycleSyncLogGroup', this.lifecycleSync.logGroupName, 'Lifecycle sync logs (broker state changes, route_divergence)');
    output('ParityRunLogGroup', this.parityRun.logGroupName, 'Parity run logs (parity_report per strategy, parity_check_failed)');
    output('ParityReportParameterPath', this.parityRun.reportParameterPath, 'SSM folder: the last parity report per strategy, parity/<strategy_id>');
    output('ApiAccessLogGroup', this.orderApi.accessLogGroupName, 'API Gateway access logs (JSON)');
    output('DashboardName', this.dashboard.dashboard.dashboardName, 'CloudWatch dashboard');
  }
}
