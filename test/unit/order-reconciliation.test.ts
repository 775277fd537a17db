import { describe, expect, it } from 'vitest';
import { Deadline } from '../../functions/core/deadline';
import type { Adapter, ExecutionAttempt, LookupOutcome } from '../../functions/core/execution';
import {
  reconcileUnresolved,
  type OrderLookup,
  type ReconciliationDependencies,
  type ReconciliationMetrics,
  type ReconciliationReport,
  type ReconciliationSettings,
  type ReconciliationStore,
} from '../../functions/core/order-reconciliation';
import { ProvenanceConflictError, ProvenanceUnavailableError, type ProvenanceRow, type RowOutcome } from '../../functions/core/provenance';
import { brokerOrder, FakeAlpacaBroker, FakeLeanRunner, FixedClock, found, lookupError, notFound, order, pendingRow, RecordingLogger } from '../support/fakes';

const NOW = '2025-01-02T14:30:00.000Z';
const SECOND = 1_000;
const MINUTE = 60 * SECOND;

/** The lifecycle sync's defaults for reconciliation, spelled out so each test can say which one it moves. */
const SETTINGS: ReconciliationSettings = {
  reconcileAfterMs: MINUTE,
  reconcileMaxPerRun: 20,
  notionalTolerance: 0.01,
  storeTimeoutMs: 2 * SECOND,
  lookupTimeoutMs: 2 * SECOND,
};

/** Enough for every call of a run. */
const BUDGET_MS = 25 * SECOND;

function ago(ms: number): string {
  return new Date(Date.parse(NOW) - ms).toISOString();
}

function attempt(adapter: Adapter, operation: ExecutionAttempt['operation'], outcome: ExecutionAttempt['outcome'], reason?: string): ExecutionAttempt {
  return { adapter, operation, outcome, latency_ms: 5, started_at: ago(5 * MINUTE), ...(reason === undefined ? {} : { reason }) };
}

const ROW = pendingRow({ client_order_id: 'ord-stuck-1' });
/** Alpaca's copy of ROW's order, already filled. */
const AT_BROKER = brokerOrder(order({ client_order_id: ROW.client_order_id }), { status: 'filled' }, 'alpaca-order-9');
const FOUND_AT_RUNNER = found(brokerOrder(order({ client_order_id: ROW.client_order_id }), {}, 'runner-order-9'));
/** A pending LEAN row found at Alpaca: the runner is asked whether it placed it, and says it did. */
const FOUND_VIA_RUNNER = { alpacaLookups: [found(AT_BROKER)], runnerLookups: [FOUND_AT_RUNNER] };

/** The unresolved rows as scripted answers; records every query and every resolve it applied. */
class FakeReconciliationStore implements ReconciliationStore {
  readonly unresolvedQueries: { createdBefore: string; limit: number; timeoutMs: number | undefined }[] = [];
  /** The resolves that were applied (refused ones are not here). */
  readonly resolutions: { clientOrderId: string; outcome: RowOutcome; updatedAt: string }[] = [];
  private readonly refusals = new Map<string, Error>();
  private unreadable = false;

  constructor(private readonly unresolved: readonly ProvenanceRow[] = []) {}

  /** From now on, listUnresolved throws ProvenanceUnavailableError. */
  failListing(): this {
    this.unreadable = true;
    return this;
  }

  /** The resolve of `clientOrderId` throws `error` (a ProvenanceConflictError when another writer finished the row). */
  refuseResolve(clientOrderId: string, error: Error = new ProvenanceConflictError(`${clientOrderId} is no longer pending or unknown`)): this {
    this.refusals.set(clientOrderId, error);
    return this;
  }

  async listUnresolved(createdBefore: string, limit: number, timeoutMs?: number): Promise<ProvenanceRow[]> {
    this.unresolvedQueries.push({ createdBefore, limit, timeoutMs });
    if (this.unreadable) throw new ProvenanceUnavailableError('provenance index unreachable (listUnresolved)');
    return [...this.unresolved];
  }

  async resolve(clientOrderId: string, outcome: RowOutcome, updatedAt: string): Promise<ProvenanceRow> {
    const refusal = this.refusals.get(clientOrderId);
    if (refusal !== undefined) throw refusal;
    const row = this.unresolved.find((candidate) => candidate.client_order_id === clientOrderId);
    if (row === undefined) throw new ProvenanceConflictError(`${clientOrderId} was never unresolved`);
    this.resolutions.push({ clientOrderId, outcome, updatedAt });
    return { ...row, ...outcome, updated_at: updatedAt };
  }
}

