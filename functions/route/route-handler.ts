import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { PowertoolsRouteMetrics } from '../adapters/powertools-route-metrics';
import { logger, metrics, traceInvocation, type TraceAnnotations } from '../adapters/observability';
import { EXECUTION_ROUTES } from '../core/execution';
import { createOrderApi } from './order-api';
import { buildRouteDependencies } from './route-dependencies';

/** The route function's Lambda signature; `context` is optional so local callers can omit it. */
export type RouteHandler = (event: APIGatewayProxyEvent, context?: Context) => Promise<APIGatewayProxyResult>;

/**
 * Builds the route function once per container: dependencies from `env`, the order API, and the
 * per-invocation chores (log context, cold-start metric, one EMF flush). The local stack calls
 * this with loopback clients; Lambda calls it with `process.env`.
 */
export function createRouteHandler(
  env: Readonly<Record<string, string | undefined>>,
  clients: { readonly dynamoDb?: DynamoDBClient; readonly ssm?: SSMClient } = {},
): RouteHandler {
  const dependencies = buildRouteDependencies(env, { logger, metrics: new PowertoolsRouteMetrics(metrics), ...clients });
  if (dependencies.config.misconfiguration.length > 0) {
    // Logged once per container; every order also records the reason on its row.
    logger.warn('router_misconfigured', { problems: dependencies.config.misconfiguration, routing: 'alpaca only' });
  }
  const orderApi = createOrderApi(dependencies);
  return async (event, context) => {
    if (context) logger.addContext(context);
    metrics.captureColdStartMetric();
    try {
      // The deadline of the order comes from what Lambda says is left of this invocation.
      return await traceInvocation(() => orderApi(event, context?.getRemainingTimeInMillis()), (response) => routeAnnotations(event, response));
    } finally {
      // Most metrics go out as single metrics; publishing an empty set only logs a warning.
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}

/** The routes an order can take: the only `execution_route` values a trace may carry. */
const KNOWN_ROUTES: ReadonlySet<string> = new Set<string>(EXECUTION_ROUTES);

/** The API's resource templates; anything else (a local caller's raw path) is annotated `other`. */
const API_RESOURCES: ReadonlySet<string> = new Set(['/orders', '/orders/{client_order_id}']);

/**
 * What the route function's trace is annotated with: the method, API Gateway's resource template
 * (`/orders/{client_order_id}`, never the path with the id), the status and the route taken.
 * Nothing that identifies an order or an account: no id, symbol, key or token.
 */
export function routeAnnotations(event: APIGatewayProxyEvent, response: APIGatewayProxyResult): TraceAnnotations {
  const route = executionRoute(response.body);
  return {
    http_method: event.httpMethod,
    resource: API_RESOURCES.has(event.resource) ? event.resource : 'other',
    status_code: response.statusCode,
    ...(route === undefined ? {} : { execution_route: route }),
  };
}

/** The route evidence's `execution_route` (top level, or under an error's `details`), when it is a known route. */
function executionRoute(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const record = parsed as { execution_route?: unknown; details?: { execution_route?: unknown } | null };
  const route = record.execution_route ?? record.details?.execution_route;
  return typeof route === 'string' && KNOWN_ROUTES.has(route) ? route : undefined;
}
