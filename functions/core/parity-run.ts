/**
 * The scheduled parity run: every strategy with orders in the window gets its parity report, which
 * is compared with the strategy's last stored report, stored in its place, logged and measured. A
 * check that passed in the stored report and fails now is a regression: logged
 * (`parity_check_failed`) and counted (`parity_check_regressions_total`, alarmed). Pure
 * orchestration over ports: the rows, the store and the metrics are adapters.
 */
import * as z from 'zod/mini';
import './zod-locale';
import { readIntegers, type Env } from './config';
import { CONTROL_PARAMETER, controlParameterName, strategyParameterSegment } from './control-parameters';
import { Deadline } from './deadline';
import { describeError } from './objects';
import { ParityAccumulator, type CohortFigures, type ParityCheckName, type ParityReport, type ParityRowSource, type ParityThresholds } from './parity';
import type { Clock, RouteLogger } from './ports';

/** How much one run covers and may do. */
export interface ParityRunSettings {
  /** The window each report covers, ending at the run (`TRADING_PARITY_WINDOW_MS`). */
  readonly windowMs: number;
  /**
   * Strategies reported per run, those with the most rows first (`TRADING_PARITY_MAX_STRATEGIES`):
   * it bounds the run's SSM calls and the `strategy` dimension's values.
   */
  readonly maxStrategies: number;
  /** The run's time budget: no call is started once it is spent (`TRADING_PARITY_RUN_BUDGET_MS`). */
  readonly budgetMs: number;
  /** Each Parameter Store call's own timeout. */
  readonly storeTimeoutMs: number;
}

/** Seven days, the CLI's default `--since`; 50 strategies; a minute, well inside the function's timeout. */
export const PARITY_RUN_DEFAULTS: ParityRunSettings = {
  windowMs: 7 * 24 * 60 * 60 * 1000,
  maxStrategies: 50,
  budgetMs: 60_000,
  storeTimeoutMs: 2_000,
};

const SETTING_VARIABLES: Record<'windowMs' | 'maxStrategies' | 'budgetMs', { name: string; min: number; max: number }> = {
  windowMs: { name: 'TRADING_PARITY_WINDOW_MS', min: 60 * 60 * 1000, max: 31 * 24 * 60 * 60 * 1000 },
  maxStrategies: { name: 'TRADING_PARITY_MAX_STRATEGIES', min: 1, max: 500 },
  budgetMs: { name: 'TRADING_PARITY_RUN_BUDGET_MS', min: 5_000, max: 840_000 },
};

/** Reads the run's `TRADING_PARITY_*` bounds; an invalid one keeps its default and is named in `problems`. */
export function loadParityRunSettings(env: Env): { readonly settings: ParityRunSettings; readonly problems: readonly string[] } {
  const problems: string[] = [];
  const { windowMs, maxStrategies, budgetMs } = PARITY_RUN_DEFAULTS;
  const bounded = readIntegers(env, { windowMs, maxStrategies, budgetMs }, SETTING_VARIABLES, problems);
  return { settings: { ...PARITY_RUN_DEFAULTS, ...bounded }, problems };
}

/**
 * The parameter holding a strategy's last report, `parity/<segment>` under the stage prefix, with
 * the same one-to-one segment as `strategies/<segment>`, so two strategies never share a report.
 */
export function parityParameterName(prefix: string, strategyId: string): string {
  return `${controlParameterName(prefix, CONTROL_PARAMETER.parity)}/${strategyParameterSegment(strategyId)}`;
}

/** SSM's Standard tier holds 4 KB a value; the stored form stays far below it (one report is under 1.5 KB). */
export const PARITY_PARAMETER_MAX_BYTES = 4096;

/** A cohort's headline figures, as stored. */
export interface StoredCohort {
  readonly orders: number;
  readonly fill_rate: number | null;
  readonly median_slippage_bps: number | null;
  readonly divergent_ids: number;
}

/** One check as stored: its verdict and numbers, without the words (which may name up to ten order ids). */
export interface StoredCheck {
  readonly name: ParityCheckName;
  readonly passed: boolean;
  readonly actual: number | null;
  readonly threshold: number;
}

