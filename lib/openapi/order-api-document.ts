import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CLIENT_ORDER_ID_PATTERN, MAX_ORDER_BODY_BYTES } from '../../functions/core/order-request';
import { CORRELATION_ID_PATTERN } from '../../functions/route/order-api';
import {
  adapterSchema,
  API_ERRORS,
  apiErrorSchema,
  cancelAttemptSchema,
  cancelReceiptSchema,
  cancelRouteSchema,
  executionAttemptSchema,
  executionRouteSchema,
  fallbackIntentSchema,
  fieldIssueSchema,
  heldOrderSchema,
  orderReceiptSchema,
  orderRowSchema,
  orderStatusSchema,
  policySnapshotSchema,
  type ApiErrorCode,
} from '../../functions/route/order-responses';
import { orderRequestJsonSchema } from '../order-request-model';
import { ALPACA_REQUESTS_PER_MINUTE, ORDER_API_THROTTLING } from '../constructs/broker-quota';

/** Where the generated document is checked in, relative to the repository root. */
export const ORDER_API_DOCUMENT_PATH = 'docs/openapi.json';

/** A JSON object of the document. */
type Json = Record<string, unknown>;

const COMPONENT_SCHEMAS = '#/components/schemas/';

/** One line per error code: what it means for the caller. */
const ERROR_DESCRIPTIONS: Readonly<Record<ApiErrorCode, string>> = {
  invalid_json: 'The body is not valid UTF-8 (or holds U+FFFD), not JSON, or has a key twice; no row was written and no broker called.',
  validation_failed:
    "The order or the path's client_order_id breaks a rule; details list each field and why (API Gateway's own model check answers without details). No row was written and no broker called.",
  payload_too_large: `The body is over ${MAX_ORDER_BODY_BYTES} bytes; no row was written and no broker called.`,
  unsupported_media_type: 'The content-type is missing or not application/json (a charset, if any, must be utf-8); no row was written and no broker called.',
  order_in_flight: 'The same request is still being routed; details name its row. Read it later with GET /orders/{client_order_id}; do not resend another body.',
  client_order_id_conflict: 'Another body already used this client_order_id; details name its row. Nothing changed.',
  order_rejected: 'The broker refused the order (e.g. Alpaca 403, buying power); details hold the route evidence.',
  order_failed: 'No broker accepted the order (e.g. Alpaca unreachable, or LEAN failed with fallback none); details hold the route evidence.',
  provenance_unavailable: 'The provenance table could not be reached, so on POST the order was sent to no broker; retry after Retry-After seconds.',
  order_not_found: 'No order has this client_order_id.',
  order_final:
    'Nothing is left to cancel: the order was rejected or failed, or the broker holds it filled, canceled or expired (as the row says, or as the broker answered just now). No broker was asked to cancel, or the broker refused because the order is final; details hold the cancel evidence.',
  order_not_cancellable:
    'There is no broker order to cancel yet: the order is still being routed (pending) or its outcome is unknown until the lifecycle sync resolves it. Nothing was sent; retry later.',
  cancel_failed:
    "No broker took the cancel: LEAN's cancel (for a LEAN order) and Alpaca's both failed or did not know the order. The row records every attempt; a repeated DELETE tries again.",
  not_found: 'No such path. Only the local stand-in for API Gateway lets such a request reach the handler; in AWS, API Gateway answers it 403 itself.',
  method_not_allowed: 'The path does not take this method (header Allow names the one it takes). Local stand-in only, as for not_found.',
  internal_error: "An unexpected error; the logs hold it under the answer's x-correlation-id.",
};

/** Component names of the error bodies, one per code. */
const ERROR_COMPONENTS: Readonly<Record<ApiErrorCode, string>> = {
  invalid_json: 'InvalidJsonError',
  validation_failed: 'ValidationFailedError',
  payload_too_large: 'PayloadTooLargeError',
  unsupported_media_type: 'UnsupportedMediaTypeError',
  order_in_flight: 'OrderInFlightError',
  client_order_id_conflict: 'ClientOrderIdConflictError',
  order_rejected: 'OrderRejectedError',
  order_failed: 'OrderFailedError',
  provenance_unavailable: 'ProvenanceUnavailableError',
  order_not_found: 'OrderNotFoundError',
  order_final: 'OrderFinalError',
  order_not_cancellable: 'OrderNotCancellableError',
  cancel_failed: 'CancelFailedError',
  not_found: 'NotFoundError',
  method_not_allowed: 'MethodNotAllowedError',
  internal_error: 'InternalError',
};

