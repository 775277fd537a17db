import { z } from 'zod';
import type { BrokerOrder, LookupOutcome } from '../core/execution';
import { dropUndefined } from '../core/objects';
import { parseJson, type HttpExchange } from './http-exchange';

const decimalField = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((value) => (value === null || value === undefined || value === '' ? undefined : String(value)));

/**
 * The fields the router relies on in an order object, from Alpaca or from the LEAN runner
 * (which answers Alpaca's object). Everything else is kept untouched in `raw`.
 */
const brokerOrderSchema = z.looseObject({
  id: z.string().min(1),
  client_order_id: z.string().min(1),
  status: z.string().min(1),
  symbol: z.string().min(1),
  side: z.string().optional(),
  qty: decimalField,
  notional: decimalField,
});

/** Validates an order object; the error names the first field that broke the contract. */
export function parseBrokerOrder(value: unknown): { ok: true; order: BrokerOrder } | { ok: false; detail: string } {
  const parsed = brokerOrderSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, detail: `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}` };
  }
  const { id, client_order_id, status, symbol, side, qty, notional } = parsed.data;
  return {
    ok: true,
    order: { ...dropUndefined({ id, client_order_id, status, symbol, side, qty, notional }), raw: parsed.data as Record<string, unknown> },
  };
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
  if (parsed.order.client_order_id !== clientOrderId) {
    return { kind: 'error', httpStatus: answer.status, detail: `lookup answered another client_order_id (${parsed.order.client_order_id})` };
  }
  return { kind: 'found', order: parsed.order, httpStatus: answer.status };
}

