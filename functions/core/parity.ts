import type { ProvenanceRow } from './provenance';

/**
 * The parity report: the orders the router sent to LEAN (the routed cohort) against the orders it
 * sent to Alpaca (the non-routed cohort) over a window, with checks that must pass before a
 * strategy may use LEAN. Pure: rows come in one at a time from whatever reads them.
 *
 * How rows are counted (docs/operations.md, "Parity report", says the same):
 * - cohort: `execution_route` `lean` and `alpaca_fallback` are routed; `alpaca` and `alpaca_gated`
 *   are non-routed; `none` (no broker took the order) goes by `execution_expected_adapter`, the
 *   router's intent. Rows without a route (still `pending`) are left out and counted apart.
 * - fallbacks: routed rows whose order fell back from LEAN (`alpaca_fallback`, or `none` with a
 *   fallback count): in the cohort's orders, never in its execution figures, which measure
 *   Alpaca's execution, not LEAN's.
 * - execution figures (fill rate, times to fill, slippage) read only the rows executed on the
 *   cohort's own path: `lean` for routed, `alpaca` and `alpaca_gated` for non-routed.
 * - fill rate: filled (`broker_status` `filled`) over accepted, of those rows.
 * - time to fill: `filled_at` less `created_at`, for filled rows that have `filled_at`.
 * - slippage: basis points of the average fill price against `reference_price`, signed by side so
 *   that positive is worse for the trader; a filled row without `reference_price` is counted in
 *   `withoutReferencePrice` instead.
 * - unknowns: status `unknown`; reviews: `review_required`; divergent ids: `route_divergence` set.
 */

/** The attributes the report reads; the by-strategy index projects exactly these. */
export const PARITY_ROW_FIELDS = [
  'client_order_id',
  'created_at',
  'strategy_id',
  'execution_route',
  'execution_expected_adapter',
  'execution_fallback_count',
  'status',
  'side',
  'reference_price',
  'review_required',
  'route_divergence',
  'broker_status',
  'filled_qty',
  'filled_avg_price',
  'filled_at',
] as const satisfies readonly (keyof ProvenanceRow)[];

/** One provenance row as the report reads it. */
export type ParityRow = Pick<ProvenanceRow, (typeof PARITY_ROW_FIELDS)[number]>;

/** `routed`: the router meant the order for LEAN and took that path or fell back; `non_routed`: sent to Alpaca. */
export type ParityCohort = 'routed' | 'non_routed';

/** One cohort's figures. Figures over nothing are null, never NaN. */
export interface CohortFigures {
  /** Every decided row of the cohort, fallbacks and `none` included. */
  readonly orders: number;
  readonly accepted: number;
  readonly rejected: number;
  /** Filled over accepted, of the rows executed on the cohort's own path; null without an accepted one. */
  readonly fillRate: number | null;
  /** Nearest-rank median of `filled_at - created_at`, milliseconds. */
  readonly medianTimeToFillMs: number | null;
  readonly p95TimeToFillMs: number | null;
  /** Nearest-rank median slippage in basis points, positive = worse for the trader. */
  readonly medianSlippageBps: number | null;
  readonly slippageSamples: number;
  /** Fills that could not be measured: no (valid) `reference_price` on the row. */
  readonly withoutReferencePrice: number;
  readonly fallbacks: number;
  readonly unknowns: number;
  readonly reviews: number;
  readonly divergentIds: number;
}

/** What the checks compare against; defaults in {@link DEFAULT_PARITY_THRESHOLDS}. */
export interface ParityThresholds {
  /** Orders each cohort needs before its figures mean anything (`TRADING_PARITY_MIN_ORDERS`). */
  readonly minOrdersPerCohort: number;
  /** Largest absolute difference of the fill rates, as a fraction: 0.05 = 5 points (`TRADING_PARITY_MAX_FILL_RATE_DIFF`). */
  readonly maxFillRateDifference: number;
  /** Largest absolute difference of the median slippages, basis points (`TRADING_PARITY_MAX_SLIPPAGE_DIFF_BPS`). */
  readonly maxMedianSlippageDifferenceBps: number;
}