/**
 * The last report of a strategy as `parity/<strategy_id>` holds it: the checks and the headline
 * figures, never the whole report, so it fits SSM's free Standard tier whatever the strategy id.
 * `npx lean-router parity --strategy <id>` prints the whole report.
 */
export interface StoredParityReport {
  readonly v: 1;
  readonly stage: string;
  readonly strategy_id: string;
  readonly since: string;
  readonly until: string;
  readonly generated_at: string;
  readonly passed: boolean;
  readonly truncated: boolean;
  readonly rows_read: number;
  readonly routed: StoredCohort;
  readonly non_routed: StoredCohort;
  readonly checks: readonly StoredCheck[];
}

const CHECK_NAMES = ['divergent_ids', 'min_orders_routed', 'min_orders_non_routed', 'fill_rate_difference', 'median_slippage_difference'] as const satisfies readonly ParityCheckName[];

const storedCohortSchema = z.object({
  orders: z.number(),
  fill_rate: z.nullable(z.number()),
  median_slippage_bps: z.nullable(z.number()),
  divergent_ids: z.number(),
});

const storedReportSchema = z.object({
  v: z.literal(1),
  stage: z.string(),
  strategy_id: z.string(),
  since: z.string(),
  until: z.string(),
  generated_at: z.string(),
  passed: z.boolean(),
  truncated: z.boolean(),
  rows_read: z.number(),
  routed: storedCohortSchema,
  non_routed: storedCohortSchema,
  checks: z.array(z.object({ name: z.enum(CHECK_NAMES), passed: z.boolean(), actual: z.nullable(z.number()), threshold: z.number() })),
});

function storedCohort(figures: CohortFigures): StoredCohort {
  return { orders: figures.orders, fill_rate: figures.fillRate, median_slippage_bps: figures.medianSlippageBps, divergent_ids: figures.divergentIds };
}

/** A strategy's report in its stored form. */
export function storedParityReport(strategyId: string, report: ParityReport): StoredParityReport {
  return {
    v: 1,
    stage: report.stage,
    strategy_id: strategyId,
    since: report.since,
    until: report.until,
    generated_at: report.generatedAt,
    passed: report.passed,
    truncated: report.truncated,
    rows_read: report.rowsRead,
    routed: storedCohort(report.routed),
    non_routed: storedCohort(report.nonRouted),
    checks: report.checks.map(({ name, passed, actual, threshold }) => ({ name, passed, actual, threshold })),
  };
}

/** The stored form's text; throws if it would not fit the Standard tier (it cannot: a strategy id is at most 128 characters). */
export function storedParityReportValue(stored: StoredParityReport): string {
  const text = JSON.stringify(stored);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > PARITY_PARAMETER_MAX_BYTES) throw new Error(`the stored parity report of ${stored.strategy_id} is ${bytes} bytes, over ${PARITY_PARAMETER_MAX_BYTES}`);
  return text;
}

/** A stored report read back; undefined for a value this version did not write (then there is nothing to compare with). */
export function parseStoredParityReport(text: string): StoredParityReport | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = storedReportSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/**
 * The checks that passed in `previous` and fail in `current`, in the report's order. None without
 * a previous report (the first report of a strategy regresses nothing), and none for a truncated
 * report, whose checks were made over part of the window.
 */
export function regressedChecks(previous: Pick<StoredParityReport, 'checks'> | undefined, current: Pick<ParityReport, 'checks' | 'truncated'>): ParityCheckName[] {
  if (previous === undefined || current.truncated) return [];
  const passedBefore = new Set(previous.checks.filter((check) => check.passed).map((check) => check.name));
  return current.checks.filter((check) => !check.passed && passedBefore.has(check.name)).map((check) => check.name);
}

/** Where the last report of each strategy is kept (SSM `parity/<strategy_id>`). */
export interface ParityReportStore {
  /** The stored text of each strategy that has one; throws when the store cannot be read. */
  readLast(strategyIds: readonly string[], timeoutMs: number): Promise<ReadonlyMap<string, string>>;
  /** Replaces the strategy's stored report; throws when the write fails. */
  write(strategyId: string, value: string, timeoutMs: number): Promise<void>;
}

