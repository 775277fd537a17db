import { describe, expect, it } from 'vitest';
import type { BrokerOrder } from '../../functions/core/execution';
import {
  LIFECYCLE_SYNC_DEFAULTS,
  loadLifecycleSyncSettings,
  runBatch,
  runLifecycleSync,
  type LifecycleSyncDependencies,
  type LifecycleSyncSettings,
} from '../../functions/core/lifecycle-sync';
import type { ReconciliationStore } from '../../functions/core/order-reconciliation';
import type { BrokerCallContext, BrokerOrderList, Clock, OrderListOutcome, OrderListQuery } from '../../functions/core/ports';
import {
  OPEN_ORDER_FIELDS,
  ProvenanceConflictError,
  type BrokerState,
  type BrokerStateWrite,
  type OpenOrder,
  type OpenOrderStore,
  type ProvenanceRow,
  type RouteDivergence,
  type RowOutcome,
} from '../../functions/core/provenance';
import { brokerOrder, FakeAlpacaBroker, FakeLeanRunner, FixedClock, found, notFound, order, pendingRow, RecordingLifecycleMetrics, RecordingLogger } from '../support/fakes';

const NOW = '2025-01-02T15:00:00.000Z';

/** An open LEAN-routed row for `ord-<n>` with Alpaca id `alpaca-<n>`, submitted `n` seconds after 14:00. */
function openRow(n: number, overrides: Partial<OpenOrder> = {}): OpenOrder {
  return {
    client_order_id: `ord-${n}`,
    broker_order_id: `alpaca-${n}`,
    execution_adapter: 'lean',
    execution_route: 'lean',
    execution_expected_adapter: 'lean',
    strategy_id: 'momentum',
    open_since: submittedAt(n),
    ...overrides,
  };
}

function submittedAt(n: number): string {
  return new Date(Date.parse('2025-01-02T14:00:00.000Z') + n * 1000).toISOString();
}

/** Alpaca's order for `openRow(n)`, filled at 14:30. */
function filledOrder(n: number, overrides: Partial<BrokerOrder> = {}): BrokerOrder {
  return {
    id: `alpaca-${n}`,
    client_order_id: `ord-${n}`,
    status: 'filled',
    filled_qty: '1',
    filled_avg_price: '100',
    filled_at: '2025-01-02T14:30:00.000000Z',
    submitted_at: submittedAt(n),
    updated_at: '2025-01-02T14:30:00.000000Z',
    raw: {},
    ...overrides,
  };
}

interface Write {
  readonly clientOrderId: string;
  readonly state: BrokerState;
  readonly divergence: RouteDivergence | undefined;
}

class FakeOpenOrderStore implements OpenOrderStore {
  readonly writes: Write[] = [];
  readonly limits: number[] = [];
  /** When set, the open-order read throws it. */
  listError: Error | undefined;
  /** Called on every open-order read, before it answers (a test advances its clock here). */
  onList: () => void = () => undefined;
  private readonly rows: OpenOrder[];
  /** Client order ids whose write answers `stale` or throws. */
  constructor(
    rows: readonly OpenOrder[],
    private readonly answers: Readonly<Record<string, BrokerStateWrite | Error>> = {},
  ) {
    this.rows = [...rows];
  }

  /** A row that entered the open-orders index (as a resolve to `accepted` with a broker order id does). */
  open(row: OpenOrder): void {
    this.rows.push(row);
  }

  async listOpenOrders(limit: number): Promise<OpenOrder[]> {
    this.limits.push(limit);
    this.onList();
    if (this.listError !== undefined) throw this.listError;
    return this.rows.slice(0, limit);
  }

  async recordBrokerState(clientOrderId: string, state: BrokerState, divergence: RouteDivergence | undefined): Promise<BrokerStateWrite> {
    const answer = this.answers[clientOrderId] ?? 'recorded';
    if (answer instanceof Error) throw answer;
    if (answer === 'recorded') this.writes.push({ clientOrderId, state, divergence });
    return answer;
  }
}

/**
 * Rows left `pending` or `unknown`; a resolve to `accepted` with a broker order id puts the row in
 * `openOrders`, as the DynamoDB store's resolve writes the open-orders keys.
 */
class FakeUnresolvedRows implements ReconciliationStore {
  readonly listed: number[] = [];
  constructor(
    private readonly rows: readonly ProvenanceRow[],
    private readonly openOrders: FakeOpenOrderStore,
  ) {}

