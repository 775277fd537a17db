import { describe, expect, it } from 'vitest';
import type { BrokerOrder } from '../../functions/core/execution';
import { brokerStateOf, isOpenBrokerStatus, lifecycleChange, listWindowStart } from '../../functions/core/order-lifecycle';
import type { ProvenanceRow } from '../../functions/core/provenance';
import { pendingRow } from '../support/fakes';

const NOW = new Date('2025-01-02T15:00:00.000Z');
/** A minute after `syncedRow`'s state. */
const LATER = '2025-01-02T14:31:00Z';
const FINAL = ['filled', 'canceled', 'expired', 'rejected', 'replaced'];
const OPEN = [
  'new',
  'accepted',
  'pending_new',
  'accepted_for_bidding',
  'partially_filled',
  'pending_cancel',
  'pending_replace',
  'held',
  'calculated',
  'stopped',
  'suspended',
  'done_for_day',
];

/** Alpaca's order `alpaca-1` for `ord-0001`, accepted and unfilled, updated at 14:30. */
function alpacaOrder(overrides: Partial<BrokerOrder> = {}): BrokerOrder {
  return {
    id: 'alpaca-1',
    client_order_id: 'ord-0001',
    status: 'accepted',
    filled_qty: '0',
    updated_at: '2025-01-02T14:30:00.000000Z',
    raw: {},
    ...overrides,
  };
}

/** An order Alpaca accepted directly (policy chose Alpaca), not yet seen by the sync. */
function acceptedRow(overrides: Partial<ProvenanceRow> = {}): ProvenanceRow {
  return pendingRow({
    status: 'accepted',
    execution_expected_adapter: 'alpaca',
    execution_adapter: 'alpaca',
    execution_route: 'alpaca',
    broker_order_id: 'alpaca-1',
    open_since: '2025-01-02T14:25:00.000Z',
    ...overrides,
  });
}

/** `acceptedRow` after the sync wrote a state at 14:30 with `broker_status` and `filled_qty`. */
function syncedRow(brokerStatus: string, filledQty: string, overrides: Partial<ProvenanceRow> = {}): ProvenanceRow {
  return acceptedRow({
    broker_status: brokerStatus,
    filled_qty: filledQty,
    broker_updated_at: '2025-01-02T14:30:00.000000000Z',
    ...overrides,
  });
}

describe('isOpenBrokerStatus', () => {
  it.each(FINAL)('reads %s as final', (status) => {
    expect(isOpenBrokerStatus(status)).toBe(false);
  });

  it.each(OPEN)('reads %s as open', (status) => {
    expect(isOpenBrokerStatus(status)).toBe(true);
  });

  it('reads a status Alpaca has not documented as open, so the order keeps being watched', () => {
    expect(isOpenBrokerStatus('awaiting_review')).toBe(true);
  });
});

