import { describe, expect, it } from 'vitest';
import {
  buildParityReport,
  DEFAULT_PARITY_THRESHOLDS,
  nearestRank,
  parityCohort,
  slippageBps,
  type ParityCheckName,
  type ParityReport,
  type ParityRow,
  type ParityThresholds,
} from '../../functions/core/parity';
import { DEFAULT_PARITY_MAX_ROWS, loadParityConfig } from '../../functions/core/parity-config';
import { PARITY_ROW_CREATED_AT, parityRow } from '../support/parity-rows';

const QUERY = { stage: 'paper', strategyId: 'momentum-1', since: '2026-11-25T00:00:00.000Z', until: '2026-12-02T00:00:00.000Z' };
const NOW = new Date('2026-12-02T00:00:00.000Z');
/** When every row here was created, unless a test says otherwise. */
const CREATED = PARITY_ROW_CREATED_AT;
const LOOSE: ParityThresholds = { minOrdersPerCohort: 1, maxFillRateDifference: 0.05, maxMedianSlippageDifferenceBps: 5 };

function report(rows: ParityRow[], thresholds: ParityThresholds = LOOSE): ParityReport {
  return buildParityReport(rows, QUERY, thresholds, NOW);
}

function check(result: ParityReport, name: ParityCheckName) {
  return result.checks.find((each) => each.name === name);
}

/** `count` rows of one cohort, `filled` of them filled. */
function cohort(route: 'lean' | 'alpaca', count: number, filled: number): ParityRow[] {
  return Array.from({ length: count }, (_, index) =>
    parityRow({ client_order_id: `${route}-${index}`, execution_route: route, ...(index < filled ? {} : { broker_status: 'canceled', filled_qty: '0', filled_avg_price: undefined, filled_at: undefined }) }),
  );
}

describe('slippage in basis points', () => {
  it('is positive for a buy filled above the reference price', () => {
    expect(slippageBps('buy', '100.10', '100')).toBeCloseTo(10, 9);
  });

  it('is positive for a sell filled below the reference price', () => {
    expect(slippageBps('sell', '99.90', '100')).toBeCloseTo(10, 9);
  });

  it('is negative for a sell filled above the reference price', () => {
    expect(slippageBps('sell', '100.05', '100')).toBeCloseTo(-5, 9);
  });

  it('cannot be measured against a reference price that is not a positive decimal', () => {
    expect(slippageBps('buy', '100', '0')).toBeUndefined();
  });
});

describe('nearest-rank percentiles', () => {
  it('take the lower middle value as the median of an even count', () => {
    expect(nearestRank([1, 2, 3, 4], 50)).toBe(2);
  });

  it('take the 19th of 20 values as p95', () => {
    expect(nearestRank(Array.from({ length: 20 }, (_, index) => index + 1), 95)).toBe(19);
  });

  it('take the only value of one', () => {
    expect(nearestRank([7], 95)).toBe(7);
  });

  it('are null for no values', () => {
    expect(nearestRank([], 50)).toBeNull();
  });
});

