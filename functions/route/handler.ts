import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { PowertoolsRouteMetrics } from '../adapters/powertools-route-metrics';
import { logger, metrics } from '../adapters/observability';
import { createOrderApi } from './order-api';
import { buildRouteDependencies } from './route-dependencies';

const dependencies = buildRouteDependencies(process.env, { logger, metrics: new PowertoolsRouteMetrics(metrics) });
if (dependencies.config.misconfiguration.length > 0) {
  // Logged once per container; every order also records the reason in its row.
  logger.warn('router_misconfigured', { problems: dependencies.config.misconfiguration, routing: 'alpaca only' });
}
const orderApi = createOrderApi(dependencies);

/** The route function: the order API behind API Gateway. */
export async function handler(event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> {
  logger.addContext(context);
  metrics.captureColdStartMetric();
  try {
    return await orderApi(event);
  } finally {
    metrics.publishStoredMetrics();
  }
}
