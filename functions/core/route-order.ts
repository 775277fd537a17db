import { randomUUID } from 'node:crypto';
import type { BreakerLease, BreakerState, CircuitBreaker } from './breaker';
import { NON_LEAN_POLICY, type RouterConfig } from './config';
import { effectiveRouting, type ControlSnapshot, type EffectiveRouting } from './control';
import { Deadline } from './deadline';
import { FINAL_STATUSES, type ExecutionAttempt } from './execution';
import { controlGates, type GateReason } from './gates';
import { hashOrderRequest, type OrderRequest } from './order-request';
import { OrderExecution } from './order-execution';
import { resolveExpectedAdapter, type PolicyDecision } from './policy';
import type { AlpacaBroker, Clock, ControlPlane, FallbackHistory, LeanRunner, RouteLogger, RouteMetrics } from './ports';
import {
  ProvenanceConflictError,
  type ClaimOutcome,
  type ClaimRef,
  type FallbackIntent,
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
  /** Makes each claim's token; random by default, fixed in tests. */
  readonly claimToken?: () => string;
}

/** One invocation of the route function, as core sees it. */
export interface RouteInvocation {
  readonly correlationId: string;
  /** How long the invocation may still run (the Lambda context's remaining time); the configured route timeout when absent. */
  readonly remainingMs?: number;
}