describe('brokerStateOf', () => {
  it.each(FINAL)('closes an order that is %s', (status) => {
    expect(brokerStateOf(alpacaOrder({ status }))?.open).toBe(false);
  });

  it('keeps an order with an undocumented status open', () => {
    expect(brokerStateOf(alpacaOrder({ status: 'awaiting_review' }))?.open).toBe(true);
  });

  it('reads a filled order as status, fill and UTC update time with nine fractional digits', () => {
    const order = alpacaOrder({
      status: 'filled',
      filled_qty: '10',
      filled_avg_price: '187.42',
      filled_at: '2025-01-02T09:31:00.5-05:00',
      updated_at: '2025-01-02T09:31:00.123456-05:00',
    });

    expect(brokerStateOf(order)).toEqual({
      broker_status: 'filled',
      filled_qty: '10',
      filled_avg_price: '187.42',
      filled_at: '2025-01-02T09:31:00.5-05:00',
      broker_updated_at: '2025-01-02T14:31:00.123456000Z',
      open: false,
    });
  });

  it('reads an unfilled order without a fill price or time and with an update time lacking fractions', () => {
    const order = alpacaOrder({ status: 'new', filled_qty: undefined, updated_at: '2025-01-02T14:30:00Z' });

    expect(brokerStateOf(order)).toStrictEqual({
      broker_status: 'new',
      filled_qty: '0',
      broker_updated_at: '2025-01-02T14:30:00.000000000Z',
      open: true,
    });
  });

  it("carries Alpaca's submission time, rounded down to the millisecond in UTC", () => {
    expect(brokerStateOf(alpacaOrder({ submitted_at: '2025-01-02T09:30:00.123456-05:00' }))?.submitted_at).toBe('2025-01-02T14:30:00.123Z');
  });

  it('carries no submission time when Alpaca gave none it can read', () => {
    expect(brokerStateOf(alpacaOrder({ submitted_at: 'soon' }))).not.toHaveProperty('submitted_at');
  });

  it('keeps nanoseconds of an update time', () => {
    expect(brokerStateOf(alpacaOrder({ updated_at: '2025-01-02T14:30:00.123456789+00:00' }))?.broker_updated_at).toBe(
      '2025-01-02T14:30:00.123456789Z',
    );
  });

  it('reads a fractional filled_qty', () => {
    expect(brokerStateOf(alpacaOrder({ status: 'partially_filled', filled_qty: '0.25' }))?.filled_qty).toBe('0.25');
  });

  it('reads nothing from an order without a status', () => {
    expect(brokerStateOf(alpacaOrder({ status: undefined }))).toBeUndefined();
  });

  it('reads nothing from an order without an updated_at', () => {
    expect(brokerStateOf(alpacaOrder({ updated_at: undefined }))).toBeUndefined();
  });

  it.each([
    ['a date without a time', '2025-01-02'],
    ['no zone', '2025-01-02T14:30:00.123'],
    ['more than nine fractional digits', '2025-01-02T14:30:00.1234567890Z'],
    ['text before the instant', 'at 2025-01-02T14:30:00Z'],
    ['text after the instant', '2025-01-02T14:30:00Z later'],
    ['an impossible hour', '2025-01-02T25:30:00Z'],
  ])('reads nothing from an updated_at with %s', (_case, updatedAt) => {
    expect(brokerStateOf(alpacaOrder({ updated_at: updatedAt }))).toBeUndefined();
  });

  it.each([
    ['a negative quantity', '-1'],
    ['a word', 'ten'],
    ['a trailing dot', '10.'],
  ])('reads nothing from a filled_qty that is %s', (_case, filledQty) => {
    expect(brokerStateOf(alpacaOrder({ filled_qty: filledQty }))).toBeUndefined();
  });
});