  async listUnresolved(_createdBefore: string, limit: number): Promise<ProvenanceRow[]> {
    this.listed.push(limit);
    return this.rows.slice(0, limit);
  }

  async resolve(clientOrderId: string, outcome: RowOutcome, updatedAt: string): Promise<ProvenanceRow> {
    const row = this.rows.find((candidate) => candidate.client_order_id === clientOrderId);
    if (row === undefined) throw new ProvenanceConflictError(`${clientOrderId} was never unresolved`);
    const resolved: ProvenanceRow = { ...row, ...outcome, updated_at: updatedAt };
    if (resolved.status === 'accepted' && resolved.broker_order_id !== undefined) {
      const fields = Object.fromEntries(OPEN_ORDER_FIELDS.flatMap((field) => (resolved[field] === undefined ? [] : [[field, resolved[field]]])));
      this.openOrders.open({ ...fields, client_order_id: clientOrderId, open_since: resolved.created_at } as OpenOrder);
    }
    return resolved;
  }
}

/** Answers list calls from a script, one outcome per call; a page when the script runs out. */
class ScriptedOrderList implements BrokerOrderList {
  readonly queries: OrderListQuery[] = [];
  readonly contexts: BrokerCallContext[] = [];
  /** Called on every list call, before it answers (a test advances its clock here). */
  onList: () => void = () => undefined;
  constructor(private readonly script: OrderListOutcome[]) {}

  async listOrders(query: OrderListQuery, context: BrokerCallContext): Promise<OrderListOutcome> {
    this.queries.push(query);
    this.contexts.push(context);
    this.onList();
    return this.script.shift() ?? { kind: 'page', orders: [] };
  }
}

function page(orders: BrokerOrder[]): OrderListOutcome {
  return { kind: 'page', orders };
}

/** A full page of 500 orders nobody routed, the last one submitted at `lastSubmittedAt`. */
function fullPageOfOthers(lastSubmittedAt: string): OrderListOutcome {
  const orders = Array.from({ length: 500 }, (_, i) => filledOrder(10_000 + i, { client_order_id: `other-${i}`, id: `other-${lastSubmittedAt}-${i}` }));
  orders[499] = { ...orders[499]!, submitted_at: lastSubmittedAt };
  return page(orders);
}

/** Nothing left pending or unknown, unless `unresolved` says otherwise; a broker asked for an unscripted lookup fails the test. */
interface Reconciling {
  readonly unresolved?: ReconciliationStore;
  readonly alpacaLookup?: FakeAlpacaBroker;
  readonly runnerLookup?: FakeLeanRunner;
}

/** A clock whose monotonic time moves only when the test says so. */
class ManualClock implements Clock {
  monotonic = 0;
  now(): Date {
    return new Date(NOW);
  }
  monotonicMs(): number {
    return this.monotonic;
  }
}

function sync(store: OpenOrderStore, alpaca: BrokerOrderList, settings: Partial<LifecycleSyncSettings> = {}, reconciling: Reconciling = {}, clock: Clock = new FixedClock(NOW)) {
  const logger = new RecordingLogger();
  const metrics = new RecordingLifecycleMetrics();
  const deps: LifecycleSyncDependencies = {
    settings: { ...LIFECYCLE_SYNC_DEFAULTS, ...settings },
    store,
    unresolved: reconciling.unresolved ?? new FakeUnresolvedRows([], new FakeOpenOrderStore([])),
    alpaca,
    alpacaLookup: reconciling.alpacaLookup ?? new FakeAlpacaBroker(),
    runnerLookup: reconciling.runnerLookup ?? new FakeLeanRunner(),
    metrics,
    logger,
    clock,
  };
  return { logger, metrics, run: () => runLifecycleSync(deps) };
}

describe('runBatch', () => {
  const rows = ['a', 'b', 'c', 'd', 'e'];
  const minute = (n: number) => new Date(n * 60_000);

  it('takes every row when they fit in one batch', () => {
    expect(runBatch(rows, 5, minute(7))).toEqual(rows);
  });

  it('takes the batches in turn, one per minute, back to the first after the last', () => {
    expect([0, 1, 2, 3].map((n) => runBatch(rows, 2, minute(n)))).toEqual([['a', 'b'], ['c', 'd'], ['e'], ['a', 'b']]);
  });

  it('takes nothing from no rows', () => {
    expect(runBatch([], 2, minute(3))).toEqual([]);
  });
});

