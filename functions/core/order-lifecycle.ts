/**
 * An order's life at the broker after the submit: which broker statuses are final, what the
 * lifecycle sync may write on a row, and where its bulk read of Alpaca's orders must start.
 * Pure: the sync's handler reads Alpaca and the store, and writes what these functions decide.
 */
import type { Adapter, BrokerOrder, ExecutionRoute } from './execution';
import type { BrokerState, ProvenanceRow, RouteDivergence } from './provenance';

/**
 * Alpaca's statuses after which the order never changes again. Every other status is open:
 * new, accepted, pending_new, accepted_for_bidding, partially_filled, pending_cancel,
 * pending_replace, held, calculated, stopped, suspended, done_for_day.
 */
export const FINAL_BROKER_STATUSES: ReadonlySet<string> = new Set(['filled', 'canceled', 'expired', 'rejected', 'replaced']);

/**
 * True while the order may still change at the broker. A status Alpaca adds later counts as open:
 * watching a finished order costs one row in the next bulk read, while closing a live one would
 * drop it from the open-order index and lose its fills for good.
 */
export function isOpenBrokerStatus(status: string): boolean {
  return !FINAL_BROKER_STATUSES.has(status);
}

/** RFC 3339 as Alpaca writes it: up to nanoseconds, `Z` or a numeric offset. */
const INSTANT_PATTERN = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

const NANOS_PER_MS = 1_000_000n;
const NANOS_PER_SECOND = 1_000_000_000n;

/**
 * Nanoseconds since the epoch. Date.parse alone would cut Alpaca's microseconds, and two updates
 * of one order (partial fills in a burst) can fall in the same millisecond.
 */
function instantNanos(text: string | undefined): bigint | undefined {
  // Stryker disable next-line ConditionalExpression: exec reads undefined as the text "undefined", which is no instant either
  if (text === undefined) return undefined;
  const match = INSTANT_PATTERN.exec(text);
  if (match === null) return undefined;
  const wholeSecondMs = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(wholeSecondMs)) return undefined;
  return BigInt(wholeSecondMs) * NANOS_PER_MS + BigInt((match[2] ?? '').padEnd(9, '0'));
}

/**
 * UTC with nine fractional digits: fixed width, so the text sorts as the instant does and a
 * store's conditional write can compare `broker_updated_at` as a string.
 */
function canonicalInstant(nanos: bigint): string {
  const wholeSeconds = new Date(Number(nanos / NANOS_PER_SECOND) * 1000).toISOString().slice(0, 19);
  return `${wholeSeconds}.${(nanos % NANOS_PER_SECOND).toString().padStart(9, '0')}Z`;
}

const DECIMAL_PATTERN = /^(\d+)(?:\.(\d+))?$/;

/** `text` as an integer count of 10^-scale units; undefined when it is not a non-negative decimal. */
function decimalUnits(text: string, scale: number): bigint | undefined {
  const match = DECIMAL_PATTERN.exec(text);
  if (match === null) return undefined;
  return BigInt(`${match[1]}${(match[2] ?? '').padEnd(scale, '0')}`);
}

/**
 * Negative, zero or positive as the broker's filled quantity is below, equal to or above the
 * row's. The broker's was checked on reading; the row's reads as no fill when absent or unreadable.
 */
function fillProgress(row: LifecycleRow, state: BrokerState): number {
  // Stryker disable next-line StringLiteral: the empty text is no decimal and reads as no fill, like "0"
  const rowQty = row.filled_qty ?? '0';
  // Fraction digits never outnumber a text's length, so that length is a scale both fit in.
  const scale = Math.max(state.filled_qty.length, rowQty.length);
  return Number((decimalUnits(state.filled_qty, scale) ?? 0n) - (decimalUnits(rowQty, scale) ?? 0n));
}

/** The broker's state of `order`, with its `updated_at` as an instant to order it by. */
interface ReadState {
  readonly state: BrokerState;
  readonly updatedAt: bigint;
}

function readState(order: BrokerOrder): ReadState | undefined {
  const updatedAt = instantNanos(order.updated_at);
  const filledQty = order.filled_qty ?? '0';
  if (order.status === undefined || updatedAt === undefined || decimalUnits(filledQty, 0) === undefined) return undefined;
  const submittedAt = instantNanos(order.submitted_at);
  const state: BrokerState = {
    broker_status: order.status,
    filled_qty: filledQty,
    ...(order.filled_avg_price === undefined ? {} : { filled_avg_price: order.filled_avg_price }),
    ...(order.filled_at === undefined ? {} : { filled_at: order.filled_at }),
    broker_updated_at: canonicalInstant(updatedAt),
    open: isOpenBrokerStatus(order.status),
    // Rounded down to the millisecond, the form of created_at: the listing's `after` then still precedes it.
    ...(submittedAt === undefined ? {} : { submitted_at: new Date(Number(submittedAt / NANOS_PER_MS)).toISOString() }),
  };
  return { state, updatedAt };
}

/**
 * The broker's state of `order` as the row stores it; undefined when the answer cannot be placed
 * in the order's history (no status, no readable `updated_at`, or a `filled_qty` that is not a
 * decimal), since the sync could not tell whether it is newer than what the row holds.
 */
export function brokerStateOf(order: BrokerOrder): BrokerState | undefined {
  return readState(order)?.state;
}

/** The fields of the one `reconciliation` log line written per change. */
export interface ReconciliationLog {
  readonly client_order_id: string;
  /** The route that carried the order (`execution_route`). */
  readonly actual: ExecutionRoute | null;
  /** The adapter the policy chose (`execution_expected_adapter`). */
  readonly expected: Adapter;
  /** The LEAN failure that made the order fall back, or `none`. */
  readonly fallback_reason: string;
  readonly from_status: string | null;
  readonly to_status: string;
  readonly filled_qty: string;
  readonly filled_avg_price: string | null;
  /** Alpaca's id for the order. */
  readonly broker_order_id: string;
  /** True when the row's LEAN id and Alpaca's id differ, newly found or already recorded. */
  readonly route_divergence: boolean;
}