/** The run's metrics; the only dimension is `strategy`, bounded by {@link ParityRunSettings.maxStrategies}. */
export interface ParityMetrics {
  /** Gauges, once per run. */
  strategiesReported(count: number): void;
  strategiesFailing(count: number): void;
  /** Once per run, 0 included, so the alarm's metric always has data after a run. */
  checkRegressions(count: number): void;
  /** Routed minus non-routed, per strategy; a null figure (a cohort without one) is not emitted. */
  differences(strategyId: string, fillRatePoints: number | null, medianSlippageBps: number | null): void;
}

/** What one run needs. `rows` reads every strategy's rows of the window (by-route), capped by `TRADING_PARITY_MAX_ROWS`. */
export interface ParityRunDependencies {
  readonly stage: string;
  readonly settings: ParityRunSettings;
  readonly thresholds: ParityThresholds;
  readonly rows: ParityRowSource;
  readonly store: ParityReportStore;
  readonly metrics: ParityMetrics;
  readonly logger: RouteLogger;
  readonly clock: Clock;
}

/** A step that failed; the handler fails the invocation on any, so the scheduled-failures queue (alarmed) records it. */
export interface ParityRunFailure {
  readonly step: 'read_rows' | 'store_read' | 'store_write';
  readonly strategy_id?: string;
  readonly error: string;
}

/** Why a run ended. */
export type ParityRunStop = 'complete' | 'read_error' | 'store_error' | 'deadline';

/** What one run did. */
export interface ParityRunReport {
  readonly since: string;
  readonly until: string;
  readonly rowsRead: number;
  /** Rows of the window without a `strategy_id`: in no strategy's report. */
  readonly rowsWithoutStrategy: number;
  /** The row cap stopped the read: every report of the run is truncated (and does not pass). */
  readonly truncated: boolean;
  readonly strategiesReported: number;
  readonly strategiesFailing: number;
  /** Strategies past {@link ParityRunSettings.maxStrategies}, not reported this run. */
  readonly strategiesSkipped: number;
  readonly regressions: number;
  readonly stored: number;
  readonly failures: readonly ParityRunFailure[];
  readonly stopped: ParityRunStop;
}

/** The least time worth starting a call with. */
const MINIMUM_CALL_MS = 100;
/** Strategies named in a log line at most. */
const MAX_NAMED_STRATEGIES = 10;
/** SSM's GetParameters takes at most 10 names: the stored reports are read in batches of this many. */
export const PARITY_READ_BATCH = 10;

/** Rows of the window grouped by strategy, each counted as it comes. */
interface Grouped {
  readonly byStrategy: Map<string, ParityAccumulator>;
  readonly rowsPerStrategy: Map<string, number>;
  rowsRead: number;
  rowsWithoutStrategy: number;
}

/**
 * One parity run. Never throws: a failed step is logged and listed in `failures`. A failed read
 * of the rows ends the run with nothing stored; a failed read of the stored reports stores
 * nothing either (the stored reports stay the baseline the next run compares with), but the
 * reports are still logged and measured.
 */