describe('the cohorts', () => {
  it.each([
    ['lean', 'lean', 'routed'],
    ['alpaca_fallback', 'lean', 'routed'],
    ['alpaca', 'alpaca', 'non_routed'],
    ['alpaca_gated', 'lean', 'non_routed'],
    ['none', 'lean', 'routed'],
    ['none', 'alpaca', 'non_routed'],
  ] as const)('put route %s with expected adapter %s in the %s cohort', (route, expected, cohortName) => {
    expect(parityCohort({ execution_route: route, execution_expected_adapter: expected })).toBe(cohortName);
  });

  it('leave a pending row out of both cohorts and count it apart', () => {
    const result = report([parityRow({ execution_route: undefined, status: 'pending' })]);

    expect(result).toMatchObject({ rowsRead: 1, pendingExcluded: 1, routed: { orders: 0 }, nonRouted: { orders: 0 } });
  });

  it('count a fallback among the routed orders and fallbacks, but not in the fill rate', () => {
    const result = report([parityRow({ execution_route: 'lean' }), parityRow({ execution_route: 'alpaca_fallback', broker_status: 'canceled' })]);

    expect(result.routed).toMatchObject({ orders: 2, accepted: 2, fallbacks: 1, fillRate: 1 });
  });

  it('count a LEAN failure that fell back without a broker order as a routed fallback', () => {
    const result = report([parityRow({ execution_route: 'none', status: 'failed', execution_fallback_count: 1 })]);

    expect(result.routed).toMatchObject({ orders: 1, accepted: 0, fallbacks: 1 });
  });

  it('count unknowns, rejections, reviews and divergent ids per cohort', () => {
    const result = report([
      parityRow({ execution_route: 'none', status: 'unknown', review_required: true }),
      parityRow({ execution_route: 'alpaca', status: 'rejected' }),
      parityRow({ route_divergence: { lean_order_id: 'l-1', alpaca_order_id: 'a-1', detected_at: CREATED } }),
    ]);

    expect(result.routed).toMatchObject({ unknowns: 1, reviews: 1, divergentIds: 1 });
    expect(result.nonRouted).toMatchObject({ rejected: 1, unknowns: 0, divergentIds: 0 });
  });
});

describe('the figures of a cohort', () => {
  it('are null, never NaN, for an empty cohort', () => {
    const { nonRouted } = report([parityRow()]);

    expect(nonRouted).toEqual({
      orders: 0,
      accepted: 0,
      rejected: 0,
      fillRate: null,
      medianTimeToFillMs: null,
      p95TimeToFillMs: null,
      medianSlippageBps: null,
      slippageSamples: 0,
      withoutReferencePrice: 0,
      fallbacks: 0,
      unknowns: 0,
      reviews: 0,
      divergentIds: 0,
    });
  });

  it('are the one order of a cohort of one', () => {
    const { routed } = report([parityRow({ side: 'sell', filled_avg_price: '99.95' })]);

    expect(routed).toMatchObject({ orders: 1, fillRate: 1, medianTimeToFillMs: 2_000, p95TimeToFillMs: 2_000, slippageSamples: 1 });
    expect(routed.medianSlippageBps).toBeCloseTo(5, 9);
  });

  it('count fills without a reference price apart from the slippage samples', () => {
    const { routed } = report([parityRow(), parityRow({ reference_price: undefined, filled_avg_price: '250' })]);

    expect(routed).toMatchObject({ slippageSamples: 1, withoutReferencePrice: 1, medianSlippageBps: 0 });
  });

  it('take the fill rate as filled over accepted', () => {
    expect(report(cohort('lean', 4, 3)).routed.fillRate).toBe(0.75);
  });

  it('take times to fill from filled_at less created_at, median and p95 by nearest rank', () => {
    const seconds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
    const rows = seconds.map((second) => parityRow({ filled_at: new Date(Date.parse(CREATED) + second * 1_000).toISOString() }));

    expect(report(rows).routed).toMatchObject({ medianTimeToFillMs: 10_000, p95TimeToFillMs: 19_000 });
  });
});

