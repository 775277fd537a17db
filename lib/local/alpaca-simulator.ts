import { randomUUID } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { parseJson } from '../../functions/adapters/http-exchange';
import { completeStoredOrder, decimalText, isOpen, newOrder, parseOrder, type AlpacaOrder, type OrderRequest, type StoredOrder } from './alpaca-order';
import { listOrders, parseListQuery } from './alpaca-order-list';
import { instantMicros, orderClock } from './order-clock';
import { cancelOrder, DIRECT, expireOrder, fillOrder, isDue, marketSchema, stepOrder, type MarketConditions, type MarketSettings, type Placement } from './order-life';
import { rateLimitWindow } from './rate-limit-window';
import {
  faultTiming,
  header,
  onlyWithModes,
  playFault,
  sendJson,
  startSimulator,
  validatedAdminAction,
  type SimAdmin,
  type SimAdminAnswer,
  type SimRequest,
  type SimRoute,
} from './sim-http';

export type { AlpacaOrder, AlpacaOrderStatus, AlpacaOrderType } from './alpaca-order';
export type { MarketConditions, MarketSettings } from './order-life';

/**
 * The header the LEAN runner simulator sets on the orders it places (value `lean`), so the market's
 * `leanSlippageBps` and `leanFillRate` can tell them from the orders the router sends directly.
 * A real Alpaca ignores it.
 */
export const PLACED_BY_HEADER = 'x-sim-placed-by';

/** Where the simulator listens, the API keys it accepts and the market its orders live in. */
export interface AlpacaSimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  keyId: string;
  secretKey: string;
  /** A JSON file that keeps the orders across restarts (LOCAL_DATA_DIR); in memory when absent. */
  file?: string;
  /** The market at start and after every reset; default: every symbol at 100, no slippage, whole fills, steps only when told. */
  market?: MarketSettings;
}

/** What `requestCount` counts; `list` is `GET /v2/orders`. */
export type AlpacaOperation = 'submit' | 'lookup' | 'get' | 'cancel' | 'list';

/**
 * How one operation misbehaves. `http_error` answers `status` (default 500) in Alpaca's error shape.
 * Submit only: `placeOrder` makes `hang`, `http_error` and `invalid_json` place the order first, as
 * when the broker acted and its answer was lost; `rejected` stores and answers the order with status
 * `rejected` (an acknowledged rejection); `wrong_order` places and answers another order than asked
 * (another symbol, twice the quantity, another `client_order_id`).
 */
export interface AlpacaFault {
  mode: 'ok' | 'hang' | 'http_error' | 'invalid_json' | 'rejected' | 'wrong_order';
  latencyMs?: number;
  status?: number;
  message?: string;
  placeOrder?: boolean;
}

/**
 * How `DELETE /v2/orders/{id}` misbehaves. `hang` never answers and `http_error` answers `status`
 * (default 500), both leaving the order as it was unless `cancelOrder` cancels it first (the cancel
 * landed, its answer was lost). `already_filled` fills the order just before the cancel lands, so
 * the cancel answers 422 and the order is `filled`.
 */
export interface AlpacaCancelFault {
  mode: 'ok' | 'hang' | 'http_error' | 'already_filled';
  latencyMs?: number;
  status?: number;
  message?: string;
  cancelOrder?: boolean;
}

/**
 * How `GET /v2/orders` misbehaves. `rate_limited` answers the next `calls` (default 1) list calls
 * 429 with `X-RateLimit-Remaining: 0` and `X-RateLimit-Reset` `resetInSeconds` (default 1) from
 * now, then lists again; `hang` and `http_error` (default 500) last until healed.
 */
export interface AlpacaListFault {
  mode: 'ok' | 'hang' | 'http_error' | 'rate_limited';
  latencyMs?: number;
  status?: number;
  message?: string;
  calls?: number;
  resetInSeconds?: number;
}

