import { describe, expect, it } from 'vitest';
import type { BrokerOrder } from '../../functions/core/execution';
import {
  LIFECYCLE_SYNC_DEFAULTS,
  loadLifecycleSyncSettings,
  runLifecycleSync,
  type LifecycleMetrics,
  type LifecycleSyncDependencies,
  type LifecycleSyncFailureStep,
  type LifecycleSyncSettings,
} from '../../functions/core/lifecycle-sync';
import type { BrokerOrderList, OrderListOutcome, OrderListQuery } from '../../functions/core/ports';
import type { BrokerState, BrokerStateWrite, OpenOrder, OpenOrderStore, RouteDivergence } from '../../functions/core/provenance';
import { FixedClock, RecordingLogger } from '../support/fakes';

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
  /** Client order ids whose write answers `stale` or throws. */
  constructor(
    private readonly rows: readonly OpenOrder[],
    private readonly answers: Readonly<Record<string, BrokerStateWrite | Error>> = {},
  ) {}

  async listOpenOrders(limit: number): Promise<OpenOrder[]> {
    this.limits.push(limit);
    return this.rows.slice(0, limit);
  }

  async recordBrokerState(clientOrderId: string, state: BrokerState, divergence: RouteDivergence | undefined): Promise<BrokerStateWrite> {
    const answer = this.answers[clientOrderId] ?? 'recorded';
    if (answer instanceof Error) throw answer;
    if (answer === 'recorded') this.writes.push({ clientOrderId, state, divergence });
    return answer;
  }
}

/** Answers list calls from a script, one outcome per call; a page when the script runs out. */
class ScriptedOrderList implements BrokerOrderList {
  readonly queries: OrderListQuery[] = [];
  constructor(private readonly script: OrderListOutcome[]) {}

  async listOrders(query: OrderListQuery): Promise<OrderListOutcome> {
    this.queries.push(query);
    return this.script.shift() ?? { kind: 'page', orders: [] };
  }
}

class RecordingLifecycleMetrics implements LifecycleMetrics {
  readonly changed: string[] = [];
  readonly failures: LifecycleSyncFailureStep[] = [];
  divergences = 0;
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

function sync(store: OpenOrderStore, alpaca: BrokerOrderList, settings: Partial<LifecycleSyncSettings> = {}) {
  const logger = new RecordingLogger();
  const metrics = new RecordingLifecycleMetrics();
  const deps: LifecycleSyncDependencies = {
    settings: { ...LIFECYCLE_SYNC_DEFAULTS, ...settings },
    store,
    alpaca,
    metrics,
    logger,
    clock: new FixedClock(NOW),
  };
  return { logger, metrics, run: () => runLifecycleSync(deps) };
}

describe('runLifecycleSync', () => {
  it('does not call Alpaca when no order is open', async () => {
    const alpaca = new ScriptedOrderList([]);
    const { run } = sync(new FakeOpenOrderStore([]), alpaca);

    const report = await run();

    expect({ calls: alpaca.queries.length, stopped: report.stopped }).toEqual({ calls: 0, stopped: 'no_open_orders' });
  });

  it('reads 500 open orders with one list call from a millisecond before the oldest submission', async () => {
    const rows = Array.from({ length: 500 }, (_, i) => openRow(i));
    const alpaca = new ScriptedOrderList([page(rows.map((_, i) => filledOrder(i)))]);
    const store = new FakeOpenOrderStore(rows);
    const { run } = sync(store, alpaca);

    const report = await run();

    expect(alpaca.queries).toEqual([{ status: 'all', after: '2025-01-02T13:59:59.999Z', direction: 'asc', limit: 500 }]);
    expect({ changes: report.changes, writes: store.writes.length, stopped: report.stopped }).toEqual({ changes: 500, writes: 500, stopped: 'complete' });
  });

  it('reads at most maxOrdersPerRun open rows', async () => {
    const store = new FakeOpenOrderStore([openRow(1)]);
    const { run } = sync(store, new ScriptedOrderList([]), { maxOrdersPerRun: 42 });

    await run();

    expect(store.limits).toEqual([42]);
  });

  it('pages on from a millisecond before the last submission and stops at maxPagesPerRun', async () => {
    const alpaca = new ScriptedOrderList([fullPageOfOthers('2025-01-02T14:10:00.000123Z'), fullPageOfOthers('2025-01-02T14:20:00.000Z'), page([filledOrder(1)])]);
    const { run } = sync(new FakeOpenOrderStore([openRow(1)]), alpaca, { maxPagesPerRun: 2 });

    const report = await run();

    expect(alpaca.queries.map((query) => query.after)).toEqual(['2025-01-02T14:00:00.999Z', '2025-01-02T14:09:59.999Z']);
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
      alpaca,
      metrics: new RecordingLifecycleMetrics(),
      logger,
      // Every read of the monotonic clock takes 600 ms: the list call would start past the budget.
      clock: new FixedClock(NOW, 600),
    });

    expect({ calls: alpaca.queries.length, stopped: report.stopped }).toEqual({ calls: 0, stopped: 'deadline' });
  });
});

describe('loadLifecycleSyncSettings', () => {
  it('names an out-of-range value and uses its default', () => {
    const loaded = loadLifecycleSyncSettings({ TRADING_LIFECYCLE_SYNC_MAX_PAGES: '0', TRADING_LIFECYCLE_SYNC_MAX_ORDERS: '200' });

    expect({ pages: loaded.settings.maxPagesPerRun, orders: loaded.settings.maxOrdersPerRun }).toEqual({ pages: 4, orders: 200 });
    expect(loaded.problems).toEqual([expect.stringContaining('TRADING_LIFECYCLE_SYNC_MAX_PAGES="0"')]);
  });
});
