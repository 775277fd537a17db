import * as z from 'zod';
import type { BreakerState } from '../core/breaker';
import type { ControlSnapshot } from '../core/control';
import { EXECUTION_ROUTES, type Adapter, type ExecutionAttempt, type FailureCertainty, type OrderStatus } from '../core/execution';
import { ORDER_TYPES, TIME_IN_FORCE, type OrderRequest } from '../core/order-request';
import type { CancelAttempt, CancelRoute, PolicySnapshot, ProvenanceRow } from '../core/provenance';

/**
 * The bodies the order API answers with, as zod schemas. The handler's response builders take
 * the types inferred from them, and the OpenAPI document is generated from them, so what is sent,
 * what is typed and what is documented are one thing.
 */

/**
 * A zod enum of exactly the members of the union `T`: a member missing from `values`, or a value
 * that is not a member, fails the typecheck, so the core's vocabulary and this schema cannot part.
 */
function enumOf<T extends string>() {
  return <const V extends readonly [T, ...T[]]>(values: V & ([Exclude<T, V[number]>] extends [never] ? unknown : never)) => z.enum(values);
}

/** `true` when `A` and `B` have the same keys, `false` otherwise. */
type SameKeys<A, B> = [Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>] extends [never] ? true : false;

/** The lifecycle of an order's row. */
export const orderStatusSchema = enumOf<OrderStatus>()(['pending', 'accepted', 'rejected', 'failed', 'unknown']);
/** A broker-facing adapter. */
export const adapterSchema = enumOf<Adapter>()(['lean', 'alpaca']);
/** The path that carried the order. */
export const executionRouteSchema = z.enum(EXECUTION_ROUTES);

/** One broker call, as recorded in `execution_attempts`. */
export const executionAttemptSchema = z.strictObject({
  adapter: adapterSchema,
  operation: enumOf<ExecutionAttempt['operation']>()(['submit', 'lookup']),
  outcome: enumOf<ExecutionAttempt['outcome']>()(['accepted', 'duplicate', 'rejected', 'failed', 'found', 'not_found', 'error']),
  reason: z.string().optional().describe('Why the call did not succeed, e.g. lean_submit_timeout'),
  certainty: enumOf<FailureCertainty>()(['definite', 'ambiguous'])
    .optional()
    .describe('On a failed submit: definite when the broker cannot have placed the order, ambiguous when it may have'),
  http_status: z.number().int().optional(),
  latency_ms: z.number(),
  started_at: z.string().describe('ISO-8601 UTC'),
});

// Arrays are `.readonly()` so that the core's readonly arrays fit the inferred types.
const executionAttemptsSchema = z.array(executionAttemptSchema).readonly();

/** The route evidence of a row: what `POST /orders` answers, on success and in the details of 422 and 502. */
export const orderReceiptSchema = z.strictObject({
  client_order_id: z.string(),
  status: orderStatusSchema,
  status_detail: z.string().optional().describe('Why the order was rejected, failed or is unknown, in words an operator can act on'),
  execution_expected_adapter: adapterSchema.describe('The adapter the policy chose before any gate'),
  execution_adapter: z.union([adapterSchema, z.literal('none')]).optional().describe('The adapter that placed the order; none when no broker did'),
  execution_route: executionRouteSchema.optional(),
  execution_route_reason: z.string().optional().describe('Why the order took its route: the policy reason, the gate, the fallback or failure reason'),
  execution_fallback_reason: z.string().optional().describe('Why LEAN was left for Alpaca, e.g. lean_submit_timeout'),
  execution_fallback_count: z.number().int(),
  execution_note: z.string().optional().describe('late_ack, adopted_existing or reconciled'),
  execution_attempts: executionAttemptsSchema,
  broker_order_id: z.string().optional(),
  review_required: z.boolean().describe('True when a broker placed something other than asked; a person must look'),
  correlation_id: z.string(),
  created_at: z.string().describe('ISO-8601 UTC'),
  updated_at: z.string().describe('ISO-8601 UTC'),
  persisted: z.boolean().optional().describe('Only on the answer of the call that routed the order: false when its final write of the row failed'),
});

/** The path a cancel took. */
export const cancelRouteSchema = enumOf<CancelRoute>()(['lean', 'alpaca', 'alpaca_gated', 'alpaca_fallback', 'none']);

/** One broker cancel call, as recorded in `cancel_attempts`. */
export const cancelAttemptSchema = z.strictObject({
  adapter: adapterSchema,
  outcome: enumOf<CancelAttempt['outcome']>()(['requested', 'final', 'not_found', 'failed']),
  broker_order_id: z.string().describe('The id the broker was asked to cancel'),
  http_status: z.number().int().optional(),
  detail: z.string().optional().describe('What the broker said when it did not take the cancel'),
  latency_ms: z.number(),
  started_at: z.string().describe('ISO-8601 UTC'),
});