/** The faults in force; `down: true` closes the listener so connections are refused. */
export interface AlpacaFaults {
  submit?: AlpacaFault;
  lookup?: AlpacaFault;
  cancel?: AlpacaCancelFault;
  list?: AlpacaListFault;
  down?: boolean;
}

/** A running Alpaca simulator. */
export interface AlpacaSimulator {
  /** `http://host:port`, unchanged across `down`. */
  readonly url: string;
  /** Orders by id, rejected ones included, with every step they are due already taken. */
  readonly orders: ReadonlyMap<string, AlpacaOrder>;
  /** Orders the simulator accepted (rejected ones excluded, canceled ones included): the broker orders that exist. */
  ordersPlaced(): number;
  /** Whether the order `id` was placed through the LEAN runner (its submit carried `x-sim-placed-by: lean`). */
  placedByLean(id: string): boolean;
  /** The `/_sim/*` admin API for another listener; it works while the simulator is down. */
  readonly admin: SimAdmin;
  /** HTTP requests received for `op`, refused and faulted ones included. */
  requestCount(op: AlpacaOperation): number;
  /** Replaces the faults; `down` closes or reopens the listener. */
  setFaults(faults: AlpacaFaults): Promise<void>;
  /** Replaces the market (as `POST /_sim/market`) and returns it; throws on settings it refuses. */
  setMarket(settings: MarketSettings): MarketConditions;
  /** Every open order takes one step of its life (as `POST /_sim/step`); returns the orders that changed. */
  step(): AlpacaOrder[];
  /** Fills the open order `id` in full now (as `POST /_sim/fill`); undefined when unknown or no longer open. */
  fill(id: string): AlpacaOrder | undefined;
  /** Ends the trading day (as `POST /_sim/end-of-day`): every open order but `gtc` expires; returns them. */
  endDay(): AlpacaOrder[];
  /** Clears orders, counters and faults, restores the starting market, drops hung requests and comes back up. */
  reset(): Promise<void>;
  /** Stops listening and destroys every open socket, hung requests included. */
  close(): Promise<void>;
}

const OPERATIONS: readonly AlpacaOperation[] = ['submit', 'lookup', 'get', 'cancel', 'list'];
/** Bounds the steps one order takes while catching up, so a zero `fillDelayMs` cannot loop. */
const MAX_STEPS_PER_CATCH_UP = 3;

const lookupFaultSchema = z.strictObject({ mode: z.enum(['ok', 'hang', 'http_error', 'invalid_json']), ...faultTiming, message: z.string().optional() });
const submitFaultSchema = z
  .strictObject({
    mode: z.enum(['ok', 'hang', 'http_error', 'invalid_json', 'rejected', 'wrong_order']),
    ...faultTiming,
    message: z.string().optional(),
    placeOrder: z.boolean().optional(),
  })
  // The other modes decide for themselves whether an order exists; placeOrder there would be ambiguous.
  .superRefine(onlyWithModes(['hang', 'http_error', 'invalid_json'], 'placeOrder'));
const cancelFaultSchema = z
  .strictObject({ mode: z.enum(['ok', 'hang', 'http_error', 'already_filled']), ...faultTiming, message: z.string().optional(), cancelOrder: z.boolean().optional() })
  .superRefine(onlyWithModes(['hang', 'http_error'], 'cancelOrder'));
const listFaultSchema = z
  .strictObject({
    mode: z.enum(['ok', 'hang', 'http_error', 'rate_limited']),
    ...faultTiming,
    message: z.string().optional(),
    calls: z.number().int().positive().optional(),
    resetInSeconds: z.number().int().nonnegative().max(60).optional(),
  })
  .superRefine(onlyWithModes(['rate_limited'], 'calls', 'resetInSeconds'));
const faultsSchema: z.ZodType<AlpacaFaults> = z.strictObject({
  submit: submitFaultSchema.optional(),
  lookup: lookupFaultSchema.optional(),
  cancel: cancelFaultSchema.optional(),
  list: listFaultSchema.optional(),
  down: z.boolean().optional(),
});

