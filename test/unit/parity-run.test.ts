import { describe, expect, it } from 'vitest';
import type { ParityQuery, ParityRow, ParityRowSource, ParityThresholds } from '../../functions/core/parity';
import {
  loadParityRunSettings,
  PARITY_PARAMETER_MAX_BYTES,
  PARITY_RUN_DEFAULTS,
  parityParameterName,
  parseStoredParityReport,
  runParity,
  storedParityReport,
  storedParityReportValue,
  type ParityMetrics,
  type ParityReportStore,
  type ParityRunDependencies,
  type StoredParityReport,
} from '../../functions/core/parity-run';
import { buildParityReport } from '../../functions/core/parity';
import { FixedClock, RecordingLogger } from '../support/fakes';
import { parityRow } from '../support/parity-rows';

const NOW = '2026-12-02T00:00:00.000Z';
const THRESHOLDS: ParityThresholds = { minOrdersPerCohort: 2, maxFillRateDifference: 0.05, maxMedianSlippageDifferenceBps: 5 };

/** An order of `strategy` that went to `route`, filled at `price` against a reference of 100. */
function row(strategy: string | undefined, route: 'lean' | 'alpaca', id: string, price = '100'): ParityRow {
  return parityRow({ client_order_id: id, strategy_id: strategy, execution_route: route, filled_avg_price: price });
}

/** Two routed and two non-routed fills of `strategy`; LEAN's at `leanPrice` (100.50 is 50 bps worse). */
function strategyRows(strategy: string, leanPrice = '100'): ParityRow[] {
  return [row(strategy, 'lean', `${strategy}-l1`, leanPrice), row(strategy, 'lean', `${strategy}-l2`, leanPrice), row(strategy, 'alpaca', `${strategy}-a1`), row(strategy, 'alpaca', `${strategy}-a2`)];
}

class FakeRows implements ParityRowSource {
  readonly queries: ParityQuery[] = [];
  constructor(
    private readonly rows: readonly ParityRow[],
    private readonly options: { truncated?: boolean; fail?: Error; hang?: boolean } = {},
  ) {}

  async read(query: ParityQuery, sink: (row: ParityRow) => void): Promise<{ truncated: boolean }> {
    this.queries.push(query);
    if (this.options.fail) throw this.options.fail;
    for (const each of this.rows) sink(each);
    if (this.options.hang) await new Promise(() => undefined);
    return { truncated: this.options.truncated ?? false };
  }
}

class FakeStore implements ParityReportStore {
  readonly values = new Map<string, string>();
  readonly reads: string[][] = [];
  failRead = false;
  failWriteOf: string | undefined;

  async readLast(strategyIds: readonly string[]): Promise<ReadonlyMap<string, string>> {
    this.reads.push([...strategyIds]);
    if (this.failRead) throw new Error('ThrottlingException');
    return new Map(strategyIds.flatMap((id) => (this.values.has(id) ? [[id, this.values.get(id)!] as const] : [])));
  }

  async write(strategyId: string, value: string): Promise<void> {
    if (strategyId === this.failWriteOf) throw new Error('AccessDeniedException');
    this.values.set(strategyId, value);
  }

  stored(strategyId: string): StoredParityReport | undefined {
    const text = this.values.get(strategyId);
    return text === undefined ? undefined : parseStoredParityReport(text);
  }
}

class RecordingParityMetrics implements ParityMetrics {
  readonly gauges: Record<string, number[]> = { reported: [], failing: [], regressions: [] };
  readonly differencesOf: { strategy: string; fillRatePoints: number | null; slippageBps: number | null }[] = [];
  strategiesReported(count: number): void {
    this.gauges.reported!.push(count);
  }
  strategiesFailing(count: number): void {
    this.gauges.failing!.push(count);
  }
  checkRegressions(count: number): void {
    this.gauges.regressions!.push(count);
  }
  differences(strategy: string, fillRatePoints: number | null, slippageBps: number | null): void {
    this.differencesOf.push({ strategy, fillRatePoints, slippageBps });
  }
}

