import type { Dispatcher } from 'undici';
import type { FailureCertainty, LeanFailureReason, LeanSubmitOutcome, LookupOutcome, SubmitFailure } from '../core/execution';
import type { OrderRequest } from '../core/order-request';
import type { BrokerCallContext, CancelOutcome, LeanRunner, OrderCanceller } from '../core/ports';
import { cancelOutcome, errorDetail, lookupOutcome, parseBrokerOrder } from './broker-order';
import { callTimeout, createDispatcher, endpointUrl, exchange, parseJson, type HttpExchange } from './http-exchange';

/** Where the runner is and how long to wait for it. */
export interface LeanRunnerClientOptions {
  readonly baseUrl: string;
  readonly connectTimeoutMs: number;
  readonly submitTimeoutMs: number;
  readonly lookupTimeoutMs: number;
  readonly dispatcher?: Dispatcher;
}

// Runner taxonomies that prove the broker refused or never saw the request.
const DEFINITE_TAXONOMIES = new Set([
  'contract_invalid_order_type',
  'contract_missing_required_field',
  'upstream_auth',
  'upstream_error',
]);

/** The LEAN runner over HTTP, contract v2. */
export class LeanRunnerClient implements LeanRunner, OrderCanceller {
  private readonly dispatcher: Dispatcher;

  constructor(private readonly options: LeanRunnerClientOptions) {
    this.dispatcher = options.dispatcher ?? createDispatcher(options.connectTimeoutMs);
  }

  async submit(order: OrderRequest, context: BrokerCallContext): Promise<LeanSubmitOutcome> {
    const answer = await exchange(this.dispatcher, {
      method: 'POST',
      url: endpointUrl(this.options.baseUrl, '/v1/orders/submit'),
      headers: { 'idempotency-key': order.client_order_id, 'x-correlation-id': context.correlationId },
      body: leanSubmitBody(order),
      timeoutMs: callTimeout(this.options.submitTimeoutMs, context),
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
    const answer = await exchange(this.dispatcher, {
      method: 'GET',
      url: endpointUrl(this.options.baseUrl, `/v1/orders/client/${encodeURIComponent(clientOrderId)}`),
      headers: { 'x-correlation-id': context.correlationId },
      timeoutMs: callTimeout(this.options.lookupTimeoutMs, context),
    });
    return lookupOutcome(answer, clientOrderId);
  }

  /** `POST /v1/orders/{id}/cancel`, bounded like a submit: the runner cancels at Alpaca and answers the order as it stands. */
  async cancel(brokerOrderId: string, context: BrokerCallContext): Promise<CancelOutcome> {
    const answer = await exchange(this.dispatcher, {
      method: 'POST',
      url: endpointUrl(this.options.baseUrl, `/v1/orders/${encodeURIComponent(brokerOrderId)}/cancel`),
      headers: { 'x-correlation-id': context.correlationId },
      timeoutMs: callTimeout(this.options.submitTimeoutMs, context),
    });
    return leanCancelOutcome(answer);
  }

  /** `GET /healthz`: healthy only on a 2xx whose JSON says `"status": "ok"`. */
  async probe(timeoutMs = this.options.lookupTimeoutMs): Promise<{ ok: boolean; latencyMs: number; detail?: string }> {
    const started = performance.now();
    const answer = await exchange(this.dispatcher, { method: 'GET', url: endpointUrl(this.options.baseUrl, '/healthz'), headers: {}, timeoutMs });
    const latencyMs = Math.round(performance.now() - started);
    if (answer.kind === 'transport_error') return { ok: false, latencyMs, detail: `${answer.failure.kind}: ${answer.failure.detail}` };
    const json = parseJson(answer.body);
    const status = json.ok && typeof json.value === 'object' && json.value !== null && 'status' in json.value ? json.value.status : undefined;
    if (answer.status >= 200 && answer.status < 300 && status === 'ok') return { ok: true, latencyMs };
    return { ok: false, latencyMs, detail: `HTTP ${answer.status}, status ${JSON.stringify(status ?? null)}` };
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