describe('runLifecycleSync', () => {
  it('does not call Alpaca when no order is open', async () => {
    const alpaca = new ScriptedOrderList([]);
    const { run } = sync(new FakeOpenOrderStore([]), alpaca);

    const report = await run();

    expect({ calls: alpaca.queries.length, stopped: report.stopped }).toEqual({ calls: 0, stopped: 'no_open_orders' });
  });

  it('reads 450 open orders with one list call from a second before the oldest submission', async () => {
    const rows = Array.from({ length: 450 }, (_, i) => openRow(i));
    const alpaca = new ScriptedOrderList([page(rows.map((_, i) => filledOrder(i)))]);
    const store = new FakeOpenOrderStore(rows);
    const { run } = sync(store, alpaca);

    const report = await run();

    expect(alpaca.queries).toEqual([{ status: 'all', after: '2025-01-02T13:59:59.000Z', direction: 'asc', limit: 500 }]);
    expect({ changes: report.changes, writes: store.writes.length, stopped: report.stopped }).toEqual({ changes: 450, writes: 450, stopped: 'complete' });
  });

  it('jumps the next page to the rows still waiting, past the orders in between, when an old order rests', async () => {
    // Row 0 rests since 14:00; row 3600 was submitted an hour later; a full page of others lies between.
    const resting = openRow(0);
    const recent = openRow(3600);
    const firstPage = fullPageOfOthers('2025-01-02T14:10:00.000Z');
    const alpaca = new ScriptedOrderList([page([filledOrder(0, { status: 'new', filled_qty: '0' }), ...(firstPage.kind === 'page' ? firstPage.orders.slice(1) : [])]), page([filledOrder(3600)])]);
    const { run } = sync(new FakeOpenOrderStore([resting, recent]), alpaca);

    const report = await run();

    expect(alpaca.queries.map((query) => query.after)).toEqual(['2025-01-02T13:59:59.000Z', '2025-01-02T14:59:59.000Z']);
    expect({ pagesRead: report.pagesRead, stopped: report.stopped }).toEqual({ pagesRead: 2, stopped: 'complete' });
  });

  it('warns about open rows whose orders the whole list does not hold', async () => {
    const alpaca = new ScriptedOrderList([page([filledOrder(1)])]);
    const { run, logger } = sync(new FakeOpenOrderStore([openRow(1), openRow(2)]), alpaca);

    const report = await run();

    expect(report.stopped).toBe('complete');
    expect(logger.withMessage('lifecycle_orders_not_listed')[0]?.fields).toMatchObject({ count: 1, client_order_ids: ['ord-2'] });
  });

  it('reads at most maxOpenRows open rows from the index', async () => {
    const store = new FakeOpenOrderStore([openRow(1)]);
    const { run } = sync(store, new ScriptedOrderList([]), { maxOpenRows: 42 });

    await run();

    expect(store.limits).toEqual([42]);
  });

  it("syncs this minute's batch of the open rows, listing from that batch's oldest row", async () => {
    // NOW, 15:00, is minute 28_930_500 of the epoch: with seven batches of one row, the turn of the fifth.
    const rows = [0, 1, 2, 3, 4, 5, 6].map((n) => openRow(n * 60));
    const alpaca = new ScriptedOrderList([page([filledOrder(240)])]);
    const { run, metrics } = sync(new FakeOpenOrderStore(rows), alpaca, { maxOrdersPerRun: 1 });

    const report = await run();

    expect(alpaca.queries.map((query) => query.after)).toEqual(['2025-01-02T14:03:59.000Z']);
    expect({ open: report.openOrders, changes: report.changes, gauge: metrics.open }).toEqual({ open: 7, changes: 1, gauge: [7] });
  });

  it('pages on from a millisecond before the last submission and stops at maxPagesPerRun', async () => {
    const alpaca = new ScriptedOrderList([fullPageOfOthers('2025-01-02T14:10:00.000123Z'), fullPageOfOthers('2025-01-02T14:20:00.000Z'), page([filledOrder(1)])]);
    const { run } = sync(new FakeOpenOrderStore([openRow(1)]), alpaca, { maxPagesPerRun: 2 });

    const report = await run();

    expect(alpaca.queries.map((query) => query.after)).toEqual(['2025-01-02T14:00:00.000Z', '2025-01-02T14:09:59.999Z']);
    expect({ pagesRead: report.pagesRead, stopped: report.stopped }).toEqual({ pagesRead: 2, stopped: 'page_limit' });
  });

  it('skips an order already read on the previous page', async () => {
    const first = fullPageOfOthers('2025-01-02T14:10:00.000Z');
    const repeated = filledOrder(1, { submitted_at: '2025-01-02T14:10:00.000Z' });
    const firstOrders = first.kind === 'page' ? [...first.orders.slice(0, 499), repeated] : [];
    const store = new FakeOpenOrderStore([openRow(1)]);
    const { run } = sync(store, new ScriptedOrderList([page(firstOrders), page([repeated])]));

    await run();

    expect(store.writes.map((write) => write.clientOrderId)).toEqual(['ord-1']);
  });

  it('stops at a rate limit with nothing written beyond the pages already read', async () => {
    const alpaca = new ScriptedOrderList([fullPageOfOthers('2025-01-02T14:10:00.000Z'), { kind: 'rate_limited', retryAt: '2025-01-02T15:01:00.000Z' }, page([filledOrder(1)])]);
    const store = new FakeOpenOrderStore([openRow(1)]);
    const { run, logger } = sync(store, alpaca);

    const report = await run();

    expect({ calls: alpaca.queries.length, writes: store.writes.length, stopped: report.stopped, retryAt: report.retryAt }).toEqual({
      calls: 2,
      writes: 0,
      stopped: 'rate_limited',
      retryAt: '2025-01-02T15:01:00.000Z',
    });
    expect(logger.withMessage('lifecycle_sync_rate_limited')[0]?.fields.retryAt).toBe('2025-01-02T15:01:00.000Z');
  });

  it('counts a 429 on the list as alpaca_rate_limited_total, the count the orders\' 429s go to', async () => {
    const alpaca = new ScriptedOrderList([{ kind: 'rate_limited', retryAt: '2025-01-02T15:01:00.000Z' }]);
    const { run, metrics } = sync(new FakeOpenOrderStore([openRow(1)]), alpaca);

    await run();

    expect({ rateLimited: metrics.rateLimited, failures: metrics.failures }).toEqual({ rateLimited: 1, failures: [] });
  });

  it('counts no rate limit when every list call is answered', async () => {
    const { run, metrics } = sync(new FakeOpenOrderStore([openRow(1)]), new ScriptedOrderList([page([filledOrder(1)])]));

    await run();

    expect(metrics.rateLimited).toBe(0);
  });

  it('counts a stale write without logging an error or a reconciliation', async () => {
    const store = new FakeOpenOrderStore([openRow(1)], { 'ord-1': 'stale' });
    const { run, logger, metrics } = sync(store, new ScriptedOrderList([page([filledOrder(1)])]));

    const report = await run();

    expect({ stale: report.stale, failures: report.failures, changes: report.changes }).toEqual({ stale: 1, failures: 0, changes: 0 });
    expect([logger.lines.filter((line) => line.level === 'error').length, logger.withMessage('reconciliation').length, metrics.failures]).toEqual([0, 0, []]);
  });

  it('counts, logs and writes a divergent LEAN id once', async () => {
    const store = new FakeOpenOrderStore([openRow(1, { broker_order_id: 'lean-said-this' })]);
    const { run, logger, metrics } = sync(store, new ScriptedOrderList([page([filledOrder(1)])]));

    const report = await run();

    expect(report.divergences).toBe(1);
    expect(metrics.divergences).toBe(1);
    expect(logger.withMessage('route_divergence').map((line) => [line.level, line.fields.lean_order_id, line.fields.alpaca_order_id])).toEqual([['error', 'lean-said-this', 'alpaca-1']]);
    expect(store.writes[0]?.divergence).toEqual({ lean_order_id: 'lean-said-this', alpaca_order_id: 'alpaca-1', detected_at: NOW });
  });

  it('writes the other rows when one row fails', async () => {
    const store = new FakeOpenOrderStore([openRow(1), openRow(2), openRow(3)], { 'ord-2': new Error('throttled') });
    const { run, metrics } = sync(store, new ScriptedOrderList([page([filledOrder(1), filledOrder(2), filledOrder(3)])]));

    const report = await run();

    expect(store.writes.map((write) => write.clientOrderId)).toEqual(['ord-1', 'ord-3']);
    expect({ failures: report.failures, steps: metrics.failures }).toEqual({ failures: 1, steps: ['store_write'] });
  });

  it('logs one reconciliation line per change with actual, expected and fallback_reason', async () => {
    const row = openRow(1, { execution_route: 'alpaca_fallback', execution_adapter: 'alpaca', execution_fallback_reason: 'lean_timeout', broker_status: 'accepted', filled_qty: '0' });
    const { run, logger, metrics } = sync(new FakeOpenOrderStore([row]), new ScriptedOrderList([page([filledOrder(1)])]));

    await run();

    expect(logger.withMessage('reconciliation').map((line) => line.fields)).toEqual([
      expect.objectContaining({
        client_order_id: 'ord-1',
        actual: 'alpaca_fallback',
        expected: 'lean',
        fallback_reason: 'lean_timeout',
        from_status: 'accepted',
        to_status: 'filled',
        filled_qty: '1',
        filled_avg_price: '100',
      }),
    ]);
    expect(metrics.changed).toEqual(['filled']);
  });

  it('ends the run with a list_error and a metric when the list call fails', async () => {
    const { run, metrics } = sync(new FakeOpenOrderStore([openRow(1)]), new ScriptedOrderList([{ kind: 'error', detail: 'HTTP 500', httpStatus: 500 }]));

    const report = await run();

    expect({ stopped: report.stopped, steps: metrics.failures }).toEqual({ stopped: 'list_error', steps: ['list'] });
  });

  it('starts no call once its time budget is spent', async () => {
    const alpaca = new ScriptedOrderList([]);
    const logger = new RecordingLogger();
    const report = await runLifecycleSync({
      settings: { ...LIFECYCLE_SYNC_DEFAULTS, budgetMs: 1_000 },
      store: new FakeOpenOrderStore([openRow(1)]),
      unresolved: new FakeUnresolvedRows([], new FakeOpenOrderStore([])),
      alpaca,
      alpacaLookup: new FakeAlpacaBroker(),
      metrics: new RecordingLifecycleMetrics(),
      logger,
      // Every read of the monotonic clock takes 600 ms: the list call would start past the budget.
      clock: new FixedClock(NOW, 600),
    });

    expect({ calls: alpaca.queries.length, stopped: report.stopped }).toEqual({ calls: 0, stopped: 'deadline' });
  });
});

