/**
 * Cancel through the route that placed the order: LEAN's cancel for a LEAN order, Alpaca's for
 * every other, and Alpaca's directly when LEAN is gated or its cancel fails, so switching LEAN off
 * never strands what LEAN placed. Bounded like a submit: one LEAN call at most, one Alpaca call at
 * most, the request written on the row before either. A cancel never places anything.
 */
import { randomUUID } from 'node:crypto';
import type { CircuitBreaker } from './breaker';
import type { RouterConfig } from './config';
import { Deadline } from './deadline';
import type { Adapter } from './execution';
import { controlGates } from './gates';
import { describeError } from './objects';
import { isOpenBrokerStatus } from './order-lifecycle';
import type { CancelOutcome, Clock, ControlPlane, OrderCanceller, RouteLogger, RouteMetrics } from './ports';
import {
  ProvenanceConflictError,
  type CancelAttempt,
  type CancelClaim,
  type CancelRecord,
  type CancelRoute,
  type CancelStore,
  type ProvenanceRow,
} from './provenance';

/** What `cancelOrder` needs from the outside world. */
export interface CancelDependencies {
  readonly config: Pick<RouterConfig, 'settingsProblems' | 'timeouts' | 'budget' | 'governance'>;
  readonly store: CancelStore;
  /** Absent when no runner URL is configured: a LEAN order is then canceled at Alpaca. */
  readonly lean?: OrderCanceller;
  readonly alpaca: OrderCanceller;
  readonly control: Pick<ControlPlane, 'read'>;
  /** Read, never leased: a cancel is not a submit and takes no trial slot. */
  readonly breaker: Pick<CircuitBreaker, 'state'>;
  readonly metrics: Pick<RouteMetrics, 'cancelRequested' | 'provenanceWriteFailure' | 'alpacaRateLimited'>;
  readonly logger: RouteLogger;
  readonly clock: Clock;
  /** The token of each cancel's claim on its row; random by default, fixed in tests. */
  readonly claimToken?: () => string;
}

/** One `DELETE /orders/{client_order_id}`, as core sees it. */
export interface CancelInvocation {
  readonly correlationId: string;
  /** How long the invocation may still run; the configured route timeout when absent. */
  readonly remainingMs?: number;
}

/** The result of one cancel, before it becomes HTTP. */
export type CancelResult =
  | { readonly kind: 'not_found' }
  /** The row could not be read or the request not written: no broker was asked. */
  | { readonly kind: 'provenance_unavailable'; readonly detail: string }
  /** Still being routed (`pending`) or its outcome unknown: there is no broker order to cancel yet. */
  | { readonly kind: 'not_cancellable'; readonly row: ProvenanceRow; readonly detail: string }
  /** Nothing left to cancel: rejected, failed, or final at the broker (the broker may have said so just now). */
  | { readonly kind: 'final'; readonly row: ProvenanceRow; readonly detail: string }
  /** A broker took the cancel; `repeat` when an earlier request already had and no broker was asked again. */
  | { readonly kind: 'requested'; readonly row: ProvenanceRow; readonly repeat: boolean }
  /** No broker took it; the row holds every attempt. */
  | { readonly kind: 'failed'; readonly row: ProvenanceRow; readonly detail: string };

