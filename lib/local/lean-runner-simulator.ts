import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Agent, request } from 'undici';
import { z } from 'zod';
import { classifyTransportError, parseJson } from '../../functions/adapters/http-exchange';
import { dropUndefined } from '../../functions/core/objects';
import { PLACED_BY_HEADER } from './alpaca-simulator';
import { faultTiming, hang, header, onlyWithModes, playFault, sendJson, startSimulator, type SimAdmin, type SimRequest, type SimRoute } from './sim-http';

/** Where the simulator listens and the Alpaca it places orders at. */
export interface LeanRunnerSimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  alpacaUrl: string;
  alpacaKeyId: string;
  alpacaSecretKey: string;
  /** How long the runner waits for Alpaca before answering `network_timeout`; default 5000. */
  alpacaTimeoutMs?: number;
  /**
   * When set, every runner request must carry `authorization: Bearer <token>`; any other gets 401
   * with a JSON `detail` and is counted as no operation. The `/_sim/*` admin routes stay open.
   */
  token?: string;
}

/** What `requestCount` counts. */
export type LeanOperation = 'submit' | 'lookup' | 'get' | 'cancel' | 'list' | 'health';

/** The runner's failure taxonomy (contract v2). */
export type LeanTaxonomy = 'contract_invalid_order_type' | 'contract_missing_required_field' | 'network_timeout' | 'upstream_auth' | 'upstream_error';

/**
 * How the submit misbehaves. `placeOrder` makes `http_error`, `invalid_json` and `missing_fields`
 * place the order at Alpaca first; `accept_then_hang`, `qty_drift`, `foreign_client_order_id` and
 * `divergent_id` always place it. `foreign_client_order_id` places it under a `client_order_id` of
 * the runner's own and answers that order, as a runner that mangled the caller's id would.
 * `divergent_id` places it as asked and answers it whole but for its `id`, a UUID Alpaca does not
 * hold: the acknowledgement checks out, and only comparing with Alpaca's order finds the difference.
 */
export interface LeanSubmitFault {
  mode: 'ok' | 'hang' | 'http_error' | 'invalid_json' | 'accept_then_hang' | 'qty_drift' | 'missing_fields' | 'foreign_client_order_id' | 'divergent_id';
  latencyMs?: number;
  /** `http_error` status; default 502. */
  status?: number;
  /** Default `upstream_error`. */
  taxonomy?: LeanTaxonomy;
  message?: string;
  placeOrder?: boolean;
  /** `qty_drift` multiplier; default 2. */
  qtyFactor?: number;
  /** Answers the placed order's `id` as a JSON number, as a runner relaying LEAN's own integer order ids would. */
  numericId?: boolean;
}

/**
 * How the lookup by `client_order_id` misbehaves; `http_error` defaults to 500. Without a fault it
 * answers whatever Alpaca holds under the id, as a real runner proxying Alpaca does: orders the
 * router placed at Alpaca itself included.
 */
export interface LeanLookupFault {
  mode: 'ok' | 'hang' | 'http_error';
  latencyMs?: number;
  status?: number;
}

/** How `/healthz` misbehaves; `http_error` defaults to 503. */
export type LeanHealthFault = LeanLookupFault;

/**
 * How `POST /v1/orders/{id}/cancel` misbehaves. `hang` never answers and `http_error` answers
 * `status` (default 502) with `lean_cancel_failed:<taxonomy>:<message>`, both without asking Alpaca
 * unless `cancelOrder` cancels there first (the cancel landed, its answer was lost).
 * `already_filled` has the order filled at Alpaca just before the runner's cancel reaches it, so
 * the runner relays Alpaca's 422 and the order is `filled`; it needs the Alpaca simulator (it
 * fills through its `POST /_sim/fill`).
 */
export interface LeanCancelFault {
  mode: 'ok' | 'hang' | 'http_error' | 'already_filled';
  latencyMs?: number;
  status?: number;
  /** Default `upstream_error`. */
  taxonomy?: LeanTaxonomy;
  message?: string;
  cancelOrder?: boolean;
}