/** The thresholds docs/configuration.md lists; functions/core/parity-config.ts reads them from the environment. */
export const DEFAULT_PARITY_THRESHOLDS: ParityThresholds = {
  minOrdersPerCohort: 30,
  maxFillRateDifference: 0.05,
  maxMedianSlippageDifferenceBps: 5,
};

/** The checks, in the order the report lists them. */
export type ParityCheckName = 'divergent_ids' | 'min_orders_routed' | 'min_orders_non_routed' | 'fill_rate_difference' | 'median_slippage_difference';

/** One check: its verdict and the numbers it was made from. `actual` is null when there was nothing to measure (a failure). */
export interface ParityCheck {
  readonly name: ParityCheckName;
  readonly passed: boolean;
  readonly actual: number | null;
  readonly threshold: number;
  /** The verdict in words, numbers included. */
  readonly detail: string;
}

/** Which rows a report covers: a stage, optionally one strategy, `created_at` in [since, until]. */
export interface ParityQuery {
  readonly stage: string;
  readonly strategyId?: string;
  /** ISO-8601 UTC, inclusive. */
  readonly since: string;
  /** ISO-8601 UTC, inclusive. */
  readonly until: string;
}

/** The report: both cohorts, every check, and the verdict. */
export interface ParityReport {
  readonly stage: string;
  readonly strategyId?: string;
  readonly since: string;
  readonly until: string;
  readonly routed: CohortFigures;
  readonly nonRouted: CohortFigures;
  readonly checks: ParityCheck[];
  /** Every check passed and every row of the window was read. */
  readonly passed: boolean;
  readonly generatedAt: string;
  /** Rows read, pending ones included. */
  readonly rowsRead: number;
  /** Rows still `pending` (no route yet), in neither cohort. */
  readonly pendingExcluded: number;
  /** The read stopped at the row cap: the figures cover part of the window, and the report does not pass. */
  readonly truncated: boolean;
}

/** Where the rows come from (the DynamoDB reader): each row of the query to `sink`, then whether it stopped at its cap. */
export interface ParityRowSource {
  read(query: ParityQuery, sink: (row: ParityRow) => void): Promise<{ readonly truncated: boolean }>;
}

/** Comparisons of fractions computed from counts: 19/20 - 18/20 must equal 0.05, not exceed it by a rounding error. */
const EPSILON = 1e-9;

/**
 * The nearest-rank percentile of ascending values: the value at rank ceil(p/100 * n), so always one
 * of the values (the median of 1, 2, 3, 4 is 2); null for no values.
 */
export function nearestRank(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length - EPSILON));
  return sorted[Math.min(rank, sorted.length) - 1] ?? null;
}

/**
 * Slippage of a fill in basis points against the reference price, positive when worse for the
 * trader: a buy filled above the reference, a sell filled below it. Undefined when either price is
 * not a positive decimal.
 */
export function slippageBps(side: ParityRow['side'], fillPrice: string, referencePrice: string): number | undefined {
  const fill = decimal(fillPrice);
  const reference = decimal(referencePrice);
  if (fill === undefined || reference === undefined) return undefined;
  const bps = ((fill - reference) / reference) * 10_000;
  return side === 'buy' ? bps : -bps;
}

function decimal(text: string): number | undefined {
  if (!/^\d+(\.\d+)?$/.test(text.trim())) return undefined;
  const value = Number(text);
  return value > 0 ? value : undefined;
}

/** The cohort a row belongs to; undefined for a row not decided yet (no route). */
export function parityCohort(row: Pick<ParityRow, 'execution_route' | 'execution_expected_adapter'>): ParityCohort | undefined {
  switch (row.execution_route) {
    case 'lean':
    case 'alpaca_fallback':
      return 'routed';
    case 'alpaca':
    case 'alpaca_gated':
      return 'non_routed';
    case 'none':
      return row.execution_expected_adapter === 'lean' ? 'routed' : 'non_routed';
    case undefined:
      return undefined;
  }
}

/** Whether a row was executed on its cohort's own path, so its fill measures that path. */
function executedOnOwnPath(row: ParityRow): boolean {
  return row.execution_route === 'lean' || row.execution_route === 'alpaca' || row.execution_route === 'alpaca_gated';
}

