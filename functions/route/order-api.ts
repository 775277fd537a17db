import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { CLIENT_ORDER_ID_PATTERN, MAX_ORDER_BODY_BYTES, parseOrderRequest } from '../core/order-request';
import { dropUndefined } from '../core/objects';
import type { ProvenanceRow } from '../core/provenance';
import { decodeUtf8, parseStrictJson, type StrictJsonResult } from '../core/strict-json';
import { routeOrder, type RouteDependencies, type RouteInvocation, type RouteResult } from '../core/route-order';
import { cancelOrder, type CancelDependencies, type CancelResult } from '../core/cancel-order';
import { cancelReceiptResponse, errorResponse, receiptResponse, rowResponse } from './http-responses';
import type { CancelReceipt, OrderReceipt } from './order-responses';

/** What the order API needs: routing for POST, cancelling for DELETE, over the same clients. */
export type OrderApiDependencies = RouteDependencies & CancelDependencies;

/** An API Gateway proxy handler for the order API. */
export type OrderApi = (event: APIGatewayProxyEvent, remainingMs?: number) => Promise<APIGatewayProxyResult>;

/** A caller's `x-correlation-id` is used only in this form; otherwise the API makes one. */
export const CORRELATION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const ORDER_PATH = /^\/orders\/([^/]+)$/;

/**
 * Builds the order API: `POST /orders` routes an order, `GET /orders/{client_order_id}` reads
 * its row, `DELETE /orders/{client_order_id}` cancels it. Thin by design: parse the event, call
 * core, map the result to HTTP.
 */
export function createOrderApi(deps: OrderApiDependencies): OrderApi {
  return async (event, remainingMs) => {
    const correlationId = correlationIdOf(event);
    const headers = { 'x-correlation-id': correlationId };
    const path = event.path.replace(/\/+$/, '') || '/';
    try {
      if (path === '/orders') {
        if (event.httpMethod !== 'POST') return errorResponse(405, 'method_not_allowed', 'use POST /orders', undefined, { ...headers, allow: 'POST' });
        return withHeaders(await postOrder(deps, event, { correlationId, ...(remainingMs === undefined ? {} : { remainingMs }) }), headers);
      }
      const match = ORDER_PATH.exec(path);
      if (match) {
        const id = event.pathParameters?.client_order_id ?? decodePathSegment(match[1] ?? '');
        const invalid = invalidClientOrderId(id);
        if (event.httpMethod === 'GET') return withHeaders(invalid ?? (await getOrder(deps, id)), headers);
        if (event.httpMethod === 'DELETE') {
          const invocation = { correlationId, ...(remainingMs === undefined ? {} : { remainingMs }) };
          return withHeaders(invalid ?? cancelResultResponse(await cancelOrder(deps, id, invocation)), headers);
        }
        return errorResponse(405, 'method_not_allowed', 'use GET or DELETE /orders/{client_order_id}', undefined, { ...headers, allow: 'GET, DELETE' });
      }
      return errorResponse(404, 'not_found', `no route for ${event.httpMethod} ${path}`, undefined, headers);
    } catch (error) {
      deps.logger.error('order_api_unhandled_error', { correlation_id: correlationId, error: error instanceof Error ? error.stack : String(error) });
      return errorResponse(500, 'internal_error', 'unexpected error; see the logs under this correlation id', undefined, headers);
    }
  };
}