const NOT_AUTHORIZED = { code: 40110000, message: 'request is not authorized' };
const NOT_FOUND = { code: 40410000, message: 'order not found' };
const RATE_LIMITED = { code: 42910000, message: 'rate limit exceeded' };

/** Alpaca's error body for an injected failure: the code is the status followed by five digits. */
function alpacaError(status: number, message: string): { code: number; message: string } {
  return { code: status * 100000, message };
}

/** Alpaca's 422 body for an order it refuses to place. */
function unprocessable(message: string): { code: number; message: string } {
  return { code: 40010001, message };
}

/** Alpaca's 422 body for a request it cannot act on: a parameter out of range, an order past canceling. */
function invalidRequest(message: string): { code: number; message: string } {
  return { code: 42210000, message };
}

function noLongerOpen(order: AlpacaOrder): SimAdminAnswer {
  return { status: 422, body: invalidRequest(`order is already in "${order.status}" state`) };
}

/**
 * Starts an Alpaca Trading API v2 simulator on loopback: submit, lookup by `client_order_id`,
 * get, cancel and list, with Alpaca's auth headers, rate-limit headers, error shapes and unique
 * `client_order_id`. Its orders live: they fill against a configurable market, rest, expire at the
 * end of the day and cancel (see `MarketConditions`); orders the LEAN runner simulator placed (the
 * `x-sim-placed-by: lean` header) can be made to fill worse. With `file`, its orders survive restarts, even a kill.
 */
