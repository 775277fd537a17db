import { z } from 'zod';
import { canonicalDecimal, decimalText, isOpen, type AlpacaOrder } from './alpaca-order';
import { instantMicros } from './order-clock';

/**
 * The market the simulator's orders live in. An open order takes a step when told (`POST
 * /_sim/step`), or by itself `fillDelayMs` after its last change: a market order fills, a limit or
 * stop order fills once the price reaches it and otherwise goes from `accepted` to `new` and rests.
 */
export interface MarketConditions {
  /** Price per symbol, keys upper case; a symbol not listed trades at `defaultPrice`. */
  readonly prices: Readonly<Record<string, string>>;
  readonly defaultPrice: string;
  /** Basis points against the trader: a buy fills above the price, a sell below; never past a limit. */
  readonly slippageBps: number;
  /** A fill takes two steps: half (`partially_filled`), then the rest (`filled`). */
  readonly partial: boolean;
  /** Absent: orders step only when told. */
  readonly fillDelayMs?: number;
  /** Basis points added to `slippageBps` for orders the LEAN runner placed, so LEAN fills worse than Alpaca direct. */
  readonly leanSlippageBps: number;
  /**
   * The share (0 to 1) of the orders the LEAN runner placed that fill by themselves. The rest are
   * held back: they go to `new` and rest until the end of the day expires them (or `fill` forces
   * them). Which ones is decided by their rank, not by chance: after n such orders, ceil(n x rate) fill.
   */
  readonly leanFillRate: number;
}

/** How an order reached the simulator: `leanOrdinal` ranks (1, 2, ...) the orders placed through the LEAN runner; absent for the others. */
export interface Placement {
  readonly leanOrdinal?: number;
}

/** An order placed directly, not through the LEAN runner. */
export const DIRECT: Placement = {};

const DECIMAL_TEXT = /^\d+(\.\d+)?$/;
const price = z
  .union([z.string().trim().regex(DECIMAL_TEXT, 'must be a decimal string such as "187.20"'), z.number().positive()])
  .transform((value) => (typeof value === 'number' ? decimalText(value, 9) : canonicalDecimal(value)))
  .refine((value) => Number(value) > 0, 'must be positive');

/**
 * Validates `POST /_sim/market`; `parse({})` gives the defaults: every symbol at 100, no slippage,
 * whole fills, steps only when told, orders placed through LEAN treated as any other.
 */
export const marketSchema = z.strictObject({
  prices: z
    .record(z.string().trim().min(1), price)
    .default({})
    .transform((prices) => Object.fromEntries(Object.entries(prices).map(([symbol, value]) => [symbol.toUpperCase(), value]))),
  defaultPrice: price.default('100'),
  slippageBps: z.number().gt(-10_000).lt(10_000).default(0),
  partial: z.boolean().default(false),
  fillDelayMs: z.number().int().nonnegative().optional(),
  leanSlippageBps: z.number().gt(-10_000).lt(10_000).default(0),
  leanFillRate: z.number().min(0).max(1).default(1),
})
  // Past 100% against the trader a sell would fill at a negative price.
  .refine((market) => Math.abs(market.slippageBps + market.leanSlippageBps) < 10_000, {
    path: ['leanSlippageBps'],
    message: 'slippageBps + leanSlippageBps must stay within -10000 and 10000 (exclusive)',
  }) satisfies z.ZodType<MarketConditions>;

/** What `POST /_sim/market` takes: any field of `MarketConditions` may be left out, prices may be numbers. */
export type MarketSettings = z.input<typeof marketSchema>;

/** The symbol's price moved by the slippage against the trader, LEAN's extra included for an order it placed. */
function slipped(order: AlpacaOrder, market: MarketConditions, placement: Placement): number {
  const against = order.side === 'buy' ? 1 : -1;
  const bps = market.slippageBps + (placement.leanOrdinal === undefined ? 0 : market.leanSlippageBps);
  return marketPrice(order, market) * (1 + (against * bps) / 10_000);
}

// Guards ceil() against float noise: 0.7 x 10 is 7.000000000000001, which must count as 7.
const RANK_EPSILON = 1e-9;

/** Whether `leanFillRate` holds the order back: the n-th LEAN order fills when ceil(n x rate) grows at n. */
function heldBack(market: MarketConditions, placement: Placement): boolean {
  const rank = placement.leanOrdinal;
  if (rank === undefined) return false;
  const filledBy = (n: number): number => Math.ceil(n * market.leanFillRate - RANK_EPSILON);
  return filledBy(rank) === filledBy(rank - 1);
}

