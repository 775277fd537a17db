import { randomUUID } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { parseJson } from '../../functions/adapters/http-exchange';
import { faultTiming, header, playFault, sendJson, startSimulator, type SimAdmin, type SimRequest, type SimRoute } from './sim-http';

/** Where the simulator listens and the API keys it accepts. */
export interface AlpacaSimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  keyId: string;
  secretKey: string;
  /** A JSON file that keeps the orders across restarts (LOCAL_DATA_DIR); in memory when absent. */
  file?: string;
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

/** The faults in force; `down: true` closes the listener so connections are refused. */
export interface AlpacaFaults {
  submit?: AlpacaFault;
  lookup?: AlpacaFault;
  down?: boolean;
}

/** Order types of the subset the router uses. */
export type AlpacaOrderType = 'market' | 'limit' | 'stop' | 'stop_limit';

/** An order as Alpaca's Trading API v2 describes it (the fields the router and operators read). */
export interface AlpacaOrder {
  readonly id: string;
  readonly client_order_id: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly submitted_at: string;
  readonly filled_at: string | null;
  readonly canceled_at: string | null;
  readonly asset_class: 'us_equity';
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly type: AlpacaOrderType;
  readonly order_type: AlpacaOrderType;
  readonly time_in_force: string;
  readonly qty: string | null;
  readonly notional: string | null;
  readonly filled_qty: string;
  readonly filled_avg_price: string | null;
  readonly limit_price: string | null;
  readonly stop_price: string | null;
  readonly status: 'accepted' | 'canceled' | 'rejected';
  readonly extended_hours: boolean;
}

/** A running Alpaca simulator. */
export interface AlpacaSimulator {
  /** `http://host:port`, unchanged across `down`. */
  readonly url: string;
  /** Orders by id, rejected ones included. */
  readonly orders: ReadonlyMap<string, AlpacaOrder>;
  /** Orders the simulator accepted (rejected ones excluded, canceled ones included): the broker orders that exist. */
  ordersPlaced(): number;
  /** The `/_sim/*` admin API for another listener; it works while the simulator is down. */
  readonly admin: SimAdmin;
  /** HTTP requests received for `op`, refused and faulted ones included. */
  requestCount(op: AlpacaOperation): number;
  /** Replaces the faults; `down` closes or reopens the listener. */
  setFaults(faults: AlpacaFaults): Promise<void>;
  /** Clears orders, counters and faults, drops hung requests and comes back up. */
  reset(): Promise<void>;
  /** Stops listening and destroys every open socket, hung requests included. */
  close(): Promise<void>;
}

const OPERATIONS: readonly AlpacaOperation[] = ['submit', 'lookup', 'get', 'cancel', 'list'];
const ORDER_TYPES: readonly AlpacaOrderType[] = ['market', 'limit', 'stop', 'stop_limit'];
const TIME_IN_FORCE = ['day', 'gtc', 'opg', 'cls', 'ioc', 'fok'];
const MAX_CLIENT_ORDER_ID = 128;
const DECIMAL = /^\d+(\.\d+)?$/;

const lookupFaultSchema = z.strictObject({ mode: z.enum(['ok', 'hang', 'http_error', 'invalid_json']), ...faultTiming, message: z.string().optional() });
const PLACING_MODES: readonly string[] = ['hang', 'http_error', 'invalid_json'];
const submitFaultSchema = z
  .strictObject({
    mode: z.enum(['ok', 'hang', 'http_error', 'invalid_json', 'rejected', 'wrong_order']),
    ...faultTiming,
    message: z.string().optional(),
    placeOrder: z.boolean().optional(),
  })
  // The other modes decide for themselves whether an order exists; placeOrder there would be ambiguous.
  .refine((fault) => fault.placeOrder === undefined || PLACING_MODES.includes(fault.mode), {
    path: ['placeOrder'],
    message: `placeOrder applies only to modes ${PLACING_MODES.join(', ')}`,
  });
const faultsSchema: z.ZodType<AlpacaFaults> = z.strictObject({ submit: submitFaultSchema.optional(), lookup: lookupFaultSchema.optional(), down: z.boolean().optional() });

