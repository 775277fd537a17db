/**
 * In-memory fakes of the core ports, for unit tests: no network, no DynamoDB, no clock.
 * Each fake records what it was asked so tests can assert on calls, not only on results.
 */
import { DEFAULT_GOVERNANCE, type RouterConfig, type RoutingPolicy } from '../../functions/core/config';
import type {
  Adapter,
  AlpacaSubmitOutcome,
  BrokerOrder,
  ExecutionAttempt,
  FailureCertainty,
  LeanFailureReason,
  LeanSubmitOutcome,
  LookupOutcome,
} from '../../functions/core/execution';
import { CircuitBreaker } from '../../functions/core/breaker';
import type { ControlSnapshot, KillSwitchTrip, LeanHealth } from '../../functions/core/control';
import type {
  HealthCheckControl,
  HealthCheckStore,
  HealthMetrics,
  LeanOutcomeCounts,
  RunnerProbe,
} from '../../functions/core/health-check';
import { parseOrderRequest, type OrderRequest } from '../../functions/core/order-request';
import type {
  AlpacaBroker,
  BrokerCallContext,
  CancelOutcome,
  Clock,
  ControlPlane,
  FallbackHistory,
  LeanRunner,
  RouteLogger,
  RouteMetrics,
} from '../../functions/core/ports';
import {
  ProvenanceConflictError,
  ProvenanceUnavailableError,
  type CancelClaim,
  type CancelRecord,
  type CancelRoute,
  type CancelStore,
  type ClaimOutcome,
  type ClaimRef,
  type FallbackIntent,
  type ProvenanceRow,
  type ProvenanceStore,
  type RowOutcome,
} from '../../functions/core/provenance';
import type { LifecycleMetrics, LifecycleSyncFailureStep } from '../../functions/core/lifecycle-sync';
import type { RouteResult } from '../../functions/core/route-order';
import type { StrategyControl } from '../../functions/core/strategy-enablement';
import type { OrderApiDependencies } from '../../functions/route/order-api';

type StoreOperation = 'claim' | 'recordFallbackIntent' | 'finalize' | 'get' | 'recordCancelRequest' | 'recordCancelOutcome';

/** A provenance store in a Map that records every call and can be told to be unreachable. */
export class RecordingProvenanceStore implements ProvenanceStore, CancelStore {
  readonly rows = new Map<string, ProvenanceRow>();
  readonly claims: ProvenanceRow[] = [];
  readonly finalizations: { clientOrderId: string; outcome: RowOutcome; updatedAt: string; timeoutMs: number }[] = [];
  readonly intents: { claim: ClaimRef; intent: FallbackIntent; attempts: readonly ExecutionAttempt[]; timeoutMs: number }[] = [];
  /** The timeout of every claim, in order. */
  readonly claimTimeouts: number[] = [];
  readonly reads: string[] = [];
  private readonly unavailable = new Set<StoreOperation>();

  /** From now on, `operation` throws ProvenanceUnavailableError. */
  failOn(...operations: StoreOperation[]): this {
    for (const operation of operations) this.unavailable.add(operation);
    return this;
  }

  /** Puts a row in the store as if an earlier invocation had written it. */
  seed(row: ProvenanceRow): this {
    this.rows.set(row.client_order_id, row);
    return this;
  }

  async claim(row: ProvenanceRow, timeoutMs: number): Promise<ClaimOutcome> {
    this.claims.push(row);
    this.claimTimeouts.push(timeoutMs);
    this.throwIfUnavailable('claim');
    const existing = this.rows.get(row.client_order_id);
    if (existing !== undefined) return { kind: 'exists', row: existing };
    this.rows.set(row.client_order_id, row);
    return { kind: 'claimed' };
  }

