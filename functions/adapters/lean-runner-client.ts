import type { FailureCertainty, LeanFailureReason, LeanSubmitOutcome, LookupOutcome, SubmitFailure } from '../core/execution';
import type { OrderRequest } from '../core/order-request';
import type { BrokerCallContext, CancelOutcome, LeanRunner, OrderCanceller } from '../core/ports';
import { cancelOutcome, errorDetail, lookupOutcome, parseBrokerOrder } from './broker-order';
import { secretForCall, type SecretForCall } from './call-timeout';
import { callTimeout, createHttpPool, endpointUrl, exchange, parseJson, type HttpExchange, type HttpPool } from './http-exchange';
import { LeanRunnerTokenError, type LeanRunnerTokenProvider } from './lean-runner-token';

/** Where the runner is and how long to wait for it. */
export interface LeanRunnerClientOptions {
  readonly baseUrl: string;
  readonly connectTimeoutMs: number;
  readonly submitTimeoutMs: number;
  readonly lookupTimeoutMs: number;
  /** When given, every call carries `authorization: Bearer <token>`; a token that cannot be read fails the call before anything is sent. */
  readonly token?: LeanRunnerTokenProvider;
  readonly dispatcher?: HttpPool;
}

/** The reason of a submit that was never sent because the runner token could not be read: definite, and the row's `execution_fallback_reason`. */
export const LEAN_TOKEN_UNAVAILABLE_REASON: LeanFailureReason = 'lean_submit_credentials_unavailable';

// Runner taxonomies that prove the broker refused or never saw the request.
const DEFINITE_TAXONOMIES = new Set([
  'contract_invalid_order_type',
  'contract_missing_required_field',
  'upstream_auth',
  'upstream_error',
]);

/** The LEAN runner over HTTP, contract v2. */
export class LeanRunnerClient implements LeanRunner, OrderCanceller {
  private readonly dispatcher: HttpPool;

  constructor(private readonly options: LeanRunnerClientOptions) {
    this.dispatcher = options.dispatcher ?? createHttpPool(options.connectTimeoutMs);
  }

  async submit(order: OrderRequest, context: BrokerCallContext): Promise<LeanSubmitOutcome> {
    const auth = await this.authorize(callTimeout(this.options.submitTimeoutMs, context));
    if (auth.kind === 'unavailable') return failed({ reason: LEAN_TOKEN_UNAVAILABLE_REASON, certainty: 'definite', detail: auth.detail });
    const answer = await exchange(this.dispatcher, {
      method: 'POST',
      url: endpointUrl(this.options.baseUrl, '/v1/orders/submit'),
      headers: { ...auth.headers, 'idempotency-key': order.client_order_id, 'x-correlation-id': context.correlationId },
      body: leanSubmitBody(order),
      timeoutMs: auth.timeoutMs,
    });
    if (answer.kind === 'transport_error') {
      const { kind, certainty, detail } = answer.failure;
      return failed({ reason: kind === 'timeout' ? 'lean_submit_timeout' : 'lean_submit_network_error', certainty, detail });
    }
    if (answer.status < 200 || answer.status >= 300) return failed(httpFailure(answer.status, answer.body));

    const json = parseJson(answer.body);
    if (!json.ok) {
      return failed({ reason: 'lean_submit_invalid_json', certainty: 'ambiguous', httpStatus: answer.status, detail: 'the runner answered a body that is not JSON' });
    }
    // An answer with an order id proves LEAN placed something; whether it is this order is core's call.
    const parsed = parseBrokerOrder(json.value);
    if (!parsed.ok) {
      return failed({ reason: 'lean_submit_contract_violation', certainty: 'ambiguous', httpStatus: answer.status, detail: parsed.detail });
    }
    return { kind: 'accepted', order: parsed.order, httpStatus: answer.status };
  }

  async findByClientOrderId(clientOrderId: string, context: BrokerCallContext): Promise<LookupOutcome> {
    const auth = await this.authorize(callTimeout(this.options.lookupTimeoutMs, context));
    if (auth.kind === 'unavailable') return { kind: 'error', detail: auth.detail };
    const answer = await exchange(this.dispatcher, {
      method: 'GET',
      url: endpointUrl(this.options.baseUrl, `/v1/orders/client/${encodeURIComponent(clientOrderId)}`),
      headers: { ...auth.headers, 'x-correlation-id': context.correlationId },
      timeoutMs: auth.timeoutMs,
    });
    return lookupOutcome(answer, clientOrderId);
  }

  /** `POST /v1/orders/{id}/cancel`, bounded like a submit: the runner cancels at Alpaca and answers the order as it stands. */
  async cancel(brokerOrderId: string, context: BrokerCallContext): Promise<CancelOutcome> {
    const auth = await this.authorize(callTimeout(this.options.submitTimeoutMs, context));
    if (auth.kind === 'unavailable') return { kind: 'failed', certainty: 'definite', detail: auth.detail };
    const answer = await exchange(this.dispatcher, {
      method: 'POST',
      url: endpointUrl(this.options.baseUrl, `/v1/orders/${encodeURIComponent(brokerOrderId)}/cancel`),
      headers: { ...auth.headers, 'x-correlation-id': context.correlationId },
      timeoutMs: auth.timeoutMs,
    });
    return leanCancelOutcome(answer);
  }

