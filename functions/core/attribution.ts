import type { BrokerOrder, ExecutionAttempt, ExecutionRoute, FailureCertainty, OrderStatus } from './execution';
import type { ProvenanceRow } from './provenance';

/** The routes on which the router itself sends an order to Alpaca. */
export type AlpacaRoute = Extract<ExecutionRoute, 'alpaca' | 'alpaca_fallback' | 'alpaca_gated'>;

/**
 * What this router did with one order, the only evidence of who placed it: a LEAN runner looks
 * orders up at the same Alpaca account, so finding the order anywhere never says who sent it.
 */
export interface SendRecord {
  /** The order was, or may have been, sent to LEAN. */
  readonly leanSent: boolean;
  /** How LEAN's failure was classified before the router fell back; absent without a fallback. */
  readonly leanFailure?: FailureCertainty;
  /** The route on which the router sent, or may have sent, the order to Alpaca itself. */
  readonly alpacaRoute?: AlpacaRoute;
  /** Alpaca refused the router's own submit because the `client_order_id` already existed. */
  readonly alpacaSaidDuplicate?: boolean;
}

/** Who placed an order found at a broker, and whether the evidence proves it. */
export interface Attribution {
  readonly route: 'lean' | AlpacaRoute;
  readonly verified: boolean;
  /** `late_ack` when LEAN placed it without acknowledging in time, `adopted_existing` when Alpaca's own earlier copy was adopted. */
  readonly note?: 'late_ack' | 'adopted_existing';
  /** Why the route is not verified, in words; absent when it is. */
  readonly doubt?: string;
}

/**
 * Attributes an order found under its `client_order_id` from what the router sent where:
 * only one path was taken, so that path placed it; both were taken, so Alpaca's duplicate answer
 * (the order existed before the fallback submit) or LEAN's definite failure (LEAN cannot have placed
 * it) decides, and without either the route is the likelier one, marked not verified.
 */
export function attributeFound(record: SendRecord): Attribution {
  const { alpacaRoute } = record;
  if (alpacaRoute === undefined) return { route: 'lean', verified: true, note: 'late_ack' };
  if (!record.leanSent) {
    if (record.alpacaSaidDuplicate !== true) return { route: alpacaRoute, verified: true };
    // This router sent the order nowhere before, so whoever placed Alpaca's copy, it was not this submit.
    return {
      route: alpacaRoute,
      verified: false,
      note: 'adopted_existing',
      doubt: "Alpaca already held the client_order_id before this router's first submit: another client may have placed it",
    };
  }
  if (record.alpacaSaidDuplicate === true) {
    if (record.leanFailure === 'definite') {
      return { route: 'lean', verified: false, note: 'late_ack', doubt: 'Alpaca already held the client_order_id before the fallback submit, although LEAN had failed definitely' };
    }
    return { route: 'lean', verified: true, note: 'late_ack' };
  }
  if (record.leanFailure === 'definite') return { route: 'alpaca_fallback', verified: true };
  return {
    route: 'alpaca_fallback',
    verified: false,
    doubt: 'LEAN failed ambiguously and the fallback submit got no clear answer: either may have placed the order',
  };
}

/**
 * The send record a row's own fields prove, for reconciliation: what its policy snapshot allowed
 * (a gate kept LEAN out), and whether the fallback submit may have gone out. A `pending` row's
 * invocation died after writing the fallback intent, perhaps mid-submit; a finalized row lists
 * every attempt, so without an Alpaca submit among them that may have placed the order, the
 * fallback placed nothing.
 */
export function sendRecordOfRow(row: ProvenanceRow): SendRecord {
  const gated = row.policy_snapshot.gates.length > 0;
  const leanSent = row.execution_expected_adapter === 'lean' && !gated;
  const intent = row.execution_fallback_intent;
  const alpacaSubmits = row.execution_attempts.filter((attempt) => attempt.adapter === 'alpaca' && attempt.operation === 'submit');
  const fallbackMayHavePlaced = intent !== undefined && (row.status === 'pending' || alpacaSubmits.some(mayHavePlaced));
  const alpacaRoute: AlpacaRoute | undefined =
    row.execution_expected_adapter === 'alpaca' ? 'alpaca' : gated ? 'alpaca_gated' : fallbackMayHavePlaced ? 'alpaca_fallback' : undefined;
  const alpacaSaidDuplicate = alpacaSubmits.some((attempt) => attempt.outcome === 'duplicate');
  return {
    leanSent,
    ...(intent === undefined ? {} : { leanFailure: intent.lean_failure }),
    ...(alpacaRoute === undefined ? {} : { alpacaRoute }),
    ...(alpacaSaidDuplicate ? { alpacaSaidDuplicate } : {}),
  };
}

/**
 * Whether a submit may have placed the order: not when the broker refused it outright (`rejected`)
 * or failed it definitely (a 401, a 429, keys that could not be read). A record written before
 * submits carried their certainty counts as may-have.
 */
function mayHavePlaced(attempt: ExecutionAttempt): boolean {
  return attempt.outcome !== 'rejected' && !(attempt.outcome === 'failed' && attempt.certainty === 'definite');
}

/** Broker statuses that, in a submit's own answer, mean the order never worked; an absent status is none of them. */
const ENDED_ON_ARRIVAL: ReadonlySet<string | undefined> = new Set(['rejected', 'canceled', 'expired']);

/**
 * The row status a broker's order object decides. A submit answered with a rejected, canceled or
 * expired order was never working: `rejected`. Found later by a lookup, only `rejected` says so;
 * a canceled order found later may have been working (and filled) before it was canceled.
 */
export function rowStatusOf(order: Pick<BrokerOrder, 'status'>, via: 'submit' | 'lookup'): Extract<OrderStatus, 'accepted' | 'rejected'> {
  const status = order.status?.toLowerCase();
  if (via === 'submit' ? ENDED_ON_ARRIVAL.has(status) : status === 'rejected') return 'rejected';
  return 'accepted';
}
