import { verifyLeanAck } from './ack-verification';
import type { BreakerState, CircuitBreaker } from './breaker';
import { NON_LEAN_POLICY, type RouterConfig, type RoutingPolicy } from './config';
import { effectiveRouting, type ControlSnapshot, type EffectiveRouting } from './control';
import {
  FINAL_STATUSES,
  type Adapter,
  type AlpacaSubmitOutcome,
  type BrokerOrder,
  type ExecutionAttempt,
  type ExecutionRoute,
  type LeanSubmitOutcome,
  type LookupOutcome,
} from './execution';
import { controlGates, type GateReason } from './gates';
import { hashOrderRequest, type OrderRequest } from './order-request';
import { resolveExpectedAdapter, type PolicyDecision } from './policy';
import type {
  AlpacaBroker,
  BrokerCallContext,
  Clock,
  ControlPlane,
  FallbackHistory,
  LeanRunner,
  RouteLogger,
  RouteMetrics,
} from './ports';
import {
  ProvenanceConflictError,
  type PolicySnapshot,
  type ProvenanceRow,
  type ProvenanceStore,
  type RowOutcome,
} from './provenance';
import { describeError, dropUndefined } from './objects';

/** What `routeOrder` needs from the outside world. */
export interface RouteDependencies {
  readonly config: RouterConfig;
  readonly store: ProvenanceStore;
  /** Absent when no runner URL is configured; the policy then never expects LEAN. */
  readonly lean?: LeanRunner;
  readonly alpaca: AlpacaBroker;
  readonly control: ControlPlane;
  /** This container's LEAN breaker; lives as long as the container. */
  readonly breaker: CircuitBreaker;
  readonly fallbackHistory: FallbackHistory;
  readonly metrics: RouteMetrics;
  readonly logger: RouteLogger;
  readonly clock: Clock;
}

/** Everything decided about an order before any broker is called. */
interface RoutingDecision {
  readonly policy: PolicyDecision;
  readonly routing: EffectiveRouting;
  readonly control: ControlSnapshot;
  /** The gate that turns an expected `lean` into `alpaca_gated`, if any. */
  readonly gate?: GateReason;
  readonly snapshot: PolicySnapshot;
  /** True when this order holds the breaker's single half-open trial. */
  readonly holdsBreakerTrial: boolean;
}

/** The result of one `POST /orders`, before it becomes HTTP. */
export type RouteResult =
  /** This invocation routed the order. `persisted` is false when the final write failed. */
  | { readonly kind: 'routed'; readonly row: ProvenanceRow; readonly persisted: boolean }
  /** The same request was routed before; its stored result stands. */
  | { readonly kind: 'replay'; readonly row: ProvenanceRow }
  /** The same request is being routed right now (or its invocation died; reconciliation resolves it). */
  | { readonly kind: 'in_flight'; readonly row: ProvenanceRow }
  /** Another request already holds this `client_order_id`. */
  | { readonly kind: 'conflict'; readonly row: ProvenanceRow }
  /** No row could be written, so nothing was sent anywhere. */
  | { readonly kind: 'provenance_unavailable'; readonly detail: string };

/**
 * Routes one validated order: claim its row, decide, execute with a bounded fallback, finalize.
 *
 * Bounds, whatever fails: one LEAN submit, at most two read-only lookups after an ambiguous LEAN
 * failure, one Alpaca submit, and one Alpaca lookup after a duplicate or ambiguous Alpaca answer.
 * No submit is ever retried, and every broker call carries the caller's `client_order_id`.
 */