/** A cohort being counted: counters, and the samples its percentiles need. */
class CohortTally {
  orders = 0;
  accepted = 0;
  rejected = 0;
  executedAccepted = 0;
  filled = 0;
  withoutReferencePrice = 0;
  fallbacks = 0;
  unknowns = 0;
  reviews = 0;
  divergentIds = 0;
  readonly divergentOrderIds: string[] = [];
  readonly timesToFillMs: number[] = [];
  readonly slippagesBps: number[] = [];

  add(row: ParityRow): void {
    this.orders += 1;
    if (row.status === 'accepted') this.accepted += 1;
    if (row.status === 'rejected') this.rejected += 1;
    if (row.status === 'unknown') this.unknowns += 1;
    if (row.review_required) this.reviews += 1;
    if (row.route_divergence !== undefined) {
      this.divergentIds += 1;
      if (this.divergentOrderIds.length < MAX_NAMED_DIVERGENT_IDS) this.divergentOrderIds.push(row.client_order_id);
    }
    if (row.execution_route === 'alpaca_fallback' || (row.execution_route === 'none' && row.execution_fallback_count > 0)) this.fallbacks += 1;
    if (!executedOnOwnPath(row) || row.status !== 'accepted') return;
    this.executedAccepted += 1;
    if (row.broker_status === 'filled') {
      this.filled += 1;
      const timeToFill = row.filled_at === undefined ? Number.NaN : Date.parse(row.filled_at) - Date.parse(row.created_at);
      if (Number.isFinite(timeToFill)) this.timesToFillMs.push(timeToFill);
    }
    if (row.filled_avg_price === undefined || !(Number(row.filled_qty ?? '0') > 0)) return;
    const bps = row.reference_price === undefined ? undefined : slippageBps(row.side, row.filled_avg_price, row.reference_price);
    if (bps === undefined) this.withoutReferencePrice += 1;
    else this.slippagesBps.push(bps);
  }

  figures(): CohortFigures {
    const times = Float64Array.from(this.timesToFillMs).sort();
    const slippages = Float64Array.from(this.slippagesBps).sort();
    return {
      orders: this.orders,
      accepted: this.accepted,
      rejected: this.rejected,
      fillRate: this.executedAccepted === 0 ? null : this.filled / this.executedAccepted,
      medianTimeToFillMs: nearestRank(times, 50),
      p95TimeToFillMs: nearestRank(times, 95),
      medianSlippageBps: nearestRank(slippages, 50),
      slippageSamples: slippages.length,
      withoutReferencePrice: this.withoutReferencePrice,
      fallbacks: this.fallbacks,
      unknowns: this.unknowns,
      reviews: this.reviews,
      divergentIds: this.divergentIds,
    };
  }
}

/** How many divergent orders a check names; the count is always whole. */
const MAX_NAMED_DIVERGENT_IDS = 10;

/**
 * Counts rows one at a time, keeping only counters and the samples the percentiles need, so a
 * reader can feed it page by page without holding the window's rows.
 */
export class ParityAccumulator {
  private readonly routed = new CohortTally();
  private readonly nonRouted = new CohortTally();
  private rowsRead = 0;
  private pendingExcluded = 0;

  add(row: ParityRow): void {
    this.rowsRead += 1;
    const cohort = parityCohort(row);
    if (cohort === undefined) this.pendingExcluded += 1;
    else (cohort === 'routed' ? this.routed : this.nonRouted).add(row);
  }

  /** The report over the rows added so far; `truncated` when the reader stopped before the end of the window. */
  report(query: ParityQuery, thresholds: ParityThresholds, now: Date, options: { readonly truncated?: boolean } = {}): ParityReport {
    const routed = this.routed.figures();
    const nonRouted = this.nonRouted.figures();
    const divergentIds = [...this.routed.divergentOrderIds, ...this.nonRouted.divergentOrderIds].slice(0, MAX_NAMED_DIVERGENT_IDS);
    const checks = parityChecks(routed, nonRouted, thresholds, divergentIds);
    const truncated = options.truncated ?? false;
    return {
      stage: query.stage,
      ...(query.strategyId === undefined ? {} : { strategyId: query.strategyId }),
      since: query.since,
      until: query.until,
      routed,
      nonRouted,
      checks,
      passed: !truncated && checks.every((check) => check.passed),
      generatedAt: now.toISOString(),
      rowsRead: this.rowsRead,
      pendingExcluded: this.pendingExcluded,
      truncated,
    };
  }
}