export async function runParity(deps: ParityRunDependencies): Promise<ParityRunReport> {
  const { settings, logger, metrics, clock } = deps;
  const deadline = Deadline.after(clock, settings.budgetMs);
  const now = clock.now();
  const until = now.toISOString();
  const since = new Date(now.getTime() - settings.windowMs).toISOString();
  const failures: ParityRunFailure[] = [];
  const grouped: Grouped = { byStrategy: new Map(), rowsPerStrategy: new Map(), rowsRead: 0, rowsWithoutStrategy: 0 };
  const tally = { strategiesReported: 0, strategiesFailing: 0, strategiesSkipped: 0, regressions: 0, stored: 0 };
  let truncated = false;
  let rowsRead = false;
  const finish = (stopped: ParityRunStop): ParityRunReport => {
    const result: ParityRunReport = { since, until, rowsRead: grouped.rowsRead, rowsWithoutStrategy: grouped.rowsWithoutStrategy, truncated, ...tally, failures, stopped };
    // Without the rows there is no report: a gauge of 0 would read as "nothing fails".
    if (rowsRead) {
      metrics.strategiesReported(tally.strategiesReported);
      metrics.strategiesFailing(tally.strategiesFailing);
      metrics.checkRegressions(tally.regressions);
    }
    logger.info('parity_run', { ...result });
    return result;
  };

  // The stored reports are read and written after the rows: their time is kept from the read's.
  const readBudget = deadline.remainingMs() - 2 * settings.storeTimeoutMs;
  try {
    truncated = (await readRows(deps, { stage: deps.stage, since, until }, grouped, readBudget)).truncated;
    rowsRead = true;
  } catch (error) {
    failures.push({ step: 'read_rows', error: describeError(error) });
    logger.error('parity_run_failed', { step: 'read_rows', error: describeError(error) });
    return finish(error instanceof ReadDeadlineError ? 'deadline' : 'read_error');
  }
  if (truncated) logger.warn('parity_run_truncated', { rowsRead: grouped.rowsRead, detail: 'the row cap (TRADING_PARITY_MAX_ROWS) stopped the read: every report of this run is truncated and does not pass' });

  const ranked = [...grouped.byStrategy.keys()].sort((a, b) => (grouped.rowsPerStrategy.get(b) ?? 0) - (grouped.rowsPerStrategy.get(a) ?? 0) || a.localeCompare(b));
  const strategies = ranked.slice(0, settings.maxStrategies);
  const skipped = ranked.slice(settings.maxStrategies);
  tally.strategiesSkipped = skipped.length;
  if (skipped.length > 0) {
    logger.warn('parity_strategies_skipped', { count: skipped.length, strategy_ids: skipped.slice(0, MAX_NAMED_STRATEGIES), maxStrategies: settings.maxStrategies });
  }
  if (strategies.length === 0) return finish('complete');

  const previous = await readStored(deps, strategies, deadline, failures);
  let stopped: ParityRunStop = previous === undefined ? 'store_error' : 'complete';
  for (const strategyId of strategies) {
    const accumulator = grouped.byStrategy.get(strategyId) ?? new ParityAccumulator();
    const report = accumulator.report({ stage: deps.stage, strategyId, since, until }, deps.thresholds, now, { truncated });
    const before = previous?.get(strategyId);
    const regressed = regressedChecks(before, report);
    tally.strategiesReported += 1;
    if (!report.passed) tally.strategiesFailing += 1;
    tally.regressions += regressed.length;
    logReport(logger, strategyId, report, regressed);
    for (const name of regressed) {
      const check = report.checks.find((candidate) => candidate.name === name);
      logger.error('parity_check_failed', {
        strategy_id: strategyId,
        check: name,
        actual: check?.actual ?? null,
        threshold: check?.threshold ?? null,
        detail: check?.detail ?? '',
        previous_generated_at: before?.generated_at ?? null,
      });
    }
    metrics.differences(strategyId, difference(report.routed.fillRate, report.nonRouted.fillRate, 100), difference(report.routed.medianSlippageBps, report.nonRouted.medianSlippageBps, 1));
    if (previous === undefined || stopped === 'deadline') continue;
    const timeout = deadline.allow(settings.storeTimeoutMs, MINIMUM_CALL_MS);
    if (timeout === undefined) {
      stopped = 'deadline';
      const error = `no time left to store the reports from ${strategyId} on; they keep their previous stored report`;
      failures.push({ step: 'store_write', strategy_id: strategyId, error });
      logger.error('parity_run_failed', { step: 'store_write', strategy_id: strategyId, error });
      continue;
    }
    try {
      await deps.store.write(strategyId, storedParityReportValue(storedParityReport(strategyId, report)), timeout);
      tally.stored += 1;
    } catch (error) {
      failures.push({ step: 'store_write', strategy_id: strategyId, error: describeError(error) });
      logger.error('parity_run_failed', { step: 'store_write', strategy_id: strategyId, error: describeError(error) });
    }
  }
  if (stopped === 'complete' && failures.length > 0) stopped = 'store_error';
  return finish(stopped);
}