export async function startAlpacaSimulator(options: AlpacaSimulatorOptions): Promise<AlpacaSimulator> {
  const loaded = options.file === undefined ? { orders: [], leanOrdinals: new Map<string, number>() } : loadOrders(options.file);
  const stored = loaded.orders;
  const orders = new Map(stored.map((order) => [order.id, order]));
  const idsByClientOrderId = new Map(stored.map((order) => [order.client_order_id, order.id]));
  // Only open orders take steps: walking every order kept on each request grows with the history.
  const openOrders = new Map(stored.filter(isOpen).map((order) => [order.id, order]));
  // The rank of each order placed through the LEAN runner, by order id; kept in the file beside the order.
  const leanOrdinals = loaded.leanOrdinals;
  let leanPlaced = [...leanOrdinals.values()].reduce((highest, rank) => Math.max(highest, rank), 0);
  const placement = (order: AlpacaOrder): Placement => {
    const leanOrdinal = leanOrdinals.get(order.id);
    return leanOrdinal === undefined ? DIRECT : { leanOrdinal };
  };
  const clock = orderClock(stored.reduce((latest, order) => Math.max(latest, instantMicros(order.updated_at) ?? 0), 0));
  const startingMarket: MarketConditions = marketSchema.parse(options.market ?? {});
  let market = startingMarket;
  const rateLimit = rateLimitWindow();
  // Keyed by the fault object: faults set anew (even equal ones) start their count again.
  const rateLimitedCalls = new WeakMap<AlpacaListFault, number>();

  // Synchronous, before anything answers: a process killed the moment an order is visible (counted,
  // found by a lookup) must still hold it when it starts again on the same file.
  const persist = (): void => {
    if (options.file !== undefined) saveOrders(options.file, orders, leanOrdinals);
  };
  const keep = (...changed: AlpacaOrder[]): void => {
    for (const order of changed) {
      orders.set(order.id, order);
      idsByClientOrderId.set(order.client_order_id, order.id);
      if (isOpen(order)) openOrders.set(order.id, order);
      else openOrders.delete(order.id);
    }
    if (changed.length > 0) persist();
  };
  /** Applies `change` to every open order (a closed one takes no step), keeps those it changed and returns them. */
  const changeEach = (change: (order: AlpacaOrder) => AlpacaOrder | undefined): AlpacaOrder[] => {
    const changed = [...openOrders.values()].flatMap((order) => change(order) ?? []);
    keep(...changed);
    return changed;
  };
  // Canceled orders were placed all the same; a rejected one never was.
  const ordersPlaced = (): number => [...orders.values()].filter((order) => order.status !== 'rejected').length;

  /** Takes the steps `fillDelayMs` has made due since the last request: the life runs on wall time without a timer. */
  const catchUp = (): void => {
    if (market.fillDelayMs === undefined) return;
    changeEach((order) => {
      let current = order;
      for (let steps = 0; steps < MAX_STEPS_PER_CATCH_UP && isDue(current, market, Date.now() * 1000); steps += 1) {
        const next = stepOrder(current, market, clock.now(), placement(current));
        if (next === undefined) break;
        current = next;
      }
      return current === order ? undefined : current;
    });
  };

  const step = (): AlpacaOrder[] => changeEach((order) => stepOrder(order, market, clock.now(), placement(order)));
  const endDay = (): AlpacaOrder[] => changeEach((order) => expireOrder(order, clock.now()));
  const setMarket = (settings: MarketSettings): MarketConditions => {
    market = marketSchema.parse(settings);
    return market;
  };

  const fill = (id: string): SimAdminAnswer => {
    const order = orders.get(id);
    if (!order) return { status: 404, body: NOT_FOUND };
    const filled = fillOrder(order, market, clock.now(), placement(order));
    if (!filled) return noLongerOpen(order);
    keep(filled);
    return { status: 200, body: filled };
  };

  const authorized = (handle: (req: SimRequest, res: ServerResponse) => Promise<void> | void) => (req: SimRequest, res: ServerResponse) =>
    header(req, 'apca-api-key-id') === options.keyId && header(req, 'apca-api-secret-key') === options.secretKey
      ? handle(req, res)
      : sendJson(res, 401, NOT_AUTHORIZED);

  const faulted = (fault: AlpacaFault | AlpacaCancelFault | AlpacaListFault | undefined, req: SimRequest, res: ServerResponse): Promise<boolean> =>
    playFault(fault, req, res, { status: 500, body: alpacaError });

  /** Validates and stores the order as Alpaca would, and returns the answer it would give. */
  const createOrder = (req: SimRequest, outcome: 'accepted' | 'rejected' | 'wrong_order'): { status: number; body: unknown } => {
    const json = parseJson(req.body);
    if (!json.ok || typeof json.value !== 'object' || json.value === null || Array.isArray(json.value)) {
      return { status: 400, body: { code: 40010000, message: 'request body format is invalid' } };
    }
    const parsed = parseOrder(json.value as Record<string, unknown>);
    if (typeof parsed === 'string') return { status: 422, body: unprocessable(parsed) };
    const placed = outcome === 'wrong_order' ? anotherOrder(parsed) : parsed;
    if (idsByClientOrderId.has(placed.client_order_id)) return { status: 422, body: unprocessable('client_order_id must be unique') };
    const order = newOrder(placed, clock.now(), outcome === 'rejected' ? 'rejected' : 'accepted');
    // Ranked before keep() persists the order, so the file never holds a LEAN order without its rank.
    if (order.status !== 'rejected' && header(req, PLACED_BY_HEADER) === 'lean') {
      leanPlaced += 1;
      leanOrdinals.set(order.id, leanPlaced);
    }
    keep(order);
    return { status: 200, body: order };
  };

  const submit = async (req: SimRequest, res: ServerResponse): Promise<void> => {
    const fault = core.faults().submit;
    // With placeOrder the order exists whatever the fault then answers; without it a faulted
    // submit creates nothing: the fault stands in for the whole answer.
    const placed = fault?.placeOrder === true ? createOrder(req, 'accepted') : undefined;
    if (await faulted(fault, req, res)) return;
    const answer = placed ?? createOrder(req, fault?.mode === 'rejected' || fault?.mode === 'wrong_order' ? fault.mode : 'accepted');
    sendJson(res, answer.status, answer.body);
  };

  const lookup = async (req: SimRequest, res: ServerResponse): Promise<void> => {
    if (await faulted(core.faults().lookup, req, res)) return;
    const clientOrderId = req.query.get('client_order_id');
    if (!clientOrderId) return sendJson(res, 422, unprocessable('client_order_id is required'));
    answerOrder(res, idsByClientOrderId.get(clientOrderId));
  };

  const answerOrder = (res: ServerResponse, id: string | undefined): void => {
    const order = id === undefined ? undefined : orders.get(id);
    if (order) sendJson(res, 200, order);
    else sendJson(res, 404, NOT_FOUND);
  };

  const cancelById = (id: string): SimAdminAnswer => {
    const order = orders.get(id);
    if (!order) return { status: 404, body: NOT_FOUND };
    const canceled = cancelOrder(order, clock.now());
    if (!canceled) return noLongerOpen(order);
    keep(canceled);
    return { status: 204, body: undefined };
  };

  const cancel = async (req: SimRequest, res: ServerResponse, id: string): Promise<void> => {
    const fault = core.faults().cancel;
    if (fault?.mode === 'already_filled') fill(id);
    // With cancelOrder the cancel lands whatever the fault then answers; without it a faulted cancel changes nothing.
    const landed = fault?.cancelOrder === true ? cancelById(id) : undefined;
    if (await faulted(fault, req, res)) return;
    const answer = landed ?? cancelById(id);
    if (answer.status !== 204) return sendJson(res, answer.status, answer.body);
    res.writeHead(204);
    res.end();
  };

  /** Whether this list call is one of the `calls` the fault answers 429, counting it. */
  const rateLimited = (fault: AlpacaListFault): boolean => {
    const used = rateLimitedCalls.get(fault) ?? 0;
    if (used >= (fault.calls ?? 1)) return false;
    rateLimitedCalls.set(fault, used + 1);
    return true;
  };

  const list = async (req: SimRequest, res: ServerResponse): Promise<void> => {
    const fault = core.faults().list;
    if (fault?.mode === 'rate_limited' && rateLimited(fault)) return sendJson(res, 429, RATE_LIMITED, rateLimit.exhausted(fault.resetInSeconds ?? 1));
    if (await faulted(fault, req, res)) return;
    const query = parseListQuery(req.query);
    if (typeof query === 'string') return sendJson(res, 422, invalidRequest(query));
    sendJson(res, 200, listOrders(orders.values(), query));
  };

  const routeFor = (req: SimRequest): SimRoute<AlpacaOperation> => {
    const { method, path } = req;
    if (path === '/v2/orders' && method === 'POST') return { operation: 'submit', handle: authorized(submit) };
    if (path === '/v2/orders' && method === 'GET') return { operation: 'list', handle: authorized(list) };
    if (path === '/v2/orders:by_client_order_id' && method === 'GET') return { operation: 'lookup', handle: authorized(lookup) };
    const byId = /^\/v2\/orders\/([^/]+)$/.exec(path)?.[1];
    if (byId !== undefined && method === 'GET') return { operation: 'get', handle: authorized((_, res) => answerOrder(res, decodeURIComponent(byId))) };
    if (byId !== undefined && method === 'DELETE') return { operation: 'cancel', handle: authorized((r, res) => cancel(r, res, decodeURIComponent(byId))) };
    return { handle: (_, res) => sendJson(res, 404, { code: 40410000, message: `no route ${method} ${path}` }) };
  };

  /** Every answer carries Alpaca's rate-limit headers; every request first lets due orders step. */
  const route = (req: SimRequest): SimRoute<AlpacaOperation> => {
    const chosen = routeFor(req);
    return {
      ...chosen,
      handle: (r, res) => {
        for (const [name, value] of Object.entries(rateLimit.count())) res.setHeader(name, value);
        catchUp();
        return chosen.handle(r, res);
      },
    };
  };

  const core = await startSimulator<AlpacaOperation, AlpacaFaults>({
    name: 'Alpaca simulator',
    listen: options,
    operations: OPERATIONS,
    faultsSchema,
    route,
    clearState: () => {
      orders.clear();
      openOrders.clear();
      idsByClientOrderId.clear();
      leanOrdinals.clear();
      leanPlaced = 0;
      market = startingMarket;
      rateLimit.clear();
      persist();
    },
    describeState: () => {
      catchUp();
      return {
        orders: orders.size,
        orders_placed: ordersPlaced(),
        lean_orders_placed: leanOrdinals.size,
        open_orders: openOrders.size,
        market,
      };
    },
    adminRoutes: {
      'POST /market': validatedAdminAction(marketSchema, (settings) => ({ status: 200, body: setMarket(settings) })),
      'POST /step': () => ({ status: 200, body: { changed: step() } }),
      'POST /fill': validatedAdminAction(z.strictObject({ id: z.string().min(1) }), ({ id }) => fill(id)),
      'POST /end-of-day': () => ({ status: 200, body: { expired: endDay() } }),
    },
  });

  return {
    url: core.url,
    get orders() {
      catchUp();
      return orders;
    },
    ordersPlaced,
    placedByLean: (id) => leanOrdinals.has(id),
    admin: core.admin,
    requestCount: core.requestCount,
    setFaults: core.setFaults,
    setMarket,
    step,
    fill: (id) => {
      const answer = fill(id);
      return answer.status === 200 ? (answer.body as AlpacaOrder) : undefined;
    },
    endDay,
    reset: core.reset,
    close: core.close,
  };
}