  async recordFallbackIntent(claim: ClaimRef, intent: FallbackIntent, attempts: readonly ExecutionAttempt[], timeoutMs: number): Promise<void> {
    this.intents.push({ claim, intent, attempts: [...attempts], timeoutMs });
    this.throwIfUnavailable('recordFallbackIntent');
    const existing = this.ownedPending(claim);
    this.rows.set(claim.clientOrderId, { ...existing, execution_fallback_intent: intent, execution_attempts: [...attempts] });
  }

  async finalize(claim: ClaimRef, outcome: RowOutcome, updatedAt: string, timeoutMs: number): Promise<void> {
    const clientOrderId = claim.clientOrderId;
    this.finalizations.push({ clientOrderId, outcome, updatedAt, timeoutMs });
    this.throwIfUnavailable('finalize');
    const existing = this.ownedPending(claim);
    this.rows.set(clientOrderId, { ...existing, ...outcome, updated_at: updatedAt });
  }

  /** Every cancel request and outcome written, in order. */
  readonly cancelWrites: { operation: 'request' | 'outcome'; clientOrderId: string; record?: CancelRecord; timeoutMs: number }[] = [];

  async recordCancelRequest(clientOrderId: string, claim: CancelClaim, timeoutMs: number): Promise<ProvenanceRow> {
    this.cancelWrites.push({ operation: 'request', clientOrderId, timeoutMs });
    this.throwIfUnavailable('recordCancelRequest');
    const existing = this.rows.get(clientOrderId);
    if (existing?.status !== 'accepted' || existing.broker_order_id === undefined) throw new ProvenanceConflictError(`${clientOrderId} is not accepted`);
    const held = existing.cancel_in_flight;
    if (held !== undefined && held >= claim.staleBefore && held !== claim.inFlight) throw new ProvenanceConflictError(`${clientOrderId}: another cancel is in flight`);
    const row: ProvenanceRow = { ...existing, cancel_requested_at: existing.cancel_requested_at ?? claim.requestedAt, cancel_in_flight: claim.inFlight };
    this.rows.set(clientOrderId, row);
    return row;
  }

  async recordCancelOutcome(clientOrderId: string, record: CancelRecord, updatedAt: string, timeoutMs: number): Promise<ProvenanceRow> {
    this.cancelWrites.push({ operation: 'outcome', clientOrderId, record, timeoutMs });
    this.throwIfUnavailable('recordCancelOutcome');
    const existing = this.rows.get(clientOrderId);
    if (existing?.cancel_requested_at === undefined) throw new ProvenanceConflictError(`${clientOrderId} holds no cancel request`);
    const { cancel_in_flight: _released, ...rest } = existing;
    const row: ProvenanceRow = {
      ...rest,
      cancel_route: record.cancel_route,
      cancel_route_reason: record.cancel_route_reason,
      cancel_attempts: [...(existing.cancel_attempts ?? []), ...record.attempts],
      updated_at: updatedAt,
    };
    this.rows.set(clientOrderId, row);
    return row;
  }

  async get(clientOrderId: string): Promise<ProvenanceRow | undefined> {
    this.reads.push(clientOrderId);
    this.throwIfUnavailable('get');
    return this.rows.get(clientOrderId);
  }

  /** The row, if it is still `pending` under this claim, as DynamoDB's conditions check it. */
  private ownedPending(claim: ClaimRef): ProvenanceRow {
    const existing = this.rows.get(claim.clientOrderId);
    if (existing?.status !== 'pending' || existing.claim_token !== claim.claimToken) {
      throw new ProvenanceConflictError(`${claim.clientOrderId} is not pending under this claim`);
    }
    return existing;
  }

  private throwIfUnavailable(operation: StoreOperation): void {
    if (this.unavailable.has(operation)) throw new ProvenanceUnavailableError(`provenance table unreachable (${operation})`);
  }
}

/** Control values that let LEAN through: kill switch off, a healthy probe at `nowIso`, no reviews. */
export function openControl(nowIso: string, overrides: Partial<ControlSnapshot> = {}): ControlSnapshot {
  return {
    killSwitch: { state: 'off', source: 'parameter' },
    policy: { kind: 'absent' },
    leanHealth: { status: 'ok', checked_at: nowIso, last_ok_at: nowIso, latency_ms: 3 },
    reviews: new Map(),
    strategies: new Map(),
    source: 'fresh',
    readAt: nowIso,
    ...overrides,
  };
}