/** The faults in force; `down: true` closes the listener so connections are refused. */
export interface LeanFaults {
  submit?: LeanSubmitFault;
  lookup?: LeanLookupFault;
  cancel?: LeanCancelFault;
  health?: LeanHealthFault;
  down?: boolean;
}

/** The last `POST /v1/orders/submit` as received: lower-case headers, body parsed (raw text if not JSON). */
export interface LeanSubmitRecord {
  headers: Record<string, string | undefined>;
  body: unknown;
}

/** A running LEAN runner simulator. */
export interface LeanRunnerSimulator {
  /** `http://host:port`, unchanged across `down`. */
  readonly url: string;
  /** The `/_sim/*` admin API for another listener; it works while the simulator is down. */
  readonly admin: SimAdmin;
  /** HTTP requests received for `op`, faulted ones included. */
  requestCount(op: LeanOperation): number;
  lastSubmit(): LeanSubmitRecord | undefined;
  /** Replaces the faults; `down` closes or reopens the listener. */
  setFaults(faults: LeanFaults): Promise<void>;
  /** Clears counters, faults and the last submit, drops hung requests and comes back up. */
  reset(): Promise<void>;
  /** Stops listening and destroys every open socket, hung requests included. */
  close(): Promise<void>;
}

const OPERATIONS: readonly LeanOperation[] = ['submit', 'lookup', 'get', 'cancel', 'list', 'health'];
const ORDER_TYPES = ['market', 'limit', 'stop', 'stop_limit'];
const TAXONOMIES = ['contract_invalid_order_type', 'contract_missing_required_field', 'network_timeout', 'upstream_auth', 'upstream_error'] as const;
const SIMPLE_FAULT = z.strictObject({ mode: z.enum(['ok', 'hang', 'http_error']), ...faultTiming });
const faultsSchema: z.ZodType<LeanFaults> = z.strictObject({
  submit: z
    .strictObject({
      mode: z.enum(['ok', 'hang', 'http_error', 'invalid_json', 'accept_then_hang', 'qty_drift', 'missing_fields', 'foreign_client_order_id', 'divergent_id']),
      ...faultTiming,
      taxonomy: z.enum(TAXONOMIES).optional(),
      message: z.string().optional(),
      placeOrder: z.boolean().optional(),
      qtyFactor: z.number().positive().optional(),
      numericId: z.boolean().optional(),
    })
    // divergent_id answers an id of its own: a numeric one on top would make two differences, not one.
    .superRefine(onlyWithModes(['ok', 'hang', 'http_error', 'invalid_json', 'accept_then_hang', 'qty_drift', 'missing_fields', 'foreign_client_order_id'], 'numericId'))
    .optional(),
  lookup: SIMPLE_FAULT.optional(),
  cancel: z
    .strictObject({
      mode: z.enum(['ok', 'hang', 'http_error', 'already_filled']),
      ...faultTiming,
      taxonomy: z.enum(TAXONOMIES).optional(),
      message: z.string().optional(),
      cancelOrder: z.boolean().optional(),
    })
    .superRefine(onlyWithModes(['hang', 'http_error'], 'cancelOrder'))
    .optional(),
  health: SIMPLE_FAULT.optional(),
  down: z.boolean().optional(),
});

/** A submit body that passed the contract checks. */
interface LeanOrder {
  readonly symbol: string;
  readonly side: string;
  readonly qty: number;
  readonly orderType: string;
  readonly timeInForce: string;
  readonly limitPrice?: number;
  readonly stopPrice?: number;
  readonly extendedHours?: boolean;
  readonly clientOrderId: string;
}

/** An answer the runner has decided on. */
interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** What Alpaca said, or why it said nothing. */
type Upstream = { kind: 'answered'; status: number; json: unknown; text: string } | { kind: 'unreachable'; detail: string };

/**
 * Starts a LEAN runner simulator speaking contract v2 on loopback. It places orders at
 * `alpacaUrl` over HTTP with the caller's `client_order_id`, as the real runner does, and injects
 * faults: latency, hang, HTTP errors, invalid JSON, accept-then-hang, qty drift, missing fields,
 * a foreign `client_order_id`, a divergent order id, down. Its lookups, reads, lists and cancels
 * proxy the same Alpaca account, as the real runner's do; cancels take faults of their own
 * (`LeanCancelFault`). The orders it places carry `x-sim-placed-by: lean`, so the Alpaca
 * simulator's market can fill them worse than the router's direct ones.
 */
