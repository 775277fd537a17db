import { Duration } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { PROVENANCE_TABLE } from '../../functions/adapters/provenance-table';
import { functionEntry, ROUTER_ENTRIES } from '../router-bundling';
import { routeTimeoutMs } from '../router-environment';
import { ROUTE_RESERVED_CONCURRENCY } from './broker-quota';
import { RouterFunction, type RouterFunctionContext } from './router-function';

/** More memory is more CPU: a faster cold start and TLS handshakes on the order path. */
const ROUTE_MEMORY_MB = 512;

/** Properties of the route function. */
export type RouteFunctionProps = RouterFunctionContext;

/** The route function (`functions/route/handler.ts`) behind `POST /orders` and `GET /orders/{id}`. */
export class RouteFunction extends RouterFunction {
  constructor(scope: Construct, id: string, props: RouteFunctionProps) {
    super(scope, id, {
      ...props,
      functionName: `lean-router-${props.stage}-route`,
      entry: functionEntry(ROUTER_ENTRIES.route),
      description: 'lean-router: routes one order to LEAN or Alpaca and records its provenance',
      // The budget the function checks its slowest path against at start, checked at synth too
      // (lib/router-settings.ts): the slowest order answers before this, and this before API Gateway's 29 s.
      timeout: Duration.millis(routeTimeoutMs(props.environment)),
      memorySize: ROUTE_MEMORY_MB,
      reservedConcurrentExecutions: ROUTE_RESERVED_CONCURRENCY,
    });
    const { provenance, parameters } = props;

    // Claim (conditional PutItem), finalize (conditional UpdateItem), replay and GET /orders/{id} (GetItem).
    this.addToPolicy(
      new PolicyStatement({
        sid: 'ProvenanceRows',
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem'],
        resources: [provenance.table.tableArn],
      }),
    );
    // Recent fallbacks of the order's symbol (manual review after repeated fallbacks).
    this.addToPolicy(
      new PolicyStatement({
        sid: 'CountSymbolFallbacks',
        actions: ['dynamodb:Query'],
        resources: [provenance.indexArn(PROVENANCE_TABLE.indexes.bySymbol)],
      }),
    );
    // The cached control values; a notional-mismatch trip writes the kill switch, repeated
    // fallbacks put a symbol in review; the Alpaca keys.
    parameters.grantRuntimeAccess(this, ['killSwitch']);
    parameters.grantAlpacaCredentialsRead(this);
  }
}