class RecordingReconciliationMetrics implements ReconciliationMetrics {
  readonly calls: { name: 'reconciled'; args: [string] }[] = [];

  /** The arguments of every call to `name`. */
  argsOf(name: 'reconciled'): (readonly unknown[])[] {
    return this.calls.filter((call) => call.name === name).map((call) => call.args);
  }

  reconciled(status: string): void {
    this.calls.push({ name: 'reconciled', args: [status] });
  }
}

interface WorldOptions {
  /** `false`: no runner URL is configured, so there is no runner lookup. */
  readonly runner?: boolean;
  readonly store?: { readonly unresolved?: readonly ProvenanceRow[] };
  readonly storeFails?: readonly 'listUnresolved'[];
  readonly alpacaLookups?: readonly LookupOutcome[];
  readonly runnerLookups?: readonly LookupOutcome[];
  readonly settings?: Partial<ReconciliationSettings>;
  /** How far the monotonic clock moves on each read: the cost of every call against the budget. */
  readonly clockStepMs?: number;
  readonly budgetMs?: number;
}

interface ReconcileWorld {
  readonly deps: ReconciliationDependencies;
  readonly store: FakeReconciliationStore;
  readonly alpaca: FakeAlpacaBroker;
  readonly lean: FakeLeanRunner;
  readonly metrics: RecordingReconciliationMetrics;
  readonly logger: RecordingLogger;
  readonly clock: FixedClock;
  readonly budgetMs: number;
}

/** Every port in memory. By default nothing to reconcile, a runner configured, and time to spare. */
function reconcileWorld(options: WorldOptions = {}): ReconcileWorld {
  const store = new FakeReconciliationStore(options.store?.unresolved);
  if (options.storeFails?.includes('listUnresolved')) store.failListing();
  // An unscripted lookup throws "unscripted ... lookup": a broker asked when it should not be fails the test.
  const alpaca = new FakeAlpacaBroker({ lookups: options.alpacaLookups ?? [] });
  const lean = new FakeLeanRunner({ lookups: options.runnerLookups ?? [] });
  const metrics = new RecordingReconciliationMetrics();
  const logger = new RecordingLogger();
  const clock = new FixedClock(NOW, options.clockStepMs ?? 0);
  const deps: ReconciliationDependencies = {
    settings: { ...SETTINGS, ...options.settings },
    store,
    ...(options.runner === false ? {} : { runnerLookup: lean }),
    alpacaLookup: alpaca,
    metrics,
    logger,
    clock,
  };
  return { deps, store, alpaca, lean, metrics, logger, clock, budgetMs: options.budgetMs ?? BUDGET_MS };
}

function run(world: ReconcileWorld, overrides: Partial<ReconciliationDependencies> = {}): Promise<ReconciliationReport> {
  return reconcileUnresolved({ ...world.deps, ...overrides }, Deadline.after(world.clock, world.budgetMs));
}

function logFields(world: ReconcileWorld, message: string): Record<string, unknown>[] {
  return world.logger.withMessage(message).map((line) => line.fields);
}

function resolvedStatuses(world: ReconcileWorld): [string, string][] {
  return world.store.resolutions.map(({ clientOrderId, outcome }) => [clientOrderId, outcome.status]);
}

function onlyOutcome(world: ReconcileWorld): RowOutcome {
  const [resolution, ...rest] = world.store.resolutions;
  if (resolution === undefined || rest.length > 0) throw new Error(`expected exactly one resolve, got ${world.store.resolutions.length}`);
  return resolution.outcome;
}

describe('reconcileUnresolved: which rows it reconciles', () => {
  it('asks for rows created at least reconcileAfterMs ago, at most reconcileMaxPerRun of them', async () => {
    const world = reconcileWorld({ settings: { reconcileAfterMs: 2 * MINUTE, reconcileMaxPerRun: 5 } });

    await run(world);

    expect(world.store.unresolvedQueries).toEqual([{ createdBefore: ago(2 * MINUTE), limit: 5, timeoutMs: 2 * SECOND }]);
  });

  it('reconciles no more than reconcileMaxPerRun rows, even when the store returns more', async () => {
    const second = pendingRow({ client_order_id: 'ord-stuck-2', execution_expected_adapter: 'alpaca' });
    const world = reconcileWorld({ store: { unresolved: [ROW, second] }, alpacaLookups: [notFound, notFound], runnerLookups: [notFound], settings: { reconcileMaxPerRun: 1 } });

    const report = await run(world);

    expect(report.reconciled).toEqual([{ client_order_id: ROW.client_order_id, status: 'failed' }]);
    expect(world.alpaca.lookupCalls.map((call) => call.clientOrderId)).toEqual([ROW.client_order_id]);
  });

  it('logs unresolved_rows_unreadable and reports store_error when the rows cannot be read', async () => {
    const world = reconcileWorld({ storeFails: ['listUnresolved'] });

    const report = await run(world);

    expect(world.logger.withMessage('unresolved_rows_unreadable')).toEqual([
      expect.objectContaining({ level: 'error', fields: { error: 'ProvenanceUnavailableError: provenance index unreachable (listUnresolved)' } }),
    ]);
    expect(report).toEqual({ reconciled: [], stopped: 'store_error' });
  });
});