export async function routeOrder(
  deps: RouteDependencies,
  order: OrderRequest,
  correlationId: string,
): Promise<RouteResult> {
  const { store, metrics, logger, clock } = deps;
  const decision = await decide(deps, order);
  const createdAt = clock.now().toISOString();
  const pending = pendingRow(order, decision.policy, decision.snapshot, correlationId, createdAt);

  let claim;
  try {
    claim = await store.claim(pending);
  } catch (error) {
    if (decision.holdsBreakerTrial) deps.breaker.release();
    metrics.provenanceWriteFailure();
    logger.error('provenance_claim_failed', { client_order_id: order.client_order_id, error: describeError(error) });
    return { kind: 'provenance_unavailable', detail: describeError(error) };
  }
  if (claim.kind === 'exists') {
    if (decision.holdsBreakerTrial) deps.breaker.release();
    return existingRowResult(claim.row, pending.request_hash);
  }

  if (decision.policy.reason === 'policy_misconfigured') {
    metrics.policyMisconfigured();
    logger.warn('policy_misconfigured', { client_order_id: order.client_order_id, problems: decision.routing.misconfiguration });
  }
  const started = clock.monotonicMs();
  const run = new OrderExecution(deps, order, decision, { correlationId });
  const outcome = await run.execute();
  const { row, persisted } = await finalize(deps, pending, outcome);
  await applyTrips(deps, row, decision.control);

  logger.info('route_attribution', {
    client_order_id: row.client_order_id,
    correlation_id: correlationId,
    symbol: row.symbol,
    status: row.status,
    expected: row.execution_expected_adapter,
    actual: row.execution_route,
    adapter: row.execution_adapter,
    reason: row.execution_route_reason,
    gates: row.policy_snapshot.gates,
    fallback_reason: row.execution_fallback_reason ?? null,
    note: row.execution_note ?? null,
    review_required: row.review_required,
    attempts: row.execution_attempts,
    persisted,
    latency_ms: Math.round(clock.monotonicMs() - started),
  });
  return { kind: 'routed', row, persisted };
}

function existingRowResult(row: ProvenanceRow, requestHash: string): RouteResult {
  if (row.request_hash !== requestHash) return { kind: 'conflict', row };
  if (FINAL_STATUSES.has(row.status) || row.status === 'unknown') return { kind: 'replay', row };
  return { kind: 'in_flight', row };
}

/**
 * Reads the control values (cached), applies the runtime policy, and evaluates the gates in
 * DESIGN.md's precedence. The breaker is asked last, and only when nothing above it holds.
 */
async function decide(deps: RouteDependencies, order: OrderRequest): Promise<RoutingDecision> {
  const control = await deps.control.read();
  const routing = withoutUnwiredLean(effectiveRouting(deps.config, control.policy), deps.lean !== undefined);
  const policy = resolveExpectedAdapter(routing.routing, routing.misconfiguration, order);
  let gates: GateReason[] = [];
  let holdsBreakerTrial = false;
  if (policy.expected === 'lean') {
    gates = controlGates(control, order.symbol, deps.clock.now(), deps.config.governance.runnerHealthStaleMs);
    if (gates.length === 0) {
      const before = deps.breaker.state;
      if (!deps.breaker.tryAcquire()) gates = ['breaker_open'];
      holdsBreakerTrial = before === 'half_open' && gates.length === 0;
    }
  }
  const gate = gates[0];
  return {
    policy,
    routing,
    control,
    ...(gate === undefined ? {} : { gate }),
    holdsBreakerTrial,
    snapshot: policySnapshot(routing, control, deps.breaker.state, gates),
  };
}

/**
 * LEAN chosen with no runner client wired is one more misconfiguration, recorded like the others
 * (the row's `misconfiguration`) and routed like them. The config already refuses `lean` without a
 * runner URL, which is what builds the client, so this guards the wiring, not the environment.
 */
function withoutUnwiredLean(effective: EffectiveRouting, leanWired: boolean): EffectiveRouting {
  if (leanWired || effective.routing.adapter !== 'lean') return effective;
  return { ...effective, routing: NON_LEAN_POLICY, misconfiguration: [...effective.misconfiguration, 'no LEAN runner client'] };
}

function policySnapshot(effective: EffectiveRouting, control: ControlSnapshot, breaker: BreakerState, gates: readonly string[]): PolicySnapshot {
  const { routing } = effective;
  return dropUndefined({
    adapter: routing.adapter,
    policy: routing.policy,
    fallback: routing.fallback,
    symbols_count: routing.symbols.size,
    policy_source: effective.source,
    kill_switch: control.killSwitch.state,
    kill_switch_reason: control.killSwitch.reason,
    control_source: control.source,
    breaker,
    gates,
    misconfiguration: effective.misconfiguration,
  });
}