/** An order as the file keeps it: Alpaca's fields, and the rank of an order placed through the LEAN runner. */
type FileOrder = StoredOrder & { readonly _sim_lean_ordinal?: number };

/** Orders kept in `file` by an earlier run, and the ranks of those placed through LEAN; none when there is no file yet. */
function loadOrders(file: string): { orders: AlpacaOrder[]; leanOrdinals: Map<string, number> } {
  let kept: FileOrder[];
  try {
    kept = JSON.parse(readFileSync(file, 'utf8')) as FileOrder[];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { orders: [], leanOrdinals: new Map() };
    throw error;
  }
  const orders = kept.map(({ _sim_lean_ordinal: _rank, ...order }) => completeStoredOrder(order));
  const leanOrdinals = new Map(
    kept.flatMap((order) => (order.id !== undefined && order._sim_lean_ordinal !== undefined ? [[order.id, order._sim_lean_ordinal] as const] : [])),
  );
  return { orders, leanOrdinals };
}

/** Replaces `file` whole (write, then rename), so a kill mid-write leaves the previous orders, never half a file. */
function saveOrders(file: string, orders: ReadonlyMap<string, AlpacaOrder>, leanOrdinals: ReadonlyMap<string, number>): void {
  const partial = `${file}.partial`;
  const kept: FileOrder[] = [...orders.values()].map((order) => {
    const rank = leanOrdinals.get(order.id);
    return rank === undefined ? order : { ...order, _sim_lean_ordinal: rank };
  });
  writeFileSync(partial, JSON.stringify(kept, null, 2));
  renameSync(partial, file);
}

/** Symbols `wrong_order` swaps in: the first that differs from the one asked. */
const WRONG_SYMBOLS = ['SPY', 'QQQ'] as const;

/** The order a confused broker places instead: another symbol, twice the size, an id of its own. */
function anotherOrder(asked: OrderRequest): OrderRequest {
  const double = (value: string | null): string | null => (value === null ? null : decimalText(Number(value) * 2, 9));
  return {
    ...asked,
    symbol: WRONG_SYMBOLS.find((symbol) => symbol !== asked.symbol) ?? WRONG_SYMBOLS[0],
    qty: double(asked.qty),
    notional: double(asked.notional),
    client_order_id: randomUUID(),
  };
}