interface LookupCase {
  readonly when: string;
  readonly expected: Adapter;
  /** Whether a runner URL is configured, so that a runner lookup exists. */
  readonly runner: boolean;
  readonly alpaca: LookupOutcome;
  /** The runner's answer; absent: the runner must not be asked. */
  readonly lean?: LookupOutcome;
  /** The status written, or `left` for a row left as it is for the next run. */
  readonly verdict: 'accepted' | 'failed' | 'left';
}

const LOOKUP_CASES: LookupCase[] = [
  // The runner looks orders up at the same Alpaca account: once Alpaca answers, it has nothing to add.
  { when: 'Alpaca finds it', expected: 'lean', runner: true, alpaca: found(AT_BROKER), verdict: 'accepted' },
  { when: 'no runner is configured and Alpaca finds it', expected: 'lean', runner: false, alpaca: found(AT_BROKER), verdict: 'accepted' },
  { when: 'Alpaca does not find it and the runner does', expected: 'lean', runner: true, alpaca: notFound, lean: FOUND_AT_RUNNER, verdict: 'accepted' },
  { when: 'Alpaca errs and the runner finds it', expected: 'lean', runner: true, alpaca: lookupError, lean: FOUND_AT_RUNNER, verdict: 'left' },
  { when: 'neither Alpaca nor the runner finds it', expected: 'lean', runner: true, alpaca: notFound, lean: notFound, verdict: 'failed' },
  { when: 'Alpaca errs and the runner does not find it', expected: 'lean', runner: true, alpaca: lookupError, lean: notFound, verdict: 'left' },
  { when: 'Alpaca does not find it and the runner errs', expected: 'lean', runner: true, alpaca: notFound, lean: lookupError, verdict: 'left' },
  { when: 'both lookups err', expected: 'lean', runner: true, alpaca: lookupError, lean: lookupError, verdict: 'left' },
  { when: 'no runner is configured and Alpaca does not find it', expected: 'lean', runner: false, alpaca: notFound, verdict: 'failed' },
  { when: 'no runner is configured and Alpaca errs', expected: 'lean', runner: false, alpaca: lookupError, verdict: 'left' },
  { when: 'Alpaca finds it', expected: 'alpaca', runner: true, alpaca: found(AT_BROKER), verdict: 'accepted' },
  { when: 'Alpaca does not find it', expected: 'alpaca', runner: true, alpaca: notFound, verdict: 'failed' },
  { when: 'Alpaca errs', expected: 'alpaca', runner: true, alpaca: lookupError, verdict: 'left' },
];

describe.each(LOOKUP_CASES)('reconcileUnresolved reconciling a row that expected $expected when $when', (c) => {
  function lookupWorld(): ReconcileWorld {
    return reconcileWorld({
      runner: c.runner,
      store: { unresolved: [{ ...ROW, execution_expected_adapter: c.expected }] },
      alpacaLookups: [c.alpaca],
      runnerLookups: c.lean === undefined ? [] : [c.lean],
    });
  }

  it(c.verdict === 'left' ? 'leaves the row as it is for the next run' : `resolves the row to ${c.verdict}`, async () => {
    const world = lookupWorld();

    await run(world);

    expect(resolvedStatuses(world)).toEqual(c.verdict === 'left' ? [] : [[ROW.client_order_id, c.verdict]]);
  });

  it(c.lean === undefined ? 'asks Alpaca only' : 'asks Alpaca first, then the runner', async () => {
    const world = lookupWorld();

    await run(world);

    expect(world.alpaca.lookupCalls.map((call) => call.clientOrderId)).toEqual([ROW.client_order_id]);
    expect(world.lean.lookupCalls.map((call) => call.clientOrderId)).toEqual(c.lean === undefined ? [] : [ROW.client_order_id]);
  });

  it('submits nothing to either broker', async () => {
    const world = lookupWorld();

    await run(world);

    expect(world.alpaca.submitCalls).toEqual([]);
    expect(world.lean.submitCalls).toEqual([]);
  });
});