/**
 * After the row is final: a LEAN acknowledgement that placed a different order trips the global
 * kill switch; a fallback may put its symbol in manual review. Failures here are logged and
 * counted, never thrown: the order itself is already routed and recorded.
 */
async function applyTrips(deps: RouteDependencies, row: ProvenanceRow, control: ControlSnapshot): Promise<void> {
  // A row placed by LEAN passed the gates, so the switch read off when the order started.
  if (row.review_required && row.execution_adapter === 'lean') await tripKillSwitch(deps, row);
  if (row.execution_fallback_count > 0) await reviewSymbolIfRepeated(deps, row, control);
}

/**
 * A mismatch is rare, so a fresh read here costs nothing at steady state and keeps the reason of a
 * switch someone else turned on while this order was at LEAN. An unreadable switch is tripped anyway.
 */
async function tripKillSwitch(deps: RouteDependencies, row: ProvenanceRow): Promise<void> {
  const detail = `${row.client_order_id}: ${row.status_detail ?? 'LEAN acknowledgement differs from the order'}`;
  const current = await deps.control.readFresh().catch(() => undefined);
  if (current?.killSwitch.state === 'on' && current.killSwitch.source === 'parameter') {
    deps.logger.warn('kill_switch_already_on', { reason: 'notional_mismatch', client_order_id: row.client_order_id, detail, switch_reason: current.killSwitch.reason });
    return;
  }
  try {
    await deps.control.tripKillSwitch({ reason: 'notional_mismatch', set_by: 'route', detail });
    deps.metrics.killSwitchTrip('notional_mismatch');
    deps.logger.error('kill_switch_tripped', { reason: 'notional_mismatch', client_order_id: row.client_order_id, detail });
  } catch (error) {
    deps.logger.error('kill_switch_trip_failed', { reason: 'notional_mismatch', client_order_id: row.client_order_id, error: describeError(error) });
  }
}

/**
 * Counts the symbol's fallbacks in the window from the rows themselves (durable, so parallel
 * fallbacks all count), from the later of the window start and the last time an operator cleared it.
 */
async function reviewSymbolIfRepeated(deps: RouteDependencies, row: ProvenanceRow, control: ControlSnapshot): Promise<void> {
  const review = control.reviews.get(row.symbol);
  if (review?.state === 'review') return;
  const { manualReviewFallbacks, manualReviewWindowMs } = deps.config.governance;
  const windowStart = new Date(deps.clock.now().getTime() - manualReviewWindowMs).toISOString();
  const since = review !== undefined && review.changed_at > windowStart ? review.changed_at : windowStart;
  try {
    const fallbacks = await deps.fallbackHistory.countFallbacks(row.symbol, since);
    if (fallbacks < manualReviewFallbacks) return;
    const reason = `repeated_fallback: ${fallbacks} fallbacks since ${since}`;
    await deps.control.putSymbolInReview(row.symbol, reason, 'route');
    deps.logger.warn('symbol_manual_review_tripped', { symbol: row.symbol, fallbacks, since, client_order_id: row.client_order_id });
  } catch (error) {
    deps.logger.error('symbol_manual_review_failed', { symbol: row.symbol, client_order_id: row.client_order_id, error: describeError(error) });
  }
}

function pendingRow(
  order: OrderRequest,
  decision: PolicyDecision,
  snapshot: PolicySnapshot,
  correlationId: string,
  now: string,
): ProvenanceRow {
  return {
    ...order,
    status: 'pending',
    request_hash: hashOrderRequest(order),
    execution_expected_adapter: decision.expected,
    execution_fallback_count: 0,
    execution_attempts: [],
    policy_snapshot: snapshot,
    correlation_id: correlationId,
    review_required: false,
    created_at: now,
    updated_at: now,
  };
}

