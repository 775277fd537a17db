import type { AlpacaFailureReason, AlpacaSubmitOutcome, BrokerOrder, LookupOutcome, SubmitFailure } from '../core/execution';
import type { OrderRequest } from '../core/order-request';
import type { AlpacaBroker, BrokerCallContext, BrokerOrderList, CancelOutcome, OrderCanceller, OrderListOutcome, OrderListQuery } from '../core/ports';
import { cancelOutcome, errorDetail, lookupOutcome, parseBrokerOrder } from './broker-order';
import { secretForCall, type SecretForCall } from './call-timeout';
import { callTimeout, createHttpPool, endpointUrl, exchange, parseJson, type ExchangeRequest, type HttpExchange, type HttpPool } from './http-exchange';

/** Alpaca API keys; they never reach an environment variable or a log line. */
export interface AlpacaCredentials {
  readonly keyId: string;
  readonly secretKey: string;
}

/** Supplies credentials on demand, so a rotated secret is picked up without a redeploy. */
export interface AlpacaCredentialsProvider {
  get(): Promise<AlpacaCredentials>;
  /** The credentials when they are at hand (cached and fresh), so a call can skip the wait and its timer. */
  cachedCredentials?(): AlpacaCredentials | undefined;
}

/** Where Alpaca is and how long to wait for it. */
export interface AlpacaClientOptions {
  readonly baseUrl: string;
  readonly credentials: AlpacaCredentialsProvider;
  readonly connectTimeoutMs: number;
  readonly submitTimeoutMs: number;
  readonly lookupTimeoutMs: number;
  readonly dispatcher?: HttpPool;
}

/** How long to wait after a 429 that does not say when the quota comes back: Alpaca's window is a minute. */
const RATE_LIMIT_FALLBACK_MS = 60_000;

/** Alpaca's Trading API v2 over HTTP. */
export class AlpacaClient implements AlpacaBroker, BrokerOrderList, OrderCanceller {
  private readonly dispatcher: HttpPool;

  constructor(private readonly options: AlpacaClientOptions) {
    this.dispatcher = options.dispatcher ?? createHttpPool(options.connectTimeoutMs);
  }

  async submit(order: OrderRequest, context: BrokerCallContext): Promise<AlpacaSubmitOutcome> {
    const auth = await this.authHeaders(context, this.options.submitTimeoutMs);
    if (auth.kind === 'unavailable') return failed({ reason: 'alpaca_submit_credentials_unavailable', certainty: 'definite', detail: auth.detail });
    const answer = await exchange(this.dispatcher, {
      method: 'POST',
      url: endpointUrl(this.options.baseUrl, '/v2/orders'),
      headers: auth.headers,
      body: alpacaOrderBody(order),
      timeoutMs: auth.timeoutMs,
    });
    if (answer.kind === 'transport_error') {
      const { kind, certainty, detail } = answer.failure;
      return failed({ reason: kind === 'timeout' ? 'alpaca_submit_timeout' : 'alpaca_submit_network_error', certainty, detail });
    }
    const { status, body } = answer;
    if (status >= 200 && status < 300) {
      const json = parseJson(body);
      if (!json.ok) return failed({ reason: 'alpaca_submit_invalid_json', certainty: 'ambiguous', httpStatus: status, detail: 'Alpaca answered a body that is not JSON' });
      const parsed = parseBrokerOrder(json.value);
      if (!parsed.ok) return failed({ reason: 'alpaca_submit_contract_violation', certainty: 'ambiguous', httpStatus: status, detail: parsed.detail });
      return { kind: 'accepted', order: parsed.order, httpStatus: status };
    }
    const detail = errorDetail(body);
    if (status === 422 && /client_order_id must be unique/i.test(detail)) return { kind: 'duplicate', httpStatus: status, detail };
    // 401 and 429 refuse the request itself: nothing was placed, and it is not a business answer.
    if (status === 401 || status === 429) return failed({ reason: `alpaca_submit_http_${status}`, certainty: 'definite', httpStatus: status, detail });
    if (status >= 400 && status < 500) return { kind: 'rejected', httpStatus: status, detail };
    return failed({ reason: `alpaca_submit_http_${status}`, certainty: 'ambiguous', httpStatus: status, detail });
  }

  async findByClientOrderId(clientOrderId: string, context: BrokerCallContext): Promise<LookupOutcome> {
    const auth = await this.authHeaders(context, this.options.lookupTimeoutMs);
    if (auth.kind === 'unavailable') return { kind: 'error', detail: auth.detail };
    const url = endpointUrl(this.options.baseUrl, '/v2/orders:by_client_order_id');
    url.searchParams.set('client_order_id', clientOrderId);
    const answer = await exchange(this.dispatcher, { method: 'GET', url, headers: auth.headers, timeoutMs: auth.timeoutMs });
    return lookupOutcome(answer, clientOrderId);
  }

  /**
   * One page of `GET /v2/orders`, bounded like a lookup. A 429 is answered, never retried here:
   * the quota is shared with the routers and the runner, so waiting is the caller's decision.
   */
  async listOrders(query: OrderListQuery, context: BrokerCallContext): Promise<OrderListOutcome> {
    const auth = await this.authHeaders(context, this.options.lookupTimeoutMs);
    if (auth.kind === 'unavailable') return { kind: 'error', detail: auth.detail };
    const url = endpointUrl(this.options.baseUrl, '/v2/orders');
    url.searchParams.set('status', query.status);
    url.searchParams.set('after', query.after);
    if (query.until !== undefined) url.searchParams.set('until', query.until);
    url.searchParams.set('direction', query.direction);
    url.searchParams.set('limit', String(query.limit));
    const answer = await exchange(this.dispatcher, { method: 'GET', url, headers: auth.headers, timeoutMs: auth.timeoutMs });
    return orderListOutcome(answer, Date.now());
  }