export async function startLeanRunnerSimulator(options: LeanRunnerSimulatorOptions): Promise<LeanRunnerSimulator> {
  const alpacaTimeoutMs = options.alpacaTimeoutMs ?? 5000;
  // Its own pool, so close() also ends the keep-alive sockets to Alpaca.
  const agent = new Agent({ keepAliveTimeout: 1000 });
  let lastSubmit: LeanSubmitRecord | undefined;

  const callAlpaca = async (method: 'GET' | 'POST' | 'DELETE', path: string, signal: AbortSignal, body?: unknown): Promise<Upstream> => {
    const deadline = AbortSignal.timeout(alpacaTimeoutMs);
    try {
      const response = await request(new URL(path, options.alpacaUrl), {
        dispatcher: agent,
        method,
        headers: {
          'apca-api-key-id': options.alpacaKeyId,
          'apca-api-secret-key': options.alpacaSecretKey,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          // Marks the orders the runner places, for the Alpaca simulator's LEAN-only market settings.
          ...(method === 'POST' && path === '/v2/orders' ? { [PLACED_BY_HEADER]: 'lean' } : {}),
        },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.any([signal, deadline]),
      });
      const text = await response.body.text();
      const json = parseJson(text);
      return { kind: 'answered', status: response.statusCode, json: json.ok ? json.value : undefined, text };
    } catch (error) {
      // Reset or close: drop this request entirely rather than answer for a simulator that is gone.
      if (signal.aborted) throw error;
      return { kind: 'unreachable', detail: classifyTransportError(error, deadline.aborted, alpacaTimeoutMs).detail };
    }
  };

  /** Places the order at Alpaca; a duplicate `client_order_id` answers the existing order, as v2 promises. */
  const place = async (order: LeanOrder, qtyFactor: number, req: SimRequest): Promise<Answer> => {
    const placed = await callAlpaca('POST', '/v2/orders', req.signal, alpacaOrderBody(order, qtyFactor));
    if (placed.kind === 'answered' && placed.status === 422 && /client_order_id must be unique/.test(alpacaMessage(placed))) {
      return relay('submit', await findAtAlpaca(order.clientOrderId, req.signal), (found) => leanOrder(found, req, order.clientOrderId));
    }
    return relay('submit', placed, (accepted) => leanOrder(accepted, req, order.clientOrderId));
  };

  const findAtAlpaca = (clientOrderId: string, signal: AbortSignal): Promise<Upstream> =>
    callAlpaca('GET', `/v2/orders:by_client_order_id?client_order_id=${encodeURIComponent(clientOrderId)}`, signal);

  let numericOrderId = 1;
  const submit = async (req: SimRequest, res: ServerResponse): Promise<void> => {
    const json = parseJson(req.body);
    lastSubmit = { headers: flatHeaders(req), body: json.ok ? json.value : req.body };
    const fault: LeanSubmitFault = core.faults().submit ?? { mode: 'ok' };
    if (fault.mode === 'hang') return hang(req.signal);

    const places =
      fault.mode === 'ok' ||
      fault.mode === 'qty_drift' ||
      fault.mode === 'accept_then_hang' ||
      fault.mode === 'foreign_client_order_id' ||
      fault.mode === 'divergent_id' ||
      fault.placeOrder === true;
    let answer: Answer | undefined;
    if (places || fault.mode === 'missing_fields') {
      const order = parseSubmit(json.ok ? json.value : undefined, req);
      if (typeof order === 'string') answer = { status: 502, body: { detail: `lean_submit_failed:${order}` } };
      else if (fault.mode === 'foreign_client_order_id') answer = await place({ ...order, clientOrderId: `lean-${randomUUID()}` }, 1, req);
      else if (places) answer = await place(order, fault.mode === 'qty_drift' ? (fault.qtyFactor ?? 2) : 1, req);
      else answer = { status: 200, body: leanOrder(echo(order), req, order.clientOrderId) };
    }
    if (fault.mode === 'accept_then_hang') return hang(req.signal);

    const failure = { status: 502, body: (_status: number, message: string) => ({ detail: `lean_submit_failed:${fault.taxonomy ?? 'upstream_error'}:${message}` }) };
    if (await playFault(fault, req, res, failure)) return;
    if (!answer) return sendJson(res, 500, { detail: `lean_submit_failed:upstream_error:no answer for mode ${fault.mode}` });
    if (fault.numericId === true && answer.status === 200) {
      return sendJson(res, 200, { ...answer.body, id: numericOrderId++ });
    }
    if (fault.mode === 'divergent_id' && answer.status === 200) {
      return sendJson(res, 200, { ...answer.body, id: randomUUID() });
    }
    if (fault.mode === 'missing_fields' && answer.status === 200) {
      const { id: _id, status: _status, ...rest } = answer.body;
      return sendJson(res, 200, rest);
    }
    sendJson(res, answer.status, answer.body);
  };

  const lookup = async (req: SimRequest, res: ServerResponse, clientOrderId: string): Promise<void> => {
    const failure = { status: 500, body: () => ({ detail: 'lean_lookup_failed:upstream_error:simulated failure' }) };
    if (await playFault(core.faults().lookup, req, res, failure)) return;
    answerWith(res, relay('lookup', await findAtAlpaca(clientOrderId, req.signal), withAdapter));
  };

  const getOrder = async (req: SimRequest, res: ServerResponse, id: string): Promise<void> => {
    answerWith(res, relay('get', await callAlpaca('GET', `/v2/orders/${encodeURIComponent(id)}`, req.signal), withAdapter));
  };

  /** Cancels at the same Alpaca account; Alpaca answers 204 with no body, the runner the order as it now stands. */
  const cancelAtAlpaca = async (id: string, signal: AbortSignal): Promise<Answer> => {
    const path = `/v2/orders/${encodeURIComponent(id)}`;
    const canceled = await callAlpaca('DELETE', path, signal);
    return canceled.kind === 'answered' && canceled.status === 204 ? relay('cancel', await callAlpaca('GET', path, signal), withAdapter) : relay('cancel', canceled, withAdapter);
  };

  const cancel = async (req: SimRequest, res: ServerResponse, id: string): Promise<void> => {
    const fault: LeanCancelFault = core.faults().cancel ?? { mode: 'ok' };
    if (fault.mode === 'already_filled') await callAlpaca('POST', '/_sim/fill', req.signal, { id });
    // With cancelOrder the cancel lands whatever the fault then answers; without it a faulted cancel asks Alpaca nothing.
    const landed = fault.cancelOrder === true ? await cancelAtAlpaca(id, req.signal) : undefined;
    const failure = { status: 502, body: (_status: number, message: string) => ({ detail: `lean_cancel_failed:${fault.taxonomy ?? 'upstream_error'}:${message}` }) };
    if (await playFault(fault, req, res, failure)) return;
    answerWith(res, landed ?? (await cancelAtAlpaca(id, req.signal)));
  };

  const list = async (req: SimRequest, res: ServerResponse): Promise<void> => {
    const path = `/v2/orders${req.query.size > 0 ? `?${req.query.toString()}` : ''}`;
    const listed = await callAlpaca('GET', path, req.signal);
    if (listed.kind === 'answered' && listed.status === 200 && Array.isArray(listed.json)) {
      return sendJson(res, 200, listed.json.map((order: unknown) => withAdapter(order)));
    }
    answerWith(res, relay('list', listed, withAdapter));
  };

  const health = async (req: SimRequest, res: ServerResponse): Promise<void> => {
    const failure = { status: 503, body: () => ({ status: 'error', detail: 'simulated failure' }) };
    if (await playFault(core.faults().health, req, res, failure)) return;
    sendJson(res, 200, { status: 'ok', contract_version: 'v2', broker: 'alpaca' });
  };

  const route = (req: SimRequest): SimRoute<LeanOperation> => {
    const { method, path } = req;
    if (options.token !== undefined && header(req, 'authorization') !== `Bearer ${options.token}`) {
      // No operation: a refused request placed nothing and counts as no submit, lookup or probe.
      const detail = header(req, 'authorization') === undefined ? 'unauthorized:missing bearer token' : 'unauthorized:wrong bearer token';
      return { handle: (_, res) => sendJson(res, 401, { detail }, { 'www-authenticate': 'Bearer' }) };
    }
    if (method === 'POST' && path === '/v1/orders/submit') return { operation: 'submit', handle: submit };
    if (method === 'GET' && path === '/healthz') return { operation: 'health', handle: health };
    if (method === 'GET' && path === '/v1/orders') return { operation: 'list', handle: list };
    const clientOrderId = /^\/v1\/orders\/client\/([^/]+)$/.exec(path)?.[1];
    if (method === 'GET' && clientOrderId !== undefined) return { operation: 'lookup', handle: (r, res) => lookup(r, res, decodeURIComponent(clientOrderId)) };
    const cancelId = /^\/v1\/orders\/([^/]+)\/cancel$/.exec(path)?.[1];
    if (method === 'POST' && cancelId !== undefined) return { operation: 'cancel', handle: (r, res) => cancel(r, res, decodeURIComponent(cancelId)) };
    const id = /^\/v1\/orders\/([^/]+)$/.exec(path)?.[1];
    if (method === 'GET' && id !== undefined) return { operation: 'get', handle: (r, res) => getOrder(r, res, decodeURIComponent(id)) };
    return { handle: (_, res) => sendJson(res, 404, { detail: `not_found:${method} ${path}` }) };
  };

  const core = await startSimulator<LeanOperation, LeanFaults>({
    name: 'LEAN runner simulator',
    listen: options,
    operations: OPERATIONS,
    faultsSchema,
    route,
    clearState: () => {
      lastSubmit = undefined;
    },
    describeState: () => ({ alpaca_url: options.alpacaUrl }),
  });

  return {
    url: core.url,
    admin: core.admin,
    requestCount: core.requestCount,
    lastSubmit: () => lastSubmit,
    setFaults: core.setFaults,
    reset: core.reset,
    close: async () => {
      await core.close();
      await agent.destroy();
    },
  };
}

