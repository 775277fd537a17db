/**
 * Reconciliation of rows a route invocation left `pending` (it died) or `unknown` (nothing
 * answered): read-only lookups by `client_order_id` at Alpaca and, for a row LEAN may hold, at the
 * runner, then one conditional write. Run by the lifecycle sync before its open-order pass, so an
 * order resolved to `accepted` is synced in the same run.
 */
import { describeMismatches, verifyAck } from './ack-verification';
import { attributeFound, rowStatusOf, sendRecordOfRow, type Attribution, type SendRecord } from './attribution';
import type { Deadline } from './deadline';
import type { BrokerOrder, LookupOutcome } from './execution';
import { describeError, dropUndefined } from './objects';
import type { BrokerCallContext, Clock, RouteLogger } from './ports';
import type { ProvenanceRow, RowOutcome } from './provenance';

/** The store calls reconciliation makes: one index read per run, one conditional write per resolved row. */
export interface ReconciliationStore {
  /** Rows still `pending` or `unknown` created at or before `createdBefore`, oldest first, at most `limit`. */
  listUnresolved(createdBefore: string, limit: number, timeoutMs?: number): Promise<ProvenanceRow[]>;
  /** Applies an outcome while the row is still `pending` or `unknown`; throws ProvenanceConflictError otherwise. */
  resolve(clientOrderId: string, outcome: RowOutcome, updatedAt: string): Promise<ProvenanceRow>;
}

/** A read-only order lookup by `client_order_id` (the LEAN runner's or Alpaca's). */
export interface OrderLookup {
  findByClientOrderId(clientOrderId: string, context: BrokerCallContext): Promise<LookupOutcome>;
}

/** Reconciliation's one counter. */
export interface ReconciliationMetrics {
  /** One per resolved row, by the status it was resolved to. */
  reconciled(status: string): void;
}

/** How much reconciliation does per run, and how long each of its calls may take. */
export interface ReconciliationSettings {
  /** Rows `pending` or `unknown` for longer than this are reconciled (longer than a route invocation can live). */
  readonly reconcileAfterMs: number;
  /** Rows resolved per run at most: each costs up to two lookups and one write. */
  readonly reconcileMaxPerRun: number;
  /** The router's tolerance between asked and acknowledged notional, for orders found by reconciliation. */
  readonly notionalTolerance: number;
  /** Each store call's own timeout; the store given to reconciliation must bound its calls by it. */
  readonly storeTimeoutMs: number;
  /** Each lookup's own timeout (the broker clients' lookup timeouts apply when shorter). */
  readonly lookupTimeoutMs: number;
}

/** What reconciliation needs. `runnerLookup` is absent when no runner URL is configured. */
export interface ReconciliationDependencies {
  readonly settings: ReconciliationSettings;
  readonly store: ReconciliationStore;
  readonly alpacaLookup: OrderLookup;
  readonly runnerLookup?: OrderLookup;
  readonly metrics: ReconciliationMetrics;
  readonly logger: RouteLogger;
  readonly clock: Clock;
}

/** Why reconciliation ended: every listed row was tried, the rows could not be read, or the time ran out. */
export type ReconciliationStop = 'complete' | 'store_error' | 'deadline';

/** What one pass resolved. */
export interface ReconciliationReport {
  readonly reconciled: readonly { readonly client_order_id: string; readonly status: string }[];
  readonly stopped: ReconciliationStop;
}

/** The least time worth starting a call with. */
const MINIMUM_CALL_MS = 100;

/**
 * How many reconcile-after periods a row may wait for the runner's and Alpaca's answers to agree
 * before it is settled anyway, not verified and for review, so it cannot hold a place at the front
 * of the oldest-first list for ever.
 */
const DISAGREEMENT_SETTLE_RUNS = 5;

/** A refused resolve reads the row back to tell its own retried write from another writer's. */
const STORE_CALLS_PER_RESOLVE = 2;

/**
 * One pass over the unresolved rows, oldest first, at most `reconcileMaxPerRun`. Found: the row's
 * own record (what the router sent where, the fallback intent) says who placed it, never the
 * lookup. Not found at either broker, with both answering: failed, nothing was placed. Any lookup
 * error: left for the next run. Every call gets what `deadline` leaves; none is started once it
 * cannot fit, so the pass ends inside it. Never throws.
 */
