import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import './zod-locale';

/** Largest accepted `POST /orders` body, in bytes; a larger one is answered 413. */
export const MAX_ORDER_BODY_BYTES = 16 * 1024;

/** `client_order_id` as Alpaca accepts it and as the DynamoDB key stores it. */
export const CLIENT_ORDER_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

const DECIMAL_PATTERN = /^(\d{1,15})(?:\.(\d{1,9}))?$/;

/** A ticker as sent: ASCII only, case-insensitive, with optional JSON whitespace around it. */
const SYMBOL_INPUT_PATTERN = /^[ \t\n\r]*[A-Za-z][A-Za-z0-9./-]{0,20}[ \t\n\r]*$/;

/** Canonical form of a decimal string: no leading zeros, no trailing fractional zeros. */
export function canonicalDecimal(value: string): string {
  const match = DECIMAL_PATTERN.exec(value);
  if (!match) throw new Error(`not a decimal: ${value}`);
  // Stryker disable next-line StringLiteral: group 1 is not optional, so it is set whenever the pattern matches and the fallback is never used
  const integerDigits = match[1] ?? '0';
  const integer = integerDigits.replace(/^0+(?=\d)/, '');
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  return fraction ? `${integer}.${fraction}` : integer;
}

/**
 * Refuses the value from inside a transform with `message` (a `custom` issue, as classic zod's
 * `ctx.addIssue` recorded it): zod/mini's transform context has no `addIssue`.
 */
function refuse(ctx: z.core.ParsePayload, message: string): never {
  ctx.issues.push({ code: 'custom', message, input: ctx.value });
  return z.NEVER;
}

// Quantities and prices travel as strings so that "0.1" stays 0.1 all the way to the broker.
const positiveDecimal = z.pipe(
  z.union([z.string(), z.number()]),
  z.transform((value, ctx) => {
    const text = typeof value === 'number' ? String(value) : value.trim();
    if (!DECIMAL_PATTERN.test(text)) return refuse(ctx, 'must be a positive decimal (up to 15 integer and 9 fractional digits)');
    const canonical = canonicalDecimal(text);
    // Canonical: every zero is spelled "0".
    if (canonical === '0') return refuse(ctx, 'must be greater than zero');
    return canonical;
  }),
);

/** Why a price breaks Alpaca's sub-penny rule, as a 400 names it. */
const SUB_PENNY_MESSAGE = 'must be in whole cents at or above 1 (at most 2 decimals), or at most 4 decimals below 1';

/**
 * Alpaca's sub-penny rule for limit and stop prices (it answers 422 "sub-penny increment does not
 * fulfill minimum pricing criteria"): at most 2 decimals at or above 1, at most 4 below 1.
 * Counted on the canonical form, so "10.500" (10.5) passes and "10.505" does not.
 */
function fitsAlpacaPriceIncrement(canonical: string): boolean {
  const [integer, fraction = ''] = canonical.split('.');
  // Canonical: a price below 1 is spelled with the integer part "0".
  return fraction.length <= (integer === '0' ? 4 : 2);
}

// A transform after positiveDecimal is a pipe: it only runs on a canonical positive decimal.
const alpacaPrice = z.pipe(
  positiveDecimal,
  z.transform((canonical, ctx) => (fitsAlpacaPriceIncrement(canonical) ? canonical : refuse(ctx, SUB_PENNY_MESSAGE))),
);

/** Order types the LEAN contract and Alpaca both carry. */
export const ORDER_TYPES = ['market', 'limit', 'stop', 'stop_limit'] as const;
/** Time-in-force values Alpaca accepts. */
export const TIME_IN_FORCE = ['day', 'gtc', 'opg', 'cls', 'ioc', 'fok'] as const;

