import type { Dispatcher } from 'undici';
import type { AlpacaFailureReason, AlpacaSubmitOutcome, LookupOutcome, SubmitFailure } from '../core/execution';
import type { OrderRequest } from '../core/order-request';
import type { AlpacaBroker, BrokerCallContext } from '../core/ports';
import { errorDetail, lookupOutcome, parseBrokerOrder } from './broker-order';
import { callTimeout, createDispatcher, endpointUrl, exchange, parseJson, type ExchangeRequest } from './http-exchange';

/** Alpaca API keys; they never reach an environment variable or a log line. */
export interface AlpacaCredentials {
  readonly keyId: string;
  readonly secretKey: string;
}

/** Supplies credentials on demand, so a rotated secret is picked up without a redeploy. */
export interface AlpacaCredentialsProvider {
  get(): Promise<AlpacaCredentials>;
}

/** Where Alpaca is and how long to wait for it. */
export interface AlpacaClientOptions {
  readonly baseUrl: string;
  readonly credentials: AlpacaCredentialsProvider;
  readonly connectTimeoutMs: number;
  readonly submitTimeoutMs: number;
  readonly lookupTimeoutMs: number;
  readonly dispatcher?: Dispatcher;
}

/** Paper trading, the default everywhere; live is always an explicit choice. */
export const ALPACA_PAPER_URL = 'https://paper-api.alpaca.markets';

/** Alpaca's Trading API v2 over HTTP. */
export class AlpacaClient implements AlpacaBroker {
  private readonly dispatcher: Dispatcher;

  constructor(private readonly options: AlpacaClientOptions) {
    this.dispatcher = options.dispatcher ?? createDispatcher(options.connectTimeoutMs);
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
   * The auth headers and what is left of the call's time once they are read (a cold read of the
   * keys counts against the call), or why the call cannot be made: the keys could not be read (the
   * message never holds a secret), or reading them used up the call's time. Either way nothing was sent.
   */
  private async authHeaders(
    context: BrokerCallContext,
    ownTimeoutMs: number,
  ): Promise<{ kind: 'ready'; headers: ExchangeRequest['headers']; timeoutMs: number } | { kind: 'unavailable'; detail: string }> {
    const endsAt = performance.now() + callTimeout(ownTimeoutMs, context);
    let credentials: AlpacaCredentials;
    try {
      credentials = await this.options.credentials.get();
    } catch (error) {
      return { kind: 'unavailable', detail: `Alpaca credentials could not be read (${error instanceof Error ? error.name : 'error'})` };
    }
    const timeoutMs = Math.floor(endsAt - performance.now());
    if (timeoutMs <= 0) return { kind: 'unavailable', detail: 'reading the Alpaca credentials used up the time of the call; nothing was sent' };
    const headers = { 'apca-api-key-id': credentials.keyId, 'apca-api-secret-key': credentials.secretKey, 'x-correlation-id': context.correlationId };
    return { kind: 'ready', headers, timeoutMs };
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

function failed(failure: SubmitFailure<AlpacaFailureReason>): AlpacaSubmitOutcome {
  return { kind: 'failed', failure };
}