async function postOrder(deps: RouteDependencies, event: APIGatewayProxyEvent, invocation: RouteInvocation): Promise<APIGatewayProxyResult> {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > MAX_ORDER_BODY_BYTES) {
    return errorResponse(413, 'payload_too_large', `body is ${bytes.length} bytes; the limit is ${MAX_ORDER_BODY_BYTES}`);
  }
  if (!isJsonContentType(headerOf(event, 'content-type'))) {
    // API Gateway validates only application/json bodies against the model, so nothing else gets in.
    return errorResponse(415, 'unsupported_media_type', 'content-type must be application/json (with charset=utf-8, if any)');
  }
  // A text body reaches the handler already decoded: a lone surrogate has no UTF-8 form, and
  // Buffer.from would have turned it into U+FFFD.
  const text = !event.isBase64Encoded && LONE_SURROGATE.test(raw) ? undefined : decodeUtf8(bytes);
  if (text === undefined) return errorResponse(400, 'invalid_json', 'body is not valid UTF-8');
  // In AWS, API Gateway hands a text body over with invalid UTF-8 already replaced by U+FFFD, so
  // the replacement character itself is the only trace of bytes that were not UTF-8.
  if (text.includes(REPLACEMENT_CHARACTER)) {
    return errorResponse(400, 'invalid_json', 'body holds U+FFFD, the mark left where bytes were not valid UTF-8');
  }
  const json = parseStrictJson(text);
  if (!json.ok) return errorResponse(400, 'invalid_json', invalidJsonMessage(json, bytes.length));
  const parsed = parseOrderRequest(json.value);
  if (!parsed.ok) {
    const summary = parsed.issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ');
    return errorResponse(400, 'validation_failed', summary, parsed.issues);
  }
  return routeResultResponse(await routeOrder(deps, parsed.order, invocation));
}

/** Maps a routing result to its status code and body, as the order API documents each one. */
export function routeResultResponse(result: RouteResult): APIGatewayProxyResult {
  switch (result.kind) {
    case 'provenance_unavailable':
      return errorResponse(503, 'provenance_unavailable', 'the order could not be recorded, so it was not sent to any broker; retry later', undefined, { 'retry-after': '5' });
    case 'conflict':
      return errorResponse(409, 'client_order_id_conflict', 'this client_order_id was already used for a different order', { client_order_id: result.row.client_order_id, status: result.row.status });
    case 'in_flight':
      return errorResponse(409, 'order_in_flight', 'this order is still being routed; read it with GET /orders/{client_order_id}', { client_order_id: result.row.client_order_id, status: result.row.status });
    case 'replay':
      return receiptResponse(result.row.status === 'unknown' ? 202 : 200, orderReceipt(result.row), { 'idempotent-replay': 'true' });
    case 'routed': {
      const receipt: OrderReceipt = { ...orderReceipt(result.row), persisted: result.persisted };
      switch (result.row.status) {
        case 'accepted':
          return receiptResponse(201, receipt);
        case 'unknown':
          return receiptResponse(202, receipt);
        case 'rejected':
          return errorResponse(422, 'order_rejected', result.row.status_detail ?? 'the broker rejected the order', receipt);
        default:
          return errorResponse(502, 'order_failed', result.row.status_detail ?? 'no broker accepted the order', receipt);
      }
    }
  }
}

/** Malformed percent-encoding becomes an id that fails validation, so it answers 400, not 500. */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * `application/json`, parameters allowed, but no charset other than UTF-8 (RFC 8259 JSON is UTF-8).
 * Media type and parameter names are case-insensitive, as is the charset value.
 */
function isJsonContentType(value: string | undefined): boolean {
  const [mediaType, ...parameters] = (value ?? '').split(';');
  if (mediaType?.trim().toLowerCase() !== 'application/json') return false;
  return parameters.every((parameter) => {
    const [name = '', ...value] = parameter.split('=');
    if (name.trim().toLowerCase() !== 'charset') return true;
    return value.join('=').trim().replace(/^"(.*)"$/, '$1').toLowerCase() === 'utf-8';
  });
}

// API Gateway passes header names as the client spelled them.
function headerOf(event: APIGatewayProxyEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  for (const header of Object.keys(headers)) if (header.toLowerCase() === name) return headers[header];
  return undefined;
}

// With the u flag a well-formed surrogate pair is one code point, so only a lone half matches.
const LONE_SURROGATE = /\p{Cs}/u;
const REPLACEMENT_CHARACTER = '\uFFFD';

function invalidJsonMessage(refusal: Extract<StrictJsonResult, { ok: false }>, byteCount: number): string {
  if (refusal.problem === 'duplicate_key') return `body has the key ${JSON.stringify(refusal.key)} more than once`;
  return byteCount === 0 ? 'a JSON body is required' : 'body is not valid JSON';
}

