/**
 * The lifecycle sync: one scheduled run that first reconciles the rows route invocations left
 * `pending` or `unknown`, then reads the open orders' rows, reads Alpaca's orders in bulk from the
 * oldest open submission on, and writes on each row what moved forward. Pure orchestration over
 * ports; what a row may take from an order is `lifecycleChange`'s decision.
 */
import { loadReconcileConfig, loadRouterConfig, readIntegers, RECONCILE_DEFAULTS, type Env } from './config';
import type { BrokerOrder } from './execution';
import { Deadline } from './deadline';
import { describeError } from './objects';
import { lifecycleChange, listWindowStart } from './order-lifecycle';
import {
  reconcileUnresolved,
  type OrderLookup,
  type ReconciliationMetrics,
  type ReconciliationReport,
  type ReconciliationSettings,
  type ReconciliationStop,
  type ReconciliationStore,
} from './order-reconciliation';
import type { BrokerOrderList, Clock, RouteLogger, RouteMetrics } from './ports';
import type { OpenOrder, OpenOrderStore, RouteDivergence } from './provenance';
import { divergenceBlockReason, type StrategyControl } from './strategy-enablement';

/** Alpaca's largest page of `GET /v2/orders`. */
export const LIST_PAGE_LIMIT = 500;

/** How much one run may do; the reconciliation's settings included. */
export interface LifecycleSyncSettings extends ReconciliationSettings {
  /** Open rows synced per run: one batch of the open rows, in `open_since` order, taken in turn (see `runBatch`). */
  readonly maxOrdersPerRun: number;
  /** Open rows read from the index per run, oldest first: the batches are cut from these. */
  readonly maxOpenRows: number;
  /** List calls per run: Alpaca's 200 requests a minute are shared with the routers and the runner. */
  readonly maxPagesPerRun: number;
  /** The run's time budget: no call is started once it is spent. */
  readonly budgetMs: number;
  /** Each store call's own timeout. */
  readonly storeTimeoutMs: number;
  /** Each list call's own timeout (the Alpaca client's lookup timeout applies when shorter). */
  readonly listTimeoutMs: number;
}

/**
 * Defaults: 450 open rows per run, so one 500-order page usually covers them with room for orders
 * submitted in between by rows already closed or outside the batch; four pages at most per run;
 * 20 rows reconciled at most.
 */
export const LIFECYCLE_SYNC_DEFAULTS: LifecycleSyncSettings = {
  maxOrdersPerRun: 450,
  maxOpenRows: 10_000,
  maxPagesPerRun: 4,
  budgetMs: 25_000,
  storeTimeoutMs: 2_000,
  listTimeoutMs: 5_000,
  lookupTimeoutMs: 2_000,
  ...RECONCILE_DEFAULTS,
  // TRADING_NOTIONAL_TOLERANCE's default; loadLifecycleSyncSettings reads the configured one.
  notionalTolerance: 0.01,
};

/** The least time worth starting a call with. */
const MINIMUM_CALL_MS = 100;

/** The sync's metrics, reconciliation's counter included; bounded dimensions only (a status, a reason), never an order id. */
export interface LifecycleMetrics extends ReconciliationMetrics, Pick<RouteMetrics, 'alpacaRateLimited'> {
  /** Rows open at the start of the run (a gauge, one value per run). */
  openOrders(count: number): void;
  /** One per row whose broker state was written, by the status it moved to. */
  brokerStateChanged(toStatus: string): void;
  /** One per newly recorded divergence between LEAN's acknowledged id and Alpaca's. */
  routeDivergence(): void;
  /** One per failed step: `store_read`, `list`, `store_write`, `strategy_block`. */
  syncFailure(step: LifecycleSyncFailureStep): void;
}

/** Where a run can fail without stopping the scheduler. */
export type LifecycleSyncFailureStep = 'store_read' | 'list' | 'store_write' | 'strategy_block';

/** Who the sync's strategy blocks name as `set_by`. */
export const LIFECYCLE_SYNC_SET_BY = 'lifecycle-sync';

/** What one run needs. `runnerLookup` is absent when no runner URL is configured. */
export interface LifecycleSyncDependencies {
  readonly settings: LifecycleSyncSettings;
  readonly store: OpenOrderStore;
  /** The rows left `pending` or `unknown`, and their conditional resolve. */
  readonly unresolved: ReconciliationStore;
  readonly alpaca: BrokerOrderList;
  readonly alpacaLookup: OrderLookup;
  readonly runnerLookup?: OrderLookup;
  /** Where a divergent id blocks its strategy; absent, no strategy is blocked (the divergence is still recorded and counted). */
  readonly strategies?: StrategyControl;
  readonly metrics: LifecycleMetrics;
  readonly logger: RouteLogger;
  readonly clock: Clock;
}

