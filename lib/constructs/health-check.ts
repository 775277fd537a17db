import { Duration } from 'aws-cdk-lib';
import type { Rule } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { PROVENANCE_TABLE } from '../../functions/adapters/provenance-table';
import { functionEntry, ROUTER_ENTRIES } from '../router-bundling';
import { SCHEDULED_RESERVED_CONCURRENCY } from './broker-quota';
import { EVERY_MINUTE_SCHEDULE, RouterFunction, type RouterFunctionContext } from './router-function';

/**
 * One run probes the runner (10 s at most), reads and writes a few parameters and reads the last
 * minutes of LEAN outcomes and fallbacks, each call bounded by its own timeout. Below the schedule's
 * minute, so a run ends before the next is due and runs never overlap.
 */
const HEALTH_CHECK_TIMEOUT = Duration.seconds(45);
const HEALTH_CHECK_MEMORY_MB = 256;

/** Properties of the health-check. */
export interface HealthCheckProps extends RouterFunctionContext {
  /** Where a failed or dropped run goes (alarmed). */
  readonly failures: IQueue;
}

/**
 * The health-check function (`functions/health-check/handler.ts`) on an EventBridge
 * `rate(1 minute)` rule. It probes the LEAN runner, writes `lean-health`, publishes the kill switch,
 * runner health, LEAN error rate and manual review gauges, and trips the kill switch on its own.
 */
export class HealthCheck extends RouterFunction {
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: HealthCheckProps) {
    super(scope, id, {
      ...props,
      functionName: `lean-router-${props.stage}-health-check`,
      entry: functionEntry(ROUTER_ENTRIES.healthCheck),
      description: 'lean-router: probes the LEAN runner each minute, publishes gauges, trips the kill switch',
      timeout: HEALTH_CHECK_TIMEOUT,
      memorySize: HEALTH_CHECK_MEMORY_MB,
      reservedConcurrentExecutions: SCHEDULED_RESERVED_CONCURRENCY,
    });
    const { provenance, parameters } = props;

    this.schedule = this.runOnSchedule('lean-router: runs the health-check every minute', EVERY_MINUTE_SCHEDULE, props.failures);

    // The recent LEAN outcomes and fallbacks (by route); it writes no row: the lifecycle sync reconciles them.
    this.addToPolicy(
      new PolicyStatement({
        sid: 'QueryProvenanceIndexes',
        actions: ['dynamodb:Query'],
        resources: [provenance.indexArn(PROVENANCE_TABLE.indexes.byRoute)],
      }),
    );
    // Reads the control values fresh each run; writes the probe result, trips the kill switch
    // (never clears it: only operators do) and puts symbols with repeated fallbacks in review;
    // no Alpaca keys: it asks no broker anything.
    parameters.grantRuntimeAccess(this, ['leanHealth', 'killSwitch']);
  }
}