export async function reconcileUnresolved(deps: ReconciliationDependencies, deadline: Deadline): Promise<ReconciliationReport> {
  const { settings, logger, clock } = deps;
  const resolved: { client_order_id: string; status: string }[] = [];
  if (settings.reconcileMaxPerRun === 0) return { reconciled: resolved, stopped: 'complete' };
  const readTimeout = deadline.allow(settings.storeTimeoutMs, MINIMUM_CALL_MS);
  if (readTimeout === undefined) return { reconciled: resolved, stopped: 'deadline' };
  const createdBefore = new Date(clock.now().getTime() - settings.reconcileAfterMs).toISOString();
  let rows: ProvenanceRow[];
  try {
    rows = await deps.store.listUnresolved(createdBefore, settings.reconcileMaxPerRun, readTimeout);
  } catch (error) {
    logger.error('unresolved_rows_unreadable', { error: describeError(error) });
    return { reconciled: resolved, stopped: 'store_error' };
  }
  // The store is asked for at most `limit` rows; the slice keeps the bound if it returns more.
  for (const row of rows.slice(0, settings.reconcileMaxPerRun)) {
    let outcome: RowOutcome | 'deadline' | undefined;
    try {
      outcome = await reconciledOutcome(deps, row, deadline);
    } catch (error) {
      // One row's broken lookup must not block the rows behind it, run after run.
      logger.warn('order_reconcile_lookup_failed', { client_order_id: row.client_order_id, error: describeError(error) });
      continue;
    }
    if (outcome === 'deadline') return { reconciled: resolved, stopped: 'deadline' };
    if (outcome === undefined) continue;
    // The store bounds each of its calls by storeTimeoutMs; a resolve may make two.
    if (deadline.remainingMs() < STORE_CALLS_PER_RESOLVE * settings.storeTimeoutMs) return { reconciled: resolved, stopped: 'deadline' };
    try {
      await deps.store.resolve(row.client_order_id, outcome, clock.now().toISOString());
      deps.metrics.reconciled(outcome.status);
      logger.warn('order_reconciled', { client_order_id: row.client_order_id, from: row.status, to: outcome.status, detail: outcome.status_detail });
      resolved.push({ client_order_id: row.client_order_id, status: outcome.status });
    } catch (error) {
      logger.warn('order_reconcile_skipped', { client_order_id: row.client_order_id, error: describeError(error) });
    }
  }
  return { reconciled: resolved, stopped: 'complete' };
}

/** The row's outcome from the lookups; `undefined` leaves the row for the next run, `deadline` ends the pass. */
async function reconciledOutcome(deps: ReconciliationDependencies, row: ProvenanceRow, deadline: Deadline): Promise<RowOutcome | 'deadline' | undefined> {
  const { settings } = deps;
  const record = sendRecordOfRow(row);
  const lookup = async (broker: OrderLookup): Promise<LookupOutcome | 'deadline'> => {
    const timeoutMs = deadline.allow(settings.lookupTimeoutMs, MINIMUM_CALL_MS);
    if (timeoutMs === undefined) return 'deadline';
    return broker.findByClientOrderId(row.client_order_id, { correlationId: row.correlation_id, timeoutMs });
  };
  // Alpaca is the broker of record (the runner places its orders there too), so it is asked first.
  const atAlpaca = await lookup(deps.alpacaLookup);
  if (atAlpaca === 'deadline') return 'deadline';
  if (atAlpaca.kind === 'found') return foundOutcome(row, atAlpaca.order, record, attributeFound(record), settings.notionalTolerance);
  const leanInvolved = record.leanSent && deps.runnerLookup !== undefined;
  const atRunner = leanInvolved ? await lookup(deps.runnerLookup) : undefined;
  if (atRunner === 'deadline') return 'deadline';
  if (atAlpaca.kind === 'error' || atRunner?.kind === 'error') return undefined;
  if (atRunner?.kind === 'found') {
    if (record.leanFailure === 'definite') {
      // LEAN refused it, so LEAN did not place it; the runner finds it at Alpaca, which said it holds
      // none a moment before: the answers crossed in time, and the next run's Alpaca lookup decides.
      // Answers that keep disagreeing settle on the router's own fallback, for a person to check.
      const ageMs = deps.clock.now().getTime() - Date.parse(row.created_at);
      if (ageMs < DISAGREEMENT_SETTLE_RUNS * settings.reconcileAfterMs) {
        deps.logger.warn('order_reconcile_answers_disagree', { client_order_id: row.client_order_id, detail: 'the runner holds it, Alpaca did not, and LEAN had failed definitely' });
        return undefined;
      }
      const attribution: Attribution = { ...attributeFound(record), verified: false, doubt: 'the runner holds it, Alpaca did not, run after run, and LEAN had failed definitely' };
      return { ...foundOutcome(row, atRunner.order, record, attribution, settings.notionalTolerance), review_required: true };
    }
    // Alpaca answered that it holds no such order, so the router's own fallback did not place this one.
    const attribution: Attribution = { route: 'lean', verified: false, doubt: 'only the runner holds it; Alpaca does not' };
    return { ...foundOutcome(row, atRunner.order, record, attribution, settings.notionalTolerance), review_required: true };
  }
  const intent = row.execution_fallback_intent;
  return dropUndefined({
    status: 'failed',
    execution_adapter: 'none',
    execution_route: 'none',
    execution_route_reason: intent?.reason ?? row.execution_route_reason ?? 'reconciled',
    execution_fallback_reason: intent?.reason ?? row.execution_fallback_reason,
    execution_fallback_count: fallbackCountOf(record),
    execution_attempts: row.execution_attempts,
    execution_note: 'reconciled',
    review_required: row.review_required,
    route_verified: true,
    status_detail: `reconciled: neither Alpaca${leanInvolved ? ' nor the LEAN runner' : ''} holds this client_order_id; nothing was placed`,
  } satisfies RowOutcome);
}

