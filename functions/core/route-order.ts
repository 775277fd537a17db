import { verifyLeanAck } from './ack-verification';
import type { RouterConfig } from './config';
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
import { hashOrderRequest, type OrderRequest } from './order-request';
import { resolveExpectedAdapter, type PolicyDecision } from './policy';
import type { AlpacaBroker, BrokerCallContext, Clock, LeanRunner, RouteLogger, RouteMetrics } from './ports';
import {
  ProvenanceConflictError,
  ProvenanceUnavailableError,
  type PolicySnapshot,
  type ProvenanceRow,
  type ProvenanceStore,
  type RowOutcome,
} from './provenance';

/** What `routeOrder` needs from the outside world. */
export interface RouteDependencies {
  readonly config: RouterConfig;
  readonly store: ProvenanceStore;
  /** Absent when no runner URL is configured; the policy then never expects LEAN. */
  readonly lean?: LeanRunner;
  readonly alpaca: AlpacaBroker;
  readonly metrics: RouteMetrics;
  readonly logger: RouteLogger;
  readonly clock: Clock;
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
  const { config, store, metrics, logger, clock } = deps;
  const decision = resolveExpectedAdapter(config.routing, config.misconfiguration, order);
  const createdAt = clock.now().toISOString();
  const pending = pendingRow(order, decision, policySnapshot(config), correlationId, createdAt);

  let claim;
  try {
    claim = await store.claim(pending);
  } catch (error) {
    metrics.provenanceWriteFailure();
    logger.error('provenance_claim_failed', { client_order_id: order.client_order_id, error: describe(error) });
    return { kind: 'provenance_unavailable', detail: describe(error) };
  }
  if (claim.kind === 'exists') return existingRowResult(claim.row, pending.request_hash);

  if (decision.reason === 'policy_misconfigured') metrics.policyMisconfigured();
  const started = clock.monotonicMs();
  const run = new OrderExecution(deps, order, decision, { correlationId });
  const outcome = await run.execute();
  const { row, persisted } = await finalize(deps, pending, outcome);

  logger.info('route_attribution', {
    client_order_id: row.client_order_id,
    correlation_id: correlationId,
    symbol: row.symbol,
    status: row.status,
    expected: row.execution_expected_adapter,
    actual: row.execution_route,
    adapter: row.execution_adapter,
    reason: row.execution_route_reason,
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

function policySnapshot(config: RouterConfig): PolicySnapshot {
  return {
    adapter: config.routing.adapter,
    policy: config.routing.policy,
    fallback: config.routing.fallback,
    symbols_count: config.routing.symbols.size,
    kill_switch: 'off',
    gates: [],
    misconfiguration: config.misconfiguration,
  };
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
      error: describe(error),
      conflict: error instanceof ProvenanceConflictError,
      outcome,
    });
    return { row: { ...pending, ...outcome, updated_at: updatedAt }, persisted: false };
  }
}

function describe(error: unknown): string {
  if (error instanceof ProvenanceUnavailableError || error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
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

  constructor(
    private readonly deps: RouteDependencies,
    private readonly order: OrderRequest,
    private readonly decision: PolicyDecision,
    private readonly context: BrokerCallContext,
  ) {}

  async execute(): Promise<RowOutcome> {
    const lean = this.deps.lean;
    if (this.decision.expected !== 'lean' || lean === undefined) {
      return this.submitToAlpaca({ route: 'alpaca', reason: this.decision.reason });
    }

    const submitted = await this.call('lean', 'submit', () => lean.submit(this.order, this.context), leanSubmitRecord);
    if (submitted.kind === 'accepted') return this.leanAccepted(submitted.order);

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

    if (this.deps.config.routing.fallback === 'none') {
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
      execution_route_reason: this.decision.reason,
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

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