/** A control plane in memory: serves `snapshot`, applies trips to it, and records them. */
export class FakeControlPlane implements ControlPlane {
  readonly killSwitchTrips: KillSwitchTrip[] = [];
  readonly reviewTrips: { symbol: string; reason: string; setBy: string }[] = [];
  failWrites = false;

  constructor(public snapshot: ControlSnapshot) {}

  async read(): Promise<ControlSnapshot> {
    return this.snapshot;
  }

  async readFresh(): Promise<ControlSnapshot> {
    return this.snapshot;
  }

  async tripKillSwitch(trip: KillSwitchTrip): Promise<void> {
    if (this.failWrites) throw new Error('ThrottlingException: rate exceeded');
    this.killSwitchTrips.push(trip);
    this.snapshot = { ...this.snapshot, killSwitch: { state: 'on', reason: trip.reason, set_by: trip.set_by, source: 'parameter' } };
  }

  async putSymbolInReview(symbol: string, reason: string, setBy: string): Promise<void> {
    if (this.failWrites) throw new Error('ThrottlingException: rate exceeded');
    this.reviewTrips.push({ symbol, reason, setBy });
    const reviews = new Map(this.snapshot.reviews);
    reviews.set(symbol, { symbol, state: 'review', changed_at: new Date().toISOString(), reason });
    this.snapshot = { ...this.snapshot, reviews };
  }
}

/** Where the lifecycle sync blocks strategies, in memory: records each block; `failWrites` makes them throw. */
export class FakeStrategyControl implements StrategyControl {
  readonly blocks: { strategyId: string; reason: string; setBy: string }[] = [];
  failWrites = false;

  async blockStrategy(strategyId: string, reason: string, setBy: string): Promise<void> {
    if (this.failWrites) throw new Error('ThrottlingException: rate exceeded');
    this.blocks.push({ strategyId, reason, setBy });
  }
}

/** Counts fallbacks from the rows of a RecordingProvenanceStore, as the by-symbol index would. */
export class StoreFallbackHistory implements FallbackHistory {
  readonly queries: { symbol: string; since: string }[] = [];

  constructor(private readonly store: RecordingProvenanceStore) {}

  async countFallbacks(symbol: string, since: string): Promise<number> {
    this.queries.push({ symbol, since });
    return [...this.store.rows.values()].filter((row) => row.symbol === symbol && row.created_at >= since && row.execution_fallback_count > 0).length;
  }
}

/** What a scripted broker answers, in order; a call beyond the script fails the test loudly. */
export interface BrokerScript<S> {
  readonly submits?: readonly S[];
  readonly lookups?: readonly LookupOutcome[];
  readonly cancels?: readonly CancelOutcome[];
}

/** A broker that answers queued outcomes and records every call with its context. */
export class ScriptedBroker<S> {
  readonly submitCalls: { order: OrderRequest; context: BrokerCallContext }[] = [];
  readonly lookupCalls: { clientOrderId: string; context: BrokerCallContext }[] = [];
  readonly cancelCalls: { brokerOrderId: string; context: BrokerCallContext }[] = [];
  private readonly submitQueue: S[];
  private readonly lookupQueue: LookupOutcome[];
  private readonly cancelQueue: CancelOutcome[];

  constructor(
    private readonly name: Adapter,
    script: BrokerScript<S> = {},
  ) {
    this.submitQueue = [...(script.submits ?? [])];
    this.lookupQueue = [...(script.lookups ?? [])];
    this.cancelQueue = [...(script.cancels ?? [])];
  }

  async cancel(brokerOrderId: string, context: BrokerCallContext): Promise<CancelOutcome> {
    this.cancelCalls.push({ brokerOrderId, context });
    return next(this.cancelQueue, `${this.name} cancel`);
  }

