import { describe, expect, it } from 'vitest';
import { buildParityReport, DEFAULT_PARITY_THRESHOLDS, type ParityReport, type ParityRow } from '../../functions/core/parity';
import { parityReportText } from '../../lib/cli/parity-report-text';

const QUERY = { stage: 'paper', since: '2026-11-25T00:00:00.000Z', until: '2026-12-02T00:00:00.000Z' };
const LEAN_FILL: ParityRow = {
  client_order_id: 'ord-1',
  created_at: '2026-11-30T14:00:00.000Z',
  execution_route: 'lean',
  execution_expected_adapter: 'lean',
  execution_fallback_count: 0,
  status: 'accepted',
  side: 'buy',
  reference_price: '100',
  review_required: false,
  broker_status: 'filled',
  filled_qty: '1',
  filled_avg_price: '100.10',
  filled_at: '2026-11-30T14:00:01.500Z',
};

function onlyLean(options: { truncated?: boolean } = {}): ParityReport {
  return buildParityReport([LEAN_FILL], QUERY, DEFAULT_PARITY_THRESHOLDS, new Date('2026-12-02T00:00:00.000Z'), options);
}

describe('the parity report as text', () => {
  it('names the stage, the strategies, the window and the verdict on its first line', () => {
    expect(parityReportText([onlyLean()]).split('\n')[0]).toBe('parity of stage paper, all strategies, created 2026-11-25T00:00:00.000Z to 2026-12-02T00:00:00.000Z: FAIL');
  });

  it('prints a figure over nothing as a dash', () => {
    expect(parityReportText([onlyLean()])).toMatch(/^fill rate +100\.0% +-$/m);
  });

  it('prints a check measured on nothing as none, with its threshold and detail', () => {
    expect(parityReportText([onlyLean()])).toMatch(/^fill_rate_difference +FAIL +none +max 5\.0 pts +no accepted order executed in the non-routed cohort/m);
  });

  it('says a truncated report covers part of the window and does not pass', () => {
    expect(parityReportText([onlyLean({ truncated: true })])).toContain('TRUNCATED: the read stopped at the row cap (TRADING_PARITY_MAX_ROWS) after 1 rows');
  });

  it('puts stages side by side, a column per stage and cohort, a check per row', () => {
    const text = parityReportText([onlyLean(), { ...onlyLean(), stage: 'live' }]);

    expect(text).toMatch(/^figure +paper routed +paper non-routed +live routed +live non-routed$/m);
    expect(text).toMatch(/^min_orders_routed +FAIL 1 \(min 30\) +FAIL 1 \(min 30\)$/m);
  });
});