/** The codes each operation answers through API Gateway; `not_found` and `method_not_allowed` only reach a caller locally. */
const OPERATION_ERRORS = {
  postOrder: [
    'invalid_json',
    'validation_failed',
    'client_order_id_conflict',
    'order_in_flight',
    'payload_too_large',
    'unsupported_media_type',
    'order_rejected',
    'internal_error',
    'order_failed',
    'provenance_unavailable',
  ],
  getOrder: ['validation_failed', 'order_not_found', 'internal_error', 'provenance_unavailable'],
  cancelOrder: ['validation_failed', 'order_not_found', 'order_final', 'order_not_cancellable', 'internal_error', 'cancel_failed', 'provenance_unavailable'],
} as const satisfies Record<string, readonly ApiErrorCode[]>;

/** The error shape of API Gateway's own answers (signature, authorization, throttling), set by the stack's gateway responses. */
const gatewayErrorSchema = z.strictObject({
  error: z.string().describe("API Gateway's response type, e.g. MISSING_AUTHENTICATION_TOKEN, ACCESS_DENIED, INVALID_SIGNATURE, THROTTLED"),
  message: z.string(),
});

/** Every named schema of the document, in the order the components list them. */
function schemaRegistry(): z.core.$ZodRegistry<{ id: string; description?: string }> {
  const registry = z.registry<{ id: string; description?: string }>();
  registry.add(orderReceiptSchema, { id: 'OrderReceipt', description: "The row's route evidence, as POST /orders answers it." });
  registry.add(orderRowSchema, { id: 'OrderRow', description: "The order's whole provenance row, as GET /orders/{client_order_id} answers it." });
  registry.add(orderStatusSchema, { id: 'OrderStatus', description: 'pending while routed; accepted, rejected or failed when final; unknown when nobody could confirm whether a broker holds the order.' });
  registry.add(adapterSchema, { id: 'Adapter' });
  registry.add(executionRouteSchema, { id: 'ExecutionRoute', description: 'The path that carried the order.' });
  registry.add(executionAttemptSchema, { id: 'ExecutionAttempt', description: 'One broker call.' });
  registry.add(policySnapshotSchema, { id: 'PolicySnapshot', description: 'What the policy, the control values and the gates looked like when the order was decided.' });
  registry.add(fallbackIntentSchema, { id: 'FallbackIntent', description: "Written before the router's own fallback submit to Alpaca." });
  registry.add(cancelReceiptSchema, { id: 'CancelReceipt', description: "The row's cancel evidence, as DELETE /orders/{client_order_id} answers it." });
  registry.add(cancelRouteSchema, {
    id: 'CancelRoute',
    description: 'lean: LEAN cancelled its own order; alpaca: the order was placed at Alpaca; alpaca_gated: a LEAN order canceled at Alpaca because LEAN is gated; alpaca_fallback: LEAN\'s cancel failed; none: no broker took it.',
  });
  registry.add(cancelAttemptSchema, { id: 'CancelAttempt', description: 'One broker cancel call.' });
  registry.add(fieldIssueSchema, { id: 'FieldIssue', description: 'One field-level validation problem.' });
  registry.add(heldOrderSchema, { id: 'HeldOrder', description: 'The row that already holds the client_order_id.' });
  for (const code of Object.keys(API_ERRORS) as ApiErrorCode[]) {
    registry.add(apiErrorSchema(code), { id: ERROR_COMPONENTS[code], description: `${code} (HTTP ${API_ERRORS[code].status}): ${ERROR_DESCRIPTIONS[code]}` });
  }
  registry.add(gatewayErrorSchema, {
    id: 'GatewayError',
    description: 'An answer of API Gateway itself, before the handler runs: 403 and 429 here, and also 413 for a body over its own 10 MB limit and 5xx of its own.',
  });
  return registry;
}

/** The JSON Schemas of the registry, each as a component: no `$schema` or `$id`, references into `#/components/schemas/`. */
function componentSchemas(): Record<string, Json> {
  const generated = z.toJSONSchema(schemaRegistry(), {
    uri: (id) => `${COMPONENT_SCHEMAS}${id}`,
    override: ({ jsonSchema }) => {
      const mutable = jsonSchema as Json;
      // Every schema here is a response: `.readonly()` only exists to fit the core's readonly types.
      delete mutable.readOnly;
      // `.int()` adds the bounds of a safe integer, which every integer of these bodies is anyway.
      if (mutable.minimum === Number.MIN_SAFE_INTEGER) delete mutable.minimum;
      if (mutable.maximum === Number.MAX_SAFE_INTEGER) delete mutable.maximum;
    },
  });
  const schemas: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(generated.schemas)) {
    const { $schema: _dialect, $id: _id, ...component } = schema as Json;
    schemas[id] = component;
  }
  return schemas;
}

/**
 * The request body as API Gateway's model validates it, generated from the handler's zod schema
 * (lib/order-request-model.ts); its draft-4 keywords mean the same in OpenAPI 3.1's dialect.
 */