/** Why a run ended. */
export type LifecycleSyncStop =
  /** Nothing open: Alpaca was not asked. */
  | 'no_open_orders'
  /** Every open row was found, or Alpaca listed its last page. */
  | 'complete'
  /** `maxPagesPerRun` pages were read; the next run starts again from the oldest open row. */
  | 'page_limit'
  | 'rate_limited'
  | 'list_error'
  | 'store_error'
  /** The time budget ran out before the next call. */
  | 'deadline';

/** What one run did. */
export interface LifecycleSyncReport {
  readonly openOrders: number;
  readonly pagesRead: number;
  /** Rows whose broker state was written. */
  readonly changes: number;
  /** Divergences newly written. */
  readonly divergences: number;
  /** Writes the store refused because the row already held a newer state (another run). */
  readonly stale: number;
  /** Rows whose write failed; the next run tries them again. */
  readonly failures: number;
  readonly stopped: LifecycleSyncStop;
  /** With `rate_limited`: when Alpaca takes list calls again. */
  readonly retryAt?: string;
  /** Rows resolved by this run's reconciliation, before the open orders were read. */
  readonly reconciled: ReconciliationReport['reconciled'];
  /** Why the reconciliation ended: `deadline` leaves the rest of its rows to the next run. */
  readonly reconcileStopped: ReconciliationStop;
}

interface Tally {
  pagesRead: number;
  changes: number;
  divergences: number;
  stale: number;
  failures: number;
}

/**
 * One run of the sync. Never throws: a failed step is logged, counted and ends the run (a list or
 * store read) or only its row (a write); the next run starts over from the open rows, which stay
 * open until a final state is written, so nothing is lost. Reconciliation comes first, so a row it
 * resolves to `accepted` with a broker order id is among the open rows read next (as soon as the
 * index holds it); it may use the run's budget less what one store read and one list call need.
 */
export async function runLifecycleSync(deps: LifecycleSyncDependencies): Promise<LifecycleSyncReport> {
  const { settings, store, logger, metrics, clock } = deps;
  const deadline = Deadline.after(clock, settings.budgetMs);
  const reconciliation = await reconcileUnresolved(
    { settings, store: deps.unresolved, alpacaLookup: deps.alpacaLookup, runnerLookup: deps.runnerLookup, metrics, logger, clock },
    Deadline.after(clock, deadline.remainingMs() - settings.storeTimeoutMs - settings.listTimeoutMs),
  );
  const tally: Tally = { pagesRead: 0, changes: 0, divergences: 0, stale: 0, failures: 0 };
  const report = (openOrders: number, stopped: LifecycleSyncStop, retryAt?: string): LifecycleSyncReport => {
    const result: LifecycleSyncReport = {
      openOrders,
      ...tally,
      stopped,
      ...(retryAt === undefined ? {} : { retryAt }),
      reconciled: reconciliation.reconciled,
      reconcileStopped: reconciliation.stopped,
    };
    logger.info('lifecycle_sync', { ...result });
    return result;
  };

  const readTimeout = deadline.allow(settings.storeTimeoutMs, MINIMUM_CALL_MS);
  if (readTimeout === undefined) return report(0, 'deadline');
  let openRows: OpenOrder[];
  try {
    openRows = await store.listOpenOrders(settings.maxOpenRows, readTimeout);
  } catch (error) {
    logger.error('lifecycle_sync_store_failed', { step: 'store_read', error: describeError(error) });
    metrics.syncFailure('store_read');
    return report(0, 'store_error');
  }
  metrics.openOrders(openRows.length);
  const rows = runBatch(openRows, settings.maxOrdersPerRun, clock.now());
  const after = listWindowStart(rows);
  if (after === undefined) return report(openRows.length, 'no_open_orders');

  const waiting = new Map(rows.map((row) => [row.client_order_id, row]));
  let pageAfter = after;
  for (;;) {
    if (tally.pagesRead >= settings.maxPagesPerRun) return report(openRows.length, 'page_limit');
    const listTimeout = deadline.allow(settings.listTimeoutMs, MINIMUM_CALL_MS);
    if (listTimeout === undefined) return report(openRows.length, 'deadline');
    const outcome = await deps.alpaca.listOrders(
      { status: 'all', after: pageAfter, direction: 'asc', limit: LIST_PAGE_LIMIT },
      { correlationId: `lifecycle-sync-${clock.now().toISOString()}`, timeoutMs: listTimeout },
    );
    if (outcome.kind === 'rate_limited') {
      // The quota is the one the orders spend: counted with their 429s, in one metric.
      deps.metrics.alpacaRateLimited();
      logger.warn('lifecycle_sync_rate_limited', { retryAt: outcome.retryAt, pagesRead: tally.pagesRead });
      return report(openRows.length, 'rate_limited', outcome.retryAt);
    }
    if (outcome.kind === 'error') {
      logger.error('lifecycle_sync_list_failed', { detail: outcome.detail, httpStatus: outcome.httpStatus ?? null });
      metrics.syncFailure('list');
      return report(openRows.length, 'list_error');
    }
    tally.pagesRead += 1;
    for (const order of outcome.orders) {
      // Stryker disable next-line ConditionalExpression: Map.get of undefined is undefined too; the check only narrows the type
      const row = order.client_order_id === undefined ? undefined : waiting.get(order.client_order_id);
      if (row === undefined) continue;
      // Pages overlap by the millisecond they restart from: a row found once no longer waits, so its order read again is skipped.
      waiting.delete(row.client_order_id);
      const writeTimeout = deadline.allow(settings.storeTimeoutMs, MINIMUM_CALL_MS);
      if (writeTimeout === undefined) return report(openRows.length, 'deadline');
      await syncRow(deps, row, order, writeTimeout, tally);
    }
    if (waiting.size === 0) return report(openRows.length, 'complete');
    if (outcome.orders.length < LIST_PAGE_LIMIT) {
      // The list ended and these rows' orders were not in it: Alpaca holds none under their ids.
      logger.warn('lifecycle_orders_not_listed', { count: waiting.size, client_order_ids: [...waiting.keys()].slice(0, 10), after });
      return report(openRows.length, 'complete');
    }
    const next = nextPageAfter(outcome.orders, listWindowStart([...waiting.values()]));
    // A page whose orders all share the millisecond it started from would be read again forever.
    if (next === undefined || next <= pageAfter) {
      logger.error('lifecycle_sync_list_failed', { detail: 'the page ends where it started; cannot page on', after: pageAfter });
      metrics.syncFailure('list');
      return report(openRows.length, 'list_error');
    }
    pageAfter = next;
  }
}