  async submit(order: OrderRequest, context: BrokerCallContext): Promise<S> {
    this.submitCalls.push({ order, context });
    return next(this.submitQueue, `${this.name} submit`);
  }

  async findByClientOrderId(clientOrderId: string, context: BrokerCallContext): Promise<LookupOutcome> {
    this.lookupCalls.push({ clientOrderId, context });
    return next(this.lookupQueue, `${this.name} lookup`);
  }
}

function next<T>(queue: T[], call: string): T {
  const answer = queue.shift();
  if (answer === undefined) throw new Error(`unscripted ${call}`);
  return answer;
}

export class FakeLeanRunner extends ScriptedBroker<LeanSubmitOutcome> implements LeanRunner {
  constructor(script?: BrokerScript<LeanSubmitOutcome>) {
    super('lean', script);
  }
}

export class FakeAlpacaBroker extends ScriptedBroker<AlpacaSubmitOutcome> implements AlpacaBroker {
  constructor(script?: BrokerScript<AlpacaSubmitOutcome>) {
    super('alpaca', script);
  }
}

/** One RouteMetrics call, by method name. */
export interface MetricCall {
  readonly name: keyof RouteMetrics;
  readonly args: readonly unknown[];
}

/** Records every metric call in order. */
export class RecordingRouteMetrics implements RouteMetrics {
  readonly calls: MetricCall[] = [];

  /** How many times `name` was called. */
  count(name: keyof RouteMetrics): number {
    return this.calls.filter((call) => call.name === name).length;
  }

  /** The arguments of every call to `name`. */
  argsOf(name: keyof RouteMetrics): (readonly unknown[])[] {
    return this.calls.filter((call) => call.name === name).map((call) => call.args);
  }

  brokerSubmit(adapter: Adapter, latencyMs: number): void {
    this.calls.push({ name: 'brokerSubmit', args: [adapter, latencyMs] });
  }
  fallback(reason: string): void {
    this.calls.push({ name: 'fallback', args: [reason] });
  }
  gated(reason: string): void {
    this.calls.push({ name: 'gated', args: [reason] });
  }
  outcomeUnknown(): void {
    this.calls.push({ name: 'outcomeUnknown', args: [] });
  }
  provenanceWriteFailure(): void {
    this.calls.push({ name: 'provenanceWriteFailure', args: [] });
  }
  policyMisconfigured(): void {
    this.calls.push({ name: 'policyMisconfigured', args: [] });
  }
  leanAckMismatch(): void {
    this.calls.push({ name: 'leanAckMismatch', args: [] });
  }
  alpacaAckMismatch(): void {
    this.calls.push({ name: 'alpacaAckMismatch', args: [] });
  }
  killSwitchTrip(reason: string): void {
    this.calls.push({ name: 'killSwitchTrip', args: [reason] });
  }
  cancelRequested(route: CancelRoute): void {
    this.calls.push({ name: 'cancelRequested', args: [route] });
  }

  alpacaRateLimited(): void {
    this.calls.push({ name: 'alpacaRateLimited', args: [] });
  }
}

/** One structured log line. */
export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** A logger that prints nothing and keeps every line. */
export class RecordingLogger implements RouteLogger {
  readonly lines: LogLine[] = [];

  /** The lines whose message is `message`. */
  withMessage(message: string): LogLine[] {
    return this.lines.filter((line) => line.message === message);
  }

  debug(message: string, ...extra: Record<string, unknown>[]): void {
    this.record('debug', message, extra);
  }
  info(message: string, ...extra: Record<string, unknown>[]): void {
    this.record('info', message, extra);
  }
  warn(message: string, ...extra: Record<string, unknown>[]): void {
    this.record('warn', message, extra);
  }
  error(message: string, ...extra: Record<string, unknown>[]): void {
    this.record('error', message, extra);
  }

