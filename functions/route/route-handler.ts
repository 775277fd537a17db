import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { PowertoolsRouteMetrics } from '../adapters/powertools-route-metrics';
import { logger, metrics } from '../adapters/observability';
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
      return await orderApi(event, context?.getRemainingTimeInMillis());
    } finally {
      // Most metrics go out as single metrics; publishing an empty set only logs a warning.
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}
