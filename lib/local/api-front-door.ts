import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { decodeUtf8 } from '../../functions/core/strict-json';
import { decodePathSegment } from '../../functions/route/order-api';
import { listen, stopListening } from './port-in-use';

/** Any API Gateway proxy handler. */
export type ProxyHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/**
 * Routes the front door answers itself, before the handler: local-only tooling such as fault
 * injection, never part of the deployed API. `undefined` hands the request to the handler.
 */
export type LocalRoutes = (request: { method: string; path: string; body: string }) => Promise<{ status: number; body: unknown } | undefined>;

/** Several sets of local routes as one: the first that answers a request answers it. */
export function firstAnswering(...routes: readonly LocalRoutes[]): LocalRoutes {
  return async (request) => {
    for (const route of routes) {
      const answer = await route(request);
      if (answer !== undefined) return answer;
    }
    return undefined;
  };
}

/** The local stand-in for API Gateway, listening on loopback. */
export interface ApiFrontDoor {
  readonly url: string;
  close(): Promise<void>;
}

// API Gateway accepts up to 10 MB; reading more than this locally only wastes memory, since the
// handler answers 413 above 16 KiB anyway.
const MAX_READ_BYTES = 1024 * 1024;

/**
 * Turns HTTP requests into REST API (v1) proxy events for the real handler, as API Gateway does,
 * including `resource` and `pathParameters` for `/orders/{client_order_id}`.
 */
export async function startApiFrontDoor(
  handler: ProxyHandler,
  options: { host?: string; port?: number; localRoutes?: LocalRoutes } = {},
): Promise<ApiFrontDoor> {
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((req, res) => {
    void readBody(req).then(async (body) => {
      let result: APIGatewayProxyResult;
      try {
        const local = body === undefined ? undefined : await options.localRoutes?.(localRequest(req, body));
        if (local !== undefined) result = { statusCode: local.status, body: JSON.stringify(local.body) };
        else result = body === undefined ? tooLarge() : await handler(toProxyEvent(req, body));
      } catch (error) {
        result = { statusCode: 500, body: JSON.stringify({ error: 'internal_error', message: String(error) }) };
      }
      res.writeHead(result.statusCode, { 'content-type': 'application/json', ...stringHeaders(result.headers) });
      res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
    });
  });
  const port = await listen(server, 'API front door', host, options.port ?? 0);
  return { url: `http://${host}:${port}`, close: () => stopListening(server) };
}

/** The proxy event API Gateway would send for this request. */
function toProxyEvent(req: IncomingMessage, body: Buffer): APIGatewayProxyEvent {
  const url = new URL(req.url ?? '/', 'http://local');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const orderMatch = /^\/orders\/([^/]+)\/?$/.exec(url.pathname);
  const query = Object.fromEntries(url.searchParams.entries());
  // Bytes that are not UTF-8 go as sent (base64), not as U+FFFD, so the handler can refuse them.
  const text = decodeUtf8(body);
  return {
    httpMethod: req.method ?? 'GET',
    path: url.pathname,
    resource: orderMatch ? '/orders/{client_order_id}' : url.pathname,
    // A segment that does not decode goes as sent; the handler refuses it with a 400.
    pathParameters: orderMatch ? { client_order_id: decodePathSegment(orderMatch[1] ?? '') } : null,
    headers,
    multiValueHeaders: {},
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    body: body.length === 0 ? null : (text ?? body.toString('base64')),
    isBase64Encoded: body.length > 0 && text === undefined,
    requestContext: { requestId: randomUUID(), stage: 'local' } as APIGatewayProxyEvent['requestContext'],
  };
}

function localRequest(req: IncomingMessage, body: Buffer): { method: string; path: string; body: string } {
  return { method: req.method ?? 'GET', path: new URL(req.url ?? '/', 'http://local').pathname, body: body.toString('utf8') };
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_READ_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_READ_BYTES ? undefined : Buffer.concat(chunks)));
    req.on('error', () => resolve(undefined));
  });
}

function tooLarge(): APIGatewayProxyResult {
  return { statusCode: 413, body: JSON.stringify({ error: 'payload_too_large', message: `body exceeds ${MAX_READ_BYTES} bytes` }) };
}

function stringHeaders(headers: APIGatewayProxyResult['headers']): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name, String(value)]));
}