function world(rows: FakeRows, overrides: Partial<Omit<ParityRunDependencies, 'store'>> & { store?: FakeStore } = {}) {
  const store = overrides.store ?? new FakeStore();
  const metrics = new RecordingParityMetrics();
  const logger = new RecordingLogger();
  const deps: ParityRunDependencies = {
    stage: 'paper',
    settings: PARITY_RUN_DEFAULTS,
    thresholds: THRESHOLDS,
    rows,
    store,
    metrics,
    logger,
    clock: new FixedClock(NOW),
    ...overrides,
  };
  return { deps, store, metrics, logger, run: () => runParity(deps) };
}

describe('the parity run', () => {
  it('reads every strategy of the last 7 days in one query and reports each one apart', async () => {
    const rows = new FakeRows([...strategyRows('momentum-1'), ...strategyRows('carry-2')]);
    const { run, logger } = world(rows);

    const result = await run();

    expect(rows.queries).toEqual([{ stage: 'paper', since: '2026-11-25T00:00:00.000Z', until: NOW }]);
    expect(result).toMatchObject({ strategiesReported: 2, strategiesFailing: 0, regressions: 0, stored: 2, stopped: 'complete', failures: [] });
    expect(logger.withMessage('parity_report').map((line) => [line.fields.strategy_id, line.fields.passed, line.fields.rows_read])).toEqual([
      ['carry-2', true, 4],
      ['momentum-1', true, 4],
    ]);
  });

  it('logs every check with its numbers on the parity_report line', async () => {
    const { run, logger } = world(new FakeRows(strategyRows('momentum-1')));

    await run();

    const [line] = logger.withMessage('parity_report');
    expect((line?.fields.checks as { name: string; passed: boolean; actual: number | null; threshold: number }[]).map(({ name, passed, actual, threshold }) => ({ name, passed, actual, threshold }))).toEqual([
      { name: 'divergent_ids', passed: true, actual: 0, threshold: 0 },
      { name: 'min_orders_routed', passed: true, actual: 2, threshold: 2 },
      { name: 'min_orders_non_routed', passed: true, actual: 2, threshold: 2 },
      { name: 'fill_rate_difference', passed: true, actual: 0, threshold: 0.05 },
      { name: 'median_slippage_difference', passed: true, actual: 0, threshold: 5 },
    ]);
  });

  it('leaves rows without a strategy_id out of every report, and counts them', async () => {
    const { run, logger } = world(new FakeRows([...strategyRows('momentum-1'), row(undefined, 'lean', 'anon-1')]));

    const result = await run();

    expect(result).toMatchObject({ rowsRead: 5, rowsWithoutStrategy: 1, strategiesReported: 1 });
    expect(logger.withMessage('parity_report')[0]?.fields.rows_read).toBe(4);
  });

  it("stores a strategy's first report without counting a regression, even when it fails", async () => {
    const { run, store, logger, metrics } = world(new FakeRows(strategyRows('momentum-1', '100.50')));

    const result = await run();

    expect(result).toMatchObject({ strategiesFailing: 1, regressions: 0 });
    expect(store.stored('momentum-1')?.passed).toBe(false);
    expect(logger.withMessage('parity_check_failed')).toEqual([]);
    expect(metrics.gauges).toEqual({ reported: [1], failing: [1], regressions: [0] });
  });

  it('counts and logs a check that passed in the stored report and fails now', async () => {
    const passing = world(new FakeRows(strategyRows('momentum-1')));
    await passing.run();
    const { run, store, logger, metrics } = world(new FakeRows(strategyRows('momentum-1', '100.50')));
    for (const [id, value] of passing.store.values) store.values.set(id, value);

    const result = await run();

    expect(result.regressions).toBe(1);
    expect(metrics.gauges.regressions).toEqual([1]);
    expect(logger.withMessage('parity_check_failed').map((line) => line.fields)).toEqual([
      {
        strategy_id: 'momentum-1',
        check: 'median_slippage_difference',
        actual: expect.closeTo(50, 6),
        threshold: 5,
        detail: expect.stringContaining('50.0 bps apart'),
        previous_generated_at: NOW,
      },
    ]);
    expect(logger.withMessage('parity_check_failed')[0]?.level).toBe('error');
  });

  it('does not count a check again while it stays failing', async () => {
    const { run, store } = world(new FakeRows(strategyRows('momentum-1', '100.50')));
    await run();
    const again = world(new FakeRows(strategyRows('momentum-1', '100.50')), { store });

    const result = await again.run();

    expect(result.regressions).toBe(0);
    expect(again.logger.withMessage('parity_check_failed')).toEqual([]);
  });

  it('counts no regression when the check passes again, and stores the passing report', async () => {
    const failing = world(new FakeRows(strategyRows('momentum-1', '100.50')));
    await failing.run();
    const { run, store } = world(new FakeRows(strategyRows('momentum-1')), { store: failing.store });

    const result = await run();

    expect(result.regressions).toBe(0);
    expect(store.stored('momentum-1')?.passed).toBe(true);
  });

  it('emits the routed minus non-routed differences per strategy: fill rate in points, median slippage in bps', async () => {
    const { run, metrics } = world(new FakeRows(strategyRows('momentum-1', '100.50')));

    await run();

    expect(metrics.differencesOf).toEqual([{ strategy: 'momentum-1', fillRatePoints: 0, slippageBps: expect.closeTo(50, 6) }]);
  });

  it('marks every report truncated when the row cap stopped the read, and counts no regression from partial figures', async () => {
    const passing = world(new FakeRows(strategyRows('momentum-1')));
    await passing.run();
    const { run, logger } = world(new FakeRows([row('momentum-1', 'lean', 'only-1')], { truncated: true }), { store: passing.store });

    const result = await run();

    expect(result).toMatchObject({ truncated: true, strategiesFailing: 1, regressions: 0 });
    expect(logger.withMessage('parity_run_truncated')).toHaveLength(1);
    expect(passing.store.stored('momentum-1')).toMatchObject({ truncated: true, passed: false });
  });

  it('reports at most maxStrategies strategies, those with the most rows, and names the others', async () => {
    const rows = [...strategyRows('big'), row('big', 'lean', 'big-l3'), ...strategyRows('mid'), row('small', 'lean', 'small-1')];
    const { run, store, logger } = world(new FakeRows(rows), { settings: { ...PARITY_RUN_DEFAULTS, maxStrategies: 2 } });

    const result = await run();

    expect(result).toMatchObject({ strategiesReported: 2, strategiesSkipped: 1 });
    expect([...store.values.keys()].sort()).toEqual(['big', 'mid']);
    expect(logger.withMessage('parity_strategies_skipped')[0]?.fields).toMatchObject({ count: 1, strategy_ids: ['small'] });
  });

  it('reads the stored reports of only the strategies it reports, in one call', async () => {
    const { run, store } = world(new FakeRows([...strategyRows('a'), ...strategyRows('b')]));

    await run();

    expect(store.reads).toEqual([['a', 'b']]);
  });

  it('emits no gauge and stores nothing when the rows cannot be read', async () => {
    const { run, store, metrics, logger } = world(new FakeRows([], { fail: new Error('ProvisionedThroughputExceededException') }));

    const result = await run();

    expect(result).toMatchObject({ stopped: 'read_error', failures: [{ step: 'read_rows', error: expect.stringContaining('ProvisionedThroughputExceededException') }] });
    expect(store.values.size).toBe(0);
    expect(metrics.gauges).toEqual({ reported: [], failing: [], regressions: [] });
    expect(logger.withMessage('parity_run_failed')).toHaveLength(1);
  });

  it('stops waiting for the rows when the run budget is spent', async () => {
    const { run, store } = world(new FakeRows(strategyRows('momentum-1'), { hang: true }), {
      settings: { ...PARITY_RUN_DEFAULTS, budgetMs: 4_300, storeTimeoutMs: 2_000 },
    });

    const result = await run();

    expect(result).toMatchObject({ stopped: 'deadline', failures: [{ step: 'read_rows' }] });
    expect(store.values.size).toBe(0);
  });

  it('keeps the stored reports as they are when they cannot be read, so the next run still compares with them', async () => {
    const { run, store, logger } = world(new FakeRows(strategyRows('momentum-1')));
    store.failRead = true;

    const result = await run();

    expect(result).toMatchObject({ stopped: 'store_error', stored: 0, failures: [{ step: 'store_read' }] });
    expect(logger.withMessage('parity_report')).toHaveLength(1);
  });

  it('stores the other strategies when one write fails, and lists the failure', async () => {
    const { run, store } = world(new FakeRows([...strategyRows('a'), ...strategyRows('b')]));
    store.failWriteOf = 'a';

    const result = await run();

    expect(result).toMatchObject({ stopped: 'store_error', stored: 1, failures: [{ step: 'store_write', strategy_id: 'a' }] });
    expect([...store.values.keys()]).toEqual(['b']);
  });

  it('compares with nothing, and replaces, a stored value it cannot read', async () => {
    const { run, store, logger } = world(new FakeRows(strategyRows('momentum-1', '100.50')));
    store.values.set('momentum-1', '{"not":"a report"}');

    const result = await run();

    expect(result.regressions).toBe(0);
    expect(logger.withMessage('parity_stored_report_unreadable')).toHaveLength(1);
    expect(store.stored('momentum-1')?.v).toBe(1);
  });

  it('reports nothing and stores nothing when the window has no strategy', async () => {
    const { run, store, metrics } = world(new FakeRows([]));

    const result = await run();

    expect(result).toMatchObject({ strategiesReported: 0, stopped: 'complete' });
    expect(store.reads).toEqual([]);
    expect(metrics.gauges).toEqual({ reported: [0], failing: [0], regressions: [0] });
  });
});

