import { Duration } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { PROVENANCE_TABLE } from '../../functions/adapters/provenance-table';
import { functionEntry, ROUTER_ENTRIES } from '../router-bundling';
import { RouterFunction, type RouterFunctionContext } from './router-function';

/**
 * The route function's timeout. Its worst case with the default timeouts is LEAN submit 3 s, LEAN
 * lookup 1 s, Alpaca lookup 1.5 s, Alpaca submit 5 s, Alpaca lookup 1.5 s (12 s of broker calls),
 * plus the conditional claim and finalize in DynamoDB and the cached SSM reads. 20 s covers that
 * and, with a cold start's init, stays well under API Gateway's 29 s integration limit.
 */
const ROUTE_TIMEOUT = Duration.seconds(20);
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
      timeout: ROUTE_TIMEOUT,
      memorySize: ROUTE_MEMORY_MB,
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
  }
}
