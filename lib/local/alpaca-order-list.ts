import { isOpen, type AlpacaOrder } from './alpaca-order';
import { instantMicros } from './order-clock';

/** `GET /v2/orders` parameters, read as Alpaca reads them. */
export interface OrderListQuery {
  readonly status: 'open' | 'closed' | 'all';
  /** Exclusive bounds on `submitted_at`, in microseconds. */
  readonly after?: number;
  readonly until?: number;
  readonly direction: 'asc' | 'desc';
  readonly limit: number;
  /** Upper-case symbols; absent: every symbol. */
  readonly symbols?: ReadonlySet<string>;
  readonly side?: 'buy' | 'sell';
}

/** Alpaca's page size: 50 unless asked, at most 500. */
export const LIST_LIMIT = { default: 50, max: 500 } as const;

/**
 * Reads the list parameters `status` (open|closed|all, default open), `after` and `until`
 * (timestamps, exclusive, on submission time), `direction` (asc|desc, default desc), `limit`
 * (1..500, default 50), `symbols` (comma list) and `side`; `nested` and the rest are ignored. A
 * string says which parameter is refused and why (Alpaca answers 422).
 */
export function parseListQuery(query: URLSearchParams): OrderListQuery | string {
  const status = query.get('status') ?? 'open';
  if (status !== 'open' && status !== 'closed' && status !== 'all') return 'status must be one of open, closed, all';
  const direction = query.get('direction') ?? 'desc';
  if (direction !== 'asc' && direction !== 'desc') return 'direction must be one of asc, desc';
  const limitText = query.get('limit');
  const limit = limitText === null ? LIST_LIMIT.default : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT.max) return `invalid limit, limit must be between 1 and ${LIST_LIMIT.max}`;
  const side = query.get('side') ?? undefined;
  if (side !== undefined && side !== 'buy' && side !== 'sell') return 'side must be one of buy, sell';
  const bounds: { after?: number; until?: number } = {};
  for (const name of ['after', 'until'] as const) {
    const text = query.get(name);
    if (text === null) continue;
    const micros = instantMicros(text);
    if (micros === undefined) return `invalid ${name}: ${text} is not a timestamp`;
    bounds[name] = micros;
  }
  const symbols = query.get('symbols');
  const listed = symbols === null ? [] : symbols.split(',').map((symbol) => symbol.trim().toUpperCase()).filter((symbol) => symbol !== '');
  return { status, direction, limit, ...bounds, ...(side === undefined ? {} : { side }), ...(listed.length > 0 ? { symbols: new Set(listed) } : {}) };
}

/** The page Alpaca would answer: matching orders by submission time in `direction`, at most `limit`. */
export function listOrders(orders: Iterable<AlpacaOrder>, query: OrderListQuery): AlpacaOrder[] {
  const matching = [...orders]
    .map((order) => ({ order, submitted: instantMicros(order.submitted_at) ?? 0 }))
    .filter(({ order, submitted }) => {
      if (query.status !== 'all' && isOpen(order) !== (query.status === 'open')) return false;
      if (query.after !== undefined && submitted <= query.after) return false;
      if (query.until !== undefined && submitted >= query.until) return false;
      if (query.side !== undefined && order.side !== query.side) return false;
      return query.symbols === undefined || query.symbols.has(order.symbol);
    })
    // Stable: orders kept by an older simulator may share a timestamp and keep their arrival order.
    .sort((a, b) => a.submitted - b.submitted)
    .map(({ order }) => order);
  return (query.direction === 'asc' ? matching : matching.reverse()).slice(0, query.limit);
}