/** Checks a submit body against contract v2; a string is `<taxonomy>:<detail>`. */
function parseSubmit(body: unknown, req: SimRequest): LeanOrder | string {
  const missing = (field: string): string => `contract_missing_required_field:${field}`;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return missing('body');
  const fields = body as Record<string, unknown>;
  const { symbol, side, order_type: orderType, time_in_force: timeInForce, extended_hours: extendedHours } = fields;
  if (typeof symbol !== 'string' || symbol === '') return missing('symbol');
  if (side !== 'buy' && side !== 'sell') return missing('side');
  const qty = positiveNumber(fields.qty);
  if (qty === undefined) return missing('qty');
  if (typeof orderType !== 'string' || orderType === '') return missing('order_type');
  if (!ORDER_TYPES.includes(orderType)) return `contract_invalid_order_type:${orderType}`;
  if (typeof timeInForce !== 'string' || timeInForce === '') return missing('time_in_force');
  const limitPrice = positiveNumber(fields.limit_price);
  if ((orderType === 'limit' || orderType === 'stop_limit') && limitPrice === undefined) return missing('limit_price');
  const stopPrice = positiveNumber(fields.stop_price);
  if ((orderType === 'stop' || orderType === 'stop_limit') && stopPrice === undefined) return missing('stop_price');
  const extra = fields.extra_params;
  const fromExtra = typeof extra === 'object' && extra !== null ? (extra as Record<string, unknown>).client_order_id : undefined;
  // The runner passes the caller's id to the broker; the header is the fallback the contract allows.
  const clientOrderId = typeof fromExtra === 'string' && fromExtra !== '' ? fromExtra : header(req, 'idempotency-key');
  if (clientOrderId === undefined || clientOrderId === '') return missing('extra_params.client_order_id');
  return {
    symbol,
    side,
    qty,
    orderType,
    timeInForce,
    clientOrderId,
    limitPrice,
    stopPrice,
    extendedHours: typeof extendedHours === 'boolean' ? extendedHours : undefined,
  };
}