interface AttributionCase {
  readonly name: string;
  readonly row: Partial<ProvenanceRow>;
  readonly adapter: Adapter;
  readonly route: string;
  readonly reason: string;
}

const ATTRIBUTION_CASES: AttributionCase[] = [
  { name: 'a pending LEAN row with no gate (only the runner can have placed it)', row: {}, adapter: 'lean', route: 'lean', reason: 'reconciled' },
  {
    name: 'a pending LEAN row gated by stale health',
    row: { policy_snapshot: { ...ROW.policy_snapshot, gates: ['runner_health_stale', 'symbol_manual_review'] } },
    adapter: 'alpaca',
    route: 'alpaca_gated',
    reason: 'runner_health_stale',
  },
  {
    name: 'an unknown LEAN row whose submit and lookups all went unanswered',
    row: {
      status: 'unknown',
      execution_route_reason: 'lean_submit_timeout',
      execution_attempts: [attempt('lean', 'submit', 'failed', 'lean_submit_timeout'), attempt('lean', 'lookup', 'error'), attempt('alpaca', 'lookup', 'error')],
    },
    adapter: 'lean',
    route: 'lean',
    reason: 'lean_submit_timeout',
  },
  {
    name: 'an unknown LEAN row whose fallback submit to Alpaca went unanswered',
    row: {
      status: 'unknown',
      execution_route_reason: 'lean_submit_network_error',
      execution_fallback_count: 1,
      execution_fallback_intent: { reason: 'lean_submit_network_error', lean_failure: 'definite', recorded_at: NOW },
      execution_attempts: [attempt('lean', 'submit', 'failed', 'lean_submit_network_error'), attempt('alpaca', 'submit', 'failed', 'alpaca_submit_timeout')],
    },
    adapter: 'alpaca',
    route: 'alpaca_fallback',
    reason: 'lean_submit_network_error',
  },
  { name: 'a pending Alpaca row', row: { execution_expected_adapter: 'alpaca' }, adapter: 'alpaca', route: 'alpaca', reason: 'reconciled' },
];