/**
 * This run's batch of the open rows (oldest first): the batch of the current minute, in turn, so
 * that every open row is synced within as many minutes as there are batches, however many rows
 * stay open and unchanged; the oldest rows alone would otherwise hold every run.
 */
export function runBatch<T>(rows: readonly T[], batchSize: number, now: Date): T[] {
  const batches = Math.ceil(rows.length / batchSize);
  // Stryker disable next-line ConditionalExpression,EqualityOperator: with one batch the turn is 0 and with none it is NaN (slicing nothing), so the slice below answers the same
  if (batches <= 1) return [...rows];
  const turn = Math.floor(now.getTime() / 60_000) % batches;
  return rows.slice(turn * batchSize, (turn + 1) * batchSize);
}

/**
 * The next page's `after`: one millisecond before the last order's submission, since `after` is
 * exclusive and the next order may share that submission time; or, when the rows still waiting
 * start later than that, their own window start: the orders in between belong to no waiting row
 * (an open order resting for days must not make each run page through every order since). ISO
 * text of one form, so successive values compare as strings.
 */
function nextPageAfter(orders: readonly BrokerOrder[], waitingStart: string | undefined): string | undefined {
  // Stryker disable next-line OptionalChaining: called only with a full page, which has a last order
  const submittedAt = orders.at(-1)?.submitted_at;
  // Stryker disable next-line ConditionalExpression: Date.parse of undefined is NaN too
  const ms = submittedAt === undefined ? Number.NaN : Date.parse(submittedAt);
  if (Number.isNaN(ms)) return undefined;
  const continued = new Date(ms - 1).toISOString();
  // Stryker disable next-line ConditionalExpression,EqualityOperator: undefined > text is false (and rows still wait, so they have a start); at equality both sides are the same string
  return waitingStart !== undefined && waitingStart > continued ? waitingStart : continued;
}