function orderRequestComponent(): Json {
  const { schema: _dialect, title: _title, ...model } = orderRequestJsonSchema() as Json;
  return {
    description:
      'An order. Rules the schema cannot express are checked by the handler and answered 400 validation_failed: exactly one of qty or notional; ' +
      'limit_price for limit and stop_limit orders only, stop_price for stop and stop_limit only; notional and a fractional qty only for market orders with time_in_force day; ' +
      'extended_hours true only for limit orders with time_in_force day or gtc; decimals positive with at most 15 integer and 9 fractional digits; ' +
      'limit_price and stop_price in whole cents at or above 1 (at most 4 decimals below 1). symbol is normalized to upper case.',
    ...model,
  };
}

const ref = (name: string) => ({ $ref: `${COMPONENT_SCHEMAS}${name}` });
const jsonContent = (schema: Json) => ({ 'application/json': { schema } });
const header = (name: string) => ({ $ref: `#/components/headers/${name}` });

/** The handler's success answer for one status. */
function success(description: string, schema: string, headers: Readonly<Record<string, Json>> = {}): Json {
  return { description, headers: { 'x-correlation-id': header('XCorrelationId'), ...headers }, content: jsonContent(ref(schema)) };
}

/** One response per status for the codes an operation answers; a status shared by several codes lists them all. */
function errorResponses(codes: readonly ApiErrorCode[]): Record<string, Json> {
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of codes) byStatus.set(API_ERRORS[code].status, [...(byStatus.get(API_ERRORS[code].status) ?? []), code]);
  const responses: Record<string, Json> = {};
  for (const [status, shared] of [...byStatus].sort(([a], [b]) => a - b)) {
    const schema =
      shared.length === 1
        ? ref(ERROR_COMPONENTS[shared[0] as ApiErrorCode])
        : {
            oneOf: shared.map((code) => ref(ERROR_COMPONENTS[code])),
            discriminator: { propertyName: 'error', mapping: Object.fromEntries(shared.map((code) => [code, `${COMPONENT_SCHEMAS}${ERROR_COMPONENTS[code]}`])) },
          };
    responses[String(status)] = {
      description: shared.map((code) => `${code}: ${ERROR_DESCRIPTIONS[code]}`).join(' '),
      headers: { 'x-correlation-id': header('XCorrelationId'), ...(shared.includes('provenance_unavailable') ? { 'retry-after': header('RetryAfter') } : {}) },
      content: jsonContent(schema),
    };
  }
  return responses;
}

/** Answers of API Gateway itself, on every operation. */
const GATEWAY_RESPONSES = {
  '403': {
    description:
      "API Gateway refused the request: unsigned, a bad SigV4 signature, a caller without execute-api:Invoke on the API, or one the API's resource policy does not name (the scheduler's and the operators' principals on a stage that names them).",
    content: jsonContent(ref('GatewayError')),
  },
  '429': {
    description: `API Gateway throttled the request (${ORDER_API_THROTTLING.rateLimit} requests/s, burst ${ORDER_API_THROTTLING.burstLimit}, per stage: sized to Alpaca's ${ALPACA_REQUESTS_PER_MINUTE} requests/minute, shared with the runner). Nothing reached a broker; retry later.`,
    content: jsonContent(ref('GatewayError')),
  },
} as const;

/** Sorted by status, as a reader looks them up. */
function byStatus(responses: Record<string, Json>): Record<string, Json> {
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)));
}

/** The package's version, which the document carries as its own. */
function packageVersion(): string {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return version;
}

/**
 * The OpenAPI 3.1 document of the order API, built from the handler's own zod schemas (the
 * request model API Gateway validates with, the response schemas the handler's builders are
 * typed by), so it says what the code does.
 */
