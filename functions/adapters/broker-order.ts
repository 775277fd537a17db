import * as z from 'zod/mini';
import '../core/zod-locale';
import type { BrokerOrder, FailureCertainty, LookupOutcome } from '../core/execution';
import { dropUndefined } from '../core/objects';
import type { CancelOutcome } from '../core/ports';
import { parseJson, type HttpExchange } from './http-exchange';

/**
 * Alpaca's order enums, from its Trading API OpenAPI document (`#/components/schemas/Order*`).
 * The LEAN runner answers Alpaca's order object, so the same values hold for its acknowledgements.
 */
export const ALPACA_ORDER_STATUSES = [
  'new',
  'partially_filled',
  'filled',
  'done_for_day',
  'canceled',
  'expired',
  'replaced',
  'pending_cancel',
  'pending_replace',
  'accepted',
  'pending_new',
  'accepted_for_bidding',
  'stopped',
  'rejected',
  'suspended',
  'calculated',
  'held',
] as const;
const ORDER_SIDES = ['buy', 'sell'] as const;
const ORDER_TYPES = ['market', 'limit', 'stop', 'stop_limit', 'trailing_stop'] as const;
const TIME_IN_FORCE = ['day', 'gtc', 'opg', 'cls', 'ioc', 'fok'] as const;

// Alpaca sends decimals as strings; the runner's contract allows JSON numbers. An empty string is no quantity.
const DECIMAL_TEXT = /^\d+(\.\d+)?$/;
const decimal = z.pipe(z.union([z.string().check(z.regex(DECIMAL_TEXT, 'must be a decimal string')), z.number().check(z.nonnegative())]), z.transform(String));
// Alpaca writes RFC 3339 instants with up to nanoseconds ("2021-03-16T18:38:01.942282Z").
const timestamp = z.iso.datetime({ offset: true, error: 'must be an RFC 3339 timestamp' });

/** Every field the router reads, each checked on its own so one bad field does not hide the others. */
const FIELD_SCHEMAS = {
  client_order_id: z.string().check(z.minLength(1), z.maxLength(128)),
  status: z.enum(ALPACA_ORDER_STATUSES),
  symbol: z.string().check(z.minLength(1)),
  side: z.optional(z.enum(ORDER_SIDES)),
  qty: z.nullish(decimal),
  notional: z.nullish(decimal),
  type: z.optional(z.enum(ORDER_TYPES)),
  time_in_force: z.optional(z.enum(TIME_IN_FORCE)),
  // The order's life: null until it happens (Alpaca), absent from a runner that does not relay it.
  filled_qty: z.nullish(decimal),
  filled_avg_price: z.nullish(decimal),
  filled_at: z.nullish(timestamp),
  submitted_at: z.nullish(timestamp),
  updated_at: z.nullish(timestamp),
} as const;

type FieldName = keyof typeof FIELD_SCHEMAS;

/**
 * Reads an order object from Alpaca or the LEAN runner. Without an `id` (absent, null or empty) it
 * is no order (`ok: false`). With one it is an order, whatever else is wrong: an id that is not the
 * documented string (a runner's numeric order id) is kept as text, and each field that breaks the
 * contract is left out of the result and named in `problems`.
 */
export function parseBrokerOrder(value: unknown): { ok: true; order: BrokerOrder } | { ok: false; detail: string } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, detail: 'body: not a JSON object' };
  const raw = value as Record<string, unknown>;
  if (raw.id === undefined || raw.id === null || raw.id === '') return { ok: false, detail: 'id: missing, so no order is identified' };
  const fields: Partial<Record<FieldName, string>> = {};
  const problems: string[] = [];
  // Any id is evidence that something was placed: never read it as "no order".
  const id = typeof raw.id === 'string' ? raw.id : JSON.stringify(raw.id);
  if (typeof raw.id !== 'string') problems.push(`id: ${id} is not a string`);
  for (const name of Object.keys(FIELD_SCHEMAS) as FieldName[]) {
    const parsed = FIELD_SCHEMAS[name].safeParse(raw[name]);
    if (!parsed.success) {
      problems.push(`${name}: ${raw[name] === undefined ? 'missing' : `${JSON.stringify(raw[name])} ${parsed.error.issues[0]?.message ?? 'is invalid'}`}`);
    } else if (parsed.data !== undefined && parsed.data !== null) {
      fields[name] = parsed.data;
    }
  }
  const { client_order_id, status, symbol, side, qty, notional, filled_qty, filled_avg_price, filled_at, submitted_at, updated_at } = fields;
  const read = dropUndefined({ id, client_order_id, status, symbol, side, qty, notional, filled_qty, filled_avg_price, filled_at, submitted_at, updated_at });
  return { ok: true, order: { ...read, ...(problems.length > 0 ? { problems } : {}), raw } };
}

/** Reads `detail` (LEAN) or `message` (Alpaca) from an error body, for rows and logs. */
export function errorDetail(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed !== null && typeof parsed === 'object') {
      const { detail, message } = parsed as { detail?: unknown; message?: unknown };
      if (typeof detail === 'string') return detail;
      if (typeof message === 'string') return message;
    }
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return body.slice(0, 200);
}

/** Maps a lookup answer by `client_order_id`, shared by the runner and Alpaca clients. */
export function lookupOutcome(answer: HttpExchange, clientOrderId: string): LookupOutcome {
  if (answer.kind === 'transport_error') return { kind: 'error', detail: `${answer.failure.kind}: ${answer.failure.detail}` };
  if (answer.status === 404) return { kind: 'not_found', httpStatus: 404 };
  if (answer.status !== 200) return { kind: 'error', httpStatus: answer.status, detail: errorDetail(answer.body) };
  const json = parseJson(answer.body);
  const parsed = json.ok ? parseBrokerOrder(json.value) : { ok: false as const, detail: 'body is not JSON' };
  if (!parsed.ok) return { kind: 'error', httpStatus: answer.status, detail: parsed.detail };
  // Found under another id is not this order: the lookup told nothing about it.
  if (parsed.order.client_order_id !== clientOrderId) {
    return { kind: 'error', httpStatus: answer.status, detail: `lookup answered another client_order_id (${parsed.order.client_order_id ?? 'none'})` };
  }
  return { kind: 'found', order: parsed.order, httpStatus: answer.status };
}

/**
 * Maps a cancel answer, shared by the runner and Alpaca clients: a 2xx took the cancel (with the
 * order when the body reads as one), 404 knows no such order, 422 says it is past canceling (Alpaca's
 * answer, which the runner relays). Any other status is a failure whose certainty `certaintyOf`
 * decides; a lost answer keeps the transport's.
 */
export function cancelOutcome(answer: HttpExchange, certaintyOf: (status: number, detail: string) => FailureCertainty): CancelOutcome {
  if (answer.kind === 'transport_error') {
    const { kind, certainty, detail } = answer.failure;
    return { kind: 'failed', certainty, detail: `${kind}: ${detail}` };
  }
  const { status, body } = answer;
  if (status >= 200 && status < 300) {
    const json = parseJson(body);
    const parsed = json.ok ? parseBrokerOrder(json.value) : undefined;
    return { kind: 'requested', httpStatus: status, ...(parsed?.ok === true ? { order: parsed.order } : {}) };
  }
  if (status === 404) return { kind: 'not_found', httpStatus: status };
  const detail = errorDetail(body);
  if (status === 422) return { kind: 'final', httpStatus: status, detail };
  return { kind: 'failed', certainty: certaintyOf(status, detail), httpStatus: status, detail };
}