/** Cancels one order by its `client_order_id`; never throws for what a broker or the table does. */
export async function cancelOrder(deps: CancelDependencies, clientOrderId: string, invocation: CancelInvocation): Promise<CancelResult> {
  const { config, clock, store } = deps;
  const deadline = Deadline.after(clock, (invocation.remainingMs ?? config.budget.routeTimeoutMs) - config.budget.finalizeReserveMs);

  let row: ProvenanceRow | undefined;
  try {
    row = await store.get(clientOrderId);
  } catch (error) {
    return unavailable(deps, clientOrderId, 'cancel_row_unreadable', error);
  }
  if (row === undefined) return { kind: 'not_found' };
  const refusal = refusalOf(row);
  if (refusal !== undefined) return refusal;
  if (row.cancel_attempts?.some((attempt) => attempt.outcome === 'requested')) return { kind: 'requested', row, repeat: true };

  const writeMs = deadline.allow(config.timeouts.dynamoDbMs, 1);
  try {
    if (writeMs === undefined) throw new Error('no time was left to record the cancel request');
    row = await store.recordCancelRequest(clientOrderId, cancelClaim(deps), writeMs);
  } catch (error) {
    if (error instanceof ProvenanceConflictError) {
      return { kind: 'not_cancellable', row, detail: 'another cancel of this order is asking the brokers, or the row changed: read it with GET and retry' };
    }
    return unavailable(deps, clientOrderId, 'cancel_request_write_failed', error);
  }

  const { record, verdict } = await sendCancel(deps, row, invocation.correlationId, deadline);
  deps.metrics.cancelRequested(record.cancel_route);
  deps.logger.info('order_cancel', {
    client_order_id: clientOrderId,
    cancel_route: record.cancel_route,
    cancel_route_reason: record.cancel_route_reason,
    outcome: verdict.kind,
    attempts: record.attempts.map((attempt) => `${attempt.adapter}:${attempt.outcome}`),
  });
  try {
    // The final write gets the reserve the deadline kept back, as a submit's finalize does.
    row = await store.recordCancelOutcome(clientOrderId, record, clock.now().toISOString(), config.timeouts.dynamoDbMs);
  } catch (error) {
    deps.metrics.provenanceWriteFailure();
    deps.logger.error('cancel_outcome_write_failed', { client_order_id: clientOrderId, record, error: describeError(error) });
    row = { ...row, cancel_route: record.cancel_route, cancel_route_reason: record.cancel_route_reason, cancel_attempts: [...(row.cancel_attempts ?? []), ...record.attempts] };
  }
  if (verdict.kind === 'requested') return { kind: 'requested', row, repeat: false };
  return { kind: verdict.kind, row, detail: verdict.detail };
}

/**
 * This cancel's claim on the row: two DELETEs at once must not each ask the brokers. A claim older
 * than the route timeout is stale: the invocation that took it can no longer be running.
 */
function cancelClaim(deps: CancelDependencies): CancelClaim {
  const now = deps.clock.now();
  const requestedAt = now.toISOString();
  return {
    requestedAt,
    inFlight: `${requestedAt} ${(deps.claimToken ?? randomUUID)()}`,
    staleBefore: new Date(now.getTime() - deps.config.budget.routeTimeoutMs).toISOString(),
  };
}

/** Why a row cannot be canceled before any broker is asked, or `undefined` when it can. */
function refusalOf(row: ProvenanceRow): CancelResult | undefined {
  switch (row.status) {
    case 'pending':
      return { kind: 'not_cancellable', row, detail: 'the order is still being routed; retry once GET shows it accepted' };
    case 'unknown':
      return { kind: 'not_cancellable', row, detail: 'no broker answered when it was routed; the lifecycle sync resolves it, then it can be canceled' };
    case 'rejected':
    case 'failed':
      return { kind: 'final', row, detail: `the order was ${row.status}; no broker holds it open` };
    case 'accepted':
      // Stryker disable next-line ConditionalExpression: isOpenBrokerStatus reads an absent status as open, so the undefined check only narrows the type
      if (row.broker_status !== undefined && !isOpenBrokerStatus(row.broker_status)) {
        return { kind: 'final', row, detail: `the order is ${row.broker_status} at the broker` };
      }
      if (row.broker_order_id === undefined) return { kind: 'not_cancellable', row, detail: 'the row holds no broker order id' };
      return undefined;
  }
}

type Verdict = { readonly kind: 'requested' } | { readonly kind: 'final' | 'failed'; readonly detail: string };