describe('lifecycleChange', () => {
  it('writes the first state the sync sees, logging no previous status and no fill price', () => {
    const change = lifecycleChange(acceptedRow(), alpacaOrder(), NOW);

    expect(change).toEqual({
      state: { broker_status: 'accepted', filled_qty: '0', broker_updated_at: '2025-01-02T14:30:00.000000000Z', open: true },
      log: {
        client_order_id: 'ord-0001',
        actual: 'alpaca',
        expected: 'alpaca',
        fallback_reason: 'none',
        from_status: null,
        to_status: 'accepted',
        filled_qty: '0',
        filled_avg_price: null,
        broker_order_id: 'alpaca-1',
        route_divergence: false,
      },
    });
  });

  it('moves a partially filled order forward to filled', () => {
    const order = alpacaOrder({ status: 'filled', filled_qty: '10', filled_avg_price: '187.42', updated_at: LATER });

    const change = lifecycleChange(syncedRow('partially_filled', '4'), order, NOW);

    expect(change?.state).toMatchObject({ broker_status: 'filled', filled_qty: '10', filled_avg_price: '187.42', open: false });
    expect(change?.log).toMatchObject({ from_status: 'partially_filled', to_status: 'filled', filled_qty: '10', filled_avg_price: '187.42' });
  });

  it.each([
    ['more fills under the same status', 'partially_filled', '4', 'partially_filled', '7'],
    ['a filled_qty of 10 over 9.5, compared as decimals', 'partially_filled', '9.5', 'partially_filled', '10'],
    ['a filled_qty of 4 over 3.75, compared as decimals', 'partially_filled', '3.75', 'partially_filled', '4'],
  ])('moves forward on a later update with %s', (_case, rowStatus, rowQty, status, filledQty) => {
    const order = alpacaOrder({ status, filled_qty: filledQty, updated_at: LATER });

    expect(lifecycleChange(syncedRow(rowStatus, rowQty), order, NOW)?.state.filled_qty).toBe(filledQty);
  });

  it.each([
    ['a filled order back to partially_filled, even with the same quantity', 'filled', '10', 'partially_filled', '10'],
    ['a canceled order back to new', 'canceled', '0', 'new', '0'],
    ['to a smaller filled_qty', 'partially_filled', '5', 'partially_filled', '3'],
    ['when only updated_at moved', 'partially_filled', '4', 'partially_filled', '4'],
    ['when only updated_at moved and the filled_qty 9.50 is 9.5', 'partially_filled', '9.5', 'partially_filled', '9.50'],
  ])('does not move, on a later update, %s', (_case, rowStatus, rowQty, status, filledQty) => {
    const order = alpacaOrder({ status, filled_qty: filledQty, updated_at: LATER });

    expect(lifecycleChange(syncedRow(rowStatus, rowQty), order, NOW)).toBeUndefined();
  });

  it('does not move on an updated_at equal to the row one', () => {
    const order = alpacaOrder({ status: 'filled', filled_qty: '10', updated_at: '2025-01-02T14:30:00Z' });

    expect(lifecycleChange(syncedRow('partially_filled', '4'), order, NOW)).toBeUndefined();
  });

  it('does not move on an updated_at older than the row one', () => {
    const order = alpacaOrder({ status: 'filled', filled_qty: '10', updated_at: '2025-01-02T14:29:59.999999Z' });

    expect(lifecycleChange(syncedRow('partially_filled', '4'), order, NOW)).toBeUndefined();
  });

  it('compares updated_at as instants: one microsecond later, written with an offset, moves forward', () => {
    const row = syncedRow('partially_filled', '4', { broker_updated_at: '2025-01-02T14:30:00.123456000Z' });
    const order = alpacaOrder({ status: 'filled', filled_qty: '10', updated_at: '2025-01-02T09:30:00.123457-05:00' });

    expect(lifecycleChange(row, order, NOW)?.state.broker_updated_at).toBe('2025-01-02T14:30:00.123457000Z');
  });

  it('compares updated_at as instants: an hour earlier, though later as text, does not move', () => {
    const row = syncedRow('partially_filled', '4', { broker_updated_at: '2025-01-02T14:30:00.5Z' });
    const order = alpacaOrder({ status: 'filled', filled_qty: '10', updated_at: '2025-01-02T15:30:00.4+02:00' });

    expect(lifecycleChange(row, order, NOW)).toBeUndefined();
  });

  it('moves forward over a row update time that is no instant', () => {
    const order = alpacaOrder({ status: 'filled', filled_qty: '10' });

    expect(lifecycleChange(syncedRow('partially_filled', '4', { broker_updated_at: 'garbled' }), order, NOW)?.state.broker_status).toBe('filled');
  });

  it('writes nothing for an answer without a readable state', () => {
    expect(lifecycleChange(acceptedRow(), alpacaOrder({ updated_at: undefined }), NOW)).toBeUndefined();
  });

  it('logs actual, expected and fallback_reason for an order that fell back to Alpaca', () => {
    const row = acceptedRow({
      execution_expected_adapter: 'lean',
      execution_route: 'alpaca_fallback',
      execution_fallback_reason: 'lean_submit_timeout',
    });

    expect(lifecycleChange(row, alpacaOrder(), NOW)?.log).toMatchObject({
      actual: 'alpaca_fallback',
      expected: 'lean',
      fallback_reason: 'lean_submit_timeout',
    });
  });

  it('logs a null actual for a row without a route', () => {
    expect(lifecycleChange(acceptedRow({ execution_route: undefined }), alpacaOrder(), NOW)?.log.actual).toBeNull();
  });

  it('finds a divergence when Alpaca holds another id than the one LEAN acknowledged', () => {
    const row = acceptedRow({ execution_expected_adapter: 'lean', execution_adapter: 'lean', execution_route: 'lean', broker_order_id: 'lean-ack-1' });

    const change = lifecycleChange(row, alpacaOrder({ id: 'alpaca-9' }), NOW);

    expect(change?.divergence).toEqual({ lean_order_id: 'lean-ack-1', alpaca_order_id: 'alpaca-9', detected_at: '2025-01-02T15:00:00.000Z' });
    expect(change?.log).toMatchObject({ broker_order_id: 'alpaca-9', route_divergence: true });
  });

  it('finds no divergence when Alpaca holds the id LEAN acknowledged', () => {
    const row = acceptedRow({ execution_expected_adapter: 'lean', execution_adapter: 'lean', execution_route: 'lean' });

    const change = lifecycleChange(row, alpacaOrder(), NOW);

    expect(change).not.toHaveProperty('divergence');
    expect(change?.log.route_divergence).toBe(false);
  });

  it('finds no divergence for an order Alpaca placed, whatever the ids', () => {
    const change = lifecycleChange(acceptedRow({ broker_order_id: 'other-1' }), alpacaOrder({ id: 'alpaca-9' }), NOW);

    expect(change).not.toHaveProperty('divergence');
    expect(change?.log.route_divergence).toBe(false);
  });

  it('finds no divergence for a LEAN row without an acknowledged id', () => {
    const row = acceptedRow({ execution_adapter: 'lean', execution_route: 'lean', broker_order_id: undefined });

    expect(lifecycleChange(row, alpacaOrder(), NOW)).not.toHaveProperty('divergence');
  });

  it('does not report again a divergence the row records, but logs it', () => {
    const recorded = { lean_order_id: 'lean-ack-1', alpaca_order_id: 'alpaca-9', detected_at: '2025-01-02T14:45:00.000Z' };
    const row = syncedRow('accepted', '0', { execution_adapter: 'lean', broker_order_id: 'lean-ack-1', route_divergence: recorded });

    const change = lifecycleChange(row, alpacaOrder({ id: 'alpaca-9', status: 'filled', filled_qty: '10', updated_at: '2025-01-02T14:50:00Z' }), NOW);

    expect(change).not.toHaveProperty('divergence');
    expect(change?.log.route_divergence).toBe(true);
  });

  it('writes a newly found divergence even when only updated_at moved', () => {
    const row = syncedRow('accepted', '0', { execution_adapter: 'lean', broker_order_id: 'lean-ack-1' });

    const change = lifecycleChange(row, alpacaOrder({ id: 'alpaca-9', updated_at: LATER }), NOW);

    expect(change?.divergence?.alpaca_order_id).toBe('alpaca-9');
  });
});