describe('runLifecycleSync: reconciliation first', () => {
  /** A row whose route invocation got no answer five minutes ago; Alpaca holds its order, still open. */
  const UNKNOWN_ROW = pendingRow({ client_order_id: 'ord-7', status: 'unknown', created_at: '2025-01-02T14:55:00.000Z' });
  const HELD_AT_ALPACA = found(brokerOrder(order({ client_order_id: 'ord-7' }), { status: 'new' }, 'alpaca-7'));

  function reconcilingWorld() {
    const openOrders = new FakeOpenOrderStore([]);
    const unresolved = new FakeUnresolvedRows([UNKNOWN_ROW], openOrders);
    const alpaca = new ScriptedOrderList([page([filledOrder(7)])]);
    const world = sync(openOrders, alpaca, {}, { unresolved, alpacaLookup: new FakeAlpacaBroker({ lookups: [HELD_AT_ALPACA] }) });
    return { ...world, openOrders, alpaca };
  }

  it('reconciles an unknown row to accepted and records its broker state in the same run', async () => {
    const { run, openOrders } = reconcilingWorld();

    const report = await run();

    expect(report.reconciled).toEqual([{ client_order_id: 'ord-7', status: 'accepted' }]);
    expect(openOrders.writes.map((write) => [write.clientOrderId, write.state.broker_status])).toEqual([['ord-7', 'filled']]);
    expect({ openOrders: report.openOrders, changes: report.changes }).toEqual({ openOrders: 1, changes: 1 });
  });

  it('counts the reconciled row with reconciled(status) and reports why reconciliation ended', async () => {
    const { run, metrics } = reconcilingWorld();

    const report = await run();

    expect([metrics.reconciledStatuses, report.reconcileStopped]).toEqual([['accepted'], 'complete']);
  });

  it('leaves the open orders a store read and a list call of the budget: reconciliation gets only the rest', async () => {
    const openOrders = new FakeOpenOrderStore([openRow(1)]);
    const unresolved = new FakeUnresolvedRows([UNKNOWN_ROW], openOrders);
    const alpaca = new ScriptedOrderList([page([filledOrder(1)])]);
    const { storeTimeoutMs, listTimeoutMs } = LIFECYCLE_SYNC_DEFAULTS;
    const { run } = sync(openOrders, alpaca, { budgetMs: storeTimeoutMs + listTimeoutMs + 50 }, { unresolved });

    const report = await run();

    expect({ listed: unresolved.listed, reconcileStopped: report.reconcileStopped, changes: report.changes }).toEqual({ listed: [], reconcileStopped: 'deadline', changes: 1 });
  });
});