describe('reconcileUnresolved: what a reconciled row says', () => {
  function foundWorld(row: ProvenanceRow = ROW): ReconcileWorld {
    return reconcileWorld({ store: { unresolved: [row] }, ...FOUND_VIA_RUNNER });
  }

  it.each(ATTRIBUTION_CASES)('attributes $name found at Alpaca to route $route', async ({ row, adapter, route, reason }) => {
    const world = foundWorld({ ...ROW, ...row });

    await run(world);

    expect(onlyOutcome(world)).toMatchObject({
      status: 'accepted',
      execution_adapter: adapter,
      execution_route: route,
      execution_route_reason: reason,
      execution_note: 'reconciled',
      broker_order_id: 'alpaca-order-9',
      raw_payload: expect.objectContaining({ _execution_adapter: route }),
    });
  });

  it('attributes a pending LEAN row whose fallback intent follows a definite LEAN failure to alpaca_fallback, verified', async () => {
    const intent = { reason: 'lean_submit_http_502', lean_failure: 'definite', recorded_at: NOW } as const;
    const world = reconcileWorld({ store: { unresolved: [{ ...ROW, execution_fallback_intent: intent }] }, alpacaLookups: [found(AT_BROKER)] });

    await run(world);

    expect(onlyOutcome(world)).toMatchObject({
      status: 'accepted',
      execution_adapter: 'alpaca',
      execution_route: 'alpaca_fallback',
      execution_route_reason: 'lean_submit_http_502',
      execution_fallback_reason: 'lean_submit_http_502',
      execution_fallback_count: 1,
      route_verified: true,
      raw_payload: expect.objectContaining({ _execution_adapter: 'alpaca_fallback', _execution_fallback_reason: 'lean_submit_http_502' }),
    });
  });

  it('says the route is not verified when the fallback intent follows an ambiguous LEAN failure', async () => {
    const intent = { reason: 'lean_submit_timeout', lean_failure: 'ambiguous', recorded_at: NOW } as const;
    const world = reconcileWorld({ store: { unresolved: [{ ...ROW, execution_fallback_intent: intent }] }, alpacaLookups: [found(AT_BROKER)] });

    await run(world);

    expect(onlyOutcome(world)).toMatchObject({
      execution_route: 'alpaca_fallback',
      route_verified: false,
      status_detail: expect.stringContaining('route not verified'),
    });
  });

  it('attributes a pending LEAN row without a fallback intent to lean, verified, without asking the runner', async () => {
    const world = reconcileWorld({ store: { unresolved: [ROW] }, alpacaLookups: [found(AT_BROKER)], runnerLookups: [notFound] });

    await run(world);

    expect(onlyOutcome(world)).toMatchObject({ execution_route: 'lean', route_verified: true });
    expect(world.lean.lookupCalls).toEqual([]);
  });

  it('flags review when the order found differs from the row', async () => {
    const world = reconcileWorld({ store: { unresolved: [ROW] }, alpacaLookups: [found({ ...AT_BROKER, qty: '1000' })] });

    await run(world);

    expect(onlyOutcome(world)).toMatchObject({ status: 'accepted', review_required: true, status_detail: expect.stringContaining('qty_mismatch') });
  });

  it('resolves an order Alpaca holds as rejected to rejected, on route none', async () => {
    const world = reconcileWorld({ store: { unresolved: [ROW] }, alpacaLookups: [found({ ...AT_BROKER, status: 'rejected' })] });

    await run(world);

    expect(onlyOutcome(world)).toMatchObject({ status: 'rejected', execution_route: 'none', broker_order_id: AT_BROKER.id });
  });

  it('resolves an order the broker reports as filled to accepted: status says the broker holds it, not how far it got', async () => {
    const world = foundWorld();

    await run(world);

    expect(onlyOutcome(world).status).toBe('accepted');
  });

  it('keeps the row’s attempts, fallback count and review flag, and says what the row was before', async () => {
    const attempts = [attempt('lean', 'submit', 'failed', 'lean_submit_http_502'), attempt('alpaca', 'submit', 'failed', 'alpaca_submit_timeout')];
    const intent = { reason: 'lean_submit_http_502', lean_failure: 'definite', recorded_at: NOW } as const;
    const world = foundWorld({ ...ROW, status: 'unknown', execution_attempts: attempts, execution_fallback_intent: intent, execution_fallback_count: 1, review_required: true });

    await run(world);

    expect(onlyOutcome(world)).toMatchObject({
      execution_attempts: attempts,
      execution_fallback_count: 1,
      review_required: true,
      status_detail: `reconciled: found by client_order_id, broker status ${AT_BROKER.status} (unknown before)`,
    });
  });

  it('writes a row neither broker holds as failed, on route none, saying nothing was placed', async () => {
    const world = reconcileWorld({ store: { unresolved: [ROW] }, alpacaLookups: [notFound], runnerLookups: [notFound] });

    await run(world);

    expect(onlyOutcome(world)).toEqual({
      status: 'failed',
      execution_adapter: 'none',
      execution_route: 'none',
      execution_route_reason: 'reconciled',
      execution_fallback_count: 0,
      execution_attempts: [],
      execution_note: 'reconciled',
      review_required: false,
      route_verified: true,
      status_detail: 'reconciled: neither Alpaca nor the LEAN runner holds this client_order_id; nothing was placed',
    });
  });

  it('keeps a clean found row out of review, with its fallback count and no fallback reason', async () => {
    const world = reconcileWorld({ store: { unresolved: [ROW] }, alpacaLookups: [found(AT_BROKER)] });

    await run(world);

    const outcome = onlyOutcome(world);
    expect(outcome).toMatchObject({ execution_route: 'lean', execution_fallback_count: 0, review_required: false });
    expect(outcome).not.toHaveProperty('execution_fallback_reason');
    expect(outcome.raw_payload).not.toHaveProperty('_execution_fallback_reason');
  });

  it('gives no fallback reason when Alpaca’s duplicate answer shows LEAN placed an order that has a fallback intent', async () => {
    const intent = { reason: 'lean_submit_timeout', lean_failure: 'ambiguous', recorded_at: NOW } as const;
    const row = { ...ROW, execution_fallback_intent: intent, execution_attempts: [attempt('lean', 'submit', 'failed', 'lean_submit_timeout'), attempt('alpaca', 'submit', 'duplicate')] };
    const world = reconcileWorld({ store: { unresolved: [row] }, alpacaLookups: [found(AT_BROKER)] });

    await run(world);

    const outcome = onlyOutcome(world);
    expect(outcome).toMatchObject({ execution_adapter: 'lean', execution_route: 'lean', execution_route_reason: 'reconciled', route_verified: true });
    expect(outcome).not.toHaveProperty('execution_fallback_reason');
    expect(outcome.raw_payload).not.toHaveProperty('_execution_fallback_reason');
  });

  it('takes the route reason from a gate only for a gated route, not for an order policy sent to Alpaca', async () => {
    const row = { ...ROW, execution_expected_adapter: 'alpaca' as const, policy_snapshot: { ...ROW.policy_snapshot, gates: ['kill_switch' as const] } };
    const world = reconcileWorld({ store: { unresolved: [row] }, alpacaLookups: [found(AT_BROKER)] });

    await run(world);

    expect(onlyOutcome(world)).toMatchObject({ execution_route: 'alpaca', execution_route_reason: 'reconciled' });
  });

  it('joins each thing the detail says with a semicolon', async () => {
    const world = reconcileWorld({ store: { unresolved: [ROW] }, alpacaLookups: [found({ ...AT_BROKER, qty: '1000' })] });

    await run(world);

    expect(onlyOutcome(world).status_detail).toBe(
      'reconciled: found by client_order_id, broker status filled (pending before); the broker holds a different order than asked: qty_mismatch',
    );
  });

  it('says the broker status is unknown when the order found has none', async () => {
    const world = reconcileWorld({ store: { unresolved: [ROW] }, alpacaLookups: [found(brokerOrder(order({ client_order_id: ROW.client_order_id }), { status: undefined }))] });

    await run(world);

    expect(onlyOutcome(world).status_detail).toMatch(/^reconciled: found by client_order_id, broker status unknown \(pending before\)/);
  });

  it('attributes an order only the runner holds to lean, not verified, and flags it for review', async () => {
    const intent = { reason: 'lean_submit_timeout', lean_failure: 'ambiguous', recorded_at: NOW } as const;
    const row: ProvenanceRow = { ...ROW, status: 'unknown', execution_fallback_intent: intent, execution_attempts: [attempt('lean', 'submit', 'failed', 'lean_submit_timeout'), attempt('alpaca', 'submit', 'failed', 'alpaca_submit_timeout')] };
    const world = reconcileWorld({ store: { unresolved: [row] }, alpacaLookups: [notFound], runnerLookups: [found(AT_BROKER)] });

    await run(world);

    expect(onlyOutcome(world)).toMatchObject({
      status: 'accepted',
      execution_adapter: 'lean',
      execution_route: 'lean',
      execution_note: 'reconciled',
      route_verified: false,
      review_required: true,
      status_detail: expect.stringContaining('route not verified: only the runner holds it; Alpaca does not'),
    });
  });

  it('leaves a row for the next run when only the runner holds it but LEAN had failed definitely: LEAN cannot have placed it', async () => {
    const intent = { reason: 'lean_submit_http_400', lean_failure: 'definite', recorded_at: NOW } as const;
    const createdAt = new Date(Date.parse(NOW) - 2 * MINUTE).toISOString();
    const row: ProvenanceRow = { ...ROW, status: 'pending', created_at: createdAt, execution_fallback_intent: intent, execution_attempts: [attempt('lean', 'submit', 'failed', 'lean_submit_http_400')] };
    const world = reconcileWorld({ store: { unresolved: [row] }, alpacaLookups: [notFound], runnerLookups: [found(AT_BROKER)] });

    await run(world);

    expect({ resolutions: world.store.resolutions, logged: world.logger.withMessage('order_reconcile_answers_disagree').length }).toEqual({ resolutions: [], logged: 1 });
  });

  it('settles such a row on the router\'s fallback, not verified and for review, once the answers have disagreed for five reconcile periods', async () => {
    const intent = { reason: 'lean_submit_http_400', lean_failure: 'definite', recorded_at: NOW } as const;
    const createdAt = new Date(Date.parse(NOW) - 5 * MINUTE - 1).toISOString();
    const row: ProvenanceRow = { ...ROW, status: 'pending', created_at: createdAt, execution_fallback_intent: intent, execution_attempts: [attempt('lean', 'submit', 'failed', 'lean_submit_http_400')] };
    const world = reconcileWorld({ store: { unresolved: [row] }, alpacaLookups: [notFound], runnerLookups: [found(AT_BROKER)] });

    await run(world);

    expect(onlyOutcome(world)).toMatchObject({ status: 'accepted', execution_route: 'alpaca_fallback', route_verified: false, review_required: true });
  });

  it('attributes an unknown row whose fallback intent never became a submit to LEAN’s late acknowledgement, with no fallback counted', async () => {
    const intent = { reason: 'lean_submit_timeout', lean_failure: 'ambiguous', recorded_at: NOW } as const;
    const row: ProvenanceRow = { ...ROW, status: 'unknown', execution_fallback_intent: intent, execution_attempts: [attempt('lean', 'submit', 'failed', 'lean_submit_timeout')] };
    const world = reconcileWorld({ store: { unresolved: [row] }, alpacaLookups: [found(AT_BROKER)] });

    await run(world);

    expect(onlyOutcome(world)).toMatchObject({ execution_adapter: 'lean', execution_route: 'lean', execution_fallback_count: 0, route_verified: true });
  });

  it('writes an unknown row whose fallback intent never became a submit as failed, with no fallback counted, when neither broker holds it', async () => {
    const intent = { reason: 'lean_submit_timeout', lean_failure: 'ambiguous', recorded_at: NOW } as const;
    const row: ProvenanceRow = { ...ROW, status: 'unknown', execution_fallback_intent: intent, execution_attempts: [attempt('lean', 'submit', 'failed', 'lean_submit_timeout')] };
    const world = reconcileWorld({ store: { unresolved: [row] }, alpacaLookups: [notFound], runnerLookups: [notFound] });

    await run(world);

    expect(onlyOutcome(world)).toMatchObject({ status: 'failed', execution_fallback_reason: 'lean_submit_timeout', execution_fallback_count: 0 });
  });

  it('writes a LEAN row as failed from Alpaca’s answer alone when no runner is configured, saying only Alpaca was asked', async () => {
    const world = reconcileWorld({ runner: false, store: { unresolved: [ROW] }, alpacaLookups: [notFound] });

    await run(world);

    expect(onlyOutcome(world).status_detail).toBe('reconciled: neither Alpaca holds this client_order_id; nothing was placed');
  });

  it('writes a row with a fallback intent that neither broker holds as failed, with the intent’s reason and one fallback', async () => {
    const intent = { reason: 'lean_submit_http_502', lean_failure: 'definite', recorded_at: NOW } as const;
    const world = reconcileWorld({ store: { unresolved: [{ ...ROW, execution_fallback_intent: intent }] }, alpacaLookups: [notFound], runnerLookups: [notFound] });

    await run(world);

    expect(onlyOutcome(world)).toMatchObject({
      status: 'failed',
      execution_route: 'none',
      execution_route_reason: 'lean_submit_http_502',
      execution_fallback_reason: 'lean_submit_http_502',
      execution_fallback_count: 1,
    });
  });

  it('resolves with updated_at at now', async () => {
    const world = foundWorld();

    await run(world);

    expect(world.store.resolutions.map((resolution) => resolution.updatedAt)).toEqual([NOW]);
  });

  it('passes the row’s correlation id to every lookup', async () => {
    const world = reconcileWorld({ store: { unresolved: [ROW] }, alpacaLookups: [notFound], runnerLookups: [notFound] });

    await run(world);

    const contexts = [...world.alpaca.lookupCalls, ...world.lean.lookupCalls].map((call) => call.context);
    expect(contexts.map((context) => context.correlationId)).toEqual([ROW.correlation_id, ROW.correlation_id]);
  });
});

