import { Duration } from 'aws-cdk-lib';
import type { Rule } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { PROVENANCE_TABLE } from '../../functions/adapters/provenance-table';
import { CONTROL_PARAMETER, controlParameterName } from '../../functions/core/control-parameters';
import { functionEntry, ROUTER_ENTRIES } from '../router-bundling';
import { SCHEDULED_RESERVED_CONCURRENCY } from './broker-quota';
import { nagParameterArn, ssmParameterArn } from './control-parameters';
import { EVERY_MINUTE_SCHEDULE, RouterFunction, type RouterFunctionContext } from './router-function';

/**
 * Above the sync's own default budget (25 s), so a run ends on its budget and still flushes its
 * metrics; below the schedule's minute, so runs never overlap.
 */
const LIFECYCLE_SYNC_TIMEOUT = Duration.seconds(30);
const LIFECYCLE_SYNC_MEMORY_MB = 256;

/** Properties of the lifecycle sync. */
export interface LifecycleSyncProps extends RouterFunctionContext {
  /** Where a failed or dropped run goes (alarmed). */
  readonly failures: IQueue;
}

/**
 * The lifecycle sync (`functions/lifecycle-sync/handler.ts`) on an EventBridge `rate(1 minute)`
 * rule. It first reconciles the rows left `pending` or `unknown` (by-status index, lookups at
 * Alpaca and the runner, a conditional resolve), then reads the open orders from the provenance
 * table's open-orders index, asks Alpaca for their state, records broker state changes on the rows
 * and counts route divergences; a divergent id blocks its strategy (`strategies/<strategy_id>`).
 */
export class LifecycleSync extends RouterFunction {
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: LifecycleSyncProps) {
    super(scope, id, {
      ...props,
      functionName: `lean-router-${props.stage}-lifecycle-sync`,
      entry: functionEntry(ROUTER_ENTRIES.lifecycleSync),
      description: 'lean-router: reconciles unresolved rows and syncs open orders with Alpaca each minute, records broker state changes and divergences',
      timeout: LIFECYCLE_SYNC_TIMEOUT,
      memorySize: LIFECYCLE_SYNC_MEMORY_MB,
      reservedConcurrentExecutions: SCHEDULED_RESERVED_CONCURRENCY,
    });
    const { provenance, parameters } = props;

    this.schedule = this.runOnSchedule('lean-router: runs the lifecycle sync every minute', EVERY_MINUTE_SCHEDULE, props.failures);

    // The rows still open at a broker and the rows still pending/unknown; no scan.
    this.addToPolicy(
      new PolicyStatement({
        sid: 'QueryOpenAndUnresolvedOrders',
        actions: ['dynamodb:Query'],
        resources: [provenance.indexArn(PROVENANCE_TABLE.indexes.openOrders), provenance.indexArn(PROVENANCE_TABLE.indexes.byStatus)],
      }),
    );
    // Each broker state change and each resolve is a conditional UpdateItem of its row; a refused
    // resolve reads the row back (GetItem) to tell its own retried write from another writer's.
    this.addToPolicy(
      new PolicyStatement({
        sid: 'RecordBrokerStatesAndResolveRows',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [provenance.table.tableArn],
      }),
    );
    // The Alpaca keys (list and reconciliation lookups); the sync reads no control value.
    parameters.grantAlpacaCredentialsRead(this);
    // Its one control write: a divergent id blocks its strategy. Strategies appear at runtime, so the
    // folder is a wildcard; nothing else under the prefix is writable.
    const strategies = `${controlParameterName(parameters.prefix, CONTROL_PARAMETER.strategies)}/*`;
    this.addToPolicy(new PolicyStatement({ sid: 'BlockDivergentStrategies', actions: ['ssm:PutParameter'], resources: [ssmParameterArn(this, strategies)] }));
    this.acknowledgeWildcardResource(
      nagParameterArn(strategies),
      'Strategy enablement is one parameter per strategy (strategies/<strategy_id>), created at runtime, so the strategies are unknown at deploy time; the wildcard is confined to that folder of this stage and to ssm:PutParameter.',
    );
  }
}