const cancelFields = {
  cancel_requested_at: z.string().optional().describe('ISO-8601 UTC: when a caller first asked to cancel; written before any broker is asked'),
  cancel_route: cancelRouteSchema.optional().describe("lean for a LEAN order; alpaca for one placed at Alpaca; alpaca_gated or alpaca_fallback when LEAN was gated or its cancel failed; none when no broker took it"),
  cancel_route_reason: z.string().optional().describe('placed_by_lean, placed_at_alpaca, the gate (e.g. kill_switch), lean_cancel_failed or lean_cancel_not_found'),
  cancel_attempts: z.array(cancelAttemptSchema).readonly().optional().describe('Every broker cancel call, in order'),
};

/** What `DELETE /orders/{client_order_id}` answers, and the details of its 409 and 502. */
export const cancelReceiptSchema = z.strictObject({
  client_order_id: z.string(),
  status: orderStatusSchema,
  broker_order_id: z.string().optional(),
  execution_route: executionRouteSchema.optional(),
  broker_status: z.string().optional().describe("The broker's order status as the lifecycle sync last saw it; canceled once the cancel took effect"),
  filled_qty: z.string().optional().describe('Decimal text: what filled before the cancel, as last seen'),
  ...cancelFields,
});

/** What the policy, the control values and the gates looked like when the order was decided. */
export const policySnapshotSchema = z.strictObject({
  adapter: adapterSchema,
  policy: enumOf<PolicySnapshot['policy']>()(['all', 'allowlist']),
  fallback: enumOf<PolicySnapshot['fallback']>()(['alpaca', 'none']),
  symbols_count: z.number().int(),
  strategy_enablement: enumOf<NonNullable<PolicySnapshot['strategy_enablement']>>()(['required', 'off'])
    .optional()
    .describe('required: an order whose strategy is not enabled is gated strategy_not_enabled; absent on rows older than strategy enablement (off)'),
  strategy_state: enumOf<NonNullable<PolicySnapshot['strategy_state']>>()(['shadow', 'enabled', 'blocked', 'missing'])
    .optional()
    .describe("With enablement required and a strategy_id: the strategy's strategies/<id> state as read, or missing"),
  policy_source: enumOf<PolicySnapshot['policy_source']>()(['environment', 'parameter']),
  kill_switch: enumOf<PolicySnapshot['kill_switch']>()(['on', 'off']),
  kill_switch_reason: z.string().optional(),
  control_source: enumOf<ControlSnapshot['source']>()(['fresh', 'cached', 'last_known_good', 'unavailable']),
  control_read_at: z
    .string()
    .optional()
    .describe('ISO-8601 UTC: when the control values this order used were read from SSM; absent when none were ever read, and on rows older than this field'),
  breaker: enumOf<BreakerState>()(['closed', 'open', 'half_open']),
  gates: z.array(z.string()).readonly().describe('Every gate that held for this order, in precedence order; the first one decided'),
  misconfiguration: z.array(z.string()).readonly(),
});

/** Written on the row before the router's own fallback submit to Alpaca. */
export const fallbackIntentSchema = z.strictObject({
  reason: z.string().describe("LEAN's failure, e.g. lean_submit_timeout"),
  lean_failure: enumOf<FailureCertainty>()(['definite', 'ambiguous']),
  recorded_at: z.string().describe('ISO-8601 UTC'),
});