describe('listWindowStart', () => {
  it('has no start without open rows', () => {
    expect(listWindowStart([])).toBeUndefined();
  });

  it('has no start when no row carries a readable open_since', () => {
    expect(listWindowStart([{}, { open_since: 'yesterday' }])).toBeUndefined();
  });

  it('starts a second before the only open order, for the skew between the two clocks', () => {
    expect(listWindowStart([{ open_since: '2025-01-02T14:25:00.000Z' }])).toBe('2025-01-02T14:24:59.000Z');
  });

  it('starts a second before the earliest of several open orders, in any order', () => {
    const rows = [{}, { open_since: '2025-01-02T14:25:00.000Z' }, { open_since: '2024-12-30T20:00:00.000Z' }, { open_since: '2025-01-01T10:00:00.000Z' }];

    expect(listWindowStart(rows)).toBe('2024-12-30T19:59:59.000Z');
  });

  it('compares open_since as instants: the earliest instant wins though its text sorts later', () => {
    const rows = [{ open_since: '2025-01-02T09:30:00.000-05:00' }, { open_since: '2025-01-02T14:00:00.000+01:00' }];

    expect(listWindowStart(rows)).toBe('2025-01-02T12:59:59.000Z');
  });

  it("starts a millisecond before a row the sync has seen, whose open_since is Alpaca's own submission time", () => {
    expect(listWindowStart([{ open_since: '2025-01-02T14:25:00.000Z', broker_status: 'new' }])).toBe('2025-01-02T14:24:59.999Z');
  });

  it('takes the earliest start across seen and unseen rows', () => {
    const rows = [{ open_since: '2025-01-02T14:25:00.500Z', broker_status: 'new' }, { open_since: '2025-01-02T14:25:01.000Z' }];

    expect(listWindowStart(rows)).toBe('2025-01-02T14:25:00.000Z');
  });

  it('rounds a start with microseconds down to the millisecond before subtracting the second', () => {
    expect(listWindowStart([{ open_since: '2025-01-02T14:30:00.123456Z' }])).toBe('2025-01-02T14:29:59.123Z');
  });
});