  /** `DELETE /v2/orders/{id}`, bounded like a submit: a cancel is a write whose loss must be classified. */
  async cancel(brokerOrderId: string, context: BrokerCallContext): Promise<CancelOutcome> {
    const auth = await this.authHeaders(context, this.options.submitTimeoutMs);
    if (auth.kind === 'unavailable') return { kind: 'failed', certainty: 'definite', detail: auth.detail };
    const url = endpointUrl(this.options.baseUrl, `/v2/orders/${encodeURIComponent(brokerOrderId)}`);
    return alpacaCancelOutcome(await exchange(this.dispatcher, { method: 'DELETE', url, headers: auth.headers, timeoutMs: auth.timeoutMs }));
  }

  /**
   * The auth headers and what is left of the call's time once the keys are at hand
   * ({@link secretForCall}), or why the call cannot be made: the keys could not be read (the
   * message never holds a secret), or reading them used up the call's time. Either way nothing was sent.
   */
  private async authHeaders(
    context: BrokerCallContext,
    ownTimeoutMs: number,
  ): Promise<{ kind: 'ready'; headers: ExchangeRequest['headers']; timeoutMs: number } | { kind: 'unavailable'; detail: string }> {
    const { credentials: provider } = this.options;
    let keys: SecretForCall<AlpacaCredentials>;
    try {
      keys = await secretForCall(provider.cachedCredentials?.(), () => provider.get(), callTimeout(ownTimeoutMs, context));
    } catch (error) {
      return { kind: 'unavailable', detail: `Alpaca credentials could not be read (${error instanceof Error ? error.name : 'error'})` };
    }
    if (keys.kind === 'out_of_time') return { kind: 'unavailable', detail: 'reading the Alpaca credentials used up the time of the call; nothing was sent' };
    const { value, timeoutMs } = keys;
    return { kind: 'ready', headers: { 'apca-api-key-id': value.keyId, 'apca-api-secret-key': value.secretKey, 'x-correlation-id': context.correlationId }, timeoutMs };
  }
}

/** Alpaca's order body: decimals as strings, exactly one of qty and notional. */
export function alpacaOrderBody(order: OrderRequest): Record<string, unknown> {
  const optional = {
    qty: order.qty,
    notional: order.notional,
    limit_price: order.limit_price,
    stop_price: order.stop_price,
    extended_hours: order.extended_hours,
  };
  return {
    symbol: order.symbol,
    side: order.side,
    type: order.type,
    time_in_force: order.time_in_force,
    client_order_id: order.client_order_id,
    ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined)),
  };
}

/**
 * Maps one answer of `GET /v2/orders`. A page holding something that is not an order (no `id`) is
 * an error as a whole: a sync that skipped it would move its watermark past an order it never read.
 */
export function orderListOutcome(answer: HttpExchange, nowMs: number): OrderListOutcome {
  if (answer.kind === 'transport_error') return { kind: 'error', detail: `${answer.failure.kind}: ${answer.failure.detail}` };
  const { status, headers, body } = answer;
  if (status === 429) return { kind: 'rate_limited', retryAt: rateLimitRetryAt(headers['x-ratelimit-reset'], nowMs) };
  if (status < 200 || status >= 300) return { kind: 'error', httpStatus: status, detail: errorDetail(body) };
  const json = parseJson(body);
  if (!json.ok || !Array.isArray(json.value)) return { kind: 'error', httpStatus: status, detail: 'Alpaca answered a list that is not a JSON array' };
  const orders: BrokerOrder[] = [];
  for (const [index, item] of json.value.entries()) {
    const parsed = parseBrokerOrder(item);
    if (!parsed.ok) return { kind: 'error', httpStatus: status, detail: `orders[${index}]: ${parsed.detail}` };
    orders.push(parsed.order);
  }
  return { kind: 'page', orders };
}

/**
 * When Alpaca's quota comes back: `X-RateLimit-Reset` (epoch seconds) as an ISO instant, or a
 * minute from `nowMs` when the header is absent or unreadable.
 */
export function rateLimitRetryAt(reset: string | readonly string[] | undefined, nowMs: number): string {
  const text = typeof reset === 'string' ? reset : reset?.[0];
  const seconds = text === undefined || text.trim() === '' ? Number.NaN : Number(text);
  const atMs = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : nowMs + RATE_LIMIT_FALLBACK_MS;
  return new Date(atMs).toISOString();
}

/**
 * Maps one answer of `DELETE /v2/orders/{id}` (Alpaca documents 204 with no body). A refusal of the
 * request itself (4xx) is definite: the cancel did not land; a 5xx may hide one that did.
 */
export function alpacaCancelOutcome(answer: HttpExchange): CancelOutcome {
  return cancelOutcome(answer, (status) => (status < 500 ? 'definite' : 'ambiguous'));
}

function failed(failure: SubmitFailure<AlpacaFailureReason>): AlpacaSubmitOutcome {
  return { kind: 'failed', failure };
}
