import { describe, expect, it } from 'vitest';
import type { BrokerOrder } from '../../functions/core/execution';
import {
  LIFECYCLE_SYNC_DEFAULTS,
  runLifecycleSync,
  type LifecycleSyncReport,
} from '../../functions/core/lifecycle-sync';
import type { ReconciliationStore } from '../../functions/core/order-reconciliation';
import type { BrokerOrderList, OrderListOutcome } from '../../functions/core/ports';
import type { BrokerState, BrokerStateWrite, OpenOrder, OpenOrderStore, ProvenanceRow, RouteDivergence } from '../../functions/core/provenance';
import { FakeAlpacaBroker, FakeStrategyControl, FixedClock, RecordingLifecycleMetrics, RecordingLogger } from '../support/fakes';

const NOW = '2025-01-02T15:00:00.000Z';
const SUBMITTED = '2025-01-02T14:00:00.000Z';

/** A LEAN-routed open row whose acknowledged id is `lean-said-this`, while Alpaca holds `alpaca-1`. */
function divergentRow(overrides: Partial<OpenOrder> = {}): OpenOrder {
  return {
    client_order_id: 'ord-1',
    broker_order_id: 'lean-said-this',
    execution_adapter: 'lean',
    execution_route: 'lean',
    execution_expected_adapter: 'lean',
    strategy_id: 'momentum',
    open_since: SUBMITTED,
    ...overrides,
  };
}

const ALPACA_ORDER: BrokerOrder = {
  id: 'alpaca-1',
  client_order_id: 'ord-1',
  status: 'filled',
  filled_qty: '1',
  filled_avg_price: '100',
  filled_at: '2025-01-02T14:30:00.000000Z',
  submitted_at: SUBMITTED,
  updated_at: '2025-01-02T14:30:00.000000Z',
  raw: {},
};

/** The open rows, and what the sync wrote on them; a closed state takes its row out, as the index does. */
class OpenRows implements OpenOrderStore {
  readonly writes: { clientOrderId: string; state: BrokerState; divergence: RouteDivergence | undefined }[] = [];
  constructor(private rows: OpenOrder[]) {}

  async listOpenOrders(): Promise<OpenOrder[]> {
    return [...this.rows];
  }

  async recordBrokerState(clientOrderId: string, state: BrokerState, divergence: RouteDivergence | undefined): Promise<BrokerStateWrite> {
    this.writes.push({ clientOrderId, state, divergence });
    this.rows = this.rows.flatMap((row) => {
      if (row.client_order_id !== clientOrderId) return [row];
      if (!state.open) return [];
      const { open: _open, submitted_at: _submitted, ...fields } = state;
      return [{ ...row, ...fields, ...(divergence === undefined ? {} : { route_divergence: divergence }) }];
    });
    return 'recorded';
  }
}

const NOTHING_UNRESOLVED: ReconciliationStore = {
  listUnresolved: async (): Promise<ProvenanceRow[]> => [],
  resolve: async () => {
    throw new Error('nothing to resolve');
  },
};

/** Alpaca lists the order as `answers` says, one answer per run (the last one from then on). */
function alpacaListing(...answers: BrokerOrder[]): BrokerOrderList {
  return {
    listOrders: async (): Promise<OrderListOutcome> => ({ kind: 'page', orders: [answers.length > 1 ? answers.shift()! : answers[0]!] }),
  };
}

function world(row: OpenOrder = divergentRow(), alpaca: BrokerOrderList = alpacaListing(ALPACA_ORDER)) {
  const store = new OpenRows([row]);
  const strategies = new FakeStrategyControl();
  const metrics = new RecordingLifecycleMetrics();
  const logger = new RecordingLogger();
  const run = (): Promise<LifecycleSyncReport> =>
    runLifecycleSync({
      settings: LIFECYCLE_SYNC_DEFAULTS,
      store,
      unresolved: NOTHING_UNRESOLVED,
      alpaca,
      alpacaLookup: new FakeAlpacaBroker(),
      strategies,
      metrics,
      logger,
      clock: new FixedClock(NOW),
    });
  return { store, strategies, metrics, logger, run };
}

describe('the lifecycle sync blocking a strategy on a divergent id', () => {
  it("blocks the row's strategy, naming the order and both ids, set by the lifecycle sync", async () => {
    const { run, strategies } = world();

    await run();

    expect(strategies.blocks).toEqual([{ strategyId: 'momentum', reason: 'route_divergence: ord-1 LEAN lean-said-this vs Alpaca alpaca-1', setBy: 'lifecycle-sync' }]);
  });

  it('records the divergence on the row once the strategy is blocked', async () => {
    const { run, store } = world();

    const report = await run();

    expect([report.divergences, store.writes[0]?.divergence?.lean_order_id]).toEqual([1, 'lean-said-this']);
  });

  it('blocks nothing for a divergent row without a strategy_id, and still records the divergence', async () => {
    const { strategy_id: _none, ...withoutStrategy } = divergentRow();
    const { run, strategies, store } = world(withoutStrategy);

    await run();

    expect([strategies.blocks, store.writes.length]).toEqual([[], 1]);
  });

  it('blocks nothing when LEAN and Alpaca agree on the id', async () => {
    const { run, strategies } = world(divergentRow({ broker_order_id: 'alpaca-1' }));

    await run();

    expect(strategies.blocks).toEqual([]);
  });

  it('logs and counts a refused block as strategy_block, and leaves the row unwritten for the next run', async () => {
    const { run, strategies, store, metrics, logger } = world();
    strategies.failWrites = true;

    const report = await run();

    expect([report.failures, report.divergences, store.writes.length, metrics.failures]).toEqual([1, 0, 0, ['strategy_block']]);
    expect(logger.withMessage('lifecycle_sync_strategy_block_failed').map((line) => line.fields.strategy_id)).toEqual(['momentum']);
  });

  it('blocks on the next run after a refused block, then records the divergence', async () => {
    const { run, strategies, store } = world();
    strategies.failWrites = true;
    await run();
    strategies.failWrites = false;

    const report = await run();

    expect([strategies.blocks.length, report.divergences, store.writes.length]).toEqual([1, 1, 1]);
  });

  it('never blocks twice for one divergence once the row records it', async () => {
    const { filled_avg_price: _price, filled_at: _at, ...unfilled } = ALPACA_ORDER;
    const accepted: BrokerOrder = { ...unfilled, status: 'accepted', filled_qty: '0', updated_at: '2025-01-02T14:10:00.000000Z' };
    const { run, strategies, store } = world(divergentRow(), alpacaListing(accepted, ALPACA_ORDER));
    await run();

    await run();

    expect([strategies.blocks.length, store.writes.map((write) => write.state.broker_status)]).toEqual([1, ['accepted', 'filled']]);
  });
});