  private record(level: LogLine['level'], message: string, extra: Record<string, unknown>[]): void {
    this.lines.push({ level, message, fields: Object.assign({}, ...extra) as Record<string, unknown> });
  }
}

/** Wall-clock time frozen at `iso`; monotonic time advances by `stepMs` on every read. */
export class FixedClock implements Clock {
  private monotonic = 0;

  constructor(
    readonly iso = '2025-01-02T14:30:00.000Z',
    private readonly stepMs = 0,
  ) {}

  now(): Date {
    return new Date(this.iso);
  }

  monotonicMs(): number {
    const value = this.monotonic;
    this.monotonic += this.stepMs;
    return value;
  }
}

// ---- builders -------------------------------------------------------------------------------

/** A routing config that is sound: LEAN for every symbol, Alpaca as the fallback. */
export function routerConfig(routing: Partial<RoutingPolicy> = {}, overrides: Partial<RouterConfig> = {}): RouterConfig {
  const declared: RoutingPolicy = { adapter: 'lean', policy: 'all', symbols: new Set(), fallback: 'alpaca', strategy_enablement: 'off', ...routing };
  return {
    routing: declared,
    misconfiguration: [],
    leanRunnerUrl: 'http://lean.test',
    timeouts: { leanConnectMs: 100, leanSubmitMs: 500, leanLookupMs: 200, alpacaConnectMs: 100, alpacaSubmitMs: 500, alpacaLookupMs: 200, dynamoDbMs: 300, ssmMs: 300 },
    budget: { routeTimeoutMs: 20_000, finalizeReserveMs: 2_000 },
    notionalTolerance: 0.01,
    declaredRouting: declared,
    settingsProblems: [],
    governance: DEFAULT_GOVERNANCE,
    ...overrides,
  };
}

/** A valid raw `POST /orders` body: a 10-share market buy of AAPL. */
export function orderBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    client_order_id: 'ord-0001',
    symbol: 'AAPL',
    side: 'buy',
    qty: '10',
    type: 'market',
    time_in_force: 'day',
    ...overrides,
  };
}

/** A validated order; throws if `overrides` make it invalid, so a test never runs on a bad fixture. */
export function order(overrides: Record<string, unknown> = {}): OrderRequest {
  const parsed = parseOrderRequest(orderBody(overrides));
  if (!parsed.ok) throw new Error(`invalid fixture: ${JSON.stringify(parsed.issues)}`);
  return parsed.order;
}

/** The broker's order object for `forOrder`, as Alpaca (or the runner relaying Alpaca) answers it. */
export function brokerOrder(forOrder: OrderRequest, overrides: Partial<BrokerOrder> = {}, id = 'broker-1'): BrokerOrder {
  const fields = {
    id,
    client_order_id: forOrder.client_order_id,
    status: 'accepted',
    symbol: forOrder.symbol,
    side: forOrder.side,
    ...(forOrder.qty === undefined ? {} : { qty: forOrder.qty }),
    ...(forOrder.notional === undefined ? {} : { notional: forOrder.notional }),
    ...overrides,
  };
  const { raw, ...rest } = fields;
  return { ...rest, raw: raw ?? { ...rest } };
}

/** A submit that the broker accepted; fits both LEAN and Alpaca outcomes. */
export function accepted(order: BrokerOrder, httpStatus = 200): { readonly kind: 'accepted'; readonly order: BrokerOrder; readonly httpStatus: number } {
  return { kind: 'accepted', order, httpStatus };
}

export function leanFailure(
  reason: LeanFailureReason,
  certainty: FailureCertainty,
  httpStatus?: number,
): LeanSubmitOutcome {
  return {
    kind: 'failed',
    failure: { reason, certainty, detail: `scripted ${reason}`, ...(httpStatus === undefined ? {} : { httpStatus }) },
  };
}

/** The row of a routed result; throws on replay, conflict and the other kinds, so a test never asserts on the wrong one. */
export function routedRow(result: RouteResult): ProvenanceRow {
  if (result.kind !== 'routed') throw new Error(`expected a routed result, got ${result.kind}`);
  return result.row;
}