describe('reconcileUnresolved: reconciling several rows', () => {
  const second = pendingRow({ client_order_id: 'ord-stuck-2', execution_expected_adapter: 'alpaca' });

  function twoRowWorld(): ReconcileWorld {
    return reconcileWorld({ store: { unresolved: [ROW, second] }, alpacaLookups: [found(AT_BROKER), notFound], runnerLookups: [FOUND_AT_RUNNER] });
  }

  it('counts each resolved row with reconciled(status)', async () => {
    const world = twoRowWorld();

    await run(world);

    expect(world.metrics.argsOf('reconciled')).toEqual([['accepted'], ['failed']]);
  });

  it('reports each resolved row with its status', async () => {
    const world = twoRowWorld();

    const report = await run(world);

    expect(report.reconciled).toEqual([
      { client_order_id: ROW.client_order_id, status: 'accepted' },
      { client_order_id: second.client_order_id, status: 'failed' },
    ]);
  });

  it('logs order_reconciled at warn with the status before and after', async () => {
    const world = twoRowWorld();

    await run(world);

    expect(world.logger.withMessage('order_reconciled')).toEqual([
      expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ client_order_id: ROW.client_order_id, from: 'pending', to: 'accepted' }) }),
      expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ client_order_id: second.client_order_id, from: 'pending', to: 'failed' }) }),
    ]);
  });

  it.each([
    { name: 'another writer finished it first (conflict)', error: undefined },
    { name: 'the store refused the write', error: new ProvenanceUnavailableError('provenance table unreachable (resolve)') },
  ])('logs order_reconcile_skipped and goes on with the next row when $name', async ({ error }) => {
    const world = twoRowWorld();
    world.store.refuseResolve(ROW.client_order_id, error);

    const report = await run(world);

    expect(logFields(world, 'order_reconcile_skipped')).toEqual([expect.objectContaining({ client_order_id: ROW.client_order_id })]);
    expect(report.reconciled).toEqual([{ client_order_id: second.client_order_id, status: 'failed' }]);
    expect(world.metrics.argsOf('reconciled')).toEqual([['failed']]);
  });

  it('leaves a row whose lookup errs and resolves the next one', async () => {
    const world = reconcileWorld({ runner: false, store: { unresolved: [ROW, second] }, alpacaLookups: [lookupError, notFound] });

    const report = await run(world);

    expect(report.reconciled).toEqual([{ client_order_id: second.client_order_id, status: 'failed' }]);
  });

  it('leaves a row whose lookup throws and resolves the next one', async () => {
    const world = reconcileWorld({ store: { unresolved: [ROW, second] }, alpacaLookups: [notFound] });
    const throwingForFirst: OrderLookup = {
      findByClientOrderId: async (id, context) => {
        if (id === ROW.client_order_id) throw new Error('TypeError: fetch failed');
        return world.alpaca.findByClientOrderId(id, context);
      },
    };

    const report = await run(world, { alpacaLookup: throwingForFirst });

    expect(report.reconciled).toEqual([{ client_order_id: second.client_order_id, status: 'failed' }]);
    expect(world.logger.withMessage('order_reconcile_lookup_failed')).toEqual([
      expect.objectContaining({ level: 'warn', fields: { client_order_id: ROW.client_order_id, error: 'Error: TypeError: fetch failed' } }),
    ]);
  });
});