const NOT_AUTHORIZED = { code: 40110000, message: 'request is not authorized' };
const NOT_FOUND = { code: 40410000, message: 'order not found' };

/** Alpaca's error body for an injected failure: the code is the status followed by five digits. */
function alpacaError(status: number, message: string): { code: number; message: string } {
  return { code: status * 100000, message };
}

/** Alpaca's 422 body for a request it refuses to act on. */
function unprocessable(message: string): { code: number; message: string } {
  return { code: 40010001, message };
}

/**
 * Starts an Alpaca Trading API v2 simulator on loopback: submit, lookup by `client_order_id`,
 * get, cancel and list, with Alpaca's auth headers, error shapes and unique `client_order_id`.
 * With `file`, its orders survive restarts, even a kill.
 */
export async function startAlpacaSimulator(options: AlpacaSimulatorOptions): Promise<AlpacaSimulator> {
  const orders = new Map<string, AlpacaOrder>(options.file === undefined ? [] : loadOrders(options.file).map((order) => [order.id, order]));
  const idsByClientOrderId = new Map([...orders.values()].map((order) => [order.client_order_id, order.id]));
  // Synchronous, before anything answers: a process killed the moment an order is visible (counted,
  // found by a lookup) must still hold it when it starts again on the same file.
  const persist = (): void => {
    if (options.file !== undefined) saveOrders(options.file, orders);
  };
  const keep = (order: AlpacaOrder): void => {
    orders.set(order.id, order);
    idsByClientOrderId.set(order.client_order_id, order.id);
    persist();
  };
  // Canceled orders were placed all the same; a rejected one never was.
  const ordersPlaced = (): number => [...orders.values()].filter((order) => order.status !== 'rejected').length;

  const authorized = (handle: (req: SimRequest, res: ServerResponse) => Promise<void> | void) => (req: SimRequest, res: ServerResponse) =>
    header(req, 'apca-api-key-id') === options.keyId && header(req, 'apca-api-secret-key') === options.secretKey
      ? handle(req, res)
      : sendJson(res, 401, NOT_AUTHORIZED);

  const faulted = (fault: AlpacaFault | undefined, req: SimRequest, res: ServerResponse): Promise<boolean> =>
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
    const now = new Date().toISOString();
    const order: AlpacaOrder = {
      id: randomUUID(),
      created_at: now,
      updated_at: now,
      submitted_at: now,
      filled_at: null,
      canceled_at: null,
      asset_class: 'us_equity',
      order_type: placed.type,
      filled_qty: '0',
      filled_avg_price: null,
      status: outcome === 'rejected' ? 'rejected' : 'accepted',
      ...placed,
    };
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

  const cancel = (res: ServerResponse, id: string): void => {
    const order = orders.get(id);
    if (!order) return sendJson(res, 404, NOT_FOUND);
    if (order.status !== 'accepted') return sendJson(res, 422, { code: 42210000, message: `order is already in "${order.status}" state` });
    const now = new Date().toISOString();
    keep({ ...order, status: 'canceled', canceled_at: now, updated_at: now });
    res.writeHead(204);
    res.end();
  };

  const list = (req: SimRequest, res: ServerResponse): void => {
    const status = req.query.get('status') ?? 'open';
    if (status !== 'open' && status !== 'closed' && status !== 'all') return sendJson(res, 422, unprocessable('status must be one of open, closed, all'));
    const limit = Number(req.query.get('limit') ?? 50);
    const matching = [...orders.values()].filter((order) => status === 'all' || (order.status === 'accepted') === (status === 'open'));
    sendJson(res, 200, matching.reverse().slice(0, Number.isInteger(limit) && limit > 0 ? limit : 50));
  };

  const route = (req: SimRequest): SimRoute<AlpacaOperation> => {
    const { method, path } = req;
    if (path === '/v2/orders' && method === 'POST') return { operation: 'submit', handle: authorized(submit) };
    if (path === '/v2/orders' && method === 'GET') return { operation: 'list', handle: authorized(list) };
    if (path === '/v2/orders:by_client_order_id' && method === 'GET') return { operation: 'lookup', handle: authorized(lookup) };
    const byId = /^\/v2\/orders\/([^/]+)$/.exec(path)?.[1];
    if (byId !== undefined && method === 'GET') return { operation: 'get', handle: authorized((_, res) => answerOrder(res, decodeURIComponent(byId))) };
    if (byId !== undefined && method === 'DELETE') return { operation: 'cancel', handle: authorized((_, res) => cancel(res, decodeURIComponent(byId))) };
    return { handle: (_, res) => sendJson(res, 404, { code: 40410000, message: `no route ${method} ${path}` }) };
  };

  const core = await startSimulator<AlpacaOperation, AlpacaFaults>({
    name: 'Alpaca simulator',
    listen: options,
    operations: OPERATIONS,
    faultsSchema,
    route,
    clearState: () => {
      orders.clear();
      idsByClientOrderId.clear();
      persist();
    },
    describeState: () => ({ orders: orders.size, orders_placed: ordersPlaced() }),
  });

  return {
    url: core.url,
    orders,
    ordersPlaced,
    admin: core.admin,
    requestCount: core.requestCount,
    setFaults: core.setFaults,
    reset: core.reset,
    close: core.close,
  };
}