/** What the sync writes for one row: the newer broker state, a newly found divergence, and the log line. */
export interface LifecycleChange {
  readonly state: BrokerState;
  /** Present only the first time the divergence is found; absent when the row already records it. */
  readonly divergence?: RouteDivergence;
  readonly log: ReconciliationLog;
}

/**
 * True when `state` may replace what the row holds: Alpaca updated the order after the row's
 * state, the fills did not shrink, and a final state is not reopened. Any one of them failing
 * means the answer is stale (an older page, a retried read), and writing it would move the order
 * backwards.
 */
function isNewer(row: LifecycleRow, { state, updatedAt }: ReadState): boolean {
  // Absent, or no instant (proving nothing about order): the broker's answer wins over it.
  const rowUpdatedAt = instantNanos(row.broker_updated_at);
  // Stryker disable next-line ConditionalExpression: a bigint is never <= undefined, so the guard only spells out what the comparison does
  if (rowUpdatedAt !== undefined && updatedAt <= rowUpdatedAt) return false;
  if (fillProgress(row, state) < 0) return false;
  // Stryker disable next-line ConditionalExpression: an absent status is not in the final set, so isOpenBrokerStatus already reads it as open
  const rowIsFinal = row.broker_status !== undefined && !isOpenBrokerStatus(row.broker_status);
  return !(rowIsFinal && state.open);
}

/** Alpaca's order under a LEAN row's `client_order_id` is not the one LEAN acknowledged. */
function divergenceOf(row: LifecycleRow, order: BrokerOrder, now: Date): RouteDivergence | undefined {
  // Without an acknowledged id there is nothing LEAN claimed that Alpaca could contradict.
  if (row.execution_adapter !== 'lean' || row.broker_order_id === undefined || row.broker_order_id === order.id) return undefined;
  return { lean_order_id: row.broker_order_id, alpaca_order_id: order.id, detected_at: now.toISOString() };
}

/**
 * What the sync should write for `row` given Alpaca's `order` under its `client_order_id`, or
 * undefined when nothing moved forward: the answer is unreadable, older than the row's state, or
 * newer but with the same status and fills (only `updated_at` moved) and no new divergence.
 */
/** What `lifecycleChange` reads of a row: all of it is in the open-orders index's projection. */
export type LifecycleRow = Pick<
  ProvenanceRow,
  | 'client_order_id'
  | 'broker_order_id'
  | 'execution_adapter'
  | 'execution_route'
  | 'execution_expected_adapter'
  | 'execution_fallback_reason'
  | 'broker_status'
  | 'filled_qty'
  | 'broker_updated_at'
  | 'route_divergence'
>;

export function lifecycleChange(row: LifecycleRow, order: BrokerOrder, now: Date): LifecycleChange | undefined {
  const read = readState(order);
  if (read === undefined || !isNewer(row, read)) return undefined;
  const { state } = read;
  const divergence = row.route_divergence === undefined ? divergenceOf(row, order, now) : undefined;
  // The fill price and time only change with the filled quantity, so status and quantity tell
  // whether the order moved.
  const moved = state.broker_status !== row.broker_status || fillProgress(row, state) !== 0;
  if (!moved && divergence === undefined) return undefined;
  const log: ReconciliationLog = {
    client_order_id: row.client_order_id,
    actual: row.execution_route ?? null,
    expected: row.execution_expected_adapter,
    // `none`, not null: the logger drops null fields, and every line must carry the field.
    fallback_reason: row.execution_fallback_reason ?? 'none',
    from_status: row.broker_status ?? null,
    to_status: state.broker_status,
    filled_qty: state.filled_qty,
    filled_avg_price: state.filled_avg_price ?? null,
    broker_order_id: order.id,
    route_divergence: divergence !== undefined || row.route_divergence !== undefined,
  };
  return { state, log, ...(divergence === undefined ? {} : { divergence }) };
}

/**
 * How far before an unseen row's `open_since` the listing starts. The row is written before the
 * submit, so its `open_since` (its creation) precedes Alpaca's `submitted_at` on one clock; a second
 * covers the skew between Lambda's clock and Alpaca's, both NTP-disciplined. Once the sync has seen
 * the order, `open_since` is Alpaca's own submission time and a millisecond is enough.
 */
export const SUBMISSION_SKEW_MS = 1_000;

/**
 * The `after` for the sync's bulk read of Alpaca's orders, or undefined when no row is open.
 * Alpaca filters `after` by the order's submission time, exclusively, not by its last update: a
 * fill today of an order submitted last week is listed only if the read starts before last week's
 * submission. So the read starts before the earliest row's start: {@link SUBMISSION_SKEW_MS} before
 * the `open_since` of a row the sync has not seen at the broker yet (no `broker_status`), one
 * millisecond before Alpaca's own submission time on a row it has; rounded down to the millisecond
 * so Alpaca reads a plain ISO timestamp. Rows without a readable `open_since` do not move the start.
 */
export function listWindowStart(rows: readonly Pick<ProvenanceRow, 'open_since' | 'broker_status'>[]): string | undefined {
  const starts = rows
    .map((row) => {
      const since = instantNanos(row.open_since);
      return since === undefined ? undefined : Number(since / NANOS_PER_MS) - (row.broker_status === undefined ? SUBMISSION_SKEW_MS : 1);
    })
    .filter((start): start is number => start !== undefined);
  if (starts.length === 0) return undefined;
  return new Date(Math.min(...starts)).toISOString();
}