/** The contract sends numbers; a numeric string is tolerated as a lenient runner would. */
function positiveNumber(value: unknown): number | undefined {
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  return Number.isFinite(number) && number > 0 ? number : undefined;
}

/** Alpaca wants decimals as strings; float noise from the drift factor is rounded away. */
function decimal(value: number): string {
  return String(Number(value.toFixed(9)));
}

function alpacaOrderBody(order: LeanOrder, qtyFactor: number): Record<string, unknown> {
  return dropUndefined({
    symbol: order.symbol,
    side: order.side,
    qty: decimal(order.qty * qtyFactor),
    type: order.orderType,
    time_in_force: order.timeInForce,
    client_order_id: order.clientOrderId,
    limit_price: order.limitPrice === undefined ? undefined : decimal(order.limitPrice),
    stop_price: order.stopPrice === undefined ? undefined : decimal(order.stopPrice),
    extended_hours: order.extendedHours,
  });
}

/** The order a runner would have answered, for faults that answer without placing anything. */
function echo(order: LeanOrder): Record<string, unknown> {
  return { ...alpacaOrderBody(order, 1), order_type: order.orderType, status: 'accepted' };
}

/** Maps Alpaca's answer to the runner's: 2xx through `onOk`, the rest to the v2 failure shapes. */
function relay(operation: string, upstream: Upstream, onOk: (order: unknown) => Record<string, unknown>): Answer {
  const failed = (status: number, taxonomy: LeanTaxonomy, message: string): Answer => ({
    status,
    body: { detail: `lean_${operation}_failed:${taxonomy}:${message}` },
  });
  if (upstream.kind === 'unreachable') return failed(502, 'network_timeout', upstream.detail);
  const { status } = upstream;
  if (status >= 200 && status < 300) {
    // A 2xx may have placed the order whatever its body says: the outcome is unknown, not a refusal.
    return upstream.json === undefined ? failed(502, 'network_timeout', 'Alpaca answered a body that is not JSON') : { status: 200, body: onOk(upstream.json) };
  }
  if (status === 404 && operation !== 'submit') return { status: 404, body: { detail: 'order_not_found' } };
  if (status === 401) return failed(502, 'upstream_auth', alpacaMessage(upstream));
  // Alpaca's 5xx does not say whether the order exists: ambiguous, as the runner contract requires.
  if (status >= 500) return failed(502, 'network_timeout', alpacaMessage(upstream));
  // A submit failure is always 502 in v2; elsewhere a 4xx (e.g. not cancelable) keeps its status.
  return failed(operation !== 'submit' ? status : 502, 'upstream_error', alpacaMessage(upstream));
}

function answerWith(res: ServerResponse, answer: Answer): void {
  sendJson(res, answer.status, answer.body);
}

function withAdapter(order: unknown): Record<string, unknown> {
  return { ...(typeof order === 'object' && order !== null ? order : {}), _execution_adapter: 'lean' };
}

function leanOrder(order: unknown, req: SimRequest, clientOrderId: string): Record<string, unknown> {
  return {
    ...withAdapter(order),
    _lean_contract_version: 'v2',
    _lean_audit: {
      received_at: req.receivedAt.toISOString(),
      correlation_id: header(req, 'x-correlation-id') ?? null,
      idempotency_key: header(req, 'idempotency-key') ?? clientOrderId,
    },
  };
}

function alpacaMessage(upstream: Extract<Upstream, { kind: 'answered' }>): string {
  const message = typeof upstream.json === 'object' && upstream.json !== null ? (upstream.json as Record<string, unknown>).message : undefined;
  return typeof message === 'string' ? message : `HTTP ${upstream.status}: ${upstream.text.slice(0, 200)}`;
}

function flatHeaders(req: SimRequest): Record<string, string | undefined> {
  return Object.fromEntries(Object.keys(req.headers).map((name) => [name, header(req, name)]));
}