describe('reconcileUnresolved: within the run’s budget', () => {
  const second = pendingRow({ client_order_id: 'ord-stuck-2', execution_expected_adapter: 'alpaca' });

  it('gives each lookup the smaller of its own timeout and what the budget leaves', async () => {
    const world = reconcileWorld({ store: { unresolved: [ROW] }, ...FOUND_VIA_RUNNER, budgetMs: 1_500 });

    await run(world);

    expect(world.alpaca.lookupCalls.map((call) => call.context.timeoutMs)).toEqual([1_500]);
  });

  it('starts no lookup once the budget cannot hold one, leaves the rest for the next run and says so', async () => {
    // Each clock read costs 4 s: the first row's lookup and resolve fit, 50 ms is left for the second's lookup.
    const world = reconcileWorld({
      store: { unresolved: [second, { ...second, client_order_id: 'ord-stuck-3' }] },
      alpacaLookups: [notFound, notFound],
      clockStepMs: 4 * SECOND,
      budgetMs: 16_050,
    });

    const report = await run(world);

    expect(world.alpaca.lookupCalls.map((call) => call.clientOrderId)).toEqual([second.client_order_id]);
    expect(report).toEqual({ reconciled: [{ client_order_id: second.client_order_id, status: 'failed' }], stopped: 'deadline' });
  });

  it('starts no resolve without room for the store’s two calls', async () => {
    const world = reconcileWorld({ store: { unresolved: [second] }, alpacaLookups: [notFound], budgetMs: 3 * SECOND, clockStepMs: 500 });

    const report = await run(world);

    expect([world.store.resolutions, report.stopped]).toEqual([[], 'deadline']);
  });

  it('reads nothing when no time is left', async () => {
    const world = reconcileWorld({ store: { unresolved: [ROW] }, budgetMs: 0 });

    const report = await run(world);

    expect([world.store.unresolvedQueries, report.stopped]).toEqual([[], 'deadline']);
  });

  it('reads nothing when reconcileMaxPerRun is 0', async () => {
    const world = reconcileWorld({ store: { unresolved: [ROW] }, settings: { reconcileMaxPerRun: 0 } });

    const report = await run(world);

    expect([world.store.unresolvedQueries, report]).toEqual([[], { reconciled: [], stopped: 'complete' }]);
  });
});