async function sendCancel(deps: CancelDependencies, row: ProvenanceRow, correlationId: string, deadline: Deadline): Promise<{ record: CancelRecord; verdict: Verdict }> {
  const attempts: CancelAttempt[] = [];
  const call = async (adapter: Adapter, canceller: OrderCanceller, brokerOrderId: string): Promise<CancelOutcome> => {
    const { connectMs, callMs } = adapter === 'lean'
      ? { connectMs: deps.config.timeouts.leanConnectMs, callMs: deps.config.timeouts.leanSubmitMs }
      : { connectMs: deps.config.timeouts.alpacaConnectMs, callMs: deps.config.timeouts.alpacaSubmitMs };
    const timeoutMs = deadline.allow(callMs, connectMs);
    const startedAt = deps.clock.now().toISOString();
    const started = deps.clock.monotonicMs();
    const outcome: CancelOutcome = timeoutMs === undefined
      ? {
          kind: 'failed',
          detail: 'not sent: no time was left in the invocation',
          // Stryker disable next-line StringLiteral: nothing reads a cancel answer's certainty (its attempt record keeps kind, status and detail)
          certainty: 'definite',
        }
      : await canceller.cancel(brokerOrderId, { correlationId, timeoutMs });
    attempts.push(attemptOf(adapter, brokerOrderId, outcome, deps.clock.monotonicMs() - started, startedAt));
    // Alpaca's quota is shared with submits and the sync: a 429 is counted, never retried.
    if (adapter === 'alpaca' && outcome.httpStatus === 429) deps.metrics.alpacaRateLimited();
    return outcome;
  };
  // Stryker disable next-line ConditionalExpression,StringLiteral: refusalOf lets no row through without a broker order id
  const brokerOrderId = row.broker_order_id ?? '';
  // LEAN's id is Alpaca's unless the sync found them apart; then Alpaca's own id is the one it knows.
  const alpacaOrderId = row.route_divergence?.alpaca_order_id ?? brokerOrderId;

  let route: CancelRoute = 'alpaca';
  let reason = 'placed_at_alpaca';
  if (row.execution_route === 'lean') {
    const runner = deps.lean;
    const gate = runner === undefined ? undefined : await leanGate(deps, row);
    if (runner === undefined || gate !== undefined) {
      route = 'alpaca_gated';
      reason = gate ?? 'lean_not_configured';
    } else {
      const lean = await call('lean', runner, brokerOrderId);
      if (lean.kind === 'requested') return { record: { cancel_route: 'lean', cancel_route_reason: 'placed_by_lean', attempts }, verdict: { kind: 'requested' } };
      if (lean.kind === 'final') return { record: { cancel_route: 'lean', cancel_route_reason: 'placed_by_lean', attempts }, verdict: { kind: 'final', detail: lean.detail } };
      route = 'alpaca_fallback';
      reason = lean.kind === 'not_found' ? 'lean_cancel_not_found' : 'lean_cancel_failed';
    }
  }
  const alpaca = await call('alpaca', deps.alpaca, alpacaOrderId);
  switch (alpaca.kind) {
    case 'requested':
      return { record: { cancel_route: route, cancel_route_reason: reason, attempts }, verdict: { kind: 'requested' } };
    case 'final':
      return { record: { cancel_route: route, cancel_route_reason: reason, attempts }, verdict: { kind: 'final', detail: alpaca.detail } };
    case 'not_found':
      return { record: { cancel_route: 'none', cancel_route_reason: reason, attempts }, verdict: { kind: 'failed', detail: `Alpaca holds no order ${alpacaOrderId}` } };
    case 'failed':
      return { record: { cancel_route: 'none', cancel_route_reason: reason, attempts }, verdict: { kind: 'failed', detail: `Alpaca's cancel failed: ${alpaca.detail}` } };
  }
}

/**
 * Why a configured runner must not be asked to cancel, or `undefined`: its settings unsound, the
 * kill switch on, its health stale, this container's breaker open. A symbol in review does not
 * hold a cancel back: taking risk off is what a review wants.
 */
async function leanGate(deps: CancelDependencies, row: ProvenanceRow): Promise<string | undefined> {
  if (deps.config.settingsProblems.length > 0) return 'policy_misconfigured';
  const control = await deps.control.read();
  const gate = controlGates(control, row.symbol, deps.clock.now(), deps.config.governance.runnerHealthStaleMs).find((reason) => reason !== 'symbol_manual_review');
  if (gate !== undefined) return gate;
  return deps.breaker.state === 'open' ? 'breaker_open' : undefined;
}

function attemptOf(adapter: Adapter, brokerOrderId: string, outcome: CancelOutcome, latencyMs: number, startedAt: string): CancelAttempt {
  // Only a final or failed answer has a detail; the record holds no key set to undefined.
  const detail = outcome.kind === 'final' || outcome.kind === 'failed' ? { detail: outcome.detail } : {};
  const httpStatus = outcome.httpStatus;
  return {
    adapter,
    outcome: outcome.kind,
    broker_order_id: brokerOrderId,
    ...(httpStatus === undefined ? {} : { http_status: httpStatus }),
    ...detail,
    latency_ms: Math.round(latencyMs),
    started_at: startedAt,
  };
}

function unavailable(deps: CancelDependencies, clientOrderId: string, event: string, error: unknown): CancelResult {
  deps.logger.error(event, { client_order_id: clientOrderId, error: describeError(error) });
  return { kind: 'provenance_unavailable', detail: describeError(error) };
}
