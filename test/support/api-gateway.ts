import type { APIGatewayProxyEvent } from 'aws-lambda';

/** The content type every `POST /orders` must carry; without it the order API answers 415. */
export const JSON_CONTENT_TYPE: Readonly<Record<string, string>> = { 'content-type': 'application/json' };

/**
 * A REST API (v1) proxy event as API Gateway sends it: a `POST /orders` with a JSON content type
 * and without a body unless `overrides` say otherwise (`headers` replaces every header).
 */
export function apiGatewayEvent(overrides: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent {
  return {
    httpMethod: 'POST',
    path: '/orders',
    resource: '/orders',
    body: null,
    isBase64Encoded: false,
    headers: { ...JSON_CONTENT_TYPE },
    multiValueHeaders: {},
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: { requestId: `req-${Math.random().toString(36).slice(2)}` } as APIGatewayProxyEvent['requestContext'],
    ...overrides,
  };
}

/**
 * The proxy event of one call: `pathParameters` given means the `/orders/{client_order_id}` resource.
 * A body is sent as JSON unless `headers` name another content type.
 */
export function proxyEvent(
  method: string,
  path: string,
  body: string | null,
  headers: Record<string, string> = {},
  pathParameters: Record<string, string> | null = null,
): APIGatewayProxyEvent {
  const namesContentType = Object.keys(headers).some((name) => name.toLowerCase() === 'content-type');
  return apiGatewayEvent({
    httpMethod: method,
    path,
    resource: pathParameters ? '/orders/{client_order_id}' : path,
    body,
    headers: body === null || namesContentType ? headers : { ...JSON_CONTENT_TYPE, ...headers },
    pathParameters,
  });
}