/** The report over `rows` (any iterable: rows are counted as they come). */
export function buildParityReport(
  rows: Iterable<ParityRow>,
  query: ParityQuery,
  thresholds: ParityThresholds,
  now: Date,
  options: { readonly truncated?: boolean } = {},
): ParityReport {
  const accumulator = new ParityAccumulator();
  for (const row of rows) accumulator.add(row);
  return accumulator.report(query, thresholds, now, options);
}

/** Reads the query's rows from `source` into a report. */
export async function readParityReport(source: ParityRowSource, query: ParityQuery, thresholds: ParityThresholds, now: Date): Promise<ParityReport> {
  const accumulator = new ParityAccumulator();
  const { truncated } = await source.read(query, (row) => accumulator.add(row));
  return accumulator.report(query, thresholds, now, { truncated });
}

/** The checks of two cohorts' figures, in the report's order. */
export function parityChecks(routed: CohortFigures, nonRouted: CohortFigures, thresholds: ParityThresholds, divergentOrderIds: readonly string[] = []): ParityCheck[] {
  const divergent = routed.divergentIds + nonRouted.divergentIds;
  const named = divergentOrderIds.length === 0 ? '' : `: ${divergentOrderIds.join(', ')}${divergent > divergentOrderIds.length ? ', ...' : ''}`;
  const minOrders = (name: 'min_orders_routed' | 'min_orders_non_routed', figures: CohortFigures, cohort: string): ParityCheck => ({
    name,
    passed: figures.orders >= thresholds.minOrdersPerCohort,
    actual: figures.orders,
    threshold: thresholds.minOrdersPerCohort,
    detail: `${figures.orders} ${cohort} order(s), at least ${thresholds.minOrdersPerCohort} needed`,
  });
  return [
    {
      name: 'divergent_ids',
      passed: divergent === 0,
      actual: divergent,
      threshold: 0,
      detail: divergent === 0 ? 'no order with divergent LEAN/Alpaca ids' : `${divergent} order(s) whose LEAN id is not Alpaca's${named}`,
    },
    minOrders('min_orders_routed', routed, 'routed'),
    minOrders('min_orders_non_routed', nonRouted, 'non-routed'),
    differenceCheck('fill_rate_difference', routed.fillRate, nonRouted.fillRate, thresholds.maxFillRateDifference, {
      missing: 'no accepted order executed in the {cohort} cohort, so no fill rate',
      describe: (a, b, difference) => `routed ${percent(a)} vs non-routed ${percent(b)}: ${points(difference)} apart, at most ${points(thresholds.maxFillRateDifference)}`,
    }),
    differenceCheck('median_slippage_difference', routed.medianSlippageBps, nonRouted.medianSlippageBps, thresholds.maxMedianSlippageDifferenceBps, {
      missing: 'no fill with a reference_price in the {cohort} cohort, so no slippage',
      describe: (a, b, difference) =>
        `routed ${bps(a)} vs non-routed ${bps(b)}: ${bps(difference)} apart, at most ${bps(thresholds.maxMedianSlippageDifferenceBps)}`,
    }),
  ];
}

/** A check that two figures lie within `max` of each other; a missing figure fails it, as nothing shows parity then. */
function differenceCheck(
  name: 'fill_rate_difference' | 'median_slippage_difference',
  routed: number | null,
  nonRouted: number | null,
  max: number,
  words: { readonly missing: string; readonly describe: (routed: number, nonRouted: number, difference: number) => string },
): ParityCheck {
  if (routed === null || nonRouted === null) {
    const cohorts = routed === null && nonRouted === null ? 'routed and the non-routed' : routed === null ? 'routed' : 'non-routed';
    return { name, passed: false, actual: null, threshold: max, detail: words.missing.replace('{cohort}', cohorts) };
  }
  const difference = Math.abs(routed - nonRouted);
  return { name, passed: difference <= max + EPSILON, actual: difference, threshold: max, detail: words.describe(routed, nonRouted, difference) };
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

/** A difference of two fractions in percentage points. */
function points(fraction: number): string {
  return `${(fraction * 100).toFixed(1)} pts`;
}

function bps(value: number): string {
  return `${value.toFixed(1)} bps`;
}