export const found = (order: BrokerOrder): LookupOutcome => ({ kind: 'found', order, httpStatus: 200 });
export const notFound: LookupOutcome = { kind: 'not_found', httpStatus: 404 };
export const lookupError: LookupOutcome = { kind: 'error', detail: 'timeout: no complete answer within 200 ms' };

/** Every fake, wired as RouteDependencies. */
export interface FakeWorld {
  readonly deps: OrderApiDependencies;
  readonly store: RecordingProvenanceStore;
  readonly lean: FakeLeanRunner;
  readonly alpaca: FakeAlpacaBroker;
  readonly metrics: RecordingRouteMetrics;
  readonly logger: RecordingLogger;
  readonly clock: FixedClock;
  readonly control: FakeControlPlane;
  readonly breaker: CircuitBreaker;
  readonly fallbackHistory: StoreFallbackHistory;
}

/** Builds route dependencies from fakes; `lean: null` leaves the runner out, as when no URL is configured. */
export function fakeWorld(
  options: {
    config?: RouterConfig;
    lean?: BrokerScript<LeanSubmitOutcome> | null;
    alpaca?: BrokerScript<AlpacaSubmitOutcome>;
    store?: RecordingProvenanceStore;
    control?: Partial<ControlSnapshot>;
  } = {},
): FakeWorld {
  const store = options.store ?? new RecordingProvenanceStore();
  const lean = new FakeLeanRunner(options.lean ?? {});
  const alpaca = new FakeAlpacaBroker(options.alpaca);
  const metrics = new RecordingRouteMetrics();
  const logger = new RecordingLogger();
  const clock = new FixedClock(undefined, 7);
  const config = options.config ?? routerConfig();
  const control = new FakeControlPlane(openControl(clock.iso, options.control));
  const breaker = new CircuitBreaker(
    { failureThreshold: config.governance.breakerFailureThreshold, cooldownMs: config.governance.breakerCooldownMs },
    clock,
  );
  const fallbackHistory = new StoreFallbackHistory(store);
  const deps: OrderApiDependencies = {
    config,
    store,
    ...(options.lean === null ? {} : { lean }),
    alpaca,
    control,
    breaker,
    fallbackHistory,
    metrics,
    logger,
    clock,
  };
  return { deps, store, lean, alpaca, metrics, logger, clock, control, breaker, fallbackHistory };
}

// ---- health-check fakes ---------------------------------------------------------------------

/** One call of the health-check's control port, by method name. */
export type HealthControlOperation = keyof HealthCheckControl;

/** The health-check's view of SSM in memory: serves `snapshot`, records every call and every write. */
export class FakeHealthCheckControl implements HealthCheckControl {
  /** Every call in order, including the ones told to fail. */
  readonly calls: HealthControlOperation[] = [];
  readonly killSwitchTrips: KillSwitchTrip[] = [];
  readonly leanHealthWrites: LeanHealth[] = [];
  readonly reviewTrips: { symbol: string; reason: string; setBy: string }[] = [];
  private readonly failing = new Set<HealthControlOperation>();

  constructor(public snapshot: ControlSnapshot) {}

  /** From now on, `operation` throws as SSM does when it refuses or throttles a call. */
  failOn(...operations: HealthControlOperation[]): this {
    for (const operation of operations) this.failing.add(operation);
    return this;
  }

  async readFresh(): Promise<ControlSnapshot> {
    this.attempt('readFresh');
    return this.snapshot;
  }

  async tripKillSwitch(trip: KillSwitchTrip): Promise<void> {
    this.attempt('tripKillSwitch');
    this.killSwitchTrips.push(trip);
  }

  async writeLeanHealth(health: LeanHealth): Promise<void> {
    this.attempt('writeLeanHealth');
    this.leanHealthWrites.push(health);
  }