/** `(a - b) * scale`, or null when either is missing. */
function difference(a: number | null, b: number | null, scale: number): number | null {
  return a === null || b === null ? null : (a - b) * scale;
}

/** The read of the rows ran past the run's budget. */
class ReadDeadlineError extends Error {
  override readonly name = 'ReadDeadlineError';
}

/**
 * Reads the window's rows into one accumulator per strategy. The reader bounds each page and the
 * row count; the whole read is bounded here by `budgetMs`: past it the run goes on without the
 * read (whose late rows are ignored) and stores nothing.
 */
async function readRows(deps: ParityRunDependencies, query: { stage: string; since: string; until: string }, grouped: Grouped, budgetMs: number): Promise<{ truncated: boolean }> {
  if (budgetMs < MINIMUM_CALL_MS) throw new ReadDeadlineError('no time left to read the rows');
  let open = true;
  const read = deps.rows.read(query, (row) => {
    if (!open) return;
    grouped.rowsRead += 1;
    const strategyId = row.strategy_id;
    if (strategyId === undefined || strategyId === '') {
      grouped.rowsWithoutStrategy += 1;
      return;
    }
    let accumulator = grouped.byStrategy.get(strategyId);
    if (accumulator === undefined) {
      accumulator = new ParityAccumulator();
      grouped.byStrategy.set(strategyId, accumulator);
    }
    accumulator.add(row);
    grouped.rowsPerStrategy.set(strategyId, (grouped.rowsPerStrategy.get(strategyId) ?? 0) + 1);
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ReadDeadlineError(`the rows were not read within ${budgetMs} ms`)), budgetMs);
  });
  try {
    return await Promise.race([read, expired]);
  } finally {
    open = false;
    clearTimeout(timer);
    // The losing read may still reject; it is no longer anyone's concern.
    read.catch(() => undefined);
  }
}

/**
 * The stored reports of `strategyIds`, parsed; undefined when the store could not be read (the run
 * then stores nothing). A value this version cannot read counts as no report, and is replaced.
 */
async function readStored(
  deps: ParityRunDependencies,
  strategyIds: readonly string[],
  deadline: Deadline,
  failures: ParityRunFailure[],
): Promise<Map<string, StoredParityReport> | undefined> {
  const timeout = deadline.allow(deps.settings.storeTimeoutMs * Math.ceil(strategyIds.length / PARITY_READ_BATCH), MINIMUM_CALL_MS);
  if (timeout === undefined) {
    failures.push({ step: 'store_read', error: 'no time left to read the stored reports' });
    deps.logger.error('parity_run_failed', { step: 'store_read', error: 'no time left to read the stored reports' });
    return undefined;
  }
  let texts: ReadonlyMap<string, string>;
  try {
    texts = await deps.store.readLast(strategyIds, timeout);
  } catch (error) {
    failures.push({ step: 'store_read', error: describeError(error) });
    deps.logger.error('parity_run_failed', { step: 'store_read', error: describeError(error) });
    return undefined;
  }
  const stored = new Map<string, StoredParityReport>();
  for (const [strategyId, text] of texts) {
    const parsed = parseStoredParityReport(text);
    if (parsed === undefined) deps.logger.warn('parity_stored_report_unreadable', { strategy_id: strategyId, detail: 'not a stored report of this version: compared with nothing, then replaced' });
    else stored.set(strategyId, parsed);
  }
  return stored;
}

/** One `parity_report` line per strategy: the verdict, every check with its numbers, both cohorts. */
function logReport(logger: RouteLogger, strategyId: string, report: ParityReport, regressed: readonly ParityCheckName[]): void {
  logger.info('parity_report', {
    stage: report.stage,
    strategy_id: strategyId,
    since: report.since,
    until: report.until,
    passed: report.passed,
    truncated: report.truncated,
    rows_read: report.rowsRead,
    pending_excluded: report.pendingExcluded,
    failed_checks: report.checks.filter((check) => !check.passed).map((check) => check.name),
    regressed_checks: regressed,
    checks: report.checks,
    routed: report.routed,
    non_routed: report.nonRouted,
  });
}
