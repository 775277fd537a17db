/**
 * The vocabulary of one routed order: adapters, routes, statuses, reasons and attempts.
 * Every string here is a contract: it is written on the DynamoDB row, used as a metric dimension,
 * and documented in docs/order-api.md and docs/architecture.md.
 */

/** A broker-facing adapter the router can submit through. */
export type Adapter = 'lean' | 'alpaca';

/** Every path an order can take, as persisted in `execution_route`. */
export const EXECUTION_ROUTES = ['lean', 'alpaca', 'alpaca_fallback', 'alpaca_gated', 'none'] as const;

/** Which path carried the order, as persisted in `execution_route`. */
export type ExecutionRoute = (typeof EXECUTION_ROUTES)[number];

/** Lifecycle of a provenance row; only `pending` rows may be finalized. */
export type OrderStatus = 'pending' | 'accepted' | 'rejected' | 'failed' | 'unknown';

/** Statuses after which a replay of the same request returns the stored result. */
export const FINAL_STATUSES: ReadonlySet<OrderStatus> = new Set(['accepted', 'rejected', 'failed']);

/** Why a LEAN submit failed; a bounded set used as the `reason` metric dimension. */
export type LeanFailureReason =
  | 'lean_submit_timeout'
  | 'lean_submit_network_error'
  | `lean_submit_http_${number}`
  | 'lean_submit_invalid_json'
  | 'lean_submit_contract_violation'
  /** The runner's token could not be read: nothing was sent. */
  | 'lean_submit_credentials_unavailable';

/** Why an Alpaca submit failed without a business answer. */
export type AlpacaFailureReason =
  | 'alpaca_submit_timeout'
  | 'alpaca_submit_network_error'
  | `alpaca_submit_http_${number}`
  | 'alpaca_submit_invalid_json'
  | 'alpaca_submit_contract_violation'
  | 'alpaca_submit_credentials_unavailable';

/**
 * Definite: the broker cannot have accepted the order (nothing was sent, or it was refused).
 * Ambiguous: the request may have reached the broker, so the order may exist.
 */
export type FailureCertainty = 'definite' | 'ambiguous';

/** A submit that got no acceptance, classified for the fallback controller. */
export interface SubmitFailure<R extends string = string> {
  readonly reason: R;
  readonly certainty: FailureCertainty;
  readonly httpStatus?: number;
  /** Human-readable cause, for the row and the log; never a metric dimension. */
  readonly detail: string;
}

/**
 * A broker's order as the router needs it, plus the untouched response body. Only `id` is
 * certain: an answer carrying an order id is evidence that an order exists, whatever else is
 * missing or wrong in it, so the other fields are optional and `problems` lists every way the
 * answer broke the broker's documented contract (empty or absent when it kept it).
 */
export interface BrokerOrder {
  readonly id: string;
  readonly client_order_id?: string;
  readonly status?: string;
  readonly symbol?: string;
  readonly side?: string;
  readonly qty?: string;
  readonly notional?: string;
  /** The order's life at the broker (Alpaca's fields, decimals as text); absent when the broker's answer lacks them. */
  readonly filled_qty?: string;
  readonly filled_avg_price?: string;
  readonly filled_at?: string;
  readonly submitted_at?: string;
  readonly updated_at?: string;
  readonly problems?: readonly string[];
  readonly raw: Record<string, unknown>;
}

/** The outcome of one LEAN submit. */
export type LeanSubmitOutcome =
  | { readonly kind: 'accepted'; readonly order: BrokerOrder; readonly httpStatus: number }
  | { readonly kind: 'failed'; readonly failure: SubmitFailure<LeanFailureReason> };

/** The outcome of one Alpaca submit. */
export type AlpacaSubmitOutcome =
  | { readonly kind: 'accepted'; readonly order: BrokerOrder; readonly httpStatus: number }
  /** 422 "client_order_id must be unique": the order already exists at Alpaca. */
  | { readonly kind: 'duplicate'; readonly httpStatus: number; readonly detail: string }
  /** A business refusal (403 buying power, 422 invalid order...): the order does not exist. */
  | { readonly kind: 'rejected'; readonly httpStatus: number; readonly detail: string }
  | { readonly kind: 'failed'; readonly failure: SubmitFailure<AlpacaFailureReason> };

/** The outcome of one read-only lookup by `client_order_id`. */
export type LookupOutcome =
  | { readonly kind: 'found'; readonly order: BrokerOrder; readonly httpStatus: number }
  | { readonly kind: 'not_found'; readonly httpStatus: number }
  | { readonly kind: 'error'; readonly detail: string; readonly httpStatus?: number };

/** One broker call, as recorded in `execution_attempts`. */
export interface ExecutionAttempt {
  readonly adapter: Adapter;
  readonly operation: 'submit' | 'lookup';
  readonly outcome:
    | 'accepted'
    | 'duplicate'
    | 'rejected'
    | 'failed'
    | 'found'
    | 'not_found'
    | 'error';
  readonly reason?: string;
  /**
   * On a failed submit: `definite` when the broker cannot have placed the order, `ambiguous` when
   * it may have. Reconciliation reads it to tell a fallback that placed nothing from one that may
   * have placed the order.
   */
  readonly certainty?: FailureCertainty;
  readonly http_status?: number;
  readonly latency_ms: number;
  readonly started_at: string;
}