  async putSymbolInReview(symbol: string, reason: string, setBy: string): Promise<void> {
    this.attempt('putSymbolInReview');
    this.reviewTrips.push({ symbol, reason, setBy });
  }

  private attempt(operation: HealthControlOperation): void {
    this.calls.push(operation);
    if (this.failing.has(operation)) throw new Error(`ThrottlingException: ${operation} refused`);
  }
}

/** One read of the health-check's store port, by method name. */
export type HealthStoreQuery = 'countLeanOutcomes' | 'listFallbacks' | 'listUnresolved';

/** What the provenance indexes answer the health-check. */
export interface HealthStoreScript {
  readonly leanOutcomes?: LeanOutcomeCounts;
  readonly fallbacks?: readonly { readonly symbol: string; readonly created_at: string }[];
  readonly unresolved?: readonly ProvenanceRow[];
}

/** The provenance indexes as scripted answers; records every query and every resolve it applied. */
export class FakeHealthCheckStore implements HealthCheckStore {
  readonly leanOutcomeQueries: string[] = [];
  readonly fallbackQueries: string[] = [];
  readonly unresolvedQueries: { createdBefore: string; limit: number }[] = [];
  /** The resolves that were applied (refused ones are not here). */
  readonly resolutions: { clientOrderId: string; outcome: RowOutcome; updatedAt: string }[] = [];
  private readonly failing = new Set<HealthStoreQuery>();
  private readonly refusals = new Map<string, Error>();

  constructor(private readonly script: HealthStoreScript = {}) {}

  /** From now on, `query` throws ProvenanceUnavailableError. */
  failOn(...queries: HealthStoreQuery[]): this {
    for (const query of queries) this.failing.add(query);
    return this;
  }

  /** The resolve of `clientOrderId` throws `error` (a ProvenanceConflictError when another writer finished the row). */
  refuseResolve(clientOrderId: string, error: Error = new ProvenanceConflictError(`${clientOrderId} is no longer pending or unknown`)): this {
    this.refusals.set(clientOrderId, error);
    return this;
  }

  async countLeanOutcomes(since: string): Promise<LeanOutcomeCounts> {
    this.leanOutcomeQueries.push(since);
    this.throwIfFailing('countLeanOutcomes');
    return this.script.leanOutcomes ?? { submitted: 0, failed: 0 };
  }

  async listFallbacks(since: string): Promise<{ readonly symbol: string; readonly created_at: string }[]> {
    this.fallbackQueries.push(since);
    this.throwIfFailing('listFallbacks');
    return [...(this.script.fallbacks ?? [])];
  }

  async listUnresolved(createdBefore: string, limit: number): Promise<ProvenanceRow[]> {
    this.unresolvedQueries.push({ createdBefore, limit });
    this.throwIfFailing('listUnresolved');
    return [...(this.script.unresolved ?? [])];
  }

  async resolve(clientOrderId: string, outcome: RowOutcome, updatedAt: string): Promise<ProvenanceRow> {
    const refusal = this.refusals.get(clientOrderId);
    if (refusal !== undefined) throw refusal;
    const row = this.script.unresolved?.find((candidate) => candidate.client_order_id === clientOrderId);
    if (row === undefined) throw new ProvenanceConflictError(`${clientOrderId} was never unresolved`);
    this.resolutions.push({ clientOrderId, outcome, updatedAt });
    return { ...row, ...outcome, updated_at: updatedAt };
  }

  private throwIfFailing(query: HealthStoreQuery): void {
    if (this.failing.has(query)) throw new ProvenanceUnavailableError(`provenance index unreachable (${query})`);
  }
}

/** One HealthMetrics call, by method name. */
export interface HealthMetricCall {
  readonly name: keyof HealthMetrics;
  readonly args: readonly unknown[];
}

/** Records every gauge and counter of the health-check in order. */
export class RecordingHealthMetrics implements HealthMetrics {
  readonly calls: HealthMetricCall[] = [];