describe('runLifecycleSync: what a run reports and logs', () => {
  it('reports what the run did, with no retryAt unless rate limited, and logs it as one lifecycle_sync line', async () => {
    const { run, logger } = sync(new FakeOpenOrderStore([openRow(1)]), new ScriptedOrderList([page([filledOrder(1)])]));

    const report = await run();

    expect(report).toStrictEqual({ openOrders: 1, pagesRead: 1, changes: 1, divergences: 0, stale: 0, failures: 0, stopped: 'complete', reconciled: [], reconcileStopped: 'complete' });
    expect(logger.withMessage('lifecycle_sync').map((line) => line.fields)).toEqual([report]);
  });

  it('asks Alpaca for a page with a correlation id of the run and the list timeout', async () => {
    const alpaca = new ScriptedOrderList([page([filledOrder(1)])]);
    const { run } = sync(new FakeOpenOrderStore([openRow(1)]), alpaca);

    await run();

    expect(alpaca.contexts).toEqual([{ correlationId: `lifecycle-sync-${NOW}`, timeoutMs: LIFECYCLE_SYNC_DEFAULTS.listTimeoutMs }]);
  });

  it('ends the run with store_error, an error line and a metric when the open rows cannot be read', async () => {
    const store = new FakeOpenOrderStore([openRow(1)]);
    store.listError = new Error('ThrottlingException: rate exceeded');
    const alpaca = new ScriptedOrderList([]);
    const { run, logger, metrics } = sync(store, alpaca);

    const report = await run();

    expect({ stopped: report.stopped, openOrders: report.openOrders, calls: alpaca.queries.length, steps: metrics.failures }).toEqual({ stopped: 'store_error', openOrders: 0, calls: 0, steps: ['store_read'] });
    expect(logger.withMessage('lifecycle_sync_store_failed').map((line) => [line.level, line.fields])).toEqual([
      ['error', { step: 'store_read', error: 'Error: ThrottlingException: rate exceeded' }],
    ]);
  });

  it('logs the list failure with its detail and HTTP status', async () => {
    const { run, logger } = sync(new FakeOpenOrderStore([openRow(1)]), new ScriptedOrderList([{ kind: 'error', detail: 'HTTP 500', httpStatus: 500 }]));

    await run();

    expect(logger.withMessage('lifecycle_sync_list_failed').map((line) => [line.level, line.fields])).toEqual([['error', { detail: 'HTTP 500', httpStatus: 500 }]]);
  });

  it('logs a failed row write with the step, the order id and the error', async () => {
    const store = new FakeOpenOrderStore([openRow(1), openRow(2)], { 'ord-2': new Error('throttled') });
    const { run, logger } = sync(store, new ScriptedOrderList([page([filledOrder(1), filledOrder(2)])]));

    await run();

    expect(logger.withMessage('lifecycle_sync_store_failed').map((line) => [line.level, line.fields])).toEqual([
      ['error', { step: 'store_write', client_order_id: 'ord-2', error: 'Error: throttled' }],
    ]);
  });

  it('names at most ten of the open rows the list does not hold, and counts them all', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => openRow(i + 1));
    const { run, logger } = sync(new FakeOpenOrderStore(rows), new ScriptedOrderList([page([])]));

    await run();

    expect(logger.withMessage('lifecycle_orders_not_listed')[0]?.fields).toEqual({
      count: 12,
      client_order_ids: ['ord-1', 'ord-2', 'ord-3', 'ord-4', 'ord-5', 'ord-6', 'ord-7', 'ord-8', 'ord-9', 'ord-10'],
      after: '2025-01-02T14:00:00.000Z',
    });
  });

  it("logs the route divergence with the row's order id and strategy", async () => {
    const { run, logger } = sync(new FakeOpenOrderStore([openRow(1, { broker_order_id: 'lean-said-this' })]), new ScriptedOrderList([page([filledOrder(1)])]));

    await run();

    expect(logger.withMessage('route_divergence')[0]?.fields).toEqual({ client_order_id: 'ord-1', strategy_id: 'momentum', lean_order_id: 'lean-said-this', alpaca_order_id: 'alpaca-1', detected_at: NOW });
  });

  it("counts no divergence when LEAN's id is Alpaca's", async () => {
    const { run, logger, metrics } = sync(new FakeOpenOrderStore([openRow(1)]), new ScriptedOrderList([page([filledOrder(1)])]));

    const report = await run();

    expect({ divergences: report.divergences, metric: metrics.divergences, lines: logger.withMessage('route_divergence') }).toEqual({ divergences: 0, metric: 0, lines: [] });
  });

  it('writes nothing for a row whose broker state has not moved', async () => {
    const row = openRow(1, { broker_status: 'filled', filled_qty: '1', filled_avg_price: '100', broker_updated_at: '2025-01-02T14:30:00.000000000Z' });
    const store = new FakeOpenOrderStore([row]);
    const { run } = sync(store, new ScriptedOrderList([page([filledOrder(1)])]));

    const report = await run();

    expect({ writes: store.writes, changes: report.changes, failures: report.failures, stopped: report.stopped }).toEqual({ writes: [], changes: 0, failures: 0, stopped: 'complete' });
  });
});