async function finalize(
  deps: RouteDependencies,
  pending: ProvenanceRow,
  outcome: RowOutcome,
): Promise<{ row: ProvenanceRow; persisted: boolean }> {
  const updatedAt = deps.clock.now().toISOString();
  try {
    return { row: await deps.store.finalize(pending.client_order_id, outcome, updatedAt), persisted: true };
  } catch (error) {
    // The broker outcome is known but not stored: log it in full so reconciliation has the evidence.
    deps.metrics.provenanceWriteFailure();
    deps.logger.error('provenance_finalize_failed', {
      client_order_id: pending.client_order_id,
      error: describeError(error),
      conflict: error instanceof ProvenanceConflictError,
      outcome,
    });
    return { row: { ...pending, ...outcome, updated_at: updatedAt }, persisted: false };
  }
}


type AlpacaRoute = Extract<ExecutionRoute, 'alpaca' | 'alpaca_fallback' | 'alpaca_gated'>;

/** Why the order is going to Alpaca, and what to write if Alpaca takes it. */
interface AlpacaIntent {
  readonly route: AlpacaRoute;
  readonly reason: string;
  readonly fallbackReason?: string;
}

/** One order's trip through the brokers; keeps the attempt log so every exit records it. */
class OrderExecution {
  private readonly attempts: ExecutionAttempt[] = [];

  private readonly policy: PolicyDecision;
  private readonly fallbackAdapter: RoutingPolicy['fallback'];

  constructor(
    private readonly deps: RouteDependencies,
    private readonly order: OrderRequest,
    private readonly decision: RoutingDecision,
    private readonly context: BrokerCallContext,
  ) {
    this.policy = decision.policy;
    this.fallbackAdapter = decision.routing.routing.fallback;
  }

  async execute(): Promise<RowOutcome> {
    const lean = this.deps.lean;
    if (this.policy.expected !== 'lean' || lean === undefined) {
      return this.submitToAlpaca({ route: 'alpaca', reason: this.policy.reason });
    }
    const gate = this.decision.gate;
    if (gate !== undefined) return this.gated(gate);

    const submitted = await this.call('lean', 'submit', () => lean.submit(this.order, this.context), leanSubmitRecord);
    if (submitted.kind === 'accepted') {
      this.deps.breaker.recordSuccess();
      return this.leanAccepted(submitted.order);
    }
    // Any answer but an acceptance counts against LEAN, late acknowledgements included: it was not on time.
    this.deps.breaker.recordFailure();

    const failure = submitted.failure;
    if (failure.certainty === 'ambiguous') {
      const found = await this.lookUpAfterAmbiguousLeanFailure(lean);
      if (found.kind === 'found') return this.leanAccepted(found.order, 'late_ack');
      if (found.kind === 'unverifiable') {
        return this.unknown(
          failure.reason,
          `LEAN submit was ambiguous (${failure.detail}) and neither the runner nor Alpaca answered the lookup`,
        );
      }
    }

    if (this.fallbackAdapter === 'none') {
      return this.notExecuted('failed', failure.reason, `LEAN submit failed (${failure.detail}) and the fallback adapter is none`);
    }
    this.deps.metrics.fallback(failure.reason);
    this.deps.logger.warn('execution_fallback', {
      client_order_id: this.order.client_order_id,
      reason: failure.reason,
      certainty: failure.certainty,
      detail: failure.detail,
    });
    return this.submitToAlpaca({ route: 'alpaca_fallback', reason: failure.reason, fallbackReason: failure.reason });
  }

  /** Policy chose LEAN but a gate holds: Alpaca without any LEAN call, or a refusal with fallback `none`. */
  private async gated(gate: GateReason): Promise<RowOutcome> {
    this.deps.metrics.gated(gate);
    this.deps.logger.warn('execution_gated', {
      client_order_id: this.order.client_order_id,
      symbol: this.order.symbol,
      gate,
      gates: this.decision.snapshot.gates,
      kill_switch_reason: this.decision.control.killSwitch.reason,
    });
    if (this.fallbackAdapter === 'none') {
      return this.notExecuted('rejected', gate, `LEAN is gated (${gate}) and the fallback adapter is none; nothing was sent to any broker`);
    }
    return this.submitToAlpaca({ route: 'alpaca_gated', reason: gate });
  }

