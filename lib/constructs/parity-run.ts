import { Duration } from 'aws-cdk-lib';
import type { Rule } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { PROVENANCE_TABLE } from '../../functions/adapters/provenance-table';
import { STAGE_VARIABLE } from '../../functions/core/config';
import { CONTROL_PARAMETER, controlParameterName } from '../../functions/core/control-parameters';
import { functionEntry, ROUTER_ENTRIES } from '../router-bundling';
import { SCHEDULED_RESERVED_CONCURRENCY } from './broker-quota';
import { nagParameterArn, ssmParameterArn } from './control-parameters';
import { RouterFunction, type RouterFunctionContext, type RunSchedule } from './router-function';

/**
 * Above the run's default budget (60 s), so a run ends on its budget and still flushes its metrics;
 * far below the period, so runs never overlap.
 */
const PARITY_RUN_TIMEOUT = Duration.seconds(90);
/** Room for one accumulator per strategy over the window's rows (counters, and one number per fill for the percentiles). */
const PARITY_RUN_MEMORY_MB = 512;
/**
 * Each hour: a report covers days of orders, so an hour is fresh enough, and a run costs cents a
 * month. A queued run older than a quarter of an hour is dropped (to the failure queue): the one
 * reserved instance is never busy for long (90 s at most against an hour), so an event only waits
 * out a throttle, and a run that late still reports the same window.
 */
const PARITY_RUN_SCHEDULE: RunSchedule = { period: Duration.hours(1), maxEventAge: Duration.minutes(15) };

/** The variables the run reads of the shared environment (plus any `TRADING_PARITY_*`): no broker, no runner, no secret. */
const PARITY_RUN_VARIABLES = [STAGE_VARIABLE, 'PROVENANCE_TABLE_NAME', 'CONTROL_PARAMETER_PREFIX'] as const;

/** Properties of the parity run. */
export interface ParityRunProps extends RouterFunctionContext {
  /** Where a failed or dropped run goes (alarmed). */
  readonly failures: IQueue;
}

/**
 * The parity run (`functions/parity-run/handler.ts`) on an EventBridge `rate(1 hour)` rule: each
 * strategy's parity report over the window (every strategy's rows in one read of the provenance
 * table's by-route index), compared with its last report in SSM `parity/<strategy_id>`, stored
 * there in its place, and emitted as metrics; a check that turns from pass to fail is alarmed.
 */
export class ParityRun extends RouterFunction {
  readonly schedule: Rule;
  /** `<prefix>parity`, the folder of the stored reports. */
  readonly reportParameterPath: string;

  constructor(scope: Construct, id: string, props: ParityRunProps) {
    const environment = Object.fromEntries(
      Object.entries(props.environment).filter(([name]) => (PARITY_RUN_VARIABLES as readonly string[]).includes(name) || name.startsWith('TRADING_PARITY_')),
    );
    super(scope, id, {
      ...props,
      environment,
      functionName: `lean-router-${props.stage}-parity-run`,
      entry: functionEntry(ROUTER_ENTRIES.parityRun),
      description: 'lean-router: reports routed vs non-routed parity per strategy each hour, stores the last report, alarms on a check turning from pass to fail',
      timeout: PARITY_RUN_TIMEOUT,
      memorySize: PARITY_RUN_MEMORY_MB,
      reservedConcurrentExecutions: SCHEDULED_RESERVED_CONCURRENCY,
    });
    const { provenance, parameters } = props;
    this.reportParameterPath = controlParameterName(parameters.prefix, CONTROL_PARAMETER.parity);

    // Not retried: the next run reads the same window, an hour on.
    this.schedule = this.runOnSchedule('lean-router: runs the parity report every hour', PARITY_RUN_SCHEDULE, props.failures);

    // Every strategy's rows of the window, one by-route partition per route; no scan, no row read by key.
    this.addToPolicy(
      new PolicyStatement({ sid: 'QueryRowsByRoute', actions: ['dynamodb:Query'], resources: [provenance.indexArn(PROVENANCE_TABLE.indexes.byRoute)] }),
    );
    // The last report of each strategy: read in batches of ten, then replaced. Nothing else of the stage's parameters.
    const reports = `${this.reportParameterPath}/*`;
    this.addToPolicy(
      new PolicyStatement({ sid: 'ReadAndWriteParityReports', actions: ['ssm:GetParameters', 'ssm:PutParameter'], resources: [ssmParameterArn(this, reports)] }),
    );
    this.acknowledgeWildcardResource(
      nagParameterArn(reports),
      'One stored report per strategy (parity/<strategy_id>), created at runtime for the strategies seen in the window, so the names are unknown at deploy time; the wildcard is confined to that folder of this stage and to reading and putting those values.',
    );
  }
}