describe('runLifecycleSync: paging', () => {
  it('stops listing once every open row was found, even on a full page', async () => {
    const full = fullPageOfOthers('2025-01-02T14:10:00.000Z');
    const orders = full.kind === 'page' ? [filledOrder(1), ...full.orders.slice(1)] : [];
    const alpaca = new ScriptedOrderList([page(orders)]);
    const { run, logger } = sync(new FakeOpenOrderStore([openRow(1)]), alpaca);

    const report = await run();

    expect({ calls: alpaca.queries.length, stopped: report.stopped, notListed: logger.withMessage('lifecycle_orders_not_listed') }).toEqual({ calls: 1, stopped: 'complete', notListed: [] });
  });

  it('ends with a list_error, an error line and a metric when a full page restarts from the millisecond it started at', async () => {
    // The last order was submitted a millisecond after the page's start: the next page would start there again.
    const alpaca = new ScriptedOrderList([fullPageOfOthers('2025-01-02T14:00:00.001Z')]);
    const { run, logger, metrics } = sync(new FakeOpenOrderStore([openRow(1)]), alpaca);

    const report = await run();

    expect({ calls: alpaca.queries.length, stopped: report.stopped, steps: metrics.failures }).toEqual({ calls: 1, stopped: 'list_error', steps: ['list'] });
    expect(logger.withMessage('lifecycle_sync_list_failed').map((line) => [line.level, line.fields])).toEqual([
      ['error', { detail: 'the page ends where it started; cannot page on', after: '2025-01-02T14:00:00.000Z' }],
    ]);
  });

  it('ends with a list_error when the last order of a full page has no submission time to page on from', async () => {
    const full = fullPageOfOthers('2025-01-02T14:10:00.000Z');
    const orders = full.kind === 'page' ? [...full.orders.slice(0, 499), { ...full.orders[499]!, submitted_at: undefined }] : [];
    const alpaca = new ScriptedOrderList([page(orders)]);
    const { run, metrics } = sync(new FakeOpenOrderStore([openRow(1)]), alpaca);

    const report = await run();

    expect({ calls: alpaca.queries.length, stopped: report.stopped, steps: metrics.failures }).toEqual({ calls: 1, stopped: 'list_error', steps: ['list'] });
  });
});