/** The `POST /orders` body: strict, so an unknown field is a 400, not silently dropped. */
export const orderRequestSchema = z
  .strictObject({
    client_order_id: z.string().check(z.regex(CLIENT_ORDER_ID_PATTERN, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -')),
    // Checked as sent, before trim and upper-casing: Unicode case mapping turns "ıbm" into IBM and
    // "ſpy" into SPY, and trim() drops non-ASCII spaces.
    symbol: z.pipe(
      z.string().check(z.regex(SYMBOL_INPUT_PATTERN, 'must be a ticker symbol of ASCII letters, digits, . / - such as AAPL or BRK.B')),
      z.transform((symbol) => symbol.trim().toUpperCase()),
    ),
    side: z.enum(['buy', 'sell']),
    qty: z.optional(positiveDecimal),
    notional: z.optional(positiveDecimal),
    type: z.enum(ORDER_TYPES),
    time_in_force: z.enum(TIME_IN_FORCE),
    limit_price: z.optional(alpacaPrice),
    stop_price: z.optional(alpacaPrice),
    extended_hours: z.optional(z.boolean()),
    strategy_id: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
    reference_price: z.optional(positiveDecimal),
  })
  .check(z.superRefine((order, ctx) => {
    if ((order.qty === undefined) === (order.notional === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['qty'], message: 'exactly one of qty or notional is required' });
    }
    const needsLimit = order.type === 'limit' || order.type === 'stop_limit';
    const needsStop = order.type === 'stop' || order.type === 'stop_limit';
    if (needsLimit && order.limit_price === undefined) {
      ctx.addIssue({ code: 'custom', path: ['limit_price'], message: `is required for ${order.type} orders` });
    }
    if (!needsLimit && order.limit_price !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['limit_price'], message: `is not allowed for ${order.type} orders` });
    }
    if (needsStop && order.stop_price === undefined) {
      ctx.addIssue({ code: 'custom', path: ['stop_price'], message: `is required for ${order.type} orders` });
    }
    if (!needsStop && order.stop_price !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['stop_price'], message: `is not allowed for ${order.type} orders` });
    }
    // Alpaca only takes fractional orders (notional, or a qty with a fractional part) as market/day.
    const marketDay = order.type === 'market' && order.time_in_force === 'day';
    if (order.notional !== undefined && !marketDay) {
      ctx.addIssue({ code: 'custom', path: ['notional'], message: 'is only allowed for market orders with time_in_force day' });
    }
    // qty is canonical here, so "10.0" (whole) has no '.' left.
    if (order.qty?.includes('.') && !marketDay) {
      ctx.addIssue({ code: 'custom', path: ['qty'], message: 'must be a whole number except for market orders with time_in_force day' });
    }
    // Alpaca refuses extended-hours orders other than limit day/gtc; false is the default and always valid.
    if (order.extended_hours === true && (order.type !== 'limit' || (order.time_in_force !== 'day' && order.time_in_force !== 'gtc'))) {
      ctx.addIssue({ code: 'custom', path: ['extended_hours'], message: 'is only allowed for limit orders with time_in_force day or gtc' });
    }
  }));

/** A validated, normalized order request. */
export type OrderRequest = z.output<typeof orderRequestSchema>;

/** One field-level validation problem, as returned in a 400's `details`. */
export interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

/** Validation result: the normalized order, or every problem found. */
export type OrderParseResult =
  | { readonly ok: true; readonly order: OrderRequest }
  | { readonly ok: false; readonly issues: readonly FieldIssue[] };

/** Validates and normalizes an order body that has already been parsed from JSON. */
export function parseOrderRequest(body: unknown): OrderParseResult {
  const result = orderRequestSchema.safeParse(body);
  if (result.success) return { ok: true, order: result.data };
  return {
    ok: false,
    issues: result.error.issues.map((issue) => {
      // Stryker disable next-line StringLiteral: every field of the body is a scalar, so no path has the two segments the separator would show between
      const path = issue.path.join('.');
      return {
        field: issue.code === 'unrecognized_keys' ? issue.keys.join(',') : path || '(body)',
        message: issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message,
      };
    }),
  };
}

/**
 * A stable fingerprint of the normalized request, so the same order sent twice is a replay and a
 * different order under the same `client_order_id` is a conflict.
 */
export function hashOrderRequest(order: OrderRequest): string {
  const canonical = Object.keys(order)
    .sort()
    .map((key) => [key, order[key as keyof OrderRequest]] as const)
    .filter(([, value]) => value !== undefined);
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

/** The order's notional as the policy computes it (qty × limit or reference price), if known. */
export function expectedNotional(order: OrderRequest): number | undefined {
  if (order.notional !== undefined) return Number(order.notional);
  const price = order.limit_price ?? order.reference_price;
  if (order.qty === undefined || price === undefined) return undefined;
  return Number(order.qty) * Number(price);
}