describe('the stored report', () => {
  const LONGEST_ID = '🚀'.repeat(64);
  const report = buildParityReport(strategyRows(LONGEST_ID, '100.50'), { stage: 'paper', strategyId: LONGEST_ID, since: '2026-11-25T00:00:00.000Z', until: NOW }, THRESHOLDS, new Date(NOW));

  it('fits the Standard tier for the longest strategy id an order may carry', () => {
    const value = storedParityReportValue(storedParityReport(LONGEST_ID, report));

    expect(Buffer.byteLength(value, 'utf8')).toBeLessThan(PARITY_PARAMETER_MAX_BYTES / 2);
  });

  it('keeps each check and the headline figures, and reads back as written', () => {
    const stored = storedParityReport(LONGEST_ID, report);

    expect(parseStoredParityReport(storedParityReportValue(stored))).toEqual(stored);
    expect(stored.checks.map((check) => [check.name, check.passed])).toEqual([
      ['divergent_ids', true],
      ['min_orders_routed', true],
      ['min_orders_non_routed', true],
      ['fill_rate_difference', true],
      ['median_slippage_difference', false],
    ]);
    expect(stored.routed).toEqual({ orders: 2, fill_rate: 1, median_slippage_bps: expect.closeTo(50, 6), divergent_ids: 0 });
  });

  it('lives under parity/ with the same one-to-one segment as the strategy parameter', () => {
    expect(parityParameterName('/lean-router/paper/', 'momentum-1')).toBe('/lean-router/paper/parity/momentum-1');
    expect(parityParameterName('/lean-router/paper/', 'desk/a')).toBe(`/lean-router/paper/parity/_b64_${Buffer.from('desk/a').toString('base64url')}`);
  });
});

describe('the run settings', () => {
  it('defaults to a 7-day window, 50 strategies and a one-minute budget', () => {
    expect(loadParityRunSettings({})).toEqual({ settings: PARITY_RUN_DEFAULTS, problems: [] });
    expect(PARITY_RUN_DEFAULTS).toMatchObject({ windowMs: 604_800_000, maxStrategies: 50, budgetMs: 60_000 });
  });

  it('reads TRADING_PARITY_WINDOW_MS and names an invalid one', () => {
    expect(loadParityRunSettings({ TRADING_PARITY_WINDOW_MS: '86400000' }).settings.windowMs).toBe(86_400_000);
    const { settings, problems } = loadParityRunSettings({ TRADING_PARITY_MAX_STRATEGIES: '0' });
    expect(settings.maxStrategies).toBe(50);
    expect(problems).toEqual([expect.stringContaining('TRADING_PARITY_MAX_STRATEGIES')]);
  });
});