describe('runLifecycleSync: the time budget', () => {
  it('reads no open rows once the budget is spent', async () => {
    const store = new FakeOpenOrderStore([openRow(1)]);
    // Every read of the monotonic clock takes 600 ms: the budget of 1 s is spent before the store read.
    const { run } = sync(store, new ScriptedOrderList([]), { budgetMs: 1_000 }, {}, new FixedClock(NOW, 600));

    const report = await run();

    expect({ reads: store.limits, stopped: report.stopped }).toEqual({ reads: [], stopped: 'deadline' });
  });

  it('starts no list call when the store read left less than a call needs', async () => {
    const clock = new ManualClock();
    const store = new FakeOpenOrderStore([openRow(1)]);
    store.onList = () => {
      clock.monotonic = 9_950;
    };
    const alpaca = new ScriptedOrderList([page([filledOrder(1)])]);
    const { run } = sync(store, alpaca, { budgetMs: 10_000 }, {}, clock);

    const report = await run();

    expect({ calls: alpaca.queries.length, stopped: report.stopped }).toEqual({ calls: 0, stopped: 'deadline' });
  });

  it('writes no row when the list call left less than a write needs', async () => {
    const clock = new ManualClock();
    const store = new FakeOpenOrderStore([openRow(1)]);
    const alpaca = new ScriptedOrderList([page([filledOrder(1)])]);
    alpaca.onList = () => {
      clock.monotonic = 9_950;
    };
    const { run } = sync(store, alpaca, { budgetMs: 10_000 }, {}, clock);

    const report = await run();

    expect({ writes: store.writes, stopped: report.stopped }).toEqual({ writes: [], stopped: 'deadline' });
  });
});

