import type { APIGatewayProxyEvent } from 'aws-lambda';

/** A REST API (v1) proxy event as API Gateway sends it: a `POST /orders` without a body unless `overrides` say otherwise. */
export function apiGatewayEvent(overrides: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent {
  return {
    httpMethod: 'POST',
    path: '/orders',
    resource: '/orders',
    body: null,
    isBase64Encoded: false,
    headers: {},
    multiValueHeaders: {},
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: { requestId: `req-${Math.random().toString(36).slice(2)}` } as APIGatewayProxyEvent['requestContext'],
    ...overrides,
  };
}

/** The proxy event of one call: `pathParameters` given means the `/orders/{client_order_id}` resource. */
export function proxyEvent(
  method: string,
  path: string,
  body: string | null,
  headers: Record<string, string> = {},
  pathParameters: Record<string, string> | null = null,
): APIGatewayProxyEvent {
  return apiGatewayEvent({
    httpMethod: method,
    path,
    resource: pathParameters ? '/orders/{client_order_id}' : path,
    body,
    headers,
    pathParameters,
  });
}