  /**
   * After an ambiguous LEAN failure the order may exist. Ask the runner, then Alpaca (where the
   * runner places orders). Only when at least one of them answers "not found" may Alpaca be tried;
   * the shared `client_order_id` makes Alpaca refuse a true duplicate even then.
   */
  private async lookUpAfterAmbiguousLeanFailure(
    lean: LeanRunner,
  ): Promise<{ kind: 'found'; order: BrokerOrder } | { kind: 'not_found' } | { kind: 'unverifiable' }> {
    const id = this.order.client_order_id;
    const atRunner = await this.call('lean', 'lookup', () => lean.findByClientOrderId(id, this.context), lookupRecord);
    if (atRunner.kind === 'found') return atRunner;
    const atAlpaca = await this.call('alpaca', 'lookup', () => this.deps.alpaca.findByClientOrderId(id, this.context), lookupRecord);
    if (atAlpaca.kind === 'found') return atAlpaca;
    if (atRunner.kind === 'error' && atAlpaca.kind === 'error') return { kind: 'unverifiable' };
    return { kind: 'not_found' };
  }

  private leanAccepted(ack: BrokerOrder, note?: 'late_ack'): RowOutcome {
    const mismatches = verifyLeanAck(this.order, ack, this.deps.config.notionalTolerance);
    if (mismatches.length > 0) {
      this.deps.metrics.leanAckMismatch();
      this.deps.logger.error('lean_ack_mismatch', {
        client_order_id: this.order.client_order_id,
        mismatches,
        asked: { symbol: this.order.symbol, side: this.order.side, qty: this.order.qty },
        acknowledged: { symbol: ack.symbol, side: ack.side, qty: ack.qty, id: ack.id },
      });
    }
    return {
      status: 'accepted',
      execution_adapter: 'lean',
      execution_route: 'lean',
      execution_route_reason: this.policy.reason,
      execution_fallback_count: 0,
      execution_attempts: this.attempts,
      broker_order_id: ack.id,
      raw_payload: { ...ack.raw, _execution_adapter: 'lean' },
      review_required: mismatches.length > 0,
      ...(note === undefined ? {} : { execution_note: note }),
      ...(mismatches.length > 0 ? { status_detail: `LEAN placed a different order than asked: ${mismatches.join(', ')}` } : {}),
    };
  }

  private async submitToAlpaca(intent: AlpacaIntent): Promise<RowOutcome> {
    const alpaca = this.deps.alpaca;
    const submitted = await this.call('alpaca', 'submit', () => alpaca.submit(this.order, this.context), alpacaSubmitRecord);
    switch (submitted.kind) {
      case 'accepted':
        return this.alpacaAccepted(intent, submitted.order);
      case 'rejected':
        return this.notExecuted('rejected', intent.reason, `Alpaca rejected the order (HTTP ${submitted.httpStatus}): ${submitted.detail}`, intent);
      case 'duplicate':
      case 'failed': {
        if (submitted.kind === 'failed' && submitted.failure.certainty === 'definite') {
          return this.notExecuted('failed', intent.reason, `Alpaca submit failed: ${submitted.failure.detail}`, intent);
        }
        // The order may exist (duplicate id, or a request that may have landed): look, never resubmit.
        const found = await this.call(
          'alpaca',
          'lookup',
          () => alpaca.findByClientOrderId(this.order.client_order_id, this.context),
          lookupRecord,
        );
        if (found.kind === 'found') return this.adoptExistingAlpacaOrder(intent, found.order);
        const cause = submitted.kind === 'duplicate' ? 'Alpaca reported the client_order_id as taken' : submitted.failure.detail;
        return this.unknown(intent.reason, `${cause}; the lookup at Alpaca ${found.kind === 'not_found' ? 'found nothing' : 'did not answer'}`, intent);
      }
    }
  }