/** The whole provenance row of an order: what `GET /orders/{client_order_id}` answers. */
export const orderRowSchema = z.strictObject({
  client_order_id: z.string(),
  status: orderStatusSchema,
  symbol: z.string().describe('Normalized to upper case'),
  side: enumOf<OrderRequest['side']>()(['buy', 'sell']),
  qty: z.string().optional().describe('Canonical decimal'),
  notional: z.string().optional().describe('Canonical decimal'),
  type: z.enum(ORDER_TYPES),
  time_in_force: z.enum(TIME_IN_FORCE),
  limit_price: z.string().optional(),
  stop_price: z.string().optional(),
  extended_hours: z.boolean().optional(),
  reference_price: z.string().optional(),
  strategy_id: z.string().optional(),
  request_hash: z.string().describe('SHA-256 of the normalized request: the same body again is a replay, another body a conflict'),
  claim_token: z.string().optional().describe('Written with the claim: the invocation holding it owns the pending row'),
  execution_expected_adapter: orderReceiptSchema.shape.execution_expected_adapter,
  execution_adapter: orderReceiptSchema.shape.execution_adapter,
  execution_route: orderReceiptSchema.shape.execution_route,
  execution_route_reason: orderReceiptSchema.shape.execution_route_reason,
  execution_fallback_reason: orderReceiptSchema.shape.execution_fallback_reason,
  execution_fallback_count: z.number().int(),
  execution_fallback_intent: fallbackIntentSchema.optional(),
  execution_attempts: executionAttemptsSchema,
  execution_note: orderReceiptSchema.shape.execution_note,
  broker_order_id: z.string().optional(),
  raw_payload: z.record(z.string(), z.unknown()).optional().describe("The accepting broker's response, with _execution_adapter and, on fallback, _execution_fallback_reason"),
  policy_snapshot: policySnapshotSchema,
  correlation_id: z.string(),
  review_required: orderReceiptSchema.shape.review_required,
  route_verified: z.boolean().optional().describe('False when the evidence cannot tell which broker path created the order'),
  status_detail: orderReceiptSchema.shape.status_detail,
  broker_status: z.string().optional().describe("The broker's order status as the lifecycle sync last saw it (Alpaca's new, accepted, partially_filled, filled, canceled, expired, ...)"),
  filled_qty: z.string().optional().describe('Decimal text; "0" before any fill'),
  filled_avg_price: z.string().optional().describe('Decimal text'),
  filled_at: z.string().optional().describe('ISO-8601, as the broker wrote it'),
  broker_updated_at: z.string().optional().describe("The broker's own updated_at of the state on the row"),
  open_since: z.string().optional().describe('Present only while the broker order may still change: its submission time, where the sync reads from'),
  open_partition: z.literal('open').optional().describe('Present with open_since: the key of the open-orders index'),
  route_divergence: z
    .strictObject({ lean_order_id: z.string(), alpaca_order_id: z.string(), detected_at: z.string() })
    .optional()
    .describe('The id LEAN acknowledged is not the id Alpaca holds under this client_order_id'),
  ...cancelFields,
  cancel_in_flight: z
    .string()
    .optional()
    .describe('Present only while a cancel is asking the brokers ("<ISO time> <token>"); a DELETE meanwhile asks no broker and answers 409'),
  created_at: z.string().describe('ISO-8601 UTC'),
  updated_at: z.string().describe('ISO-8601 UTC'),
});

/** The route evidence of a row. */
export type OrderReceipt = z.infer<typeof orderReceiptSchema>;
/** A whole provenance row, as `GET` answers it. */
export type OrderRow = z.infer<typeof orderRowSchema>;
/** The cancel evidence of a row. */
export type CancelReceipt = z.infer<typeof cancelReceiptSchema>;

// A field added to ProvenanceRow and not to orderRowSchema (or the reverse) fails the typecheck here.
const ROW_SCHEMA_HAS_EVERY_FIELD: SameKeys<ProvenanceRow, OrderRow> = true;
void ROW_SCHEMA_HAS_EVERY_FIELD;

/** One field-level validation problem. */
export const fieldIssueSchema = z.strictObject({
  field: z.string().describe('The field, a comma-separated list of unknown fields, or (body)'),
  message: z.string(),
});

/** The row that holds a `client_order_id` already. */
export const heldOrderSchema = z.strictObject({ client_order_id: z.string(), status: orderStatusSchema });

/**
 * Every error code the order API answers with, its HTTP status, and what its `details` hold
 * (codes without `details` never carry them).
 */
export const API_ERRORS = {
  invalid_json: { status: 400 },
  // Optional: API Gateway's own refusal of a body that breaks the model carries no details.
  validation_failed: { status: 400, details: z.array(fieldIssueSchema).readonly().optional() },
  payload_too_large: { status: 413 },
  unsupported_media_type: { status: 415 },
  order_in_flight: { status: 409, details: heldOrderSchema },
  client_order_id_conflict: { status: 409, details: heldOrderSchema },
  order_rejected: { status: 422, details: orderReceiptSchema },
  order_failed: { status: 502, details: orderReceiptSchema },
  order_final: { status: 409, details: cancelReceiptSchema },
  order_not_cancellable: { status: 409, details: cancelReceiptSchema },
  cancel_failed: { status: 502, details: cancelReceiptSchema },
  provenance_unavailable: { status: 503 },
  order_not_found: { status: 404 },
  not_found: { status: 404 },
  method_not_allowed: { status: 405 },
  internal_error: { status: 500 },
} as const satisfies Record<string, { readonly status: number; readonly details?: z.ZodType }>;

/** An error code of the order API. */
export type ApiErrorCode = keyof typeof API_ERRORS;

/** The HTTP status an error code is answered with. */
export type ApiErrorStatus<C extends ApiErrorCode> = (typeof API_ERRORS)[C]['status'];

/** What the `details` of an error code hold; `never` for a code without details. */
export type ApiErrorDetails<C extends ApiErrorCode> = (typeof API_ERRORS)[C] extends { readonly details: infer D extends z.ZodType } ? z.infer<D> : never;

/** The error body of one code: `{error, message, details?}`. */
export function apiErrorSchema(code: ApiErrorCode): z.ZodType {
  const { details } = API_ERRORS[code] as { readonly details?: z.ZodType };
  return z.strictObject({
    error: z.literal(code),
    message: z.string().min(1).describe('What went wrong, in words'),
    ...(details === undefined ? {} : { details }),
  });
}
