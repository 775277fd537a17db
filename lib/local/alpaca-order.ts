import { createHash, randomUUID } from 'node:crypto';

/** Order types of the subset the router uses. */
export type AlpacaOrderType = 'market' | 'limit' | 'stop' | 'stop_limit';

/** The statuses an order takes in the simulator, a subset of Alpaca's `OrderStatus`. */
export type AlpacaOrderStatus = 'accepted' | 'new' | 'partially_filled' | 'filled' | 'canceled' | 'expired' | 'rejected';

/** Alpaca's `PositionIntent`. */
export type PositionIntent = 'buy_to_open' | 'buy_to_close' | 'sell_to_open' | 'sell_to_close';

/**
 * An order as Alpaca's Trading API v2 answers it (`#/components/schemas/Order`): every field, null
 * where it does not apply, decimals as strings. `legs` is always null (simple orders only) and the
 * trailing-stop fields too (no `trailing_stop` orders).
 */
export interface AlpacaOrder {
  readonly id: string;
  readonly client_order_id: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly submitted_at: string;
  readonly filled_at: string | null;
  readonly expired_at: string | null;
  readonly canceled_at: string | null;
  readonly failed_at: string | null;
  readonly replaced_at: string | null;
  readonly replaced_by: string | null;
  readonly replaces: string | null;
  readonly asset_id: string;
  readonly symbol: string;
  readonly asset_class: 'us_equity';
  readonly notional: string | null;
  readonly qty: string | null;
  readonly filled_qty: string;
  readonly filled_avg_price: string | null;
  /** Alpaca answers `""` for a simple equity order. */
  readonly order_class: '';
  /** Deprecated by Alpaca in favour of `type`, still sent. */
  readonly order_type: AlpacaOrderType;
  readonly type: AlpacaOrderType;
  readonly side: 'buy' | 'sell';
  readonly time_in_force: string;
  readonly limit_price: string | null;
  readonly stop_price: string | null;
  readonly status: AlpacaOrderStatus;
  readonly extended_hours: boolean;
  readonly legs: null;
  readonly trail_percent: string | null;
  readonly trail_price: string | null;
  readonly hwm: string | null;
  readonly position_intent: PositionIntent;
}

/** What a submit asks for, validated and normalized. */
export type OrderRequest = Pick<
  AlpacaOrder,
  'client_order_id' | 'symbol' | 'side' | 'type' | 'time_in_force' | 'qty' | 'notional' | 'limit_price' | 'stop_price' | 'extended_hours' | 'position_intent'
>;

const ORDER_TYPES: readonly AlpacaOrderType[] = ['market', 'limit', 'stop', 'stop_limit'];
const TIME_IN_FORCE = ['day', 'gtc', 'opg', 'cls', 'ioc', 'fok'];
const POSITION_INTENTS: readonly PositionIntent[] = ['buy_to_open', 'buy_to_close', 'sell_to_open', 'sell_to_close'];
const OPEN_STATUSES: readonly AlpacaOrderStatus[] = ['accepted', 'new', 'partially_filled'];
const MAX_CLIENT_ORDER_ID = 128;
const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/** Whether the order can still fill or be canceled: Alpaca's `status=open`. */
export function isOpen(order: Pick<AlpacaOrder, 'status'>): boolean {
  return OPEN_STATUSES.includes(order.status);
}

/** A decimal as Alpaca writes it: no leading zeros, no trailing fractional zeros ("010.50" is "10.5"). */
export function canonicalDecimal(text: string): string {
  const match = DECIMAL.exec(text);
  if (!match) return text;
  const whole = (match[1] ?? '0').replace(/^0+(?=\d)/, '');
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  return fraction === '' ? whole : `${whole}.${fraction}`;
}

/** `value` rounded to `places` decimals and written as Alpaca writes decimals. */
export function decimalText(value: number, places: number): string {
  return canonicalDecimal(value.toFixed(places));
}

