import type { APIGatewayProxyResult } from 'aws-lambda';

/** Error codes of the order API; each has a test and a line in the README. */
export type ApiErrorCode =
  | 'invalid_json'
  | 'validation_failed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'order_in_flight'
  | 'client_order_id_conflict'
  | 'order_rejected'
  | 'order_failed'
  | 'provenance_unavailable'
  | 'order_not_found'
  | 'not_found'
  | 'method_not_allowed'
  | 'internal_error';

/** A JSON response with the headers every answer carries. */
export function jsonResponse(
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

/** The error shape of every 4xx and 5xx: `{error, message, details?}`. */
export function errorResponse(
  statusCode: number,
  error: ApiErrorCode,
  message: string,
  details?: unknown,
  headers?: Record<string, string>,
): APIGatewayProxyResult {
  return jsonResponse(statusCode, details === undefined ? { error, message } : { error, message, details }, headers);
}