  /** `GET /healthz`: healthy only on a 2xx whose JSON says `"status": "ok"`. */
  async probe(timeoutMs = this.options.lookupTimeoutMs): Promise<{ ok: boolean; latencyMs: number; detail?: string }> {
    const started = performance.now();
    const auth = await this.authorize(timeoutMs);
    if (auth.kind === 'unavailable') return { ok: false, latencyMs: Math.round(performance.now() - started), detail: auth.detail };
    const answer = await exchange(this.dispatcher, { method: 'GET', url: endpointUrl(this.options.baseUrl, '/healthz'), headers: auth.headers, timeoutMs: auth.timeoutMs });
    const latencyMs = Math.round(performance.now() - started);
    if (answer.kind === 'transport_error') return { ok: false, latencyMs, detail: `${answer.failure.kind}: ${answer.failure.detail}` };
    const json = parseJson(answer.body);
    const status = json.ok && typeof json.value === 'object' && json.value !== null && 'status' in json.value ? json.value.status : undefined;
    if (answer.status >= 200 && answer.status < 300 && status === 'ok') return { ok: true, latencyMs };
    return { ok: false, latencyMs, detail: `HTTP ${answer.status}, status ${JSON.stringify(status ?? null)}` };
  }

  /**
   * The authorization header and what is left of the call's time once the token is at hand
   * ({@link secretForCall}), or why the call cannot be made; either way nothing was sent.
   */
  private async authorize(
    timeoutMs: number,
  ): Promise<{ kind: 'ready'; headers: Record<string, string>; timeoutMs: number } | { kind: 'unavailable'; detail: string }> {
    const provider = this.options.token;
    if (provider === undefined) return { kind: 'ready', headers: {}, timeoutMs };
    let token: SecretForCall<string>;
    try {
      token = await secretForCall(provider.cachedToken?.(), () => provider.get(), timeoutMs);
    } catch (error) {
      // A LeanRunnerTokenError names the parameter and the problem, never the token.
      const why = error instanceof LeanRunnerTokenError ? error.message : error instanceof Error ? error.name : 'error';
      return { kind: 'unavailable', detail: `the LEAN runner token could not be read (${why}); nothing was sent` };
    }
    if (token.kind === 'out_of_time') return { kind: 'unavailable', detail: 'reading the LEAN runner token used up the time of the call; nothing was sent' };
    return { kind: 'ready', headers: { authorization: `Bearer ${token.value}` }, timeoutMs: token.timeoutMs };
  }
}

/** The runner's submit body (contract v2): numbers for quantities, the id in `extra_params`. */
export function leanSubmitBody(order: OrderRequest): Record<string, unknown> {
  return {
    symbol: order.symbol,
    side: order.side,
    qty: Number(order.qty),
    order_type: order.type,
    time_in_force: order.time_in_force,
    ...(order.limit_price === undefined ? {} : { limit_price: Number(order.limit_price) }),
    ...(order.stop_price === undefined ? {} : { stop_price: Number(order.stop_price) }),
    ...(order.extended_hours === undefined ? {} : { extended_hours: order.extended_hours }),
    extra_params: {
      client_order_id: order.client_order_id,
      ...(order.strategy_id === undefined ? {} : { strategy_id: order.strategy_id }),
    },
  };
}

/**
 * A non-2xx submit answer. A 4xx, or a 5xx whose taxonomy proves rejection, is definite; any
 * other 5xx (including the runner's own broker timeout) may hide a placed order.
 */
export function httpFailure(status: number, body: string): SubmitFailure<LeanFailureReason> {
  const detail = errorDetail(body);
  return { reason: `lean_submit_http_${status}`, certainty: leanFailureCertainty(status, detail), httpStatus: status, detail };
}

/**
 * Maps one answer of the runner's cancel: 200 with the order, 404 `order_not_found`, 422 relayed
 * from Alpaca for an order past canceling, or `lean_cancel_failed:<taxonomy>:<message>` whose
 * taxonomy decides the certainty as a submit's does.
 */
export function leanCancelOutcome(answer: HttpExchange): CancelOutcome {
  return cancelOutcome(answer, leanFailureCertainty);
}

/** A 4xx, or a 5xx whose `lean_<operation>_failed:<taxonomy>` proves the broker refused or never saw the request, is definite. */
function leanFailureCertainty(status: number, detail: string): FailureCertainty {
  const taxonomy = /^lean_[a-z]+_failed:([a-z_]+)/.exec(detail)?.[1];
  return status < 500 || (taxonomy !== undefined && DEFINITE_TAXONOMIES.has(taxonomy)) ? 'definite' : 'ambiguous';
}

function failed(failure: SubmitFailure<LeanFailureReason>): LeanSubmitOutcome {
  return { kind: 'failed', failure };
}