  private alpacaAccepted(intent: AlpacaIntent, order: BrokerOrder, note?: string): RowOutcome {
    return {
      status: 'accepted',
      execution_adapter: 'alpaca',
      execution_route: intent.route,
      execution_route_reason: intent.reason,
      execution_fallback_count: intent.route === 'alpaca_fallback' ? 1 : 0,
      execution_attempts: this.attempts,
      broker_order_id: order.id,
      raw_payload: {
        ...order.raw,
        _execution_adapter: intent.route,
        ...(intent.fallbackReason === undefined ? {} : { _execution_fallback_reason: intent.fallbackReason }),
      },
      review_required: false,
      ...(intent.fallbackReason === undefined ? {} : { execution_fallback_reason: intent.fallbackReason }),
      ...(note === undefined ? {} : { execution_note: note }),
    };
  }

  /**
   * Alpaca already holds an order with this `client_order_id`. On the fallback path only the LEAN
   * runner can have placed it, late: that is LEAN's order. Otherwise it is adopted as Alpaca's.
   */
  private adoptExistingAlpacaOrder(intent: AlpacaIntent, order: BrokerOrder): RowOutcome {
    if (intent.route === 'alpaca_fallback') return this.leanAccepted(order, 'late_ack');
    return this.alpacaAccepted(intent, order, 'adopted_existing');
  }

  private notExecuted(
    status: 'rejected' | 'failed',
    reason: string,
    detail: string,
    intent?: AlpacaIntent,
  ): RowOutcome {
    return {
      status,
      execution_adapter: 'none',
      execution_route: 'none',
      execution_route_reason: reason,
      execution_fallback_count: intent?.route === 'alpaca_fallback' ? 1 : 0,
      execution_attempts: this.attempts,
      review_required: false,
      status_detail: detail,
      ...(intent?.fallbackReason === undefined ? {} : { execution_fallback_reason: intent.fallbackReason }),
    };
  }

  private unknown(reason: string, detail: string, intent?: AlpacaIntent): RowOutcome {
    this.deps.metrics.outcomeUnknown();
    this.deps.logger.error('order_outcome_unknown', { client_order_id: this.order.client_order_id, reason, detail });
    return { ...this.notExecuted('failed', reason, detail, intent), status: 'unknown' };
  }

  /** Runs one broker call, timing it and appending its attempt record. */
  private async call<T>(
    adapter: Adapter,
    operation: ExecutionAttempt['operation'],
    invoke: () => Promise<T>,
    record: (result: T) => Pick<ExecutionAttempt, 'outcome' | 'reason' | 'http_status'>,
  ): Promise<T> {
    const { clock, metrics } = this.deps;
    const startedAt = clock.now().toISOString();
    const started = clock.monotonicMs();
    const result = await invoke();
    const latencyMs = Math.round(clock.monotonicMs() - started);
    if (operation === 'submit') metrics.brokerSubmit(adapter, latencyMs);
    this.attempts.push(dropUndefined({ adapter, operation, ...record(result), latency_ms: latencyMs, started_at: startedAt }));
    return result;
  }
}

function leanSubmitRecord(result: LeanSubmitOutcome): Pick<ExecutionAttempt, 'outcome' | 'reason' | 'http_status'> {
  if (result.kind === 'accepted') return { outcome: 'accepted', http_status: result.httpStatus };
  return { outcome: 'failed', reason: result.failure.reason, http_status: result.failure.httpStatus };
}

function alpacaSubmitRecord(result: AlpacaSubmitOutcome): Pick<ExecutionAttempt, 'outcome' | 'reason' | 'http_status'> {
  switch (result.kind) {
    case 'accepted':
      return { outcome: 'accepted', http_status: result.httpStatus };
    case 'duplicate':
      return { outcome: 'duplicate', reason: 'client_order_id_exists', http_status: result.httpStatus };
    case 'rejected':
      return { outcome: 'rejected', reason: 'alpaca_rejected', http_status: result.httpStatus };
    case 'failed':
      return { outcome: 'failed', reason: result.failure.reason, http_status: result.failure.httpStatus };
  }
}

function lookupRecord(result: LookupOutcome): Pick<ExecutionAttempt, 'outcome' | 'reason' | 'http_status'> {
  if (result.kind === 'error') return { outcome: 'error', reason: result.detail, http_status: result.httpStatus };
  return { outcome: result.kind, http_status: result.httpStatus };
}