/** Everything decided about an order before any broker is called. */
interface RoutingDecision {
  readonly policy: PolicyDecision;
  readonly routing: EffectiveRouting;
  readonly control: ControlSnapshot;
  /** The gate that turns an expected `lean` into `alpaca_gated`, if any. */
  readonly gate: GateReason | undefined;
  readonly snapshot: PolicySnapshot;
  /** This order's permission from the breaker, when LEAN is to be called. */
  readonly lease: BreakerLease | undefined;
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
 * Routes one validated order in one execution scope: decide, claim its row, execute within the
 * deadline, finalize. Once the row is claimed it is always finalized, whatever throws, and the
 * breaker's lease taken for the order is always ended before this returns.
 *
 * The deadline is the invocation's remaining time less the reserve for the final write; every
 * broker and AWS call gets the smaller of its own timeout and what is left, and a call that cannot
 * fit is not started. Bounds: see {@link OrderExecution}.
 */
export async function routeOrder(deps: RouteDependencies, order: OrderRequest, invocation: RouteInvocation): Promise<RouteResult> {
  const { clock, config } = deps;
  const started = clock.monotonicMs();
  const invocationMs = invocation.remainingMs ?? config.budget.routeTimeoutMs;
  const invocationDeadline = Deadline.after(clock, invocationMs);
  const executionDeadline = Deadline.after(clock, invocationMs - config.budget.finalizeReserveMs);

  const decision = await decide(deps, order);
  try {
    return await claimAndExecute(deps, order, invocation.correlationId, decision, { execution: executionDeadline, invocation: invocationDeadline, started });
  } finally {
    // Ends the lease if nothing gave LEAN's verdict: a replay, a failed claim, a throw.
    decision.lease?.release();
  }
}

async function claimAndExecute(
  deps: RouteDependencies,
  order: OrderRequest,
  correlationId: string,
  decision: RoutingDecision,
  time: { readonly execution: Deadline; readonly invocation: Deadline; readonly started: number },
): Promise<RouteResult> {
  const { store, metrics, logger, clock, config } = deps;
  const claimToken = (deps.claimToken ?? randomUUID)();
  const pending = pendingRow(order, decision, correlationId, clock.now().toISOString(), claimToken);

  const claimMs = time.execution.allow(config.timeouts.dynamoDbMs, 1);
  let claim;
  try {
    if (claimMs === undefined) throw new Error('no time was left to write the row');
    claim = await store.claim(pending, claimMs);
  } catch (error) {
    metrics.provenanceWriteFailure();
    logger.error('provenance_claim_failed', { client_order_id: order.client_order_id, error: describeError(error) });
    return { kind: 'provenance_unavailable', detail: describeError(error) };
  }
  if (claim.kind === 'exists') return existingRowResult(claim.row, pending.request_hash);

  if (decision.policy.reason === 'policy_misconfigured') {
    metrics.policyMisconfigured();
    logger.warn('policy_misconfigured', { client_order_id: order.client_order_id, problems: decision.routing.misconfiguration });
  }
  const claimRef: ClaimRef = { clientOrderId: order.client_order_id, claimToken };
  const recorder = new IntentRecorder(store);
  const execution = new OrderExecution(
    dropUndefined({
      config,
      store: recorder,
      lean: deps.lean,
      alpaca: deps.alpaca,
      metrics,
      logger,
      clock,
      claim: claimRef,
      correlationId,
      deadline: time.execution,
      policy: decision.policy,
      fallback: decision.routing.routing.fallback,
      gate: decision.gate,
      gates: decision.snapshot.gates,
      killSwitchReason: decision.control.killSwitch.reason,
      lease: decision.lease,
    }),
    order,
  );
  const outcome = await execution.execute();
  const known = recorder.intent === undefined ? pending : { ...pending, execution_fallback_intent: recorder.intent };
  const { row, persisted } = await finalize(deps, claimRef, known, outcome, time.invocation);
  // Most orders trip nothing: they skip the call (and its promise) altogether.
  const trips = tripsDue(row);
  if (trips.killSwitch || trips.symbolReview) await applyTrips(deps, row, trips, decision.control, time.invocation);

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
    // `none`, not null: the logger drops null fields, and every line must carry the field.
    fallback_reason: row.execution_fallback_reason ?? 'none',
    note: row.execution_note ?? null,
    route_verified: row.route_verified ?? null,
    review_required: row.review_required,
    attempts: row.execution_attempts,
    persisted,
    latency_ms: Math.round(clock.monotonicMs() - time.started),
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
 * their documented precedence (docs/architecture.md). The breaker is asked last, and only when
 * nothing above it holds: its lease is the caller's to end.
 */
async function decide(deps: RouteDependencies, order: OrderRequest): Promise<RoutingDecision> {
  const control = await deps.control.read();
  const routing = withoutUnwiredLean(effectiveRouting(deps.config, control.policy), deps.lean !== undefined);
  const policy = resolveExpectedAdapter(routing.routing, routing.misconfiguration, order);
  let gates: GateReason[] = [];
  let lease: BreakerLease | undefined;
  if (policy.expected === 'lean') {
    gates = controlGates(control, order.symbol, deps.clock.now(), deps.config.governance.runnerHealthStaleMs, {
      strategyId: order.strategy_id,
      enablement: routing.routing.strategy_enablement,
    });
    if (gates.length === 0) {
      const breakerBefore = deps.breaker.state;
      lease = deps.breaker.acquire();
      if (lease === undefined) gates = ['breaker_open'];
      return decision(policy, routing, control, gates, breakerBefore, lease, order.strategy_id);
    }
  }
  return decision(policy, routing, control, gates, deps.breaker.state, lease, order.strategy_id);
}

function decision(
  policy: PolicyDecision,
  routing: EffectiveRouting,
  control: ControlSnapshot,
  gates: readonly GateReason[],
  breaker: BreakerState,
  lease: BreakerLease | undefined,
  strategyId: string | undefined,
): RoutingDecision {
  return {
    policy,
    routing,
    control,
    gate: gates[0],
    lease,
    snapshot: policySnapshot(routing, control, breaker, gates, strategyId),
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

function policySnapshot(
  effective: EffectiveRouting,
  control: ControlSnapshot,
  breaker: BreakerState,
  gates: readonly string[],
  strategyId: string | undefined,
): PolicySnapshot {
  const { routing } = effective;
  const required = routing.strategy_enablement === 'required';
  return dropUndefined({
    adapter: routing.adapter,
    policy: routing.policy,
    fallback: routing.fallback,
    symbols_count: routing.symbols.size,
    strategy_enablement: routing.strategy_enablement,
    // Where enablement counts: tells a shadow order (the control cohort) from a blocked or unknown one.
    strategy_state: required && strategyId !== undefined ? (control.strategies.get(strategyId)?.state ?? 'missing') : undefined,
    policy_source: effective.source,
    kill_switch: control.killSwitch.state,
    kill_switch_reason: control.killSwitch.reason,
    control_source: control.source,
    control_read_at: control.readAt,
    breaker,
    gates,
    misconfiguration: effective.misconfiguration,
  });
}

/** The trips a final row calls for. */
interface TripsDue {
  readonly killSwitch: boolean;
  readonly symbolReview: boolean;
}

/**
 * A LEAN acknowledgement that placed something else calls for the kill switch (a row placed by
 * LEAN passed the gates, so the switch read off when the order started); a fallback calls for a
 * look at its symbol's recent fallbacks.
 */
function tripsDue(row: ProvenanceRow): TripsDue {
  return { killSwitch: row.review_required && row.execution_adapter === 'lean', symbolReview: row.execution_fallback_count > 0 };
}

/**
 * After the row is final: a LEAN acknowledgement that placed a different order trips the global
 * kill switch; a fallback may put its symbol in manual review. Each runs only if its AWS calls fit
 * what is left of the invocation (the health-check's sweep catches a review skipped here). Failures
 * here are logged and counted, never thrown: the order itself is already routed and recorded.
 */
async function applyTrips(deps: RouteDependencies, row: ProvenanceRow, trips: TripsDue, control: ControlSnapshot, invocation: Deadline): Promise<void> {
  const { ssmMs, dynamoDbMs } = deps.config.timeouts;
  if (trips.killSwitch) {
    if (invocation.remainingMs() < 2 * ssmMs) tripSkipped(deps, row, invocation, 'kill_switch');
    else await tripKillSwitch(deps, row);
  }
  if (trips.symbolReview) {
    if (invocation.remainingMs() < dynamoDbMs + ssmMs) tripSkipped(deps, row, invocation, 'symbol_manual_review');
    else await reviewSymbolIfRepeated(deps, row, control);
  }
}

function tripSkipped(deps: RouteDependencies, row: ProvenanceRow, invocation: Deadline, trip: string): void {
  deps.logger.error('trip_skipped_for_time', { trip, client_order_id: row.client_order_id, remaining_ms: invocation.remainingMs() });
}

/**
 * A mismatch is rare, so a fresh read here costs nothing at steady state and keeps the reason of a
 * switch someone else turned on while this order was at LEAN. An unreadable switch is tripped anyway.
 */
async function tripKillSwitch(deps: RouteDependencies, row: ProvenanceRow): Promise<void> {
  // A row flagged for review always says what differs (`status_detail`).
  const detail = `${row.client_order_id}: ${row.status_detail}`;
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
  // A symbol already in review was gated before LEAN, so its orders never fall back and never come here.
  const review = control.reviews.get(row.symbol);
  const { manualReviewFallbacks, manualReviewWindowMs } = deps.config.governance;
  const windowStart = new Date(deps.clock.now().getTime() - manualReviewWindowMs).toISOString();
  const since =
    review !== undefined &&
    // Stryker disable next-line EqualityOperator: `>=` is equivalent (at equality both sides are the same string); the `<=` variant is killed by the cleared-review tests
    review.changed_at > windowStart
      ? review.changed_at
      : windowStart;
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

/** The claim: the order as asked, the route planned and why, and the token that owns the row. */
function pendingRow(order: OrderRequest, decision: RoutingDecision, correlationId: string, now: string, claimToken: string): ProvenanceRow {
  return {
    ...order,
    status: 'pending',
    request_hash: hashOrderRequest(order),
    claim_token: claimToken,
    execution_expected_adapter: decision.policy.expected,
    execution_route_reason: decision.gate ?? decision.policy.reason,
    execution_fallback_count: 0,
    execution_attempts: [],
    policy_snapshot: decision.snapshot,
    correlation_id: correlationId,
    review_required: false,
    created_at: now,
    updated_at: now,
  };
}

/**
 * The store as an execution sees it, remembering the fallback intent it records: with it, the
 * pending row and the outcome make the final row as stored, so finalize needs no read-back. A
 * class, not closures: one is built per order.
 */
class IntentRecorder implements ProvenanceStore {
  /** The intent the execution put on the row, once the write succeeded. */
  intent: FallbackIntent | undefined;

  constructor(private readonly store: ProvenanceStore) {}

  claim(row: ProvenanceRow, timeoutMs: number): Promise<ClaimOutcome> {
    return this.store.claim(row, timeoutMs);
  }

  async recordFallbackIntent(claim: ClaimRef, intent: FallbackIntent, attempts: readonly ExecutionAttempt[], timeoutMs: number): Promise<void> {
    await this.store.recordFallbackIntent(claim, intent, attempts, timeoutMs);
    this.intent = intent;
  }

  finalize(claim: ClaimRef, outcome: RowOutcome, updatedAt: string, timeoutMs: number): Promise<void> {
    return this.store.finalize(claim, outcome, updatedAt, timeoutMs);
  }

  get(clientOrderId: string): Promise<ProvenanceRow | undefined> {
    return this.store.get(clientOrderId);
  }
}

/**
 * The final write, with the reserve kept for it (never less than a token attempt: a row left
 * `pending` is worse than a late answer).
 */
async function finalize(
  deps: RouteDependencies,
  claim: ClaimRef,
  pending: ProvenanceRow,
  outcome: RowOutcome,
  invocation: Deadline,
): Promise<{ row: ProvenanceRow; persisted: boolean }> {
  const updatedAt = deps.clock.now().toISOString();
  const timeoutMs = invocation.allow(deps.config.timeouts.dynamoDbMs, 1) ?? 1;
  // The row as written, built here rather than read back; fields only other writers keep (the
  // fallback intent, the open-order index keys) are not in it, and no answer shows them.
  const row: ProvenanceRow = { ...pending, ...outcome, updated_at: updatedAt };
  try {
    await deps.store.finalize(claim, outcome, updatedAt, timeoutMs);
    return { row, persisted: true };
  } catch (error) {
    // The broker outcome is known but not stored: log it in full so reconciliation has the evidence.
    deps.metrics.provenanceWriteFailure();
    deps.logger.error('provenance_finalize_failed', {
      client_order_id: pending.client_order_id,
      error: describeError(error),
      conflict: error instanceof ProvenanceConflictError,
      outcome,
    });
    return { row, persisted: false };
  }
}