  /** The arguments of every call to `name`. */
  argsOf(name: keyof HealthMetrics): (readonly unknown[])[] {
    return this.calls.filter((call) => call.name === name).map((call) => call.args);
  }

  killSwitchState(on: boolean): void {
    this.calls.push({ name: 'killSwitchState', args: [on] });
  }
  runnerHealth(ok: boolean): void {
    this.calls.push({ name: 'runnerHealth', args: [ok] });
  }
  leanErrorRate(percent: number): void {
    this.calls.push({ name: 'leanErrorRate', args: [percent] });
  }
  symbolsInManualReview(count: number): void {
    this.calls.push({ name: 'symbolsInManualReview', args: [count] });
  }
  killSwitchTrip(reason: string): void {
    this.calls.push({ name: 'killSwitchTrip', args: [reason] });
  }
}

/** What a runner probe answers. */
export type ProbeAnswer = Awaited<ReturnType<RunnerProbe['probe']>>;

/** A runner probe that answers `answer` every time, or throws it when it is an Error; counts its calls. */
export class ScriptedProbe implements RunnerProbe {
  probes = 0;

  constructor(private readonly answer: ProbeAnswer | Error) {}

  async probe(): Promise<ProbeAnswer> {
    this.probes += 1;
    if (this.answer instanceof Error) throw this.answer;
    return this.answer;
  }
}

/** The `pending` row a route invocation claimed for `order()` and never finalized: LEAN expected, no gate, nothing recorded yet. */
export function pendingRow(overrides: Partial<ProvenanceRow> = {}): ProvenanceRow {
  const claimed = order({ client_order_id: overrides.client_order_id ?? 'ord-0001', symbol: overrides.symbol ?? 'AAPL' });
  const createdAt = overrides.created_at ?? '2025-01-02T14:25:00.000Z';
  return {
    ...claimed,
    status: 'pending',
    request_hash: `hash-${claimed.client_order_id}`,
    execution_expected_adapter: 'lean',
    execution_fallback_count: 0,
    execution_attempts: [],
    policy_snapshot: {
      adapter: 'lean',
      policy: 'all',
      fallback: 'alpaca',
      symbols_count: 0,
      policy_source: 'environment',
      kill_switch: 'off',
      control_source: 'cached',
      breaker: 'closed',
      gates: [],
      misconfiguration: [],
    },
    correlation_id: `corr-${claimed.client_order_id}`,
    review_required: false,
    created_at: createdAt,
    updated_at: createdAt,
    ...overrides,
  };
}

/** A sound LEAN environment: allowlist of AAPL and MSFT, Alpaca as fallback; tests change one variable in it. */
export const LEAN_ENV: Readonly<Record<string, string>> = {
  TRADING_EXECUTION_ADAPTER: 'lean',
  TRADING_EXECUTION_ADAPTER_POLICY: 'allowlist',
  TRADING_EXECUTION_ADAPTER_SYMBOLS: 'AAPL,MSFT',
  TRADING_EXECUTION_FALLBACK_ADAPTER: 'alpaca',
  TRADING_LEAN_RUNNER_URL: 'https://lean.internal:8443',
};

/** The lifecycle sync's metrics, recorded: what each counter was given, in order. */
export class RecordingLifecycleMetrics implements LifecycleMetrics {
  readonly changed: string[] = [];
  readonly reconciledStatuses: string[] = [];
  readonly failures: LifecycleSyncFailureStep[] = [];
  divergences = 0;
  rateLimited = 0;
  open: number[] = [];
  openOrders(count: number): void {
    this.open.push(count);
  }
  brokerStateChanged(toStatus: string): void {
    this.changed.push(toStatus);
  }
  routeDivergence(): void {
    this.divergences += 1;
  }
  syncFailure(step: LifecycleSyncFailureStep): void {
    this.failures.push(step);
  }
  reconciled(status: string): void {
    this.reconciledStatuses.push(status);
  }
  alpacaRateLimited(): void {
    this.rateLimited += 1;
  }
}