function marketPrice(order: AlpacaOrder, market: MarketConditions): number {
  return Number(market.prices[order.symbol] ?? market.defaultPrice);
}

/** The price the order executes at now, or undefined while its stop is not triggered or its limit not reached. */
function executionPrice(order: AlpacaOrder, market: MarketConditions, placement: Placement): number | undefined {
  const now = marketPrice(order, market);
  const buy = order.side === 'buy';
  // Triggers are read afresh at every step: a stop the price has left behind waits again.
  if (order.stop_price !== null && (buy ? now < Number(order.stop_price) : now > Number(order.stop_price))) return undefined;
  const fill = slipped(order, market, placement);
  if (order.limit_price === null) return fill;
  const limit = Number(order.limit_price);
  if (buy ? now > limit : now < limit) return undefined;
  return buy ? Math.min(fill, limit) : Math.max(fill, limit);
}

/** Fills `share` (1: all) of what remains of the order at `price`; the average price weighs every fill. */
function fillAt(order: AlpacaOrder, at: string, fillPrice: number, share: 1 | 0.5): AlpacaOrder {
  const done = Number(order.filled_qty);
  const spent = done * Number(order.filled_avg_price ?? 0);
  const remaining = order.qty !== null ? Number(order.qty) - done : (Number(order.notional) - spent) / fillPrice;
  const total = done + remaining * share;
  const complete = share === 1;
  return {
    ...order,
    status: complete ? 'filled' : 'partially_filled',
    // A whole qty order reads back exactly the qty it asked for, never a rounding of it.
    filled_qty: complete && order.qty !== null ? order.qty : decimalText(total, 9),
    filled_avg_price: decimalText((spent + remaining * share * fillPrice) / total, 6),
    filled_at: complete ? at : order.filled_at,
    updated_at: at,
  };
}

/** The order after one step of its life at `at`; undefined when the step changes nothing (final, or resting). */
export function stepOrder(order: AlpacaOrder, market: MarketConditions, at: string, placement: Placement = DIRECT): AlpacaOrder | undefined {
  if (!isOpen(order)) return undefined;
  // Held back by LEAN's fill rate, an order rests as one whose price is not reached.
  const fillPrice = heldBack(market, placement) ? undefined : executionPrice(order, market, placement);
  if (fillPrice === undefined) return order.status === 'accepted' ? { ...order, status: 'new', updated_at: at } : undefined;
  return fillAt(order, at, fillPrice, market.partial && order.status !== 'partially_filled' ? 0.5 : 1);
}

/**
 * The order filled in full at `at`, whatever the market: at its execution price when it has one,
 * else at its limit, else at the slipped price. An order LEAN's fill rate holds back fills too.
 * Undefined when it is no longer open.
 */
export function fillOrder(order: AlpacaOrder, market: MarketConditions, at: string, placement: Placement = DIRECT): AlpacaOrder | undefined {
  if (!isOpen(order)) return undefined;
  const fillPrice =
    executionPrice(order, market, placement) ??
    (order.limit_price === null ? slipped(order, market, placement) : Number(order.limit_price));
  return fillAt(order, at, fillPrice, 1);
}

/** The order expired by the end of the day; undefined for a `gtc` order or one no longer open. */
export function expireOrder(order: AlpacaOrder, at: string): AlpacaOrder | undefined {
  if (!isOpen(order) || order.time_in_force === 'gtc') return undefined;
  return { ...order, status: 'expired', expired_at: at, updated_at: at };
}

/** The order canceled at `at`, keeping what already filled; undefined when it is no longer open. */
export function cancelOrder(order: AlpacaOrder, at: string): AlpacaOrder | undefined {
  if (!isOpen(order)) return undefined;
  return { ...order, status: 'canceled', canceled_at: at, updated_at: at };
}

/** Whether the order is due to step by itself at `nowMicros`: open, and `fillDelayMs` past its last change. */
export function isDue(order: AlpacaOrder, market: MarketConditions, nowMicros: number): boolean {
  if (market.fillDelayMs === undefined || !isOpen(order)) return false;
  const changed = instantMicros(order.updated_at);
  return changed !== undefined && changed + market.fillDelayMs * 1000 <= nowMicros;
}