/** Writes what moved forward on one row; a failure is logged and counted, never thrown. */
async function syncRow(deps: LifecycleSyncDependencies, row: OpenOrder, order: BrokerOrder, timeoutMs: number, tally: Tally): Promise<void> {
  const { store, logger, metrics, clock } = deps;
  const now = clock.now();
  // The open-order listing carries every field lifecycleChange reads.
  const change = lifecycleChange(row, order, now);
  if (change === undefined) return;
  if (change.divergence !== undefined && !(await blockDivergentStrategy(deps, row, change.divergence))) {
    // The row keeps no divergence yet, so the next run finds it again and retries the block: a
    // divergence is recorded on the row only once its strategy is blocked.
    tally.failures += 1;
    return;
  }
  try {
    const written = await store.recordBrokerState(row.client_order_id, change.state, change.divergence, now.toISOString(), timeoutMs);
    if (written === 'stale') {
      // Another run wrote a newer state first: it logged that change.
      tally.stale += 1;
      return;
    }
  } catch (error) {
    tally.failures += 1;
    logger.error('lifecycle_sync_store_failed', { step: 'store_write', client_order_id: row.client_order_id, error: describeError(error) });
    metrics.syncFailure('store_write');
    return;
  }
  tally.changes += 1;
  logger.info('reconciliation', { ...change.log });
  metrics.brokerStateChanged(change.state.broker_status);
  if (change.divergence !== undefined) {
    tally.divergences += 1;
    logger.error('route_divergence', { client_order_id: row.client_order_id, strategy_id: row.strategy_id ?? null, ...change.divergence });
    metrics.routeDivergence();
  }
}

/**
 * Blocks the strategy of a row whose divergent id was just found, before the row records the
 * divergence. True when blocked, or when there is no strategy (or no strategy port) to block;
 * false when the write failed (logged and counted).
 */
async function blockDivergentStrategy(deps: LifecycleSyncDependencies, row: OpenOrder, divergence: RouteDivergence): Promise<boolean> {
  if (row.strategy_id === undefined || deps.strategies === undefined) return true;
  const reason = divergenceBlockReason(row.client_order_id, divergence.lean_order_id, divergence.alpaca_order_id);
  try {
    await deps.strategies.blockStrategy(row.strategy_id, reason, LIFECYCLE_SYNC_SET_BY);
  } catch (error) {
    deps.logger.error('lifecycle_sync_strategy_block_failed', { step: 'strategy_block', client_order_id: row.client_order_id, strategy_id: row.strategy_id, error: describeError(error) });
    deps.metrics.syncFailure('strategy_block');
    return false;
  }
  deps.logger.error('strategy_blocked', { strategy_id: row.strategy_id, reason, set_by: LIFECYCLE_SYNC_SET_BY });
  return true;
}

/** Problems found reading the settings; each named value falls back to its default. */
export interface LoadedLifecycleSyncSettings {
  readonly settings: LifecycleSyncSettings;
  readonly problems: readonly string[];
}

const SETTING_VARIABLES: Record<'maxOrdersPerRun' | 'maxOpenRows' | 'maxPagesPerRun' | 'budgetMs', { name: string; min: number; max: number }> = {
  maxOrdersPerRun: { name: 'TRADING_LIFECYCLE_SYNC_MAX_ORDERS', min: 1, max: 5_000 },
  maxOpenRows: { name: 'TRADING_LIFECYCLE_SYNC_MAX_OPEN_ROWS', min: 1, max: 100_000 },
  maxPagesPerRun: { name: 'TRADING_LIFECYCLE_SYNC_MAX_PAGES', min: 1, max: 50 },
  budgetMs: { name: 'TRADING_LIFECYCLE_SYNC_BUDGET_MS', min: 1_000, max: 900_000 },
};

/**
 * Reads the sync's `TRADING_LIFECYCLE_SYNC_*` variables and reconciliation's `TRADING_RECONCILE_*`
 * (whose delay must exceed the route function's timeout); an invalid one is named and its default
 * used. The notional tolerance is the router's own.
 */
export function loadLifecycleSyncSettings(env: Env): LoadedLifecycleSyncSettings {
  const problems: string[] = [];
  const { maxOrdersPerRun, maxOpenRows, maxPagesPerRun, budgetMs } = LIFECYCLE_SYNC_DEFAULTS;
  const bounded = readIntegers(env, { maxOrdersPerRun, maxOpenRows, maxPagesPerRun, budgetMs }, SETTING_VARIABLES, problems);
  const reconcile = loadReconcileConfig(env, problems);
  // The router reports its own problems; a bad tolerance falls back to its default there too.
  const { notionalTolerance } = loadRouterConfig(env);
  return { settings: { ...LIFECYCLE_SYNC_DEFAULTS, ...bounded, ...reconcile, notionalTolerance }, problems };
}