/** A stable asset id per symbol, shaped like Alpaca's UUIDs, so every order of a symbol carries the same one. */
export function assetId(symbol: string): string {
  const hex = createHash('sha256').update(`asset:${symbol}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A new order as Alpaca stores it on acceptance (or on an acknowledged rejection), stamped `at`. */
export function newOrder(request: OrderRequest, at: string, status: 'accepted' | 'rejected'): AlpacaOrder {
  return {
    id: randomUUID(),
    created_at: at,
    updated_at: at,
    submitted_at: at,
    filled_at: null,
    expired_at: null,
    canceled_at: null,
    failed_at: status === 'rejected' ? at : null,
    replaced_at: null,
    replaced_by: null,
    replaces: null,
    asset_id: assetId(request.symbol),
    asset_class: 'us_equity',
    filled_qty: '0',
    filled_avg_price: null,
    order_class: '',
    order_type: request.type,
    status,
    legs: null,
    trail_percent: null,
    trail_price: null,
    hwm: null,
    ...request,
  };
}

/** An order as an earlier version of the simulator kept it in its file: some fields may be missing. */
export type StoredOrder = Partial<AlpacaOrder> & Pick<AlpacaOrder, 'symbol' | 'side'>;

/** A stored order completed with the fields an earlier version did not keep. */
export function completeStoredOrder(stored: StoredOrder): AlpacaOrder {
  return {
    expired_at: null,
    failed_at: null,
    replaced_at: null,
    replaced_by: null,
    replaces: null,
    asset_id: assetId(stored.symbol),
    order_class: '',
    legs: null,
    trail_percent: null,
    trail_price: null,
    hwm: null,
    position_intent: defaultIntent(stored.side),
    ...stored,
  } as AlpacaOrder;
}

/** Without a stated intent, Alpaca reads a buy as opening and a sell as closing a long position. */
function defaultIntent(side: 'buy' | 'sell'): PositionIntent {
  return side === 'buy' ? 'buy_to_open' : 'sell_to_close';
}

/** Validates an order body as Alpaca does; a string names the field at fault and why. */
export function parseOrder(body: Record<string, unknown>): OrderRequest | string {
  const { symbol, side, type, time_in_force: timeInForce, extended_hours: extendedHours, position_intent: intent } = body;
  if (typeof symbol !== 'string' || symbol.trim() === '') return 'symbol is required';
  if (side !== 'buy' && side !== 'sell') return 'side must be one of buy, sell';
  if (!ORDER_TYPES.includes(type as AlpacaOrderType)) return `type must be one of ${ORDER_TYPES.join(', ')}`;
  const orderType = type as AlpacaOrderType;
  if (typeof timeInForce !== 'string' || !TIME_IN_FORCE.includes(timeInForce)) return `time_in_force must be one of ${TIME_IN_FORCE.join(', ')}`;
  if (extendedHours !== undefined && typeof extendedHours !== 'boolean') return 'extended_hours must be a boolean';
  if (intent !== undefined && !POSITION_INTENTS.includes(intent as PositionIntent)) return `position_intent must be one of ${POSITION_INTENTS.join(', ')}`;

  const decimals: Record<'qty' | 'notional' | 'limit_price' | 'stop_price', string | null> = { qty: null, notional: null, limit_price: null, stop_price: null };
  for (const field of ['qty', 'notional', 'limit_price', 'stop_price'] as const) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : typeof value === 'string' ? value.trim() : '';
    if (!DECIMAL.test(text) || Number(text) <= 0) return `${field} must be a positive decimal`;
    decimals[field] = canonicalDecimal(text);
  }
  if ((decimals.qty === null) === (decimals.notional === null)) return 'exactly one of qty or notional is required';
  if ((orderType === 'limit' || orderType === 'stop_limit') && decimals.limit_price === null) return `limit_price is required for ${orderType} orders`;
  if ((orderType === 'stop' || orderType === 'stop_limit') && decimals.stop_price === null) return `stop_price is required for ${orderType} orders`;

  const clientOrderId = body.client_order_id ?? '';
  if (typeof clientOrderId !== 'string') return 'client_order_id must be a string';
  if (clientOrderId.length > MAX_CLIENT_ORDER_ID) return `client_order_id must be no more than ${MAX_CLIENT_ORDER_ID} characters`;

  return {
    // Alpaca generates an id when the caller sends none.
    client_order_id: clientOrderId === '' ? randomUUID() : clientOrderId,
    symbol: symbol.trim().toUpperCase(),
    side,
    type: orderType,
    time_in_force: timeInForce,
    extended_hours: extendedHours ?? false,
    position_intent: (intent as PositionIntent | undefined) ?? defaultIntent(side),
    ...decimals,
  };
}
