/**
 * Parity rows for unit tests of the parity report, the parity run and the CLI that prints and
 * acts on them: one builder, so a change to `ParityRow` is made in one place.
 */
import type { ParityRow } from '../../functions/core/parity';

/** When the default row was created; it filled 2 s later. */
export const PARITY_ROW_CREATED_AT = '2026-11-30T14:00:00.000Z';

/**
 * A buy of 1 by strategy `momentum-1` that went to `execution_route` (LEAN unless overridden), was
 * accepted and filled at 100 against a reference of 100, 2 s after it was created. The expected
 * adapter and the fallback count follow the route unless overridden.
 */
export function parityRow(overrides: Partial<ParityRow> = {}): ParityRow {
  const route = overrides.execution_route ?? 'lean';
  return {
    client_order_id: 'ord-1',
    created_at: PARITY_ROW_CREATED_AT,
    strategy_id: 'momentum-1',
    execution_route: route,
    execution_expected_adapter: route === 'alpaca' ? 'alpaca' : 'lean',
    execution_fallback_count: route === 'alpaca_fallback' ? 1 : 0,
    status: 'accepted',
    side: 'buy',
    reference_price: '100',
    review_required: false,
    broker_status: 'filled',
    filled_qty: '1',
    filled_avg_price: '100',
    filled_at: '2026-11-30T14:00:02.000Z',
    ...overrides,
  };
}