describe('runLifecycleSync: reconciliation asks the runner', () => {
  it('asks the runner for a row LEAN may hold when Alpaca holds none', async () => {
    const openOrders = new FakeOpenOrderStore([]);
    const row = pendingRow({ client_order_id: 'ord-7', status: 'unknown', created_at: '2025-01-02T14:55:00.000Z' });
    const runner = new FakeLeanRunner({ lookups: [found(brokerOrder(order({ client_order_id: 'ord-7' }), { status: 'new' }, 'alpaca-7'))] });
    const { run } = sync(openOrders, new ScriptedOrderList([page([filledOrder(7)])]), {}, {
      unresolved: new FakeUnresolvedRows([row], openOrders),
      alpacaLookup: new FakeAlpacaBroker({ lookups: [notFound] }),
      runnerLookup: runner,
    });

    const report = await run();

    expect({ asked: runner.lookupCalls.map((call) => call.clientOrderId), reconciled: report.reconciled }).toEqual({ asked: ['ord-7'], reconciled: [{ client_order_id: 'ord-7', status: 'accepted' }] });
  });
});

describe('loadLifecycleSyncSettings', () => {
  it('names an out-of-range value and uses its default', () => {
    const loaded = loadLifecycleSyncSettings({ TRADING_LIFECYCLE_SYNC_MAX_PAGES: '0', TRADING_LIFECYCLE_SYNC_MAX_ORDERS: '200' });

    expect({ pages: loaded.settings.maxPagesPerRun, orders: loaded.settings.maxOrdersPerRun }).toEqual({ pages: 4, orders: 200 });
    expect(loaded.problems).toEqual([expect.stringContaining('TRADING_LIFECYCLE_SYNC_MAX_PAGES="0"')]);
  });

  it('reads reconciliation’s delay and bound, refusing a delay no longer than the route timeout', () => {
    const loaded = loadLifecycleSyncSettings({ TRADING_RECONCILE_AFTER_MS: '20000', TRADING_ROUTE_TIMEOUT_MS: '20000', TRADING_RECONCILE_MAX_PER_RUN: '7' });

    expect({ after: loaded.settings.reconcileAfterMs, max: loaded.settings.reconcileMaxPerRun }).toEqual({ after: 60_000, max: 7 });
    expect(loaded.problems).toEqual([expect.stringContaining("TRADING_RECONCILE_AFTER_MS=20000 must exceed the route function's timeout")]);
  });

  it('takes the router’s notional tolerance for orders found by reconciliation', () => {
    expect(loadLifecycleSyncSettings({ TRADING_NOTIONAL_TOLERANCE: '0.05' }).settings.notionalTolerance).toBe(0.05);
  });

  it('reads how many open rows and how much time a run may take', () => {
    const loaded = loadLifecycleSyncSettings({ TRADING_LIFECYCLE_SYNC_MAX_OPEN_ROWS: '42', TRADING_LIFECYCLE_SYNC_BUDGET_MS: '30000' });

    expect({ rows: loaded.settings.maxOpenRows, budget: loaded.settings.budgetMs, problems: loaded.problems }).toEqual({ rows: 42, budget: 30_000, problems: [] });
  });
});
