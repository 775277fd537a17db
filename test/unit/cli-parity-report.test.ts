import { describe, expect, it } from 'vitest';
import { buildParityReport, DEFAULT_PARITY_THRESHOLDS, type ParityReport } from '../../functions/core/parity';
import { parityReportText } from '../../lib/cli/parity-report-text';
import { parityRow } from '../support/parity-rows';

const QUERY = { stage: 'paper', since: '2026-11-25T00:00:00.000Z', until: '2026-12-02T00:00:00.000Z' };
/** A LEAN buy of no strategy, filled 10 bps above its reference. */
const LEAN_FILL = parityRow({ strategy_id: undefined, filled_avg_price: '100.10' });

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