/** Orders kept in `file` by an earlier run; none when there is no file yet. */
function loadOrders(file: string): AlpacaOrder[] {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as AlpacaOrder[];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Replaces `file` whole (write, then rename), so a kill mid-write leaves the previous orders, never half a file. */
function saveOrders(file: string, orders: ReadonlyMap<string, AlpacaOrder>): void {
  const partial = `${file}.partial`;
  writeFileSync(partial, JSON.stringify([...orders.values()], null, 2));
  renameSync(partial, file);
}

/** Symbols `wrong_order` swaps in: the first that differs from the one asked. */
const WRONG_SYMBOLS = ['SPY', 'QQQ'] as const;

/** The order a confused broker places instead: another symbol, twice the size, an id of its own. */
function anotherOrder(asked: ParsedOrder): ParsedOrder {
  const double = (value: string | null): string | null => (value === null ? null : String(Number((Number(value) * 2).toFixed(9))));
  return {
    ...asked,
    symbol: WRONG_SYMBOLS.find((symbol) => symbol !== asked.symbol) ?? WRONG_SYMBOLS[0],
    qty: double(asked.qty),
    notional: double(asked.notional),
    client_order_id: randomUUID(),
  };
}

type ParsedOrder = Pick<
  AlpacaOrder,
  'client_order_id' | 'symbol' | 'side' | 'type' | 'time_in_force' | 'qty' | 'notional' | 'limit_price' | 'stop_price' | 'extended_hours'
>;

/** Validates an order body as Alpaca does; a string names the field at fault and why. */
function parseOrder(body: Record<string, unknown>): ParsedOrder | string {
  const { symbol, side, type, time_in_force: timeInForce, extended_hours: extendedHours } = body;
  if (typeof symbol !== 'string' || symbol.trim() === '') return 'symbol is required';
  if (side !== 'buy' && side !== 'sell') return 'side must be one of buy, sell';
  if (!ORDER_TYPES.includes(type as AlpacaOrderType)) return `type must be one of ${ORDER_TYPES.join(', ')}`;
  const orderType = type as AlpacaOrderType;
  if (typeof timeInForce !== 'string' || !TIME_IN_FORCE.includes(timeInForce)) return `time_in_force must be one of ${TIME_IN_FORCE.join(', ')}`;
  if (extendedHours !== undefined && typeof extendedHours !== 'boolean') return 'extended_hours must be a boolean';

  const decimals: Record<'qty' | 'notional' | 'limit_price' | 'stop_price', string | null> = { qty: null, notional: null, limit_price: null, stop_price: null };
  for (const field of ['qty', 'notional', 'limit_price', 'stop_price'] as const) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : typeof value === 'string' ? value.trim() : '';
    if (!DECIMAL.test(text) || Number(text) <= 0) return `${field} must be a positive decimal`;
    decimals[field] = text;
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
    symbol,
    side,
    type: orderType,
    time_in_force: timeInForce,
    extended_hours: extendedHours ?? false,
    ...decimals,
  };
}