describe('the checks', () => {
  it('pass, and the report with them, for two cohorts alike', () => {
    const result = report([...cohort('lean', 30, 30), ...cohort('alpaca', 30, 30)], DEFAULT_PARITY_THRESHOLDS);

    expect(result.checks.map((each) => [each.name, each.passed])).toEqual([
      ['divergent_ids', true],
      ['min_orders_routed', true],
      ['min_orders_non_routed', true],
      ['fill_rate_difference', true],
      ['median_slippage_difference', true],
    ]);
    expect(result.passed).toBe(true);
  });

  it('fail the report for one divergent id, naming the order', () => {
    const result = report([parityRow({ client_order_id: 'div-1', route_divergence: { lean_order_id: 'l', alpaca_order_id: 'a', detected_at: CREATED } }), parityRow({ execution_route: 'alpaca' })]);

    expect(check(result, 'divergent_ids')).toMatchObject({ passed: false, actual: 1, threshold: 0 });
    expect(check(result, 'divergent_ids')?.detail).toContain('div-1');
    expect(result.passed).toBe(false);
  });

  it.each([
    [29, false],
    [30, true],
  ])('count %i routed orders against a minimum of 30: passed %s', (orders, passed) => {
    const result = report([...cohort('lean', orders, orders), ...cohort('alpaca', 30, 30)], DEFAULT_PARITY_THRESHOLDS);

    expect(check(result, 'min_orders_routed')).toMatchObject({ passed, actual: orders, threshold: 30 });
  });

  it.each([
    [29, false],
    [30, true],
  ])('count %i non-routed orders against a minimum of 30: passed %s', (orders, passed) => {
    const result = report([...cohort('lean', 30, 30), ...cohort('alpaca', orders, orders)], DEFAULT_PARITY_THRESHOLDS);

    expect(check(result, 'min_orders_non_routed')).toMatchObject({ passed, actual: orders, threshold: 30 });
  });

  it.each([
    [18, true],
    [17, false],
  ])('compare a routed fill rate of 19/20 with a non-routed %i/20 against 5 points: passed %s', (filled, passed) => {
    const result = report([...cohort('lean', 20, 19), ...cohort('alpaca', 20, filled)]);

    expect(check(result, 'fill_rate_difference')).toMatchObject({ passed, threshold: 0.05 });
  });

  it('fails the fill-rate check when a cohort has no accepted order', () => {
    const result = report(cohort('lean', 3, 3));

    expect(check(result, 'fill_rate_difference')).toMatchObject({ passed: false, actual: null, detail: 'no accepted order executed in the non-routed cohort, so no fill rate' });
  });

  it.each([
    ['100.05', true],
    ['100.0501', false],
  ])('compare a routed median fill of %s with a non-routed 100 against 5 bps: passed %s', (fill, passed) => {
    const result = report([parityRow({ filled_avg_price: fill }), parityRow({ execution_route: 'alpaca' })]);

    expect(check(result, 'median_slippage_difference')).toMatchObject({ passed, threshold: 5 });
  });

  it('fails the slippage check when no fill of a cohort has a reference price', () => {
    const result = report([parityRow(), parityRow({ execution_route: 'alpaca', reference_price: undefined })]);

    expect(check(result, 'median_slippage_difference')).toMatchObject({ passed: false, actual: null });
  });

  it('do not pass a truncated report even when every check passes', () => {
    const result = buildParityReport([parityRow(), parityRow({ execution_route: 'alpaca' })], QUERY, LOOSE, NOW, { truncated: true });

    expect(result.checks.every((each) => each.passed)).toBe(true);
    expect(result).toMatchObject({ truncated: true, passed: false });
  });
});

describe('the parity settings', () => {
  it('default to 30 orders, 5 points of fill rate, 5 bps and 200000 rows', () => {
    expect(loadParityConfig({})).toEqual({ thresholds: DEFAULT_PARITY_THRESHOLDS, maxRows: DEFAULT_PARITY_MAX_ROWS, problems: [] });
  });

  it('read each threshold from its variable, decimals included', () => {
    const config = loadParityConfig({ TRADING_PARITY_MIN_ORDERS: '50', TRADING_PARITY_MAX_FILL_RATE_DIFF: '0.02', TRADING_PARITY_MAX_SLIPPAGE_DIFF_BPS: '2.5', TRADING_PARITY_MAX_ROWS: '1000' });

    expect(config).toEqual({ thresholds: { minOrdersPerCohort: 50, maxFillRateDifference: 0.02, maxMedianSlippageDifferenceBps: 2.5 }, maxRows: 1000, problems: [] });
  });

  it('keep the default of an invalid value and name it', () => {
    const config = loadParityConfig({ TRADING_PARITY_MAX_FILL_RATE_DIFF: '5%' });

    expect(config.thresholds.maxFillRateDifference).toBe(0.05);
    expect(config.problems).toEqual([expect.stringMatching(/^TRADING_PARITY_MAX_FILL_RATE_DIFF="5%" is invalid/)]);
  });
});