/** The path's id breaks the order API's rule: a 400 that reads nothing and calls nothing. */
function invalidClientOrderId(clientOrderId: string): APIGatewayProxyResult | undefined {
  if (CLIENT_ORDER_ID_PATTERN.test(clientOrderId)) return undefined;
  return errorResponse(400, 'validation_failed', 'client_order_id: must be 1-128 characters of A-Z a-z 0-9 . _ : -', [
    { field: 'client_order_id', message: 'must be 1-128 characters of A-Z a-z 0-9 . _ : -' },
  ]);
}

/** Maps a cancel result to its status code and body, as the order API documents each one. */
export function cancelResultResponse(result: CancelResult): APIGatewayProxyResult {
  switch (result.kind) {
    case 'not_found':
      return errorResponse(404, 'order_not_found', 'no order with this client_order_id');
    case 'provenance_unavailable':
      return errorResponse(503, 'provenance_unavailable', 'the cancel could not be recorded, so no broker was asked; retry later', undefined, { 'retry-after': '5' });
    case 'not_cancellable':
      return errorResponse(409, 'order_not_cancellable', result.detail, cancelReceipt(result.row));
    case 'final':
      return errorResponse(409, 'order_final', result.detail, cancelReceipt(result.row));
    case 'failed':
      return errorResponse(502, 'cancel_failed', result.detail, cancelReceipt(result.row));
    case 'requested':
      return result.repeat ? cancelReceiptResponse(200, cancelReceipt(result.row), { 'idempotent-replay': 'true' }) : cancelReceiptResponse(202, cancelReceipt(result.row));
  }
}

/** The cancel evidence of a row. */
export function cancelReceipt(row: ProvenanceRow): CancelReceipt {
  return dropUndefined({
    client_order_id: row.client_order_id,
    status: row.status,
    broker_order_id: row.broker_order_id,
    execution_route: row.execution_route,
    broker_status: row.broker_status,
    filled_qty: row.filled_qty,
    cancel_requested_at: row.cancel_requested_at,
    cancel_route: row.cancel_route,
    cancel_route_reason: row.cancel_route_reason,
    cancel_attempts: row.cancel_attempts,
  });
}

async function getOrder(deps: RouteDependencies, clientOrderId: string): Promise<APIGatewayProxyResult> {
  let row: ProvenanceRow | undefined;
  try {
    row = await deps.store.get(clientOrderId);
  } catch (error) {
    deps.logger.error('provenance_read_failed', { client_order_id: clientOrderId, error: String(error) });
    return errorResponse(503, 'provenance_unavailable', 'the provenance table could not be read; retry later', undefined, { 'retry-after': '5' });
  }
  if (row === undefined) return errorResponse(404, 'order_not_found', `no order with client_order_id ${clientOrderId}`);
  return rowResponse(row);
}

/** The route evidence of a row, as the scheduler sees it in a POST answer. */
export function orderReceipt(row: ProvenanceRow): OrderReceipt {
  return {
    client_order_id: row.client_order_id,
    status: row.status,
    status_detail: row.status_detail,
    execution_expected_adapter: row.execution_expected_adapter,
    execution_adapter: row.execution_adapter,
    execution_route: row.execution_route,
    execution_route_reason: row.execution_route_reason,
    execution_fallback_reason: row.execution_fallback_reason,
    execution_fallback_count: row.execution_fallback_count,
    execution_note: row.execution_note,
    execution_attempts: row.execution_attempts,
    broker_order_id: row.broker_order_id,
    review_required: row.review_required,
    correlation_id: row.correlation_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function correlationIdOf(event: APIGatewayProxyEvent): string {
  const header = headerOf(event, 'x-correlation-id');
  if (header !== undefined && CORRELATION_ID_PATTERN.test(header)) return header;
  return event.requestContext?.requestId || randomUUID();
}

function withHeaders(response: APIGatewayProxyResult, headers: Record<string, string>): APIGatewayProxyResult {
  return { ...response, headers: { ...response.headers, ...headers } };
}