export function orderApiDocument(): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'lean-router order API',
      version: packageVersion(),
      description:
        'Routes one order to the LEAN runner or to Alpaca and records a provenance row for it. Every answer of the handler is JSON, carries ' +
        'x-correlation-id (the caller\'s, or one it made) and cache-control: no-store; every error is {error, message, details?}. ' +
        'Generated from the zod schemas of the code by `npm run openapi`; do not edit by hand.',
    },
    servers: [
      {
        url: 'https://{api_id}.execute-api.{region}.amazonaws.com/{stage}',
        description: "A deployed stage; the stack's ApiUrl output is this URL. Every request is signed with SigV4.",
        variables: {
          api_id: { default: 'api_id', description: 'The REST API id' },
          region: { default: 'us-east-1' },
          stage: { default: 'paper', enum: ['paper', 'live'] },
        },
      },
      { url: 'http://127.0.0.1:3000', description: 'The local stack (npm start; LOCAL_API_PORT sets the port), without authorization.' },
    ],
    security: [{ sigv4: [] }],
    tags: [{ name: 'orders' }],
    paths: {
      '/orders': {
        post: {
          operationId: 'postOrder',
          tags: ['orders'],
          summary: 'Route one order',
          description:
            'Validates the order, writes its pending row, sends it to LEAN or Alpaca by policy (falling back to Alpaca once, with the same client_order_id), ' +
            'and answers with the route evidence. client_order_id is the idempotency key: the same body again is answered from the row, and is never sent twice.',
          parameters: [{ $ref: '#/components/parameters/XCorrelationId' }],
          requestBody: {
            required: true,
            description: `JSON, at most ${MAX_ORDER_BODY_BYTES} bytes; content-type application/json, with charset utf-8 if a charset is given.`,
            content: jsonContent(ref('OrderRequest')),
          },
          responses: byStatus({
            '200': success('The same request was routed before and its result is final (accepted, rejected or failed); nothing was sent again.', 'OrderReceipt', {
              'idempotent-replay': header('IdempotentReplay'),
            }),
            '201': success('A broker accepted the order; the body is the route evidence, persisted false if the final write of the row failed.', 'OrderReceipt'),
            '202': success(
              'The outcome is unknown: a broker may hold the order and none could confirm it. Do not resend; reconciliation resolves the row (idempotent-replay on a replay).',
              'OrderReceipt',
              { 'idempotent-replay': header('IdempotentReplay') },
            ),
            ...errorResponses(OPERATION_ERRORS.postOrder),
            ...GATEWAY_RESPONSES,
          }),
        },
      },
      '/orders/{client_order_id}': {
        get: {
          operationId: 'getOrder',
          tags: ['orders'],
          summary: "Read an order's row",
          parameters: [{ $ref: '#/components/parameters/ClientOrderId' }, { $ref: '#/components/parameters/XCorrelationId' }],
          responses: byStatus({
            '200': success('The whole provenance row of the order.', 'OrderRow'),
            ...errorResponses(OPERATION_ERRORS.getOrder),
            ...GATEWAY_RESPONSES,
          }),
        },
        delete: {
          operationId: 'cancelOrder',
          tags: ['orders'],
          summary: 'Cancel an order through the route that placed it',
          description:
            "Writes the cancel request on the row, then asks LEAN to cancel a LEAN order (Alpaca directly when LEAN is gated or its cancel fails) and Alpaca to cancel any other. " +
            'One call to each broker at most; a cancel never places anything. The broker cancels asynchronously: the row shows broker_status canceled once the lifecycle sync reads it ' +
            '(or filled, if the order filled first).',
          parameters: [{ $ref: '#/components/parameters/ClientOrderId' }, { $ref: '#/components/parameters/XCorrelationId' }],
          responses: byStatus({
            '200': success('An earlier DELETE already had the cancel taken by a broker; no broker was asked again.', 'CancelReceipt', {
              'idempotent-replay': header('IdempotentReplay'),
            }),
            '202': success('A broker took the cancel and is working on it; read the row for broker_status.', 'CancelReceipt'),
            ...errorResponses(OPERATION_ERRORS.cancelOrder),
            ...GATEWAY_RESPONSES,
          }),
        },
      },
    },
    components: {
      schemas: { OrderRequest: orderRequestComponent(), ...componentSchemas() },
      parameters: {
        ClientOrderId: {
          name: 'client_order_id',
          in: 'path',
          required: true,
          description: 'The order\'s client_order_id, percent-encoded where needed.',
          schema: { type: 'string', pattern: CLIENT_ORDER_ID_PATTERN.source },
        },
        XCorrelationId: {
          name: 'x-correlation-id',
          in: 'header',
          required: false,
          description: 'Ties the order to the caller\'s logs: echoed on the answer, sent to LEAN and written on the row. A value of another form is replaced by one the API makes.',
          schema: { type: 'string', pattern: CORRELATION_ID_PATTERN.source },
        },
      },
      headers: {
        XCorrelationId: { description: "The request's x-correlation-id, or the one the API made for it.", schema: { type: 'string', pattern: CORRELATION_ID_PATTERN.source } },
        IdempotentReplay: { description: 'true when the answer repeats the stored result of the same request.', schema: { type: 'string', const: 'true' } },
        RetryAfter: { description: 'Seconds to wait before retrying.', schema: { type: 'string', pattern: '^[0-9]+$' } },
      },
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description:
            'AWS Signature Version 4 (IAM authorization on every method): sign each request for the service execute-api with credentials allowed execute-api:Invoke on the API.',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
      },
    },
  };
}

/** The document as it is checked in: 2-space JSON with a trailing newline. */
export function renderOrderApiDocument(): string {
  return `${JSON.stringify(orderApiDocument(), null, 2)}\n`;
}