/**
 * Found at a broker: the row gets the same route fields a routed row would have, attributed from
 * the row's own record; the broker's status decides `accepted` or `rejected`, and an order that
 * differs from the row's is flagged for review, as a live acknowledgement would be.
 */
function foundOutcome(row: ProvenanceRow, order: BrokerOrder, record: SendRecord, attribution: Attribution, notionalTolerance: number): RowOutcome {
  const mismatches = verifyAck(row, order, notionalTolerance);
  const intent = row.execution_fallback_intent;
  // Stryker disable next-line OptionalChaining: the route is alpaca_fallback only for a row with a fallback intent (sendRecordOfRow)
  const fallbackReason = attribution.route === 'alpaca_fallback' ? intent?.reason : undefined;
  const gate = row.policy_snapshot.gates[0];
  // Stryker disable next-line StringLiteral: rowStatusOf tells only 'submit' apart, so any other value reads as a lookup
  const status = rowStatusOf(order, 'lookup');
  // Stryker disable next-line OptionalChaining: the route is alpaca_fallback only for a row with a fallback intent (sendRecordOfRow)
  const routeReason = attribution.route === 'alpaca_fallback' ? intent?.reason : attribution.route === 'alpaca_gated' ? gate : undefined;
  const details = [
    `reconciled: found by client_order_id, broker status ${order.status ?? 'unknown'} (${row.status} before)`,
    ...(mismatches.length > 0 ? [`the broker holds a different order than asked: ${describeMismatches(mismatches, order)}`] : []),
    ...(attribution.doubt === undefined ? [] : [`route not verified: ${attribution.doubt}`]),
  ];
  return dropUndefined({
    status,
    execution_adapter: attribution.route === 'lean' ? 'lean' : 'alpaca',
    execution_route: status === 'rejected' ? 'none' : attribution.route,
    execution_route_reason: routeReason ?? row.execution_route_reason ?? 'reconciled',
    execution_fallback_reason: fallbackReason,
    execution_fallback_count: fallbackCountOf(record),
    execution_attempts: row.execution_attempts,
    execution_note: 'reconciled',
    broker_order_id: order.id,
    raw_payload: { ...order.raw, _execution_adapter: attribution.route, ...(fallbackReason === undefined ? {} : { _execution_fallback_reason: fallbackReason }) },
    review_required: row.review_required || mismatches.length > 0,
    route_verified: attribution.verified,
    status_detail: details.join('; '),
  } satisfies RowOutcome);
}

/** One when the row's own record shows the fallback submit may have gone out, as a routed row counts it. */
function fallbackCountOf(record: SendRecord): number {
  return record.alpacaRoute === 'alpaca_fallback' ? 1 : 0;
}
