import type { APIGatewayProxyResult } from 'aws-lambda';
import type { ApiErrorCode, ApiErrorDetails, ApiErrorStatus, CancelReceipt, OrderReceipt, OrderRow } from './order-responses';

/** A JSON response with the headers every answer carries. */
function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** A `POST /orders` answer with the route evidence: 201 accepted, 200 a replay, 202 outcome unknown. */
export function receiptResponse(statusCode: 200 | 201 | 202, receipt: OrderReceipt, headers?: Record<string, string>): APIGatewayProxyResult {
  return jsonResponse(statusCode, receipt, headers);
}

/** A `DELETE /orders/{client_order_id}` answer: 202 a broker took the cancel, 200 an earlier request already had. */
export function cancelReceiptResponse(statusCode: 200 | 202, receipt: CancelReceipt, headers?: Record<string, string>): APIGatewayProxyResult {
  return jsonResponse(statusCode, receipt, headers);
}

/** A `GET /orders/{client_order_id}` answer: the whole row. */
export function rowResponse(row: OrderRow): APIGatewayProxyResult {
  return jsonResponse(200, row);
}

/**
 * The error shape of every 4xx and 5xx: `{error, message, details?}`. The status and the details
 * are typed by the code, so a code cannot be answered with another status or other details.
 */
export function errorResponse<C extends ApiErrorCode>(
  statusCode: ApiErrorStatus<C>,
  error: C,
  message: string,
  details?: ApiErrorDetails<C>,
  headers?: Record<string, string>,
): APIGatewayProxyResult {
  return jsonResponse(statusCode, details === undefined ? { error, message } : { error, message, details }, headers);
}
